// fastai's collaborative filtering (fastai.collab): CollabDataLoaders over a ratings table (user,
// item, rating; the ids categorified, the rating kept as a float) and collab_learner with an
// EmbeddingDotBias or EmbeddingNN model. The learner is a TabularLearner, so predict() takes a
// raw {user, item} row.
#pragma once
#include "fastai/layers/embedding_dot_bias.h"
#include "fastai/tabular/learner.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fastai {

/// CollabDataLoaders.from_df options (fastai's names; the columns default to the first three).
struct CollabDataLoadersOptions {
  std::string user_name = "";     ///< "" = column 0
  std::string item_name = "";     ///< "" = column 1
  std::string rating_name = "";   ///< "" = column 2
  double valid_pct = 0.2;
  std::optional<uint64_t> seed = std::nullopt;  ///< the random split and the loaders' RNG
  int64_t bs = 64;
  std::optional<c10::Device> device = std::nullopt;
  std::string path = ".";
};

/// fastai CollabDataLoaders: the loaders give x = (user code, item code) int64 [bs, 2] and the
/// rating float [bs, 1]; code 0 is "#na#" (an id never seen in training).
class CollabDataLoaders : public TabularDataLoaders {
 public:
  using TabularDataLoaders::TabularDataLoaders;
  /// Errors name a missing column, a table with fewer than 3 columns, a missing or non-numeric rating.
  static CollabDataLoaders from_df(const Table& ratings, CollabDataLoadersOptions o = {});
  static CollabDataLoaders from_csv(const std::filesystem::path& file, CollabDataLoadersOptions o = {});
  const std::string& user_name() const { return to().cat_names()[0]; }
  const std::string& item_name() const { return to().cat_names()[1]; }
  /// The user ids (is_item false) or item ids in code order, "#na#" first (fastai dls.classes).
  const std::vector<std::string>& ids(bool is_item) const;

 private:
  std::shared_ptr<const std::vector<std::string>> users_, items_;
};

/// collab_learner options: the model's (fastai's names and defaults) then the Learner's.
struct CollabLearnerOptions {
  int64_t n_factors = 50;
  bool use_nn = false;
  std::map<std::string, int64_t> emb_szs = {};  ///< EmbeddingNN: column -> width (default emb_sz_rule)
  std::vector<int64_t> layers = {};             ///< EmbeddingNN: hidden sizes (default {n_factors})
  std::optional<std::pair<double, double>> y_range = std::nullopt;
  // EmbeddingNN's TabularModel options (fastai's config), flat as in TabularLearnerOptions:
  std::vector<double> ps = {};
  double embed_p = 0.;
  bool use_bn = true, bn_final = false, bn_cont = true, lin_first = true;
  // ---- the Learner's options (learner_options.h); loss_func empty: MSELossFlat ----
  FASTAI_LEARNER_OPTION_FIELDS(FASTAI_DECLARE_OPTION)
};

/// fastai collab_learner(dls, n_factors=50, use_nn=False, emb_szs, layers, config, y_range, loss_func).
TabularLearner collab_learner(const CollabDataLoaders& dls, CollabLearnerOptions o = {});

/// fastai's EmbeddingDotBias.bias(arr, is_item) / .weight(arr, is_item) by raw ids: the learned
/// biases [n] or factors [n, n_factors] of these users or items. Error naming an id never seen in
/// training, or a learner whose model is not an EmbeddingDotBias.
at::Tensor collab_bias(TabularLearner& learn, const CollabDataLoaders& dls, const std::vector<std::string>& ids,
                       bool is_item = true);
at::Tensor collab_weight(TabularLearner& learn, const CollabDataLoaders& dls, const std::vector<std::string>& ids,
                         bool is_item = true);

}  // namespace fastai
