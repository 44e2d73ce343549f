// fastai's Recorder (order 50): the smoothed training loss, the validation loss and metrics
// per epoch, and the lr / mom history per batch; writes the metrics table rows to a logger
// and plots loss curves, lr_find curves and schedules. Per-batch values stay on the device;
// they are read once per epoch (no host-device sync per batch).
#pragma once
#include "fastai/learner/callback.h"
#include "fastai/learner/metric.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fastai {

struct RecorderOptions {
  bool add_time = true;       ///< a `time` column
  bool train_metrics = false; ///< metrics on the training set too (train_<name> columns)
  bool valid_metrics = true;
  double beta = 0.98;         ///< smoothing of the training loss
};

/// One row of the metrics table as strings (the header row is the metric names).
using LogRow = std::vector<std::string>;

class Recorder : public Callback {
 public:
  explicit Recorder(RecorderOptions o = {});
  void before_fit(Learner& l) override;
  void before_epoch(Learner& l) override;
  void before_train(Learner& l) override;
  void before_validate(Learner& l) override;
  void after_batch(Learner& l) override;
  void after_train(Learner& l) override;
  void after_validate(Learner& l) override;
  void after_cancel_train(Learner& l) override;
  void after_cancel_validate(Learner& l) override;
  void after_epoch(Learner& l) override;
  void after_fit(Learner& l) override;
  int order() const override { return 50; }

  /// Column names: epoch, train_loss, [train_<m>...], valid_loss, <m>..., time.
  std::vector<std::string> metric_names(const Learner& l) const;
  /// The current smoothed training loss (syncs with the device).
  double smooth_loss() const;

  std::vector<double> lrs;                 ///< lr of the last group, per training batch
  std::vector<double> moms;                ///< mom of the last group (if the optimizer has one)
  std::vector<int64_t> iters;              ///< number of training batches at each epoch end
  std::vector<std::vector<double>> values; ///< per epoch: train_loss, [train metrics], valid_loss, metrics
  /// Smoothed training loss per training batch since before_fit (syncs once when called).
  std::vector<double> losses() const;
  /// Where rows go: the header row at before_fit, then one row per epoch. Default prints a
  /// plain line; ProgressCallback replaces it with its aligned table. Empty: no logging.
  std::function<void(const LogRow&)> logger;

  /// Training loss (smoothed) and validation loss against iterations (fastai's plot_loss).
  void plot_loss(const std::string& path, int skip_start = 5, bool with_valid = true) const;
  /// Smoothed loss against lr on a log axis (fastai's plot_lr_find), with a marker at each
  /// named suggestion (e.g. {{"valley", 2e-3}}).
  void plot_lr_find(const std::string& path, int skip_end = 5,
                    const std::vector<std::pair<std::string, double>>& suggestions = {}) const;
  /// Scheduled hyper-parameters (lr, mom) against iterations (fastai's plot_sched).
  void plot_sched(const std::string& path) const;

  RecorderOptions opts;

 private:
  std::shared_ptr<AvgSmoothLoss> smooth_;
  std::shared_ptr<AvgLoss> valid_loss_;
  size_t valid_col_ = 1;  // index of valid_loss in a values row
  std::vector<double> epoch_row_;
  bool cancel_train_ = false, cancel_valid_ = false;
  std::chrono::steady_clock::time_point start_epoch_;
};

}  // namespace fastai
