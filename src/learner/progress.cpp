#include "fastai/learner/progress.h"

#include "fastai/core/files.h"
#include "fastai/learner/learner.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace fastai {

ProgressCallback::ProgressCallback(ProgressOptions o) : opts(o) {}

std::string ProgressCallback::bar(int64_t done, int64_t total, double elapsed_s, int width) {
  total = std::max<int64_t>(total, 1);
  done = std::clamp<int64_t>(done, 0, total);
  const int filled = static_cast<int>(static_cast<double>(width) * done / total);
  std::string s = "[";
  for (int i = 0; i < width; ++i) s += i < filled ? '=' : (i == filled && done < total ? '>' : ' ');
  s += "] " + std::to_string(done) + "/" + std::to_string(total) + " " + format_time(elapsed_s);
  if (done > 0 && done < total) {
    s += '<';
    s += format_time(elapsed_s / done * (total - done));
  }
  return s;
}

std::string ProgressCallback::format_row(const LogRow& row) const {
  std::string s;
  for (size_t i = 0; i < row.size(); ++i) {
    const size_t w = i < widths_.size() ? widths_[i] : row[i].size();
    std::string cell = row[i];
    if (cell.size() < w) cell += std::string(w - cell.size(), ' ');
    if (i) s += "  ";
    s += cell;
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

void ProgressCallback::write_row(const LogRow& row) {
  if (widths_.empty()) {
    // The header fixes the widths; floats print as %.6f, so leave room for them.
    for (auto& h : row) widths_.push_back(std::max<size_t>(h.size(), h == "epoch" ? 5 : 8));
  }
  if (bar_shown_ && tty_) std::fprintf(opts.out, "\r\033[K");
  bar_shown_ = false;
  std::fprintf(opts.out, "%s\n", format_row(row).c_str());
  std::fflush(opts.out);
}

void ProgressCallback::before_fit(Learner& l) {
  tty_ = opts.tty < 0 ? ::isatty(::fileno(opts.out)) == 1 : opts.tty == 1;
  widths_.clear();
  if (l.recorder && l.recorder->logger) {
    old_logger_ = l.recorder->logger;
    l.recorder->logger = [this](const LogRow& r) { write_row(r); };
    write_row(l.recorder->metric_names(l));
  }
}

void ProgressCallback::start_bar(const char* what, Learner& l) {
  what_ = what;
  total_ = l.dl ? l.dl->size() : 0;
  start_ = last_ = std::chrono::steady_clock::now();
  plain_marks_ = 0;
}

void ProgressCallback::before_train(Learner& l) { start_bar("train", l); }
void ProgressCallback::before_validate(Learner& l) { start_bar("valid", l); }

void ProgressCallback::after_batch(Learner& l) {
  const auto now = std::chrono::steady_clock::now();
  const int64_t done = l.iter + 1;
  const bool last = done >= total_;
  const double since = std::chrono::duration<double>(now - last_).count();
  if (!last && since < opts.min_interval_s) return;
  if (!tty_) {
    // Plain output (logs, CI): a line at each quarter of the training pass only.
    if (!l.training || total_ <= 0) return;
    const int mark = static_cast<int>(4 * done / total_);
    if (mark <= plain_marks_ || last) return;
    plain_marks_ = mark;
  }
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  std::string s = "epoch " + std::to_string(l.epoch + 1) + "/" + std::to_string(l.n_epoch) + " " + what_ + " " +
                  bar(done, total_, elapsed, opts.bar_width);
  if (l.training && l.recorder) {
    char buf[48];
    std::snprintf(buf, sizeof buf, " loss %.4f", l.recorder->smooth_loss());
    s += buf;
  }
  if (tty_) {
    std::fprintf(opts.out, "\r\033[K%s", s.c_str());
    bar_shown_ = true;
  } else {
    std::fprintf(opts.out, "%s\n", s.c_str());
  }
  std::fflush(opts.out);
}

void ProgressCallback::end_bar() {
  if (bar_shown_ && tty_) {
    std::fprintf(opts.out, "\r\033[K");
    std::fflush(opts.out);
  }
  bar_shown_ = false;
}

void ProgressCallback::after_train(Learner&) { end_bar(); }
void ProgressCallback::after_validate(Learner&) { end_bar(); }

void ProgressCallback::after_fit(Learner& l) {
  end_bar();
  if (l.recorder && old_logger_) l.recorder->logger = std::move(old_logger_);
  old_logger_ = nullptr;
}

}  // namespace fastai
