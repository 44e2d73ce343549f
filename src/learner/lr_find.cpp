// fastai's LR finder: an exponential lr sweep with divergence stop, the model and optimizer
// restored afterwards, and fastai 2.7's four suggestion functions.
#include "fastai/core/error.h"
#include "fastai/learner/learner.h"
#include "fastai/learner/recorder.h"
#include "fastai/learner/schedule.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace fastai {

namespace lr_find_detail {

class LRFinder : public ParamScheduler {
 public:
  LRFinder(double start_lr, double end_lr, int num_it, bool stop_div)
      : ParamScheduler({{"lr", {SchedExp(start_lr, end_lr)}}}), num_it_(num_it), stop_div_(stop_div) {}

  void before_fit(Learner& l) override {
    ParamScheduler::before_fit(l);
    FA_CHECK(l.recorder != nullptr, "lr_find needs the Recorder (construct the Learner with default_cbs = true)");
    best_ = std::numeric_limits<double>::infinity();
    torch::NoGradGuard ng;
    saved_model_.clear();
    for (auto& p : l.model.module->named_parameters()) saved_model_.push_back(p.value().detach().clone());
    for (auto& bf : l.model.module->named_buffers()) saved_model_.push_back(bf.value().detach().clone());
    saved_opt_.clear();
    if (l.opt)
      for (auto& [k, t] : l.opt->state_dict()) saved_opt_.emplace_back(k, t.clone());
  }
  void before_batch(Learner& l) override {
    if (l.training) update(l, static_cast<double>(l.train_iter) / num_it_);
  }
  void after_batch(Learner& l) override {
    ParamScheduler::after_batch(l);
    if (!l.training) return;
    const double s = l.recorder->smooth_loss();
    if (s < best_) best_ = s;
    if (stop_div_ && (s > 4 * best_ || !std::isfinite(s))) throw CancelFitException();
    if (l.train_iter >= num_it_) throw CancelFitException();
  }
  void before_validate(Learner&) override { throw CancelValidException(); }
  void after_fit(Learner& l) override {
    ParamScheduler::after_fit(l);
    if (l.opt) l.opt->zero_grad();
    torch::NoGradGuard ng;
    size_t i = 0;
    for (auto& p : l.model.module->named_parameters()) p.value().copy_(saved_model_[i++]);
    for (auto& bf : l.model.module->named_buffers()) bf.value().copy_(saved_model_[i++]);
    if (l.opt) l.opt->load_state_dict(saved_opt_);
  }
  int order() const override { return 60; }

 private:
  int num_it_;
  bool stop_div_;
  double best_ = 0;
  std::vector<at::Tensor> saved_model_;
  StateDict saved_opt_;
};

// fastai trims the curve to [num_it/10, -5) and cuts it at the first NaN.
void trim(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it, std::vector<double>& l,
          std::vector<double>& y) {
  const size_t n = std::min(lrs.size(), losses.size());
  const size_t lo = static_cast<size_t>(std::max(0, num_it / 10));
  const size_t hi = n >= 5 ? n - 5 : 0;
  l.clear(), y.clear();
  for (size_t i = lo; i < hi; ++i) {
    if (std::isnan(losses[i])) break;
    l.push_back(lrs[i]);
    y.push_back(losses[i]);
  }
  FA_CHECK(l.size() >= 2, "lr_find: too few recorded points (", n, ") to suggest a learning rate; use more iterations");
}

}  // namespace lr_find_detail

double minimum(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it) {
  std::vector<double> l, y;
  lr_find_detail::trim(lrs, losses, num_it, l, y);
  size_t best = 0;
  for (size_t i = 1; i < y.size(); ++i)
    if (y[i] < y[best]) best = i;
  return l[best] / 10;
}

double steep(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it) {
  std::vector<double> l, y;
  lr_find_detail::trim(lrs, losses, num_it, l, y);
  size_t best = 0;
  double best_g = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i + 1 < y.size(); ++i) {
    const double g = (y[i + 1] - y[i]) / (std::log(l[i + 1]) - std::log(l[i]));
    if (g < best_g) best_g = g, best = i;
  }
  return l[best];
}

// The middle of the longest strictly decreasing subsequence (as fastai's valley, which keeps
// the quirk of recomputing the start inside the inner loop).
double valley(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it) {
  std::vector<double> l, y;
  lr_find_detail::trim(lrs, losses, num_it, l, y);
  const size_t n = y.size();
  std::vector<int64_t> lds(n, 1);
  int64_t max_start = 0, max_end = 0;
  for (size_t i = 1; i < n; ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (y[i] < y[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
      if (lds[static_cast<size_t>(max_end)] < lds[i]) {
        max_end = static_cast<int64_t>(i);
        max_start = max_end - lds[static_cast<size_t>(max_end)];
      }
    }
  }
  const double sections = static_cast<double>(max_end - max_start) / 3;
  const int64_t idx = max_start + static_cast<int64_t>(sections) + static_cast<int64_t>(sections / 2);
  return l[static_cast<size_t>(std::clamp<int64_t>(idx, 0, static_cast<int64_t>(n) - 1))];
}

double slide(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it, double lr_diff,
             double thresh, double adjust_value) {
  std::vector<double> l, y;
  lr_find_detail::trim(lrs, losses, num_it, l, y);
  const int64_t n = static_cast<int64_t>(y.size());
  std::vector<double> g(static_cast<size_t>(n));  // numpy.gradient: central inside, one-sided at the ends
  for (int64_t i = 0; i < n; ++i) {
    if (i == 0) g[0] = y[1] - y[0];
    else if (i == n - 1) g[i] = y[i] - y[i - 1];
    else g[i] = (y[i + 1] - y[i - 1]) / 2;
  }
  int64_t r = n - 1, li = r - static_cast<int64_t>(lr_diff);
  double local_min = l[static_cast<size_t>(std::max<int64_t>(li, 0))];
  while (li >= 0 && std::abs(g[static_cast<size_t>(r)] - g[static_cast<size_t>(li)]) > thresh) {
    local_min = l[static_cast<size_t>(li)];
    --r, --li;
  }
  return local_min * adjust_value;
}

SuggestedLRs suggest_lrs(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it) {
  SuggestedLRs s;
  s.lrs = lrs;
  s.losses = losses;
  s.valley = valley(lrs, losses, num_it);
  s.slide = slide(lrs, losses, num_it);
  s.minimum = minimum(lrs, losses, num_it);
  s.steep = steep(lrs, losses, num_it);
  return s;
}

SuggestedLRs Learner::lr_find(LrFindOptions o) {
  FA_CHECK(o.num_it >= 6, "lr_find: num_it must be at least 6, got ", o.num_it);
  FA_CHECK(o.start_lr > 0 && o.end_lr > o.start_lr, "lr_find: need 0 < start_lr < end_lr, got ", o.start_lr, " and ", o.end_lr);
  FA_CHECK(recorder != nullptr, "lr_find needs the Recorder (construct the Learner with default_cbs = true)");
  const int64_t n_batches = dls.train().size();
  FA_CHECK(n_batches > 0, "lr_find: the training loader yields no batch");
  const int n = static_cast<int>(o.num_it / n_batches + 1);
  auto logger = std::move(recorder->logger);  // fastai's no_logging()
  recorder->logger = nullptr;
  try {
    fit(n, {}, {.cbs = {std::make_shared<lr_find_detail::LRFinder>(o.start_lr, o.end_lr, o.num_it, o.stop_div)}});
  } catch (...) {
    recorder->logger = std::move(logger);
    throw;
  }
  recorder->logger = std::move(logger);
  auto s = suggest_lrs(recorder->lrs, recorder->losses(), o.num_it);
  if (!o.plot_path.empty()) recorder->plot_lr_find(o.plot_path, 5, {{"valley", s.valley}});
  return s;
}

}  // namespace fastai
