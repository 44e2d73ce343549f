// Learning-rate specs: fastai's slice and even_mults.
#include "fastai/learner/lr.h"

#include "fastai/core/error.h"

#include <algorithm>
#include <cmath>

namespace fastai {

Lr Lr::slice(double stop) {
  Lr l(stop);
  l.slice_ = true;
  return l;
}

Lr Lr::slice(double start, double stop) {
  Lr l;
  l.vals_ = {start, stop};
  l.slice_ = true;
  l.start_ = true;
  return l;
}

std::vector<double> even_mults(double start, double stop, size_t n) {
  FA_CHECK(n >= 1, "even_mults: n must be >= 1");
  if (n == 1) return {stop};
  FA_CHECK(start > 0 && stop > 0, "even_mults: start and stop must be > 0, got ", start, " and ", stop);
  const double mult = std::pow(stop / start, 1.0 / static_cast<double>(n - 1));
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = start * std::pow(mult, static_cast<double>(i));
  return out;
}

std::vector<double> Lr::per_group(size_t n) const {
  FA_CHECK(!vals_.empty(), "learning rate is unset");
  FA_CHECK(n >= 1, "learning rate: the optimizer has no parameter group");
  if (slice_ && start_) return even_mults(vals_[0], vals_[1], n);
  if (slice_) {
    std::vector<double> out(n, vals_[0] / 10);
    out.back() = vals_[0];
    return out;
  }
  if (list_ && vals_.size() != 1) {
    FA_CHECK(vals_.size() == n, "learning rate: got ", vals_.size(), " values for ", n, " parameter group(s)");
    return vals_;
  }
  return std::vector<double>(n, vals_[0]);
}

double Lr::max() const {
  FA_CHECK(!vals_.empty(), "learning rate is unset");
  return *std::max_element(vals_.begin(), vals_.end());
}

Lr Lr::operator/(double d) const {
  Lr l = *this;
  for (auto& v : l.vals_) v /= d;
  return l;
}

}  // namespace fastai
