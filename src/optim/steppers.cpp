// fastai's optimizer callbacks as multi-tensor steppers: each runs on all the parameters of a
// group that have a gradient. Per-parameter scalars (debias terms depend on each parameter's own
// step count) go through the ScalarList overloads of the _foreach_* ops.
#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_foreach_addcdiv.h>
#include <ATen/ops/_foreach_addcmul.h>
#include <ATen/ops/_foreach_div.h>
#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_norm.h>
#include <ATen/ops/_foreach_sqrt.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/softplus.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/where.h>

#include <cmath>

#include "fastai/core/error.h"
#include "fastai/optim/optimizer.h"

namespace fastai {

namespace optim_step_detail {

std::vector<at::Tensor> pick(const std::vector<at::Tensor>& v, const std::vector<size_t>& idx) {
  std::vector<at::Tensor> out;
  out.reserve(idx.size());
  for (size_t i : idx) out.push_back(v[i]);
  return out;
}

/// Indices of the batch whose parameter takes weight decay (do_wd), or none when wd == 0.
std::vector<size_t> wd_indices(const StepBatch& b, double wd) {
  std::vector<size_t> out;
  if (wd == 0) return out;
  for (size_t i = 0; i < b.states.size(); ++i)
    if (b.states[i]->do_wd) out.push_back(i);
  return out;
}

/// The step count of parameter i, checked: the Adam family divides by 1 - mom^step.
int64_t checked_step(const StepBatch& b, size_t i, const char* who) {
  const int64_t s = b.states[i]->step;
  FA_CHECK(s > 0, who, ": parameter ", i, " of group ", b.group_index,
           " has step count 0 (step_stat must run before it)");
  return s;
}

/// dst[i] += alphas[i] * src[i]; one multi-tensor op when every alpha is the same.
void add_scaled(const std::vector<at::Tensor>& dst, const std::vector<at::Tensor>& src,
                const std::vector<double>& alphas) {
  if (dst.empty()) return;
  bool same = true;
  for (double a : alphas) same = same && a == alphas[0];
  if (same) {
    at::_foreach_add_(dst, src, alphas[0]);
  } else {
    for (size_t i = 0; i < dst.size(); ++i) dst[i].add_(src[i], alphas[i]);
  }
}

std::vector<at::Scalar> to_scalars(const std::vector<double>& v) { return {v.begin(), v.end()}; }

/// grad_avg if the batch keeps one (momentum), otherwise the raw gradients.
std::vector<at::Tensor> grad_avg_or_grads(StepBatch& b) {
  bool all = true;
  for (auto* s : b.states) all = all && s->tensors.count("grad_avg") && s->tensors.at("grad_avg").defined();
  if (all) return b.state("grad_avg");
  std::vector<at::Tensor> out;
  for (size_t i = 0; i < b.params.size(); ++i) {
    auto it = b.states[i]->tensors.find("grad_avg");
    out.push_back(it != b.states[i]->tensors.end() && it->second.defined() ? it->second : b.grads[i]);
  }
  return out;
}

}  // namespace optim_step_detail

namespace steppers {

void weight_decay(StepBatch& b) {
  namespace d = optim_step_detail;
  const double lr = b.hp("lr"), wd = b.hp("wd");
  auto idx = d::wd_indices(b, wd);
  if (idx.empty()) return;
  at::_foreach_mul_(d::pick(b.params, idx), 1 - lr * wd);
}

void l2_reg(StepBatch& b) {
  namespace d = optim_step_detail;
  const double wd = b.hp("wd");
  auto idx = d::wd_indices(b, wd);
  if (idx.empty()) return;
  at::_foreach_add_(d::pick(b.grads, idx), d::pick(b.params, idx), wd);
}

void average_grad(StepBatch& b, bool dampening) {
  const double mom = b.hp("mom");
  auto avg = b.state("grad_avg");
  at::_foreach_mul_(avg, mom);
  at::_foreach_add_(avg, b.grads, dampening ? 1 - mom : 1.0);
}

void average_sqr_grad(StepBatch& b, bool dampening) {
  const double sqr_mom = b.hp("sqr_mom");
  auto avg = b.state("sqr_avg");
  at::_foreach_mul_(avg, sqr_mom);
  at::_foreach_addcmul_(avg, b.grads, b.grads, dampening ? 1 - sqr_mom : 1.0);
}

void step_stat(StepBatch& b) {
  for (auto* s : b.states) ++s->step;
}

void sgd_step(StepBatch& b) { at::_foreach_add_(b.params, b.grads, -b.hp("lr")); }

void momentum_step(StepBatch& b) { at::_foreach_add_(b.params, b.state("grad_avg"), -b.hp("lr")); }

void rms_prop_step(StepBatch& b) {
  const double lr = b.hp("lr"), eps = b.hp("eps");
  auto denom = at::_foreach_sqrt(b.state("sqr_avg"));
  at::_foreach_add_(denom, eps);
  at::_foreach_addcdiv_(b.params, optim_step_detail::grad_avg_or_grads(b), denom, -lr);
}

void adam_step(StepBatch& b) {
  namespace d = optim_step_detail;
  const double lr = b.hp("lr"), mom = b.hp("mom"), sqr_mom = b.hp("sqr_mom"), eps = b.hp("eps");
  std::vector<double> debias2, value;
  for (size_t i = 0; i < b.params.size(); ++i) {
    const int64_t step = d::checked_step(b, i, "adam_step");
    debias2.push_back(debias(sqr_mom, 1 - sqr_mom, step));
    value.push_back(-lr / debias(mom, 1 - mom, step));
  }
  // p -= lr/debias1 * grad_avg / (sqrt(sqr_avg/debias2) + eps)
  auto denom = at::_foreach_div(b.state("sqr_avg"), d::to_scalars(debias2));
  at::_foreach_sqrt_(denom);
  at::_foreach_add_(denom, eps);
  at::_foreach_addcdiv_(b.params, b.state("grad_avg"), denom, d::to_scalars(value));
}

void radam_step(StepBatch& b) {
  namespace d = optim_step_detail;
  const double lr = b.hp("lr"), mom = b.hp("mom"), sqr_mom = b.hp("sqr_mom"), eps = b.hp("eps");
  const double beta = b.hp("beta");
  auto grad_avg = b.state("grad_avg");
  auto sqr_avg = b.state("sqr_avg");
  const double r_inf = 2 / (1 - sqr_mom) - 1;
  std::vector<size_t> rect, plain;
  std::vector<double> rect_debias2, rect_value, plain_alpha;
  for (size_t i = 0; i < b.params.size(); ++i) {
    const int64_t step = d::checked_step(b, i, "radam_step");
    const double debias1 = debias(mom, 1 - mom, step);
    const double sm_t = std::pow(sqr_mom, static_cast<double>(step));
    const double r = r_inf - 2 * static_cast<double>(step) * sm_t / (1 - sm_t);
    if (r > 5) {
      const double v = std::sqrt(((r - 4) * (r - 2) * r_inf) / ((r_inf - 4) * (r_inf - 2) * r));
      rect.push_back(i);
      rect_debias2.push_back(debias(sqr_mom, 1 - sqr_mom, step));
      rect_value.push_back(-lr * v / debias1);
    } else {
      plain.push_back(i);
      plain_alpha.push_back(-lr / debias1);
    }
  }
  if (!rect.empty()) {
    auto denom = at::_foreach_div(d::pick(sqr_avg, rect), d::to_scalars(rect_debias2));
    at::_foreach_sqrt_(denom);
    if (eps != 0) at::_foreach_add_(denom, eps);
    if (beta != 0)
      for (auto& t : denom) t = at::softplus(t, beta, 20);
    at::_foreach_addcdiv_(d::pick(b.params, rect), d::pick(grad_avg, rect), denom, d::to_scalars(rect_value));
  }
  d::add_scaled(d::pick(b.params, plain), d::pick(grad_avg, plain), plain_alpha);
}

void qhadam_step(StepBatch& b) {
  namespace d = optim_step_detail;
  const double lr = b.hp("lr"), mom = b.hp("mom"), sqr_mom = b.hp("sqr_mom"), eps = b.hp("eps");
  const double nu_1 = b.hp("nu_1"), nu_2 = b.hp("nu_2");
  std::vector<double> num_scale, den_scale;
  for (size_t i = 0; i < b.params.size(); ++i) {
    const int64_t step = d::checked_step(b, i, "qhadam_step");
    num_scale.push_back(nu_1 / debias(mom, 1 - mom, step));
    den_scale.push_back(nu_2 / debias(sqr_mom, 1 - sqr_mom, step));
  }
  // num = (1-nu_1) g + nu_1 grad_avg/debias1; den = sqrt((1-nu_2) g^2 + nu_2 sqr_avg/debias2) + eps
  auto num = at::_foreach_mul(b.state("grad_avg"), d::to_scalars(num_scale));
  at::_foreach_add_(num, b.grads, 1 - nu_1);
  auto den = at::_foreach_mul(b.state("sqr_avg"), d::to_scalars(den_scale));
  at::_foreach_addcmul_(den, b.grads, b.grads, 1 - nu_2);
  at::_foreach_sqrt_(den);
  at::_foreach_add_(den, eps);
  at::_foreach_addcdiv_(b.params, num, den, -lr);
}

void larc_layer_lr(StepBatch& b) {
  const double lr = b.hp("lr"), trust_coeff = b.hp("trust_coeff"), wd = b.hp("wd"), eps = b.hp("eps");
  auto clip_it = b.group.hypers.find("clip");
  const bool clip = clip_it == b.group.hypers.end() || clip_it->second != 0;  // fastai's default: clip
  // All norms at once; local_lr stays a tensor (no host sync), one number per parameter.
  auto p_norm = at::stack(at::_foreach_norm(b.params));
  auto g_norm = at::stack(at::_foreach_norm(b.grads));
  auto local_lr = p_norm.mul(lr * trust_coeff).div(g_norm.add(p_norm, wd).add(eps));
  if (clip) local_lr = local_lr.clamp_max(lr);
  auto each = local_lr.unbind(0);
  for (size_t i = 0; i < b.params.size(); ++i) b.states[i]->tensors["local_lr"] = each[i];
}

void larc_step(StepBatch& b) {
  std::vector<at::Tensor> local_lr;
  for (size_t i = 0; i < b.params.size(); ++i) {
    auto it = b.states[i]->tensors.find("local_lr");
    FA_CHECK(it != b.states[i]->tensors.end() && it->second.defined(), "larc_step: parameter ", i, " of group ",
             b.group_index, " has no local_lr (larc_layer_lr must run before it)");
    local_lr.push_back(it->second);
  }
  // p -= local_lr * (grad_avg | g); local_lr is 0-dim, so this takes foreach's per-tensor path.
  at::_foreach_addcmul_(b.params, optim_step_detail::grad_avg_or_grads(b), local_lr, -1.0);
}

void lamb_step(StepBatch& b) {
  namespace d = optim_step_detail;
  const double lr = b.hp("lr"), mom = b.hp("mom"), sqr_mom = b.hp("sqr_mom"), eps = b.hp("eps");
  std::vector<double> debias1, debias2;
  for (size_t i = 0; i < b.params.size(); ++i) {
    const int64_t step = d::checked_step(b, i, "lamb_step");
    debias1.push_back(debias(mom, 1 - mom, step));
    debias2.push_back(debias(sqr_mom, 1 - sqr_mom, step));
  }
  // step = (grad_avg/debias1) / (sqrt(sqr_avg/debias2) + eps)
  auto denom = at::_foreach_div(b.state("sqr_avg"), d::to_scalars(debias2));
  at::_foreach_sqrt_(denom);
  at::_foreach_add_(denom, eps);
  auto upd = at::_foreach_div(b.state("grad_avg"), d::to_scalars(debias1));
  at::_foreach_div_(upd, denom);
  // Trust ratio r1/r2 of RMS norms (same element count, so the ratio of L2 norms), clipped at 10,
  // and 1 when either is zero.
  auto r1 = at::stack(at::_foreach_norm(b.params));
  auto r2 = at::stack(at::_foreach_norm(upd));
  auto ratio = r1.div(r2).clamp_max(10.0);
  auto q = at::where(r1.eq(0).logical_or(r2.eq(0)), at::ones_like(ratio), ratio);
  auto each = q.unbind(0);
  at::_foreach_addcmul_(b.params, upd, std::vector<at::Tensor>(each.begin(), each.end()), -lr);
}

}  // namespace steppers

}  // namespace fastai
