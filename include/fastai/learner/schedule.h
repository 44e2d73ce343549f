// fastai's annealing functions and the hyper-parameter scheduler callback.
#pragma once
#include "fastai/learner/callback.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fastai {

/// pos in [0, 1] -> value.
using Schedule = std::function<double(double pos)>;

Schedule SchedLin(double start, double end);   ///< start + pos*(end-start)
Schedule SchedCos(double start, double end);   ///< start + (1+cos(pi*(1-pos)))*(end-start)/2
Schedule SchedNo(double start, double end);    ///< start
Schedule SchedExp(double start, double end);   ///< start*(end/start)^pos
Schedule SchedPoly(double start, double end, double power);  ///< start + (end-start)*pos^power
/// Piecewise schedule: `pcts` (each >= 0, summing to 1 within 1e-6) of the run use each of
/// `scheds` in turn, each seeing its own 0..1 position; pos >= 1 gives the last schedule at 1.
/// Error when the counts differ, a pct is negative or not finite, the sum is off, or a schedule is empty.
Schedule combine_scheds(std::vector<double> pcts, std::vector<Schedule> scheds);
/// Cosine start -> middle over the first `pct`, then middle -> end (1cycle's shape).
Schedule combined_cos(double pct, double start, double middle, double end);

/// Hyper name -> one schedule per parameter group (a single one applies to every group).
using Schedules = std::map<std::string, std::vector<Schedule>>;

/// Sets each scheduled hyper from learn.pct_train before every training batch and records
/// the last group's values (fastai's ParamScheduler, order 60).
class ParamScheduler : public Callback {
 public:
  explicit ParamScheduler(Schedules scheds);
  void before_fit(Learner& l) override;
  void before_batch(Learner& l) override;
  void after_batch(Learner& l) override;
  void after_fit(Learner& l) override;
  int order() const override { return 60; }
  /// The value of hyper `name` for each of `n_groups` groups at `pos`: one schedule gives every
  /// group the same value, one per group gives each its own; any other count is an Error naming `name`.
  static std::vector<double> group_values(const std::string& name, const std::vector<Schedule>& s,
                                          double pos, size_t n_groups);
  /// Values set at each training batch, per hyper (last group).
  std::map<std::string, std::vector<double>> hps;

 protected:
  void update(Learner& l, double pos);
  Schedules scheds_;
};

}  // namespace fastai
