// fastai's ProgressCallback: a progress bar with ETA and the smoothed loss on a terminal (plain
// lines otherwise), and the per-epoch metrics table, aligned like fastai's console output.
#pragma once
#include "fastai/learner/callback.h"
#include "fastai/learner/recorder.h"

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace fastai {

struct ProgressOptions {
  int bar_width = 30;
  double min_interval_s = 0.2;  ///< the bar (and the loss it shows, a device sync) updates at most this often
  std::FILE* out = stdout;
  int tty = -1;                 ///< -1: detect with isatty; 0: plain lines; 1: bar with carriage returns
};

class ProgressCallback : public Callback {
 public:
  explicit ProgressCallback(ProgressOptions o = {});
  void before_fit(Learner& l) override;
  void before_train(Learner& l) override;
  void before_validate(Learner& l) override;
  void after_batch(Learner& l) override;
  void after_train(Learner& l) override;
  void after_validate(Learner& l) override;
  void after_fit(Learner& l) override;
  int order() const override { return 70; }

  /// Formats one table row with the header's column widths (fastai prints floats as %.6f).
  std::string format_row(const LogRow& row) const;
  /// Writes one row of the table (what the Recorder's logger calls).
  void write_row(const LogRow& row);
  /// "[=====>    ] 12/100 00:03<00:21" for a bar at `done` of `total` after `elapsed` seconds.
  static std::string bar(int64_t done, int64_t total, double elapsed_s, int width);

  ProgressOptions opts;

 private:
  void start_bar(const char* what, Learner& l);
  void end_bar();
  bool tty_ = false;
  std::vector<size_t> widths_;
  const char* what_ = "";
  int64_t total_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
  bool bar_shown_ = false;
  int plain_marks_ = 0;
  std::function<void(const LogRow&)> old_logger_;
};

}  // namespace fastai
