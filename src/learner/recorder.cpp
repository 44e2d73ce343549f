#include "fastai/learner/core_callbacks.h"
#include "fastai/learner/recorder.h"

#include "fastai/core/error.h"
#include "fastai/core/files.h"
#include "fastai/plot/plot.h"
#include "fastai/learner/learner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace fastai {

namespace recorder_detail {
std::string fmt_value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}
void print_row(const LogRow& row) {
  std::string s;
  for (auto& c : row) {
    if (!s.empty()) s += "  ";
    s += c;
  }
  std::printf("%s\n", s.c_str());
  std::fflush(stdout);
}
}  // namespace recorder_detail

Recorder::Recorder(RecorderOptions o)
    : logger(recorder_detail::print_row), opts(o),
      smooth_(std::make_shared<AvgSmoothLoss>(o.beta)), valid_loss_(std::make_shared<AvgLoss>()) {}

std::vector<std::string> Recorder::metric_names(const Learner& l) const {
  std::vector<std::string> names{"epoch", "train_loss"};
  if (opts.train_metrics)
    for (auto& m : l.metrics) names.push_back("train_" + m->name());
  names.push_back("valid_loss");
  if (opts.valid_metrics)
    for (auto& m : l.metrics) names.push_back((opts.train_metrics ? "valid_" : "") + m->name());
  if (opts.add_time) names.push_back("time");
  return names;
}

double Recorder::smooth_loss() const { return smooth_->value(); }
std::vector<double> Recorder::losses() const { return smooth_->history(); }

void Recorder::before_fit(Learner& l) {
  valid_col_ = 1 + (opts.train_metrics ? l.metrics.size() : 0);
  lrs.clear();
  moms.clear();
  iters.clear();
  values.clear();
  smooth_->reset();
}

void Recorder::before_epoch(Learner& l) {
  cancel_train_ = cancel_valid_ = false;
  start_epoch_ = std::chrono::steady_clock::now();
  epoch_row_.clear();
  (void)l;
}

void Recorder::before_train(Learner& l) {
  if (opts.train_metrics)
    for (auto& m : l.metrics) m->reset();
}

void Recorder::before_validate(Learner& l) {
  valid_loss_->reset();
  if (opts.valid_metrics)
    for (auto& m : l.metrics) m->reset();
}

void Recorder::after_batch(Learner& l) {
  if (l.yb.empty() || !l.loss.defined()) return;
  if (l.training) {
    smooth_->accumulate(l.loss);
    if (opts.train_metrics)
      for (auto& m : l.metrics) m->accumulate(l);
    if (l.opt) {
      lrs.push_back(l.opt->hyper("lr"));
      if (l.opt->has_hyper("mom")) moms.push_back(l.opt->hyper("mom"));
    }
  } else {
    valid_loss_->accumulate(l);
    if (opts.valid_metrics)
      for (auto& m : l.metrics) m->accumulate(l);
  }
}

void Recorder::after_train(Learner& l) {
  const double v = smooth_->value();
  l.smooth_loss = v;
  if (smooth_->count() > 0 && !std::isfinite(v))
    fail("the training loss became ", v, " in epoch ", l.epoch, " (lr ", lrs.empty() ? 0.0 : lrs.back(),
         "): the model diverged. Lower the learning rate (learn.lr_find() suggests one), check the "
         "inputs and targets for NaN/inf, or add TerminateOnNaNCallback to stop at the first bad batch");
  epoch_row_.push_back(v);
  if (opts.train_metrics)
    for (auto& m : l.metrics) epoch_row_.push_back(m->value());
}

void Recorder::after_validate(Learner& l) {
  epoch_row_.push_back(valid_loss_->value());
  if (opts.valid_metrics)
    for (auto& m : l.metrics) epoch_row_.push_back(m->value());
}

void Recorder::after_cancel_train(Learner&) { cancel_train_ = true; }
void Recorder::after_cancel_validate(Learner&) { cancel_valid_ = true; }

void Recorder::after_epoch(Learner& l) {
  l.final_record = epoch_row_;
  values.push_back(epoch_row_);
  iters.push_back(smooth_->count());
  if (!logger) return;
  LogRow row{std::to_string(l.epoch)};
  for (double v : epoch_row_) row.push_back(recorder_detail::fmt_value(v));
  const size_t n_cols = metric_names(l).size() - (opts.add_time ? 1 : 0);
  while (row.size() < n_cols) row.push_back("");  // no validation loader: empty cells
  if (opts.add_time)
    row.push_back(format_time(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_epoch_).count()));
  logger(row);
}

void Recorder::after_fit(Learner&) {}

// ---- plots -------------------------------------------------------------------------------

void Recorder::plot_loss(const std::string& path, int skip_start, bool with_valid) const {
  auto ls = losses();
  FA_CHECK(!ls.empty(), "plot_loss: nothing recorded yet (fit first)");
  Series train{"train", {}, {}};
  for (size_t i = static_cast<size_t>(std::max(0, skip_start)); i < ls.size(); ++i) {
    train.xs.push_back(static_cast<double>(i));
    train.ys.push_back(ls[i]);
  }
  std::vector<Series> s{train};
  const size_t vi = valid_col_;
  if (with_valid && !values.empty()) {
    Series valid{"valid", {}, {}};
    valid.markers = values.size() < 3;
    for (size_t e = 0; e < values.size() && e < iters.size(); ++e) {
      if (values[e].size() <= vi) continue;
      valid.xs.push_back(static_cast<double>(iters[e]));
      valid.ys.push_back(values[e][vi]);
    }
    if (!valid.xs.empty()) s.push_back(valid);
  }
  plot_lines(path, s, {.title = "Loss", .xlabel = "iteration", .ylabel = "loss"});
}

void Recorder::plot_lr_find(const std::string& path, int skip_end,
                            const std::vector<std::pair<std::string, double>>& suggestions) const {
  auto ls = losses();
  const size_t n = std::min(lrs.size(), ls.size());
  const size_t end = n > static_cast<size_t>(std::max(0, skip_end)) ? n - skip_end : n;
  FA_CHECK(end > 0, "plot_lr_find: nothing recorded (run learn.lr_find() first)");
  std::vector<Series> s{{"", std::vector<double>(lrs.begin(), lrs.begin() + end), std::vector<double>(ls.begin(), ls.begin() + end)}};
  for (auto& [name, lr] : suggestions) {
    // The loss at the suggestion, interpolated on log(lr) between the recorded points.
    const auto& xs = s[0].xs;
    const auto& ys = s[0].ys;
    auto it = std::lower_bound(xs.begin(), xs.end(), lr);
    if (it == xs.end() || !std::isfinite(lr)) continue;
    const size_t i = static_cast<size_t>(it - xs.begin());
    double y = ys[i];
    if (i > 0 && xs[i] > xs[i - 1]) {
      const double t = (std::log(lr) - std::log(xs[i - 1])) / (std::log(xs[i]) - std::log(xs[i - 1]));
      y = ys[i - 1] + t * (ys[i] - ys[i - 1]);
    }
    char label[64];
    std::snprintf(label, sizeof label, "%s %.2e", name.c_str(), lr);
    Series m{label, {lr}, {y}};
    m.markers = true;
    s.push_back(m);
  }
  plot_lines(path, s, {.title = "Learning rate finder", .xlabel = "learning rate", .ylabel = "loss", .log_x = true});
}

void Recorder::plot_sched(const std::string& path) const {
  FA_CHECK(!lrs.empty(), "plot_sched: nothing recorded yet (fit first)");
  Series lr{"lr", {}, lrs};
  for (size_t i = 0; i < lrs.size(); ++i) lr.xs.push_back(static_cast<double>(i));
  plot_lines(path, {lr}, {.title = "Learning rate schedule", .xlabel = "iteration", .ylabel = "lr"});
  if (!moms.empty()) {
    std::filesystem::path p(path);
    auto mp = p.parent_path() / (p.stem().string() + "_mom" + p.extension().string());
    Series mo{"mom", lr.xs, moms};
    mo.xs.resize(moms.size());
    plot_lines(mp.string(), {mo}, {.title = "Momentum schedule", .xlabel = "iteration", .ylabel = "mom"});
  }
}

}  // namespace fastai
