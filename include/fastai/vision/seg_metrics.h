// Segmentation metrics of fastai.metrics beyond the binary Dice / JaccardCoeff (which live in
// fastai/learner/metrics.h and are re-exported here): foreground_acc, DiceMulti and
// JaccardCoeffMulti. They take raw predictions [bs, c, h, w] and masks [bs, h, w].
#pragma once
#include "fastai/learner/metric.h"
#include "fastai/learner/metrics.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace fastai {

/// fastai's foreground_acc(inp, targ, bkg_idx=0, axis=1): accuracy of argmax(inp, axis) over the
/// pixels whose target is not bkg_idx (NaN for a batch without any, as fastai's mean of nothing).
/// A per-batch function: in `metrics` it is a batch-size-weighted AvgMetric, as in fastai.
MetricFunc ForegroundAcc(int64_t bkg_idx = 0, int64_t axis = 1);
inline const MetricFunc foreground_acc = ForegroundAcc();

/// fastai's DiceMulti(axis=1): per class c of the prediction's axis, Dice_c = 2·|p=c ∧ t=c| /
/// (|p=c| + |t=c|) summed over the pass (NaN when both are empty), and the value is the mean of
/// the classes that are not NaN (np.nanmean; NaN when every class is). Counts stay on the batch's
/// device until value().
class DiceMulti : public Metric {
 public:
  explicit DiceMulti(int64_t axis = 1) : axis_(axis) {}
  void reset() override;
  void accumulate(const Learner& learn) override;
  /// One batch of raw predictions (argmax over axis is taken here) and targets; Error naming
  /// both shapes when their element counts differ after the argmax.
  void accumulate(const at::Tensor& pred, const at::Tensor& targ);
  double value() const override;
  std::string name() const override { return "dice_multi"; }

 protected:
  /// Per-class score from (intersection, |p|+|t|); NaN when the sum is 0.
  virtual double score(double inter, double sum) const;

 private:
  int64_t axis_;
  at::Tensor counts_;  // [n_classes, 2]: intersection, |p| + |t|
};

/// fastai's JaccardCoeffMulti(axis=1) (2.7.13): like DiceMulti with the per-class intersection
/// over union |p=c ∧ t=c| / |p=c ∨ t=c|.
class JaccardCoeffMulti : public DiceMulti {
 public:
  using DiceMulti::DiceMulti;
  std::string name() const override { return "jaccard_coeff_multi"; }

 protected:
  double score(double inter, double sum) const override;
};

}  // namespace fastai
