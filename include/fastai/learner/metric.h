// The metric API (fastai's Metric: reset / accumulate / value / name) and the two generic
// wrappers every concrete metric is built from. Values accumulate on the batch's device and
// are read back once per pass (no host-device sync per batch).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace fastai {

class Learner;

class Metric {
 public:
  virtual ~Metric() = default;
  virtual void reset() = 0;
  /// Reads learn.pred, learn.yb (and learn.loss) of the current batch.
  virtual void accumulate(const Learner& learn) = 0;
  /// The value over everything accumulated since reset() (NaN when nothing was accumulated).
  virtual double value() const = 0;
  virtual std::string name() const = 0;
};

/// f(pred, targ) -> scalar tensor, the signature of plain metric functions.
using MetricFn = std::function<at::Tensor(const at::Tensor& pred, const at::Tensor& targ)>;

/// Batch-size-weighted mean of a per-batch function (fastai's AvgMetric).
class AvgMetric : public Metric {
 public:
  AvgMetric(MetricFn f, std::string name);
  void reset() override;
  void accumulate(const Learner& learn) override;
  /// Accumulates one batch directly (what accumulate(learn) calls).
  void accumulate(const at::Tensor& pred, const at::Tensor& targ);
  double value() const override;
  std::string name() const override { return name_; }

 private:
  MetricFn f_;
  std::string name_;
  at::Tensor total_;
  int64_t count_ = 0;
};

/// Activation applied to predictions before an AccumMetric's function (fastai's ActivationType).
enum class Activation { No, Sigmoid, Softmax, BinarySoftmax };

struct AccumOptions {
  std::optional<int64_t> dim_argmax = std::nullopt;  ///< argmax over this dim (after activation)
  Activation activation = Activation::No;
  std::optional<double> thresh = std::nullopt;       ///< pred >= thresh (multi-label)
  bool flatten = true;                               ///< flatten preds and targets (checked equal sizes)
};

/// Keeps every prediction and target of the pass and evaluates `f(preds, targs)` once
/// (fastai's AccumMetric, for metrics that do not decompose over batches).
class AccumMetric : public Metric {
 public:
  using Fn = std::function<double(const at::Tensor& preds, const at::Tensor& targs)>;
  AccumMetric(Fn f, std::string name, AccumOptions o = {});
  void reset() override;
  void accumulate(const Learner& learn) override;
  /// Accumulates one batch directly (what accumulate(learn) calls after the activation).
  void accumulate(const at::Tensor& pred, const at::Tensor& targ);
  /// Applies the activation, argmax and thresh of the options to a raw model output, then
  /// accumulate(pred, targ) (what accumulate(learn) does with learn.pred and learn.yb[0]).
  void accumulate_output(const at::Tensor& output, const at::Tensor& targ);
  double value() const override;
  std::string name() const override { return name_; }

 private:
  Fn f_;
  std::string name_;
  AccumOptions o_;
  std::vector<at::Tensor> preds_, targs_;
};

/// A named plain metric function; converts to an AvgMetric in `metrics = {accuracy, ...}`
/// and can be called directly: accuracy(pred, targ).
struct MetricFunc {
  std::string name;
  MetricFn fn;
  at::Tensor operator()(const at::Tensor& pred, const at::Tensor& targ) const { return fn(pred, targ); }
};

/// What `metrics = {...}` holds: a MetricFunc (wrapped in AvgMetric), a Metric value, or a
/// shared_ptr to one. A fresh object is made per Learner from values, so lists can be reused.
struct MetricRef {
  std::shared_ptr<Metric> m;
  MetricRef(const MetricFunc& f) : m(std::make_shared<AvgMetric>(f.fn, f.name)) {}
  template <class M, std::enable_if_t<std::is_base_of_v<Metric, M>, int> = 0>
  MetricRef(std::shared_ptr<M> p) : m(std::move(p)) {}
  template <class M, std::enable_if_t<std::is_base_of_v<Metric, std::decay_t<M>>, int> = 0>
  MetricRef(M&& v) : m(std::make_shared<std::decay_t<M>>(std::forward<M>(v))) {}
};

/// Mean of the loss over the pass, weighted by batch size (fastai's AvgLoss: valid_loss).
class AvgLoss : public Metric {
 public:
  void reset() override;
  void accumulate(const Learner& learn) override;
  void accumulate(const at::Tensor& loss, int64_t bs);
  double value() const override;
  std::string name() const override { return "loss"; }

 private:
  at::Tensor total_;
  int64_t count_ = 0;
};

/// Debiased exponential moving average of the training loss (fastai's AvgSmoothLoss, beta 0.98).
/// Losses stay on the device until value() is read; then they are folded in on the host.
class AvgSmoothLoss : public Metric {
 public:
  explicit AvgSmoothLoss(double beta = 0.98) : beta_(beta) {}
  void reset() override;
  void accumulate(const Learner& learn) override;
  void accumulate(const at::Tensor& loss);
  double value() const override;
  std::string name() const override { return "loss"; }
  int64_t count() const { return count_ + static_cast<int64_t>(pending_.size()); }
  /// The smoothed value after every batch since reset (syncs once).
  const std::vector<double>& history() const;

 private:
  void flush() const;
  double beta_;
  mutable std::vector<at::Tensor> pending_;
  mutable std::vector<double> history_;
  mutable double v_ = 0;    // EMA of (loss - ref_): a constant loss comes back exactly
  mutable double ref_ = 0;  // the first loss since reset
  mutable int64_t count_ = 0;
};

/// Number of items in a batch (first dimension of the first target, or of pred).
int64_t find_bs(const std::vector<at::Tensor>& yb, const at::Tensor& pred);

}  // namespace fastai
