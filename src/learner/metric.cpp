// The Metric base classes (fastai's AvgMetric, AccumMetric, AvgLoss, AvgSmoothLoss). Running
// totals are tensors on the batch's device; nothing is read back to the host before value().
#include "fastai/learner/metric.h"

#include "fastai/core/error.h"
#include "fastai/learner/learner.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace fastai {

namespace metric_detail {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Pending smoothed-loss values are folded in on the host at least this often, so a long fit
// that never reads the value keeps a bounded list (one sync per this many batches).
constexpr size_t kMaxPendingLosses = 1024;

int64_t batch_size(const at::Tensor& targ, const at::Tensor& pred) {
  if (targ.defined() && targ.dim() > 0) return targ.size(0);
  if (pred.defined() && pred.dim() > 0) return pred.size(0);
  return 1;
}

const at::Tensor& first_target(const Learner& learn, const std::string& metric) {
  FA_CHECK(!learn.yb.empty() && learn.yb[0].defined(), "metric '", metric,
           "' needs a target, but the batch has none (learn.yb is empty)");
  return learn.yb[0];
}

// total += v * w, with the total in float64 on v's device.
void add_weighted(at::Tensor& total, const at::Tensor& v, double w) {
  auto x = v.detach().to(at::kDouble);
  if (!total.defined())
    total = x * w;
  else
    total.add_(x, w);
}

}  // namespace metric_detail

int64_t find_bs(const std::vector<at::Tensor>& yb, const at::Tensor& pred) {
  return metric_detail::batch_size(yb.empty() ? at::Tensor() : yb[0], pred);
}

// ---- AvgMetric ---------------------------------------------------------------------------

AvgMetric::AvgMetric(MetricFn f, std::string name) : f_(std::move(f)), name_(std::move(name)) {
  FA_CHECK(static_cast<bool>(f_), "AvgMetric '", name_, "': the metric function is empty");
}

void AvgMetric::reset() {
  total_ = at::Tensor();
  count_ = 0;
}

void AvgMetric::accumulate(const Learner& learn) {
  accumulate(learn.pred, metric_detail::first_target(learn, name_));
}

void AvgMetric::accumulate(const at::Tensor& pred, const at::Tensor& targ) {
  const int64_t bs = metric_detail::batch_size(targ, pred);
  at::Tensor v = f_(pred.detach(), targ.detach());
  FA_CHECK(v.defined() && v.numel() == 1, "metric '", name_, "' must return one value per batch, got ",
           v.defined() ? v.sizes() : at::IntArrayRef{});
  metric_detail::add_weighted(total_, v.reshape({}), static_cast<double>(bs));
  count_ += bs;
}

double AvgMetric::value() const {
  if (count_ == 0 || !total_.defined()) return metric_detail::kNaN;
  return total_.item<double>() / static_cast<double>(count_);
}

// ---- AccumMetric -------------------------------------------------------------------------

AccumMetric::AccumMetric(Fn f, std::string name, AccumOptions o)
    : f_(std::move(f)), name_(std::move(name)), o_(o) {
  FA_CHECK(static_cast<bool>(f_), "AccumMetric '", name_, "': the metric function is empty");
}

void AccumMetric::reset() {
  preds_.clear();
  targs_.clear();
}

void AccumMetric::accumulate(const Learner& learn) {
  accumulate_output(learn.pred, metric_detail::first_target(learn, name_));
}

void AccumMetric::accumulate_output(const at::Tensor& output, const at::Tensor& targ) {
  FA_CHECK(output.defined(), "metric '", name_, "': the prediction is undefined");
  at::Tensor p = output.detach();
  const int64_t dim = o_.dim_argmax.value_or(-1);
  switch (o_.activation) {
    case Activation::Softmax:
      p = at::softmax(p, dim);
      break;
    case Activation::BinarySoftmax:
      FA_CHECK(p.dim() >= 1, "metric '", name_, "': binary predictions need a class dimension, got shape ", p.sizes());
      // One column holds a score already (any monotone activation gives the same ranking);
      // two or more: the probability of the last class, as fastai's pred[:, -1].
      p = p.size(dim) == 1 ? p.select(dim, 0) : at::softmax(p, dim).select(dim, -1);
      break;
    case Activation::Sigmoid:
      p = at::sigmoid(p);
      break;
    case Activation::No:
      if (o_.dim_argmax) p = p.argmax(dim);
      break;
  }
  if (o_.thresh) p = p >= *o_.thresh;
  accumulate(p, targ);
}

void AccumMetric::accumulate(const at::Tensor& pred, const at::Tensor& targ) {
  FA_CHECK(pred.defined() && targ.defined(), "metric '", name_, "': undefined prediction or target");
  at::Tensor p = pred.detach(), t = targ.detach();
  if (o_.flatten) {
    FA_CHECK(p.numel() == t.numel(), "metric '", name_, "': predictions of shape ", p.sizes(),
             " and targets of shape ", t.sizes(), " have different numbers of elements (", p.numel(), " vs ",
             t.numel(), ")");
    p = p.reshape({-1});
    t = t.reshape({-1});
  }
  preds_.push_back(p);
  targs_.push_back(t);
}

double AccumMetric::value() const {
  if (preds_.empty()) return metric_detail::kNaN;
  return f_(at::cat(preds_, 0), at::cat(targs_, 0));
}

// ---- AvgLoss -----------------------------------------------------------------------------

void AvgLoss::reset() {
  total_ = at::Tensor();
  count_ = 0;
}

void AvgLoss::accumulate(const Learner& learn) {
  if (!learn.loss.defined()) return;
  accumulate(learn.loss, find_bs(learn.yb, learn.pred));
}

void AvgLoss::accumulate(const at::Tensor& loss, int64_t bs) {
  FA_CHECK(loss.defined(), "AvgLoss: the loss is undefined");
  // The mean covers an unreduced loss (reduction None, as get_preds(with_loss) sets).
  metric_detail::add_weighted(total_, loss.detach().mean(), static_cast<double>(bs));
  count_ += bs;
}

double AvgLoss::value() const {
  if (count_ == 0 || !total_.defined()) return metric_detail::kNaN;
  return total_.item<double>() / static_cast<double>(count_);
}

// ---- AvgSmoothLoss -----------------------------------------------------------------------

void AvgSmoothLoss::reset() {
  pending_.clear();
  history_.clear();
  v_ = 0;
  ref_ = 0;
  count_ = 0;
}

void AvgSmoothLoss::accumulate(const Learner& learn) {
  if (!learn.training || !learn.loss.defined()) return;
  accumulate(learn.loss);
}

void AvgSmoothLoss::accumulate(const at::Tensor& loss) {
  FA_CHECK(loss.defined(), "AvgSmoothLoss: the loss is undefined");
  // The Learner's loss is already a detached scalar: keep it as is (this runs every batch).
  pending_.push_back(loss.dim() == 0 && !loss.requires_grad() ? loss : loss.detach().mean());
  if (pending_.size() >= metric_detail::kMaxPendingLosses) flush();
}

void AvgSmoothLoss::flush() const {
  if (pending_.empty()) return;
  const at::Tensor host = at::stack(pending_).to(at::kCPU, at::kDouble).contiguous();
  const double* l = host.data_ptr<double>();
  for (int64_t i = 0; i < host.numel(); ++i) {
    if (count_ == 0) ref_ = l[i];
    ++count_;
    v_ = beta_ * v_ + (1 - beta_) * (l[i] - ref_);
    history_.push_back(ref_ + v_ / (1 - std::pow(beta_, static_cast<double>(count_))));
  }
  pending_.clear();
}

double AvgSmoothLoss::value() const {
  flush();
  return history_.empty() ? metric_detail::kNaN : history_.back();
}

const std::vector<double>& AvgSmoothLoss::history() const {
  flush();
  return history_;
}

}  // namespace fastai
