// fastai's tabular_learner and TabularLearner: a TabularModel sized from the data (embedding
// sizes from the categories, n_cont, n_out from the target), the loss from the target block, and
// predict() on a raw row that returns the decoded row and prediction.
#pragma once
#include "fastai/layers/tabular_model.h"
#include "fastai/learner/learner.h"
#include "fastai/tabular/data.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fastai {

/// tabular_learner options: the model's (fastai's names and defaults) then the Learner's.
struct TabularLearnerOptions {
  std::vector<int64_t> layers = {200, 100};
  std::map<std::string, int64_t> emb_szs = {};   ///< column -> embedding width (default emb_sz_rule)
  std::optional<int64_t> n_out = std::nullopt;   ///< default: dls.c()
  std::optional<std::pair<double, double>> y_range = std::nullopt;
  // fastai's tabular_config(...), flat (a nested options struct here makes GCC 12 warn falsely
  // at -O3 on `tabular_learner(dls, {...})`):
  std::vector<double> ps = {};                   ///< dropout per hidden layer (one value: all)
  double embed_p = 0.;
  bool use_bn = true, bn_final = false, bn_cont = true, lin_first = true;
  // ---- the Learner's options (learner_options.h) ----
  FASTAI_LEARNER_OPTION_FIELDS(FASTAI_DECLARE_OPTION)
};

/// The TabularModelOptions of an application's learner options struct (same field names).
template <class O>
TabularModelOptions model_options_of(const O& o) {
  return TabularModelOptions{.ps = o.ps, .embed_p = o.embed_p, .y_range = o.y_range, .use_bn = o.use_bn,
                             .bn_final = o.bn_final, .bn_cont = o.bn_cont, .lin_first = o.lin_first};
}

/// predict()'s answer for one raw row (fastai: full decoded row, decoded prediction, probabilities).
struct TabularPrediction {
  Table row;              ///< the row as the model saw it, decoded, with the prediction as the target column
  std::string decoded;    ///< the predicted label, or the value(s) as text
  at::Tensor probs;       ///< activated output (class probabilities, or the regression values)
  at::Tensor pred;        ///< the decoded prediction tensor (class index or values)
};

/// A Learner over tabular data (fastai TabularLearner).
class TabularLearner : public Learner {
 public:
  /// `model_spec` is how to rebuild the model (what tabular_learner / collab_learner record;
  /// export_to needs it): see model_from_spec.
  TabularLearner(const TabularDataLoaders& dls, Model model, LearnerOptions o, nlohmann::json model_spec = {});
  /// One raw row (column -> text; "" = missing) through the procs and the model. Errors name
  /// a column the row lacks or a value that does not fit it; an unseen category becomes #na#.
  TabularPrediction predict(const std::map<std::string, std::string>& row);
  /// Several rows of a raw table at once: the activated predictions [n, c].
  at::Tensor predict_table(const Table& rows);
  const TabularPandas& to() const { return *to_; }
  using Learner::predict;
  /// Writes the model's weights, the procs' state, the column roles, the target vocab and the
  /// model spec to one file (fastai learn.export), atomically; a relative `file` is under
  /// learn.path. load_tabular_learner reads it back without the training data or code.
  std::filesystem::path export_to(const std::filesystem::path& file = "export.fai") override;
  const nlohmann::json& model_spec() const { return spec_; }

 private:
  std::shared_ptr<const TabularPandas> to_;
  nlohmann::json spec_;
  std::shared_ptr<DataLoader> test_loader(const TabularTensors& inputs) const;
  bool with_cont_;
};

/// Embedding sizes for the categorical columns of `to` (fastai get_emb_sz): {n_classes incl.
/// #na#, sz_dict[col] or emb_sz_rule(n)}. Error naming a sz_dict column that is not categorical.
std::vector<EmbSz> get_emb_sz(const TabularPandas& to, const std::map<std::string, int64_t>& sz_dict = {});

/// fastai tabular_learner(dls, layers=[200,100], emb_szs, config, n_out, y_range, **kwargs).
TabularLearner tabular_learner(const TabularDataLoaders& dls, TabularLearnerOptions o = {});

/// The spec of a TabularModel / EmbeddingDotBias (JSON: "kind" and the constructor arguments),
/// and the module it describes (fresh weights). Error naming an unknown kind or a missing field.
nlohmann::json tabular_model_spec(const std::vector<EmbSz>& emb_szs, int64_t n_cont, int64_t out_sz,
                                  const std::vector<int64_t>& layers, const TabularModelOptions& o);
Model model_from_spec(const nlohmann::json& spec);

/// Reads what TabularLearner::export_to wrote (fastai load_learner) into a learner ready for
/// predict / predict_table on `device` (default: CPU). Errors name the file: missing, not an
/// export, or weights that do not fit the model.
TabularLearner load_tabular_learner(const std::filesystem::path& file,
                                    std::optional<c10::Device> device = std::nullopt);

}  // namespace fastai
