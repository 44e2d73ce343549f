// Optimizer creation, freezing and the scheduled fits
// (fit_one_cycle, fit_flat_cos, fit_sgdr, fine_tune), as fastai's callback/schedule.py.
#include "fastai/core/error.h"
#include "fastai/learner/learner.h"
#include "fastai/learner/schedule.h"

#include <torch/torch.h>

#include <cmath>
#include <set>
#include <unordered_map>

namespace fastai {

// ---- optimizer ---------------------------------------------------------------------------

namespace learner_fit_detail {

bool is_norm_module(const torch::nn::Module& m) {
  static const std::set<std::string> norms = {
      "torch::nn::BatchNorm1dImpl", "torch::nn::BatchNorm2dImpl", "torch::nn::BatchNorm3dImpl",
      "torch::nn::InstanceNorm1dImpl", "torch::nn::InstanceNorm2dImpl", "torch::nn::InstanceNorm3dImpl",
      "torch::nn::LayerNormImpl", "torch::nn::GroupNormImpl", "torch::nn::LocalResponseNormImpl"};
  return norms.count(m.name()) > 0;
}

}  // namespace learner_fit_detail

void Learner::create_opt() {
  ParamList groups = splitter ? splitter(*model.module) : trainable_params(*model.module);
  FA_CHECK(!groups.empty(), "create_opt: the splitter returned no parameter group");
  opt = opt_func(groups, lr);
  FA_CHECK(opt != nullptr, "create_opt: opt_func returned no optimizer");
  // fastai: no weight decay on norm-layer parameters and biases (unless wd_bn_bias); norm
  // parameters stay trainable in frozen groups (train_bn).
  std::unordered_map<const void*, ParamState*> st;
  for (auto& g : opt->param_groups())
    for (size_t i = 0; i < g.params.size(); ++i) st[g.params[i].unsafeGetTensorImpl()] = &g.state[i];
  auto find = [&](const at::Tensor& p) -> ParamState* {
    auto it = st.find(p.unsafeGetTensorImpl());
    return it == st.end() ? nullptr : it->second;
  };
  for (auto& item : model.module->named_modules()) {
    const bool norm = learner_fit_detail::is_norm_module(*item.value());
    for (auto& np : item.value()->named_parameters(/*recurse=*/false)) {
      ParamState* s = find(np.value());
      if (!s) continue;
      const bool bias = np.key() == "bias";
      if (!wd_bn_bias && (norm || bias)) s->do_wd = false;
      if (train_bn && norm) s->force_train = true;
    }
  }
}

void Learner::freeze_to(int n) {
  if (!opt) create_opt();
  opt->freeze_to(n);
  opt->clear_state();
}

// ---- scheduled fits ----------------------------------------------------------------------

namespace learner_fit_detail {
std::vector<double> group_lrs(Optimizer& opt) {
  std::vector<double> out;
  for (size_t g = 0; g < opt.n_groups(); ++g) out.push_back(opt.hyper("lr", static_cast<int>(g)));
  return out;
}
std::vector<CallbackRef> with_sched(Schedules s, const std::vector<CallbackRef>& cbs) {
  std::vector<CallbackRef> out{CallbackRef(std::make_shared<ParamScheduler>(std::move(s)))};
  out.insert(out.end(), cbs.begin(), cbs.end());
  return out;
}
}  // namespace learner_fit_detail

void Learner::fit_one_cycle(int n, Lr lr_max, OneCycleOptions o) {
  FA_CHECK(o.div > 0 && o.div_final > 0, "fit_one_cycle: div and div_final must be > 0");
  FA_CHECK(o.pct_start >= 0 && o.pct_start <= 1, "fit_one_cycle: pct_start must be in [0, 1], got ", o.pct_start);
  if (!opt) create_opt();
  opt->set_hyper("lr", (lr_max.empty() ? Lr(lr) : lr_max).per_group(opt->n_groups()));
  auto lrs = learner_fit_detail::group_lrs(*opt);
  const auto& m = o.moms.empty() ? moms : o.moms;
  FA_CHECK(m.size() == 3, "fit_one_cycle: moms must have 3 values, got ", m.size());
  Schedules s;
  for (double l : lrs) s["lr"].push_back(combined_cos(o.pct_start, l / o.div, l, l / o.div_final));
  s["mom"].push_back(combined_cos(o.pct_start, m[0], m[1], m[2]));
  fit(n, {}, {.wd = o.wd, .cbs = learner_fit_detail::with_sched(std::move(s), o.cbs),
              .reset_opt = o.reset_opt, .start_epoch = o.start_epoch});
}

void Learner::fit_flat_cos(int n, Lr lr_, FlatCosOptions o) {
  if (!opt) create_opt();
  opt->set_hyper("lr", (lr_.empty() ? Lr(lr) : lr_).per_group(opt->n_groups()));
  Schedules s;
  for (double l : learner_fit_detail::group_lrs(*opt))
    s["lr"].push_back(combined_cos(o.pct_start, l, l, l / o.div_final));
  fit(n, {}, {.wd = o.wd, .cbs = learner_fit_detail::with_sched(std::move(s), o.cbs), .reset_opt = o.reset_opt});
}

void Learner::fit_sgdr(int n_cycles, int cycle_len, Lr lr_max, SGDROptions o) {
  FA_CHECK(n_cycles >= 1 && cycle_len >= 1 && o.cycle_mult >= 1,
           "fit_sgdr: n_cycles, cycle_len and cycle_mult must be >= 1");
  int n = 0;
  std::vector<double> pcts;
  for (int i = 0, len = cycle_len; i < n_cycles; ++i, len *= o.cycle_mult) n += len;
  for (int i = 0, len = cycle_len; i < n_cycles; ++i, len *= o.cycle_mult) pcts.push_back(static_cast<double>(len) / n);
  if (!opt) create_opt();
  opt->set_hyper("lr", (lr_max.empty() ? Lr(lr) : lr_max).per_group(opt->n_groups()));
  Schedules s;
  for (double l : learner_fit_detail::group_lrs(*opt))
    s["lr"].push_back(combine_scheds(pcts, std::vector<Schedule>(n_cycles, SchedCos(l, 0))));
  fit(n, {}, {.wd = o.wd, .cbs = learner_fit_detail::with_sched(std::move(s), o.cbs), .reset_opt = o.reset_opt});
}

void Learner::fine_tune(int epochs, double base_lr, FineTuneOptions o) {
  freeze();
  fit_one_cycle(o.freeze_epochs, Lr::slice(base_lr),
                {.div_final = o.div_final, .pct_start = 0.99, .wd = o.wd, .moms = o.moms, .cbs = o.cbs});
  base_lr /= 2;
  unfreeze();
  fit_one_cycle(epochs, Lr::slice(base_lr / o.lr_mult, base_lr),
                {.div = o.div, .div_final = o.div_final, .pct_start = o.pct_start, .wd = o.wd, .moms = o.moms, .cbs = o.cbs});
}

}  // namespace fastai
