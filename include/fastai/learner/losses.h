// Loss functions with fastai's "Flat" behaviour (flatten predictions and targets), plus the
// activation and decoding each implies (used by get_preds and predict).
#pragma once
#include "fastai/core/transform.h"

#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace fastai {

enum class Reduction { Mean, Sum, None };

struct LossFunc {
  std::string name;
  std::function<at::Tensor(const at::Tensor& pred, const at::Tensor& targ, Reduction)> fn;
  std::function<at::Tensor(const at::Tensor&)> activation;  ///< empty: identity
  std::function<at::Tensor(const at::Tensor&)> decodes;     ///< empty: identity
  Reduction reduction = Reduction::Mean;
  bool supports_reduction = true;  ///< false for wrapped plain functions (no per-item loss)
  /// The factory's parameters that loss_from_hint({name, params}) rebuilds it from ({"axis": 1},
  /// {"thresh": 0.5}, ...): what export_to saves. A tensor parameter (class weights) is not kept.
  nlohmann::json params = nlohmann::json::object();

  LossFunc() = default;
  LossFunc(std::string n, std::function<at::Tensor(const at::Tensor&, const at::Tensor&, Reduction)> f,
           std::function<at::Tensor(const at::Tensor&)> act = {}, std::function<at::Tensor(const at::Tensor&)> dec = {})
      : name(std::move(n)), fn(std::move(f)), activation(std::move(act)), decodes(std::move(dec)) {}
  /// Wraps a plain f(pred, targ) (no activation, no unreduced form).
  template <class F, std::enable_if_t<std::is_invocable_r_v<at::Tensor, F, const at::Tensor&, const at::Tensor&>, int> = 0>
  LossFunc(F f) : name("loss"), supports_reduction(false) {
    fn = [f = std::move(f)](const at::Tensor& p, const at::Tensor& t, Reduction) { return f(p, t); };
  }
  explicit operator bool() const { return static_cast<bool>(fn); }
  at::Tensor operator()(const at::Tensor& pred, const at::Tensor& targ) const { return fn(pred, targ, reduction); }
};

struct CrossEntropyOptions {
  int64_t axis = -1;              ///< class dimension (1 for segmentation masks)
  int64_t ignore_index = -100;
  double label_smoothing = 0.0;
  std::optional<at::Tensor> weight = std::nullopt;
};
/// Cross entropy on flattened predictions; activation softmax, decodes argmax.
LossFunc CrossEntropyLossFlat(CrossEntropyOptions o = {});
struct BCEOptions { double thresh = 0.5; std::optional<at::Tensor> pos_weight = std::nullopt; };
/// Binary cross entropy with logits (float targets); activation sigmoid, decodes > thresh.
LossFunc BCEWithLogitsLossFlat(BCEOptions o = {});
LossFunc MSELossFlat();
LossFunc L1LossFlat();
/// eps/C * sum_c(-log p_c) + (1-eps) * NLL (fastai's LabelSmoothingCrossEntropy); the classes
/// are dimension 1 (the last for 1-D), so (N, C) logits and (B, C, H, W) masks both work.
LossFunc LabelSmoothingCrossEntropy(double eps = 0.1);
/// The same on predictions flattened to (-1, C) with the classes on `axis` (fastai's
/// LabelSmoothingCrossEntropyFlat); reduction None gives one loss per flattened item.
LossFunc LabelSmoothingCrossEntropyFlat(double eps = 0.1, int64_t axis = -1);

/// The loss a data hint names (what Learner uses when no loss_func is given, fastai's
/// `dls.loss_func`): "CrossEntropyLossFlat" ({"axis"}), "BCEWithLogitsLossFlat" ({"thresh"}),
/// "MSELossFlat", "L1LossFlat", "LabelSmoothingCrossEntropyFlat" ({"eps", "axis"}). Error naming
/// the hint and the known names otherwise.
LossFunc loss_from_hint(const LossHint& h);

}  // namespace fastai
