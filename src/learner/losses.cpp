// fastai's flattened losses (BaseLoss): the class axis is moved last, predictions are flattened
// to (-1, C) (or (-1) for element-wise losses) and targets to (-1), so one loss serves plain
// classification, sequences and segmentation masks. Mismatched shapes are reported as
// fastai::Error naming the loss and both shapes, before LibTorch sees them.
#include "fastai/learner/losses.h"

#include "fastai/core/error.h"

#include <torch/torch.h>

namespace fastai {

namespace losses_detail {

int64_t aten_reduction(Reduction r) {
  switch (r) {
    case Reduction::Mean: return at::Reduction::Mean;
    case Reduction::Sum: return at::Reduction::Sum;
    case Reduction::None: return at::Reduction::None;
  }
  return at::Reduction::Mean;
}

int64_t norm_axis(int64_t axis, const at::Tensor& t, const char* loss) {
  const int64_t d = t.dim();
  FA_CHECK(d >= 1 && axis >= -d && axis < d, loss, ": the class axis ", axis, " does not exist in predictions of shape ",
           t.sizes());
  return axis < 0 ? axis + d : axis;
}

// Runs a LibTorch loss and turns its errors (bad class index, dtype) into fastai::Error with
// the loss's name and the shapes.
template <class F>
at::Tensor guarded(const char* loss, const at::Tensor& pred, const at::Tensor& targ, F&& f) {
  try {
    return f();
  } catch (const c10::Error& e) {
    fail(loss, " on predictions of shape ", pred.sizes(), " (", pred.scalar_type(), ") and targets of shape ",
         targ.sizes(), " (", targ.scalar_type(), "): ", e.what_without_backtrace());
  }
}

// Class-index targets as int64 (fastai's BaseLoss turns int8/16/32 into long).
at::Tensor class_targets(const at::Tensor& targ, const at::Tensor& pred, const char* loss) {
  FA_CHECK(!targ.is_floating_point() && !targ.is_complex(), loss,
           " expects class indices as targets (an integer tensor), got ", targ.scalar_type(), " targets of shape ",
           targ.sizes(), " for predictions of shape ", pred.sizes(),
           "; for 0/1 or multi-label targets use BCEWithLogitsLossFlat()");
  return targ.to(at::kLong);
}

// Predictions (..., C, ...) -> (N, C) with the classes from `axis`; targets -> (N).
std::pair<at::Tensor, at::Tensor> flatten_2d(const at::Tensor& pred, const at::Tensor& targ, int64_t axis,
                                             const char* loss) {
  FA_CHECK(pred.defined() && targ.defined(), loss, ": undefined predictions or targets");
  const int64_t ax = norm_axis(axis, pred, loss);
  const int64_t C = pred.size(ax);
  const at::Tensor x = pred.movedim(ax, -1).reshape({-1, C});
  const at::Tensor t = class_targets(targ, pred, loss).reshape({-1});
  FA_CHECK(x.size(0) == t.numel(), loss, ": predictions of shape ", pred.sizes(), " hold ", x.size(0), " items of ", C,
           " classes (class axis ", axis, ") but targets of shape ", targ.sizes(), " hold ", t.numel(),
           " labels; each item needs one class index");
  return {x, t};
}

// Both flattened to (-1), the targets as floats of the predictions' dtype (floatify).
std::pair<at::Tensor, at::Tensor> flatten_1d(const at::Tensor& pred, const at::Tensor& targ, const char* loss) {
  FA_CHECK(pred.defined() && targ.defined(), loss, ": undefined predictions or targets");
  FA_CHECK(pred.numel() == targ.numel(), loss, ": predictions of shape ", pred.sizes(), " and targets of shape ",
           targ.sizes(), " have different numbers of elements (", pred.numel(), " vs ", targ.numel(), ")");
  const auto dt = pred.is_floating_point() ? pred.scalar_type() : at::kFloat;
  return {pred.reshape({-1}).to(dt), targ.reshape({-1}).to(dt)};
}

// fastai's LabelSmoothingCrossEntropy on (N, C) logits: eps/C·Σ_c(−log p_c) + (1−eps)·NLL,
// each term reduced as the reduction says (NLL skips targets equal to -100, as F.nll_loss).
at::Tensor label_smoothing_ce(const at::Tensor& x, const at::Tensor& t, double eps, Reduction r) {
  const at::Tensor logp = at::log_softmax(x, -1);
  const double C = static_cast<double>(x.size(-1));
  at::Tensor smooth = -logp.sum(-1);
  if (r == Reduction::Mean) smooth = smooth.mean();
  if (r == Reduction::Sum) smooth = smooth.sum();
  const at::Tensor nll = at::nll_loss(logp, t, {}, aten_reduction(r), -100);
  return smooth * (eps / C) + (1 - eps) * nll;
}

}  // namespace losses_detail

LossFunc CrossEntropyLossFlat(CrossEntropyOptions o) {
  const int64_t axis = o.axis;
  auto fn = [o](const at::Tensor& pred, const at::Tensor& targ, Reduction r) {
    constexpr const char* name = "CrossEntropyLossFlat";
    // Fast path, the common case: (N, C) predictions with classes last and (N,) int64 targets
    // need no reshaping (two autograd views fewer per batch).
    if (!o.weight && pred.defined() && targ.defined() && pred.dim() == 2 && (o.axis == -1 || o.axis == 1) &&
        targ.dim() == 1 && targ.scalar_type() == at::kLong && pred.size(0) == targ.size(0) &&
        pred.is_floating_point()) {
      return losses_detail::guarded(name, pred, targ, [&] {
        return at::cross_entropy_loss(pred, targ, {}, losses_detail::aten_reduction(r), o.ignore_index, o.label_smoothing);
      });
    }
    auto [x, t] = losses_detail::flatten_2d(pred, targ, o.axis, name);
    c10::optional<at::Tensor> w;
    if (o.weight) {
      FA_CHECK(o.weight->defined() && o.weight->numel() == x.size(1), name, ": weight has ",
               o.weight->defined() ? o.weight->numel() : 0, " values but the predictions have ", x.size(1),
               " classes");
      w = o.weight->to(x.device(), x.scalar_type()).reshape({-1});
    }
    return losses_detail::guarded(name, pred, targ, [&] {
      return at::cross_entropy_loss(x, t, w, losses_detail::aten_reduction(r), o.ignore_index, o.label_smoothing);
    });
  };
  LossFunc l(
      "CrossEntropyLossFlat", std::move(fn), [axis](const at::Tensor& x) { return at::softmax(x, axis); },
      [axis](const at::Tensor& x) { return x.argmax(axis); });
  l.params = {{"axis", axis}};
  return l;
}

LossFunc BCEWithLogitsLossFlat(BCEOptions o) {
  const double thresh = o.thresh;
  auto fn = [o](const at::Tensor& pred, const at::Tensor& targ, Reduction r) {
    constexpr const char* name = "BCEWithLogitsLossFlat";
    const int64_t red = losses_detail::aten_reduction(r);
    if (o.pos_weight) {
      // With pos_weight the class dimension must survive (fastai sets flatten=False).
      FA_CHECK(pred.defined() && targ.defined() && pred.sizes() == targ.sizes(), name,
               " with pos_weight needs targets of the predictions' shape, got predictions of shape ",
               pred.defined() ? pred.sizes() : at::IntArrayRef{}, " and targets of shape ",
               targ.defined() ? targ.sizes() : at::IntArrayRef{});
      const auto dt = pred.is_floating_point() ? pred.scalar_type() : at::kFloat;
      const at::Tensor pw = o.pos_weight->to(pred.device(), dt);
      FA_CHECK(pw.numel() == 1 || (pred.dim() >= 1 && pw.numel() == pred.size(-1)), name, ": pos_weight has ",
               pw.numel(), " values but the predictions of shape ", pred.sizes(), " have ",
               pred.dim() >= 1 ? pred.size(-1) : 1, " columns");
      return losses_detail::guarded(name, pred, targ, [&] {
        return at::binary_cross_entropy_with_logits(pred.to(dt), targ.to(dt), {}, pw.reshape({-1}), red);
      });
    }
    auto [x, t] = losses_detail::flatten_1d(pred, targ, name);
    return losses_detail::guarded(name, pred, targ, [&] { return at::binary_cross_entropy_with_logits(x, t, {}, {}, red); });
  };
  LossFunc l(
      "BCEWithLogitsLossFlat", std::move(fn), [](const at::Tensor& x) { return at::sigmoid(x); },
      [thresh](const at::Tensor& x) { return x > thresh; });
  l.params = {{"thresh", thresh}};
  return l;
}

LossFunc MSELossFlat() {
  return LossFunc("MSELossFlat", [](const at::Tensor& pred, const at::Tensor& targ, Reduction r) {
    auto [x, t] = losses_detail::flatten_1d(pred, targ, "MSELossFlat");
    return at::mse_loss(x, t, losses_detail::aten_reduction(r));
  });
}

LossFunc L1LossFlat() {
  return LossFunc("L1LossFlat", [](const at::Tensor& pred, const at::Tensor& targ, Reduction r) {
    auto [x, t] = losses_detail::flatten_1d(pred, targ, "L1LossFlat");
    return at::l1_loss(x, t, losses_detail::aten_reduction(r));
  });
}

LossFunc LabelSmoothingCrossEntropy(double eps) {
  FA_CHECK(eps >= 0 && eps <= 1, "LabelSmoothingCrossEntropy: eps must be in [0, 1], got ", eps);
  auto class_dim = [](const at::Tensor& x) -> int64_t { return x.dim() >= 2 ? 1 : 0; };
  auto fn = [eps, class_dim](const at::Tensor& pred, const at::Tensor& targ, Reduction r) {
    constexpr const char* name = "LabelSmoothingCrossEntropy";
    FA_CHECK(pred.defined() && pred.dim() >= 1, name, ": predictions need a class dimension");
    auto [x, t] = losses_detail::flatten_2d(pred, targ, class_dim(pred), name);
    at::Tensor out = losses_detail::guarded(name, pred, targ, [&] { return losses_detail::label_smoothing_ce(x, t, eps, r); });
    // Unreduced: one loss per target element, in the targets' shape (as fastai's dim-1 version).
    return r == Reduction::None ? out.reshape(targ.sizes()) : out;
  };
  return LossFunc(
      "LabelSmoothingCrossEntropy", std::move(fn),
      [class_dim](const at::Tensor& x) { return at::softmax(x, class_dim(x)); },
      [class_dim](const at::Tensor& x) { return x.argmax(class_dim(x)); });
}

LossFunc LabelSmoothingCrossEntropyFlat(double eps, int64_t axis) {
  FA_CHECK(eps >= 0 && eps <= 1, "LabelSmoothingCrossEntropyFlat: eps must be in [0, 1], got ", eps);
  auto fn = [eps, axis](const at::Tensor& pred, const at::Tensor& targ, Reduction r) {
    constexpr const char* name = "LabelSmoothingCrossEntropyFlat";
    auto [x, t] = losses_detail::flatten_2d(pred, targ, axis, name);
    return losses_detail::guarded(name, pred, targ, [&] { return losses_detail::label_smoothing_ce(x, t, eps, r); });
  };
  LossFunc l(
      "LabelSmoothingCrossEntropyFlat", std::move(fn), [axis](const at::Tensor& x) { return at::softmax(x, axis); },
      [axis](const at::Tensor& x) { return x.argmax(axis); });
  l.params = {{"eps", eps}, {"axis", axis}};
  return l;
}

}  // namespace fastai

namespace fastai {

LossFunc loss_from_hint(const LossHint& h) {
  const auto& p = h.params;
  FA_CHECK(p.is_object(), "loss_from_hint: the parameters of '", h.name, "' must be a JSON object, got ", p.dump());
  if (h.name == "CrossEntropyLossFlat") return CrossEntropyLossFlat({.axis = p.value("axis", int64_t{-1})});
  if (h.name == "BCEWithLogitsLossFlat") return BCEWithLogitsLossFlat({.thresh = p.value("thresh", 0.5)});
  if (h.name == "MSELossFlat") return MSELossFlat();
  if (h.name == "L1LossFlat") return L1LossFlat();
  if (h.name == "LabelSmoothingCrossEntropyFlat")
    return LabelSmoothingCrossEntropyFlat(p.value("eps", 0.1), p.value("axis", int64_t{-1}));
  fail("loss_from_hint: unknown loss '", h.name,
       "'; known: CrossEntropyLossFlat, BCEWithLogitsLossFlat, MSELossFlat, L1LossFlat, "
       "LabelSmoothingCrossEntropyFlat");
}

}  // namespace fastai
