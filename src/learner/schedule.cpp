#include "fastai/learner/schedule.h"

#include "fastai/core/error.h"
#include "fastai/learner/learner.h"
#include "fastai/optim/optimizer.h"

#include <cmath>
#include <numbers>
#include <utility>

namespace fastai {

namespace sched_detail {

// fastai's sched_cos: half a cosine wave from start (pos 0) to end (pos 1).
inline double cos_anneal(double start, double end, double pos) {
  return start + (1 + std::cos(std::numbers::pi * (1 - pos))) * (end - start) / 2;
}

}  // namespace sched_detail

Schedule SchedLin(double start, double end) {
  return [start, end](double pos) { return start + pos * (end - start); };
}

Schedule SchedCos(double start, double end) {
  return [start, end](double pos) { return sched_detail::cos_anneal(start, end, pos); };
}

Schedule SchedNo(double start, double /*end*/) {
  return [start](double /*pos*/) { return start; };
}

Schedule SchedExp(double start, double end) {
  return [start, end](double pos) { return start * std::pow(end / start, pos); };
}

Schedule SchedPoly(double start, double end, double power) {
  return [start, end, power](double pos) { return start + (end - start) * std::pow(pos, power); };
}

Schedule combine_scheds(std::vector<double> pcts, std::vector<Schedule> scheds) {
  FA_CHECK(!pcts.empty(), "combine_scheds: needs at least one schedule, got none");
  FA_CHECK(pcts.size() == scheds.size(), "combine_scheds: ", pcts.size(), " pcts but ", scheds.size(),
           " schedules (one pct per schedule expected)");
  double sum = 0;
  for (size_t i = 0; i < pcts.size(); ++i) {
    FA_CHECK(std::isfinite(pcts[i]) && pcts[i] >= 0, "combine_scheds: pct ", i, " is ", pcts[i],
             " (expected a finite value >= 0)");
    FA_CHECK(static_cast<bool>(scheds[i]), "combine_scheds: schedule ", i, " is empty");
    sum += pcts[i];
  }
  FA_CHECK(std::abs(sum - 1.0) <= 1e-6, "combine_scheds: pcts sum to ", sum, " (expected 1)");
  // Boundaries cum[0] = 0 < ... <= cum[n] = 1 (forced exactly, so pos 1 lands on the last end).
  std::vector<double> cum(pcts.size() + 1, 0.0);
  for (size_t i = 0; i < pcts.size(); ++i) cum[i + 1] = cum[i] + pcts[i];
  cum.back() = 1.0;
  return [cum = std::move(cum), scheds = std::move(scheds)](double pos) {
    // fastai: idx = the last boundary <= pos, at most the last schedule. A zero-width segment is
    // only ever picked when it is the last one and pos >= 1; it is then evaluated at 1 (fastai
    // would divide 0 by 0 there).
    const size_t last = scheds.size() - 1;
    size_t idx = 0;
    while (idx < last && pos >= cum[idx + 1]) ++idx;
    const double width = cum[idx + 1] - cum[idx];
    const double local = width > 0 ? (pos - cum[idx]) / width : 1.0;
    return scheds[idx](local);
  };
}

Schedule combined_cos(double pct, double start, double middle, double end) {
  return combine_scheds({pct, 1 - pct}, {SchedCos(start, middle), SchedCos(middle, end)});
}

// ---- ParamScheduler ---------------------------------------------------------------------------

ParamScheduler::ParamScheduler(Schedules scheds) : scheds_(std::move(scheds)) {
  for (auto& [name, fs] : scheds_) {
    FA_CHECK(!fs.empty(), "ParamScheduler: no schedule given for hyper '", name, "'");
    for (size_t i = 0; i < fs.size(); ++i)
      FA_CHECK(static_cast<bool>(fs[i]), "ParamScheduler: schedule ", i, " of hyper '", name, "' is empty");
  }
  run_valid = false;  // fastai: run_valid = False
}

std::vector<double> ParamScheduler::group_values(const std::string& name, const std::vector<Schedule>& s,
                                                 double pos, size_t n_groups) {
  FA_CHECK(s.size() == 1 || s.size() == n_groups, "ParamScheduler: hyper '", name, "' has ", s.size(),
           " schedules but the optimizer has ", n_groups, " parameter groups (expected 1 or ", n_groups, ")");
  std::vector<double> v(n_groups);
  if (s.size() == 1) {
    const double x = s[0](pos);
    for (auto& e : v) e = x;
  } else {
    for (size_t g = 0; g < n_groups; ++g) v[g] = s[g](pos);
  }
  return v;
}

void ParamScheduler::before_fit(Learner& l) {
  hps.clear();
  for (auto& [name, fs] : scheds_) hps[name];
  // Check the schedule counts now rather than at the first batch.
  if (l.opt)
    for (auto& [name, fs] : scheds_)
      FA_CHECK(fs.size() == 1 || fs.size() == l.opt->n_groups(), "ParamScheduler: hyper '", name, "' has ",
               fs.size(), " schedules but the optimizer has ", l.opt->n_groups(), " parameter groups (expected 1 or ",
               l.opt->n_groups(), ")");
}

void ParamScheduler::update(Learner& l, double pos) {
  FA_CHECK(l.opt != nullptr, "ParamScheduler: the Learner has no optimizer when a batch starts");
  const size_t n = l.opt->n_groups();
  for (auto& [name, fs] : scheds_) l.opt->set_hyper(name, group_values(name, fs, pos, n));
}

void ParamScheduler::before_batch(Learner& l) {
  if (!l.training) return;
  update(l, l.pct_train);
}

void ParamScheduler::after_batch(Learner& l) {
  if (!l.training || !l.opt) return;
  for (auto& [name, fs] : scheds_) hps[name].push_back(l.opt->hyper(name, -1));
}

// fastai hands hps to learn.recorder here; the recorded values stay readable on this callback
// (`hps`) after the fit, which is where the Recorder takes them from.
void ParamScheduler::after_fit(Learner& /*l*/) {}

}  // namespace fastai
