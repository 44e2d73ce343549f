// The concrete metrics of fastai.metrics, named as fastai prints them in the metrics table.
// Plain per-batch functions (accuracy, error_rate, mse...) are MetricFunc values, averaged over
// the batches by AvgMetric; metrics that do not decompose over batches (precision, ROC AUC, R2,
// rmse...) are AccumMetric values computing what scikit-learn computes, once per pass.
//
//   Learner learn(dls, model, {.loss_func = CrossEntropyLossFlat(),
//                              .metrics = {accuracy, error_rate, F1Score({.average = Average::Macro}), RocAuc()}});
#pragma once
#include "fastai/learner/metric.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>

namespace fastai {

// ---- single-label classification (argmax over `axis` of the predictions) ------------------

/// Fraction of argmax(pred, axis) equal to the targets (fastai's accuracy(inp, targ, axis)).
MetricFunc Accuracy(int64_t axis = -1);
/// 1 - accuracy (fastai's error_rate).
MetricFunc ErrorRate(int64_t axis = -1);
/// Fraction of items whose target is among the k highest predictions (fastai's top_k_accuracy).
MetricFunc TopKAccuracy(int64_t k = 5, int64_t axis = -1);

inline const MetricFunc accuracy = Accuracy();
inline const MetricFunc error_rate = ErrorRate();
inline const MetricFunc top_k_accuracy = TopKAccuracy();

/// scikit-learn's `average`: Binary scores the class pos_label only (an Error when more than two
/// classes occur); Micro pools every class's counts; Macro is the unweighted mean over the classes
/// that occur in the targets or the predictions; Weighted weighs each class by its target count.
enum class Average { Binary, Micro, Macro, Weighted };

struct ScoreOptions {
  int64_t axis = -1;               ///< class dimension of the predictions (argmax)
  Average average = Average::Binary;
  int64_t pos_label = 1;           ///< the positive class for Average::Binary
};
/// sklearn.metrics.precision_score on argmax(pred) (fastai's Precision); an undefined ratio counts 0.
AccumMetric Precision(ScoreOptions o = {});
/// sklearn.metrics.recall_score (fastai's Recall).
AccumMetric Recall(ScoreOptions o = {});
/// sklearn.metrics.f1_score (fastai's F1Score).
AccumMetric F1Score(ScoreOptions o = {});
/// sklearn.metrics.fbeta_score (fastai's FBeta).
AccumMetric FBeta(double beta, ScoreOptions o = {});
/// sklearn.metrics.matthews_corrcoef, multi-class form (fastai's MatthewsCorrCoef); 0 when undefined.
AccumMetric MatthewsCorrCoef(int64_t axis = -1);

struct RocAucOptions {
  int64_t axis = -1;
  Average average = Average::Macro;  ///< Macro or Weighted (by class prevalence)
};
/// sklearn.metrics.roc_auc_score(multi_class='ovr') on softmax(pred, axis) (fastai's RocAuc):
/// one-vs-rest AUC per class with ties counted half, averaged. NaN when some class of the
/// predictions never occurs in the targets (scikit-learn raises there).
AccumMetric RocAuc(RocAucOptions o = {});
/// sklearn.metrics.roc_auc_score for two classes (fastai's RocAucBinary): the score is softmax's
/// last column (column 1) for 2-column predictions, the raw prediction for 1 column. NaN when the
/// targets hold a single class.
AccumMetric RocAucBinary(int64_t axis = -1);

// ---- multi-label --------------------------------------------------------------------------

/// Fraction of (sigmoid(pred) if sigmoid) > thresh equal to the 0/1 targets (fastai's accuracy_multi).
MetricFunc AccuracyMulti(double thresh = 0.5, bool sigmoid = true);
inline const MetricFunc accuracy_multi = AccuracyMulti();

// ---- regression ---------------------------------------------------------------------------

MetricFunc MSE();   ///< mean squared error, flattened (fastai's mse)
MetricFunc MAE();   ///< mean absolute error (fastai's mae)
MetricFunc MSLE();  ///< mean squared error of log(1 + x) (fastai's msle)
/// Root of the mean squared error over the whole pass (fastai's rmse, shown as "_rmse").
AccumMetric RMSE();
/// sqrt(mean(((e^t - e^p) / e^t)^2)) over the pass (fastai's exp_rmspe, shown as "_exp_rmspe").
AccumMetric ExpRMSPE();
/// sklearn.metrics.r2_score on the flattened predictions (fastai's R2Score); 1 for a perfect fit
/// of constant targets, 0 for an imperfect one.
AccumMetric R2Score();

inline const MetricFunc mse = MSE();
inline const MetricFunc mae = MAE();
inline const MetricFunc msle = MSLE();
inline const AccumMetric rmse = RMSE();
inline const AccumMetric exp_rmspe = ExpRMSPE();

// ---- segmentation -------------------------------------------------------------------------

/// 2·Σ(p·t) / Σ(p+t) over the pass with p = argmax(pred, axis), binary targets (fastai's Dice);
/// NaN when the union is empty. Counts stay on the batch's device until value().
class Dice : public Metric {
 public:
  explicit Dice(int64_t axis = 1) : axis_(axis) {}
  void reset() override;
  void accumulate(const Learner& learn) override;
  /// One batch of raw predictions (the argmax is taken here) and targets.
  void accumulate(const at::Tensor& pred, const at::Tensor& targ);
  double value() const override;
  std::string name() const override { return "dice"; }

 protected:
  /// {Σ(p·t), Σ(p+t)} read back in one transfer ({0, 0} when nothing was accumulated).
  std::pair<double, double> inter_union() const;

 private:
  int64_t axis_;
  at::Tensor counts_;  // [intersection, union] on the batch's device
};

/// Σ(p·t) / (Σ(p+t) - Σ(p·t)), the intersection over union (fastai's JaccardCoeff).
class JaccardCoeff : public Dice {
 public:
  using Dice::Dice;
  double value() const override;
  std::string name() const override { return "jaccard_coeff"; }
};

// ---- language models ----------------------------------------------------------------------

/// exp of the batch-size-weighted mean loss of the pass (fastai's Perplexity, an AvgLoss).
class Perplexity : public AvgLoss {
 public:
  double value() const override;
  std::string name() const override { return "perplexity"; }
};
inline const Perplexity perplexity{};

}  // namespace fastai
