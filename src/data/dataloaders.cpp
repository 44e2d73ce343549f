// DataLoaders with TfmdDL loaders: fastai's dataloaders() factory, test_dl, vocab / c.
#include "fastai/core/error.h"
#include "fastai/data/dataloader.h"
#include "fastai/data/datasets.h"
#include "fastai/data/tfmd_dl.h"

#include <algorithm>
#include <utility>

namespace fastai {

std::shared_ptr<TfmdDL> DataLoaders::tfmd(size_t i) const {
  auto dl = (*this)[i];
  auto t = std::dynamic_pointer_cast<TfmdDL>(dl);
  FA_CHECK(t != nullptr, "DataLoaders: loader ", i, (i == 0 ? " (train)" : i == 1 ? " (valid)" : ""),
           " is not a TfmdDL (built from tensors or a torch::data loader?); this needs loaders built from "
           "Datasets or a DataBlock");
  return t;
}

std::shared_ptr<TfmdDL> DataLoaders::test_dl(std::vector<Item> items, bool with_labels, std::optional<int64_t> bs) const {
  auto v = tfmd(n_loaders() > 1 ? 1 : 0);
  TfmdDLOptions o = v->options();
  o.shuffle = false;
  o.drop_last = false;
  o.allow_empty = false;
  o.n = std::nullopt;
  o.seed = 0;
  o.device = v->device();
  if (bs) o.bs = *bs;
  FA_CHECK(!items.empty(), "test_dl: no items given; expected at least one");
  std::shared_ptr<const ItemDataset> ds;
  if (auto d = std::dynamic_pointer_cast<const Datasets>(v->dataset_ptr())) {
    auto n = with_labels ? std::nullopt : std::optional<size_t>(static_cast<size_t>(d->n_inp()));
    ds = std::make_shared<Datasets>(d->with_items(std::move(items), 1, n));
  } else if (auto t = std::dynamic_pointer_cast<const TfmdLists>(v->dataset_ptr())) {
    ds = std::make_shared<TfmdLists>(t->with_items(std::move(items), 1));
  } else {
    fail("test_dl: the validation loader's dataset is neither Datasets nor TfmdLists, so its transforms are unknown");
  }
  return v->new_dl(std::move(ds), std::move(o));
}

const std::vector<std::string>& DataLoaders::vocab() const {
  const auto* v = train().vocab();
  FA_CHECK(v != nullptr, "DataLoaders::vocab: the training loader's targets have no vocab (no Categorize-like "
           "transform, or not categorical)");
  return *v;
}

std::optional<int64_t> DataLoaders::c() const { return train().c(); }

DataLoaders dataloaders_from(const Datasets& dsets, DataLoadersOptions o) {
  FA_CHECK(dsets.n_subsets() >= 1, "dataloaders: the Datasets has no subsets");
  auto train = std::make_shared<Datasets>(dsets.train());
  FA_CHECK(train->size() > 0, "dataloaders: the training set is empty (", dsets.size(), " items in all, splits of sizes ",
           dsets.splits()[0].size(), " / ", dsets.n_subsets() > 1 ? dsets.splits()[1].size() : 0,
           "); expected at least one training item");
  FA_CHECK(!o.shuffle_train || train->size() >= o.bs, "dataloaders: the training set has ", train->size(),
           " items, fewer than bs=", o.bs, ": with drop_last (the training loader's default) there would be no batch; "
           "use a smaller bs");
  TfmdDLOptions to{.bs = o.bs,
                   .shuffle = o.shuffle_train,
                   .drop_last = o.shuffle_train,
                   .num_workers = o.num_workers,
                   .device = o.device,
                   .seed = o.seed,
                   .after_item = o.after_item,
                   .before_batch = o.before_batch,
                   .after_batch = o.after_batch,
                   .hooks = o.hooks};
  std::shared_ptr<TfmdDL> tdl = o.dl_type ? o.dl_type(train, to) : std::make_shared<TfmdDL>(train, to);
  FA_CHECK(tdl != nullptr, "dataloaders: dl_type returned no loader");
  std::vector<std::shared_ptr<DataLoader>> dls{tdl};
  for (size_t i = 1; i < dsets.n_subsets(); ++i) {
    TfmdDLOptions vo = to;
    vo.bs = o.val_bs.value_or(o.bs);
    vo.shuffle = false;
    vo.drop_last = false;
    vo.allow_empty = true;
    vo.seed = o.seed != 0 ? o.seed + i : 0;
    vo.device = tdl->device();
    dls.push_back(tdl->new_dl(std::make_shared<Datasets>(dsets.subset(i)), vo));
  }
  DataLoaders r(dls[0], dls.size() > 1 ? dls[1] : tdl->new_dl(std::make_shared<Datasets>(dsets.subset(0)), [&] {
    TfmdDLOptions e = to;
    e.n = 0;
    e.allow_empty = true;
    return e;
  }()), o.path);
  for (size_t i = 2; i < dls.size(); ++i) r.add(dls[i]);
  return r;
}

namespace dataloaders_detail {

// A pipeline's state, checked to rebuild: every transform must be known to make_transform.
nlohmann::json rebuildable(const Pipeline& p, const std::string& which) {
  nlohmann::json st = p.state();
  try {
    (void)Pipeline::from_state(st);
  } catch (const Error& e) {
    fail("DataLoaders::inference_state: the ", which, " pipeline cannot be rebuilt without its code: ", e.what(),
         "\n(register custom transforms with register_transform so exported learners can rebuild them)");
  }
  return st;
}

std::vector<std::shared_ptr<Transform>> transforms_of(const nlohmann::json& s, const char* key) {
  FA_CHECK(s.contains(key), "DataLoaders::from_inference_state: no '", key, "' entry");
  return Pipeline::from_state(s.at(key)).transforms();
}

}  // namespace dataloaders_detail

nlohmann::json DataLoaders::inference_state() const {
  using dataloaders_detail::rebuildable;
  auto v = tfmd(n_loaders() > 1 ? 1 : 0);
  nlohmann::json pipes = nlohmann::json::array();
  std::string kind;
  int n_inp = 1;
  if (auto d = std::dynamic_pointer_cast<const Datasets>(v->dataset_ptr())) {
    kind = "Datasets";
    n_inp = d->n_inp();
    for (size_t k = 0; k < d->tls().size(); ++k) {
      const Pipeline& p = d->tls()[k].tfms();
      if (static_cast<int>(k) < n_inp) {
        pipes.push_back(rebuildable(p, "dataset's pipeline " + std::to_string(k)));
        continue;
      }
      // A target pipeline only decodes predictions: its getters (parent_label, a column reader...),
      // which are functions without a registered name, are not needed and left out.
      const auto known = registered_transforms();
      std::vector<std::shared_ptr<Transform>> kept;
      for (const auto& t : p.transforms())
        if (std::binary_search(known.begin(), known.end(), t->name())) kept.push_back(t);
      pipes.push_back(rebuildable(Pipeline(kept, p.split_idx), "target pipeline " + std::to_string(k)));
    }
  } else if (auto t = std::dynamic_pointer_cast<const TfmdLists>(v->dataset_ptr())) {
    kind = "TfmdLists";
    pipes.push_back(rebuildable(t->tfms(), "dataset's"));
  } else {
    fail("DataLoaders::inference_state: the validation loader's dataset is neither Datasets nor TfmdLists, so its "
         "transforms cannot be saved");
  }
  return {{"dataset", kind},
          {"pipelines", pipes},
          {"n_inp", n_inp},
          {"bs", v->bs()},
          {"after_item", rebuildable(v->after_item(), "after_item")},
          {"before_batch", rebuildable(v->before_batch(), "before_batch")},
          {"after_batch", rebuildable(v->after_batch(), "after_batch")}};
}

const std::string& DataLoaders::target_type() const {
  if (target_type_known_) return target_type_;
  for (size_t i : {size_t{1}, size_t{0}}) {
    if (i >= n_loaders()) continue;
    auto d = std::dynamic_pointer_cast<TfmdDL>((*this)[i]);
    if (!d || d->dataset().size() == 0) continue;
    Tuple s = d->dataset().get(0);
    const auto n_inp = static_cast<size_t>(d->dataset().n_inp());
    target_type_ = s.size() > n_inp ? s[n_inp].type_name() : "";
    break;
  }
  target_type_known_ = true;
  return target_type_;
}

DataLoaders DataLoaders::from_inference_state(const nlohmann::json& s, std::optional<c10::Device> device) {
  FA_CHECK(s.is_object() && s.contains("pipelines") && s.at("pipelines").is_array() && !s.at("pipelines").empty(),
           "DataLoaders::from_inference_state: expected an object with a non-empty 'pipelines' array, got ",
           s.dump().substr(0, 200));
  std::shared_ptr<const ItemDataset> ds;
  const std::string kind = s.value("dataset", "");
  if (kind == "Datasets") {
    std::vector<TfmdLists> tls;
    for (const auto& p : s.at("pipelines"))
      tls.emplace_back(std::vector<Item>{}, Pipeline::from_state(p), TfmdListsOptions{.do_setup = false, .split_idx = 1});
    const int n_inp = s.value("n_inp", 1);
    FA_CHECK(n_inp >= 1 && n_inp <= static_cast<int>(tls.size()), "DataLoaders::from_inference_state: n_inp ", n_inp,
             " with ", tls.size(), " pipelines");
    ds = std::make_shared<Datasets>(std::move(tls), n_inp);
  } else if (kind == "TfmdLists") {
    ds = std::make_shared<TfmdLists>(std::vector<Item>{}, Pipeline::from_state(s.at("pipelines").at(0)),
                                     TfmdListsOptions{.do_setup = false, .split_idx = 1});
  } else {
    fail("DataLoaders::from_inference_state: 'dataset' must be \"Datasets\" or \"TfmdLists\", got '", kind, "'");
  }
  using dataloaders_detail::transforms_of;
  TfmdDLOptions o{.bs = s.value("bs", int64_t{64}), .num_workers = 0, .device = device.value_or(default_device()),
                  .seed = 1, .after_item = transforms_of(s, "after_item"),
                  .before_batch = transforms_of(s, "before_batch"), .after_batch = transforms_of(s, "after_batch"),
                  .do_setup = false, .allow_empty = true};
  auto dl = std::make_shared<TfmdDL>(std::move(ds), std::move(o));
  return DataLoaders(dl, dl);
}

}  // namespace fastai
