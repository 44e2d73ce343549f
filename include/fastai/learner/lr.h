// Learning rates as fastai takes them: one value, fastai's slice(stop) / slice(start, stop), or one
// value per parameter group.
#pragma once
#include <cstddef>
#include <initializer_list>
#include <vector>

namespace fastai {

/// A learning rate as fastai takes it: one value for every group, `slice(stop)`
/// ([stop/10, ..., stop/10, stop]), `slice(start, stop)` (geometric from start to stop), or one
/// value per group. Default-constructed means "the Learner's lr".
class Lr {
 public:
  Lr() = default;
  Lr(double v) : vals_{v} {}
  Lr(std::initializer_list<double> per_group) : vals_(per_group), list_(true) {}
  explicit Lr(std::vector<double> per_group) : vals_(std::move(per_group)), list_(true) {}
  static Lr slice(double stop);
  static Lr slice(double start, double stop);
  bool empty() const { return vals_.empty(); }
  /// The value for each of `n_groups` groups; Error when a per-group list has another length.
  std::vector<double> per_group(size_t n_groups) const;
  /// The largest value (what fastai prints and what lr_find suggestions are compared to).
  double max() const;
  Lr operator/(double d) const;

 private:
  std::vector<double> vals_;
  bool list_ = false;   // explicit per-group list
  bool slice_ = false;  // slice(start, stop) or slice(stop)
  bool start_ = false;  // slice had a start
};
/// fastai's `slice(stop)` and `slice(start, stop)` as learning rates.
inline Lr slice(double stop) { return Lr::slice(stop); }
inline Lr slice(double start, double stop) { return Lr::slice(start, stop); }
/// Geometric sequence of n values from start to stop (fastai's even_mults).
std::vector<double> even_mults(double start, double stop, size_t n);

}  // namespace fastai
