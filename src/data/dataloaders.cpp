// DataLoaders with TfmdDL loaders: fastai's dataloaders() factory, test_dl, vocab / c.
#include "fastai/core/error.h"
#include "fastai/data/dataloader.h"
#include "fastai/data/tfmd_dl.h"

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

}  // namespace fastai
