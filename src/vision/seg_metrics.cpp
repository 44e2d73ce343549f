// foreground_acc, DiceMulti, JaccardCoeffMulti (see fastai/vision/seg_metrics.h).
#include "fastai/vision/seg_metrics.h"

#include "fastai/core/error.h"
#include "fastai/learner/learner.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

namespace fastai {

namespace seg_metrics_detail {

std::pair<at::Tensor, at::Tensor> flat_pair(const at::Tensor& p, const at::Tensor& t, const std::string& who) {
  FA_CHECK(p.numel() == t.numel(), who, ": predictions of shape ", p.sizes(), " (after the argmax) and targets of shape ",
           t.sizes(), " have different numbers of elements (", p.numel(), " vs ", t.numel(), ")");
  return {p.reshape({-1}), t.reshape({-1}).to(at::kLong)};
}

}  // namespace seg_metrics_detail

MetricFunc ForegroundAcc(int64_t bkg_idx, int64_t axis) {
  return {"foreground_acc", [bkg_idx, axis](const at::Tensor& inp, const at::Tensor& targ) {
            FA_CHECK(inp.defined() && targ.defined() && inp.dim() > axis, "foreground_acc: needs predictions with a "
                     "class dimension ", axis, " and targets");
            // fastai squeezes a [bs, 1, h, w] target to [bs, h, w]
            at::Tensor t = (targ.dim() == inp.dim() && targ.size(1) == 1) ? targ.squeeze(1) : targ;
            auto [p, tf] = seg_metrics_detail::flat_pair(inp.argmax(axis), t, "foreground_acc");
            at::Tensor mask = tf != bkg_idx;
            return (p.masked_select(mask) == tf.masked_select(mask)).to(at::kFloat).mean();
          }};
}

void DiceMulti::reset() { counts_ = at::Tensor(); }

void DiceMulti::accumulate(const Learner& learn) {
  FA_CHECK(!learn.yb.empty() && learn.yb[0].defined(), "metric '", name(), "' needs a target, but the batch has none");
  accumulate(learn.pred, learn.yb[0]);
}

void DiceMulti::accumulate(const at::Tensor& pred, const at::Tensor& targ) {
  FA_CHECK(pred.defined() && targ.defined() && pred.dim() > axis_, "metric '", name(),
           "': needs predictions with a class dimension ", axis_, " and targets");
  const int64_t c = pred.size(axis_);
  auto [p, t] = seg_metrics_detail::flat_pair(pred.detach().argmax(axis_), targ.detach(), name());
  // only classes 0..c-1 count (fastai loops over range(pred.shape[axis]))
  at::Tensor tin = t.masked_select((t >= 0) & (t < c));
  at::Tensor inter = at::bincount(p.masked_select(p == t), {}, c).to(at::kDouble);
  at::Tensor sum = (at::bincount(p, {}, c) + at::bincount(tin, {}, c)).to(at::kDouble);
  at::Tensor cnt = at::stack({inter.narrow(0, 0, c), sum.narrow(0, 0, c)}, 1);
  if (!counts_.defined()) {
    counts_ = cnt;
  } else {
    if (counts_.size(0) < c) counts_ = at::cat({counts_, at::zeros({c - counts_.size(0), 2}, counts_.options())});
    counts_.narrow(0, 0, c).add_(cnt);
  }
}

double DiceMulti::score(double inter, double sum) const {
  return sum > 0 ? 2.0 * inter / sum : std::numeric_limits<double>::quiet_NaN();
}

double JaccardCoeffMulti::score(double inter, double sum) const {
  return sum > 0 ? inter / (sum - inter) : std::numeric_limits<double>::quiet_NaN();
}

double DiceMulti::value() const {
  if (!counts_.defined()) return std::numeric_limits<double>::quiet_NaN();
  const at::Tensor h = counts_.to(at::kCPU).contiguous();
  const auto* d = h.data_ptr<double>();
  double total = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < h.size(0); ++i) {
    const double s = score(d[2 * i], d[2 * i + 1]);
    if (!std::isnan(s)) total += s, ++n;
  }
  return n ? total / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace fastai
