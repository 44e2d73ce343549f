// fastai's optimizers as stepper lists with their default hypers, and Lookahead / ranger.
#include <ATen/core/grad_mode.h>
#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_foreach_sub.h>
#include <ATen/ops/scalar_tensor.h>

#include <cmath>

#include "fastai/core/error.h"
#include "fastai/optim/optimizer.h"

namespace fastai {

namespace optim_make_detail {

Stepper decay_stepper(bool decouple_wd) { return decouple_wd ? Stepper(steppers::weight_decay) : Stepper(steppers::l2_reg); }

Stepper avg_grad(bool dampening) {
  return [dampening](StepBatch& b) { steppers::average_grad(b, dampening); };
}

Stepper avg_sqr_grad(bool dampening) {
  return [dampening](StepBatch& b) { steppers::average_sqr_grad(b, dampening); };
}

std::shared_ptr<Optimizer> build(ParamList groups, std::vector<Stepper> s, Hypers h) {
  return std::make_shared<Optimizer>(std::move(groups), std::move(s), std::move(h));
}

// Lookahead keeps, per parameter, the slow weights ("slow_p", taken before the first update) and
// a CPU step counter ("lookahead_count"), so both clear with clear_state() and travel in the
// state dict.
void lookahead_init(StepBatch& b) {
  for (size_t i = 0; i < b.params.size(); ++i) {
    auto& t = b.states[i]->tensors;
    auto slow = t.find("slow_p");
    if (slow == t.end() || !slow->second.defined()) {
      t["slow_p"] = b.params[i].detach().clone();
      t["lookahead_count"] = at::scalar_tensor(int64_t{0}, at::kLong);
    }
  }
}

void lookahead_sync(StepBatch& b) {
  const double kf = b.hp("k"), alpha = b.hp("alpha");
  const auto k = static_cast<int64_t>(std::llround(kf));
  FA_CHECK(k >= 1, "Lookahead: hyper 'k' of group ", b.group_index, " must be >= 1, got ", kf);
  std::vector<at::Tensor> fast, slow;
  for (size_t i = 0; i < b.params.size(); ++i) {
    auto& t = b.states[i]->tensors;
    auto& count = t["lookahead_count"];
    if (!count.defined()) count = at::scalar_tensor(int64_t{0}, at::kLong);
    const int64_t n = count.item<int64_t>() + 1;
    count.fill_(n);
    if (n % k != 0) continue;
    fast.push_back(b.params[i]);
    slow.push_back(t.at("slow_p"));
  }
  if (fast.empty()) return;
  // slow += alpha * (fast - slow); fast = slow
  auto diff = at::_foreach_sub(fast, slow);
  at::_foreach_add_(slow, diff, alpha);
  for (size_t i = 0; i < fast.size(); ++i) fast[i].copy_(slow[i]);
}

}  // namespace optim_make_detail

std::shared_ptr<Optimizer> make_sgd(ParamList groups, double lr, const SGDOptions& o) {
  namespace d = optim_make_detail;
  std::vector<Stepper> s{d::decay_stepper(o.decouple_wd)};
  if (o.mom != 0) s.push_back(d::avg_grad(false));
  s.push_back(o.mom != 0 ? Stepper(steppers::momentum_step) : Stepper(steppers::sgd_step));
  return d::build(std::move(groups), std::move(s), {{"lr", lr}, {"mom", o.mom}, {"wd", o.wd}});
}

std::shared_ptr<Optimizer> make_rmsprop(ParamList groups, double lr, const RMSPropOptions& o) {
  namespace d = optim_make_detail;
  std::vector<Stepper> s{d::decay_stepper(o.decouple_wd)};
  if (o.mom != 0) s.push_back(d::avg_grad(false));
  s.push_back(d::avg_sqr_grad(true));
  s.push_back(steppers::rms_prop_step);
  return d::build(std::move(groups), std::move(s),
                  {{"lr", lr}, {"mom", o.mom}, {"sqr_mom", o.sqr_mom}, {"eps", o.eps}, {"wd", o.wd}});
}

std::shared_ptr<Optimizer> make_adam(ParamList groups, double lr, const AdamOptions& o) {
  namespace d = optim_make_detail;
  std::vector<Stepper> s{d::decay_stepper(o.decouple_wd), d::avg_grad(true), d::avg_sqr_grad(true),
                         steppers::step_stat, steppers::adam_step};
  return d::build(std::move(groups), std::move(s),
                  {{"lr", lr}, {"mom", o.mom}, {"sqr_mom", o.sqr_mom}, {"eps", o.eps}, {"wd", o.wd}});
}

std::shared_ptr<Optimizer> make_radam(ParamList groups, double lr, const RAdamOptions& o) {
  namespace d = optim_make_detail;
  std::vector<Stepper> s{d::decay_stepper(o.decouple_wd), d::avg_grad(true), d::avg_sqr_grad(true),
                         steppers::step_stat, steppers::radam_step};
  return d::build(std::move(groups), std::move(s),
                  {{"lr", lr}, {"mom", o.mom}, {"sqr_mom", o.sqr_mom}, {"eps", o.eps}, {"wd", o.wd}, {"beta", o.beta}});
}

std::shared_ptr<Optimizer> make_qhadam(ParamList groups, double lr, const QHAdamOptions& o) {
  namespace d = optim_make_detail;
  std::vector<Stepper> s{d::decay_stepper(o.decouple_wd), d::avg_grad(true), d::avg_sqr_grad(true),
                         steppers::step_stat, steppers::qhadam_step};
  return d::build(std::move(groups), std::move(s),
                  {{"lr", lr},
                   {"mom", o.mom},
                   {"sqr_mom", o.sqr_mom},
                   {"nu_1", o.nu_1},
                   {"nu_2", o.nu_2},
                   {"eps", o.eps},
                   {"wd", o.wd}});
}

std::shared_ptr<Optimizer> make_larc(ParamList groups, double lr, const LarcOptions& o) {
  namespace d = optim_make_detail;
  std::vector<Stepper> s{d::decay_stepper(o.decouple_wd)};
  if (o.mom != 0) s.push_back(d::avg_grad(false));
  s.push_back(steppers::larc_layer_lr);
  s.push_back(steppers::larc_step);
  return d::build(std::move(groups), std::move(s),
                  {{"lr", lr},
                   {"mom", o.mom},
                   {"trust_coeff", o.trust_coeff},
                   {"eps", o.eps},
                   {"wd", o.wd},
                   {"clip", o.clip ? 1.0 : 0.0}});
}

std::shared_ptr<Optimizer> make_lamb(ParamList groups, double lr, const LambOptions& o) {
  namespace d = optim_make_detail;
  std::vector<Stepper> s{d::decay_stepper(o.decouple_wd), d::avg_grad(true), d::avg_sqr_grad(true),
                         steppers::step_stat, steppers::lamb_step};
  return d::build(std::move(groups), std::move(s),
                  {{"lr", lr}, {"mom", o.mom}, {"sqr_mom", o.sqr_mom}, {"eps", o.eps}, {"wd", o.wd}});
}

std::shared_ptr<Optimizer> lookahead(std::shared_ptr<Optimizer> inner, const LookaheadOptions& o) {
  FA_CHECK(inner != nullptr, "lookahead: no optimizer to wrap");
  FA_CHECK(o.k >= 1, "lookahead: k must be >= 1, got ", o.k);
  inner->set_hyper("k", static_cast<double>(o.k));
  inner->set_hyper("alpha", o.alpha);
  auto& s = inner->steppers();
  s.insert(s.begin(), optim_make_detail::lookahead_init);  // slow weights = weights before any update
  s.push_back(optim_make_detail::lookahead_sync);
  return inner;
}

std::shared_ptr<Optimizer> make_ranger(ParamList groups, double lr, const RangerOptions& o) {
  RAdamOptions r{.mom = o.mom, .sqr_mom = o.sqr_mom, .eps = o.eps, .wd = o.wd, .beta = o.beta,
                 .decouple_wd = o.decouple_wd};
  return lookahead(make_radam(std::move(groups), lr, r), LookaheadOptions{.k = o.k, .alpha = o.alpha});
}

OptFunc Lookahead(OptFunc inner, LookaheadOptions o) {
  FA_CHECK(static_cast<bool>(inner), "Lookahead: the wrapped opt_func is empty");
  FA_CHECK(o.k >= 1, "Lookahead: k must be >= 1, got ", o.k);
  return [inner = std::move(inner), o](ParamList groups, double lr) { return lookahead(inner(std::move(groups), lr), o); };
}

}  // namespace fastai
