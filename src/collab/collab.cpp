#include "fastai/collab/collab.h"

#include "fastai/core/error.h"
#include "fastai/data/splitters.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/modules/embedding.h>

#include <unordered_map>

namespace fastai {

CollabDataLoaders CollabDataLoaders::from_df(const Table& ratings, CollabDataLoadersOptions o) {
  FA_CHECK(ratings.n_cols() >= 3 || (!o.user_name.empty() && !o.item_name.empty() && !o.rating_name.empty()),
           "CollabDataLoaders.from_df: the ratings table needs user, item and rating columns; it has ",
           ratings.n_cols(), " column(s)");
  auto col = [&](const std::string& name, size_t i) { return name.empty() ? ratings.column(i).name() : name; };
  std::string user = col(o.user_name, 0), item = col(o.item_name, 1), rating = col(o.rating_name, 2);
  FA_CHECK(ratings.n_rows() > 0, "CollabDataLoaders.from_df: the ratings table is empty");
  std::vector<Item> rows(ratings.n_rows());
  Splits splits = RandomSplitter(o.valid_pct, o.seed)(rows);
  auto to = std::make_shared<TabularPandas>(
      ratings, TabularOptions{.procs = {Categorify()}, .cat_names = {user, item}, .y_names = {rating},
                              .y_block = YBlock::Regression, .splits = std::move(splits)});
  CollabDataLoaders dls(to, TabularDataLoadersOptions{.bs = o.bs, .device = o.device, .seed = o.seed, .path = o.path,
                                                      .with_cont = false});
  auto classes = to->classes();
  dls.users_ = std::make_shared<const std::vector<std::string>>(classes.at(user));
  dls.items_ = std::make_shared<const std::vector<std::string>>(classes.at(item));
  return dls;
}

CollabDataLoaders CollabDataLoaders::from_csv(const std::filesystem::path& file, CollabDataLoadersOptions o) {
  return from_df(read_csv(file), std::move(o));
}

const std::vector<std::string>& CollabDataLoaders::ids(bool is_item) const { return is_item ? *items_ : *users_; }

TabularLearner collab_learner(const CollabDataLoaders& dls, CollabLearnerOptions o) {
  if (!o.loss_func) o.loss_func = MSELossFlat();
  auto lo = learner_options_of(o);
  if (o.use_nn) {
    auto emb_szs = get_emb_sz(dls.to(), o.emb_szs);
    TabularModelOptions cfg = model_options_of(o);
    auto layers = o.layers.empty() ? std::vector<int64_t>{o.n_factors} : o.layers;
    auto spec = tabular_model_spec(emb_szs, 0, 1, layers, cfg);  // fastai's EmbeddingNN
    return TabularLearner(dls, model_from_spec(spec), lo, spec);
  }
  FA_CHECK(o.n_factors > 0, "collab_learner: n_factors must be positive, got ", o.n_factors);
  nlohmann::json spec = {{"kind", "EmbeddingDotBias"}, {"n_factors", o.n_factors},
                         {"n_users", dls.ids(false).size()}, {"n_items", dls.ids(true).size()},
                         {"y_range", o.y_range ? nlohmann::json{o.y_range->first, o.y_range->second} : nlohmann::json()}};
  return TabularLearner(dls, model_from_spec(spec), lo, spec);
}

namespace {

EmbeddingDotBiasImpl& dot_model(TabularLearner& learn) {
  auto* m = dynamic_cast<EmbeddingDotBiasImpl*>(learn.model.module.get());
  FA_CHECK(m != nullptr, "collab bias/weight: the learner's model is not an EmbeddingDotBias (use_nn = false)");
  return *m;
}

at::Tensor codes_of(const CollabDataLoaders& dls, const std::vector<std::string>& ids, bool is_item) {
  const auto& cls = dls.ids(is_item);
  std::unordered_map<std::string, int64_t> o2i;
  for (size_t i = 1; i < cls.size(); ++i) o2i.emplace(cls[i], static_cast<int64_t>(i));
  std::vector<int64_t> codes;
  for (const auto& id : ids) {
    auto it = o2i.find(id);
    FA_CHECK(it != o2i.end(), "collab: ", is_item ? "item" : "user", " id ", quote_value(id),
             " was never seen in the training ratings (", cls.size() - 1, " known)");
    codes.push_back(it->second);
  }
  return at::tensor(codes, at::kLong);
}

}  // namespace

at::Tensor collab_bias(TabularLearner& learn, const CollabDataLoaders& dls, const std::vector<std::string>& ids,
                       bool is_item) {
  auto& m = dot_model(learn);
  at::NoGradGuard ng;
  return m.bias(codes_of(dls, ids, is_item).to(m.u_weight->weight.device()), is_item).cpu();
}

at::Tensor collab_weight(TabularLearner& learn, const CollabDataLoaders& dls, const std::vector<std::string>& ids,
                         bool is_item) {
  auto& m = dot_model(learn);
  at::NoGradGuard ng;
  return m.weight(codes_of(dls, ids, is_item).to(m.u_weight->weight.device()), is_item).cpu();
}

}  // namespace fastai
