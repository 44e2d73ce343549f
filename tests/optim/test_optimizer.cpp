// fastai's generic optimizer: every optimizer against formulas computed here in plain double
// arithmetic, the spec's reference numbers (§7.4), torch::optim::SGD, freezing, the state dict
// and the errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "fastai/core/error.h"
#include "fastai/optim/optimizer.h"

namespace optim_test {

using Vec = std::vector<double>;

at::Tensor param(const Vec& v, std::vector<int64_t> shape = {}) {
  auto t = torch::tensor(v, torch::kDouble);
  if (!shape.empty()) t = t.reshape(shape);
  return t.requires_grad_(true);
}

Vec values(const at::Tensor& t) {
  auto c = t.detach().to(torch::kDouble).contiguous().reshape({-1});
  return Vec(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

/// Deterministic, sign-changing gradient for element j of parameter k at step t.
double grad_at(int t, size_t j, size_t k = 0) { return 0.5 * std::sin(1.0 + 0.7 * t + 1.3 * j + 2.1 * k); }

Vec grads(int t, size_t n, size_t k = 0) {
  Vec g(n);
  for (size_t j = 0; j < n; ++j) g[j] = grad_at(t, j, k);
  return g;
}

void set_grad(const at::Tensor& p, const Vec& g) {
  p.mutable_grad() = torch::tensor(g, torch::kDouble).reshape(p.sizes());
}

void expect_close(const at::Tensor& t, const Vec& want, double tol, const std::string& what) {
  auto got = values(t);
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t j = 0; j < got.size(); ++j) EXPECT_NEAR(got[j], want[j], tol) << what << " element " << j;
}

double norm(const Vec& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

// ---- reference optimizers: one parameter, double arithmetic, written from fastai's formulas ----

struct Ref {
  Vec p, m, v;
  int t = 0;
  explicit Ref(Vec p0) : p(std::move(p0)), m(p.size(), 0.0), v(p.size(), 0.0) {}
  void decay(double lr, double wd) {
    for (double& x : p) x *= 1 - lr * wd;
  }
  void moments(const Vec& g, double mom, double sqr_mom) {  // both dampened (Adam family)
    for (size_t j = 0; j < p.size(); ++j) {
      m[j] = mom * m[j] + (1 - mom) * g[j];
      v[j] = sqr_mom * v[j] + (1 - sqr_mom) * g[j] * g[j];
    }
    ++t;
  }
};

void adam_ref(Ref& r, const Vec& g, double lr, double mom, double sqr_mom, double eps, double wd) {
  r.decay(lr, wd);
  r.moments(g, mom, sqr_mom);
  const double b1 = 1 - std::pow(mom, r.t), b2 = 1 - std::pow(sqr_mom, r.t);
  for (size_t j = 0; j < r.p.size(); ++j) r.p[j] -= lr * (r.m[j] / b1) / (std::sqrt(r.v[j] / b2) + eps);
}

void radam_ref(Ref& r, const Vec& g, double lr, double mom, double sqr_mom, double eps, double wd, double beta) {
  r.decay(lr, wd);
  r.moments(g, mom, sqr_mom);
  const double b1 = 1 - std::pow(mom, r.t), b2 = 1 - std::pow(sqr_mom, r.t);
  const double rinf = 2 / (1 - sqr_mom) - 1;
  const double rt = rinf - 2 * r.t * std::pow(sqr_mom, r.t) / (1 - std::pow(sqr_mom, r.t));
  for (size_t j = 0; j < r.p.size(); ++j) {
    if (rt > 5) {
      const double rect = std::sqrt((rt - 4) * (rt - 2) * rinf / ((rinf - 4) * (rinf - 2) * rt));
      double den = std::sqrt(r.v[j] / b2) + eps;
      if (beta != 0 && beta * den <= 20) den = std::log1p(std::exp(beta * den)) / beta;
      r.p[j] -= lr * rect * (r.m[j] / b1) / den;
    } else {
      r.p[j] -= lr * r.m[j] / b1;
    }
  }
}

void lookahead_ref(Vec& fast, Vec& slow, int count, int k, double alpha) {
  if (count % k != 0) return;
  for (size_t j = 0; j < fast.size(); ++j) {
    slow[j] += alpha * (fast[j] - slow[j]);
    fast[j] = slow[j];
  }
}

int64_t trainable(const fastai::Optimizer& opt) {
  int64_t n = 0;
  for (auto& p : opt.all_params()) n += p.requires_grad() ? 1 : 0;
  return n;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const fastai::Error& e) {
    return e.what();
  }
  return "<no fastai::Error>";
}

}  // namespace optim_test

namespace ot = optim_test;

// ---- spec §7.4 and Adam ----------------------------------------------------------------------

TEST(Optimizer, AdamMatchesSpecReferenceNumbers) {
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    auto p = torch::ones({1}, dtype).requires_grad_(true);
    auto opt = fastai::Adam(std::vector<at::Tensor>{p}, 1e-3);  // fastai defaults: mom .9, sqr_mom .99, eps 1e-5, wd .01
    const double want[2] = {0.9989899993, 0.9979799986};
    for (int s = 0; s < 2; ++s) {
      p.mutable_grad() = torch::full({1}, 0.5, dtype);
      opt->step();
      // The spec's numbers are fastai's float32 results printed to 10 digits: float32 must match
      // them to the print precision; double differs by float32's rounding (< 1 float32 ulp).
      EXPECT_NEAR(p.item<double>(), want[s], dtype == torch::kFloat ? 1e-10 : 6e-8) << "step " << s + 1;
    }
  }
}

TEST(Optimizer, AdamMatchesFormulaOnSeveralParams) {
  const double lr = 0.01, mom = 0.8, sqr_mom = 0.95, eps = 1e-5, wd = 0.1;
  auto a = ot::param({0.5, -1.0, 2.0}), b = ot::param({0.3, -0.2, 0.1, 0.7}, {2, 2});
  auto opt = fastai::Adam({.mom = mom, .sqr_mom = sqr_mom, .wd = wd})(std::vector<at::Tensor>{a, b}, lr);
  ot::Ref ra(ot::values(a)), rb(ot::values(b));
  for (int t = 1; t <= 6; ++t) {
    ot::set_grad(a, ot::grads(t, 3, 0));
    ot::set_grad(b, ot::grads(t, 4, 1));
    opt->step();
    ot::adam_ref(ra, ot::grads(t, 3, 0), lr, mom, sqr_mom, eps, wd);
    ot::adam_ref(rb, ot::grads(t, 4, 1), lr, mom, sqr_mom, eps, wd);
    ot::expect_close(a, ra.p, 1e-12, "a step " + std::to_string(t));
    ot::expect_close(b, rb.p, 1e-12, "b step " + std::to_string(t));
  }
  EXPECT_EQ(opt->state(a).step, 6);
  ot::expect_close(opt->state(b).tensors.at("grad_avg"), rb.m, 1e-12, "grad_avg");
  ot::expect_close(opt->state(b).tensors.at("sqr_avg"), rb.v, 1e-12, "sqr_avg");
}

TEST(Optimizer, AdamDebiasUsesEachParamsOwnStepAndCurrentMom) {
  const double lr = 0.05, sqr_mom = 0.99, eps = 1e-5;
  auto a = ot::param({1.0, 2.0}), b = ot::param({-1.0, 0.5});
  auto opt = fastai::Adam(std::vector<at::Tensor>{a, b}, lr);
  opt->set_hyper("wd", 0.0);
  ot::Ref ra(ot::values(a)), rb(ot::values(b));
  // b gets no gradient on step 1, so a and b have different step counts afterwards; mom is
  // changed between steps, as 1cycle does, and the debias must use the current value.
  const double moms[4] = {0.9, 0.85, 0.8, 0.9};
  for (int t = 1; t <= 4; ++t) {
    opt->set_hyper("mom", moms[t - 1]);
    ot::set_grad(a, ot::grads(t, 2, 0));
    if (t > 1) ot::set_grad(b, ot::grads(t, 2, 1));
    opt->step();
    // reference with the current mom in both the average and the debias
    auto step = [&](ot::Ref& r, const ot::Vec& g) {
      r.moments(g, moms[t - 1], sqr_mom);
      const double b1 = 1 - std::pow(moms[t - 1], r.t), b2 = 1 - std::pow(sqr_mom, r.t);
      for (size_t j = 0; j < r.p.size(); ++j) r.p[j] -= lr * (r.m[j] / b1) / (std::sqrt(r.v[j] / b2) + eps);
    };
    step(ra, ot::grads(t, 2, 0));
    if (t > 1) step(rb, ot::grads(t, 2, 1));
    ot::expect_close(a, ra.p, 1e-12, "a step " + std::to_string(t));
    ot::expect_close(b, rb.p, 1e-12, "b step " + std::to_string(t));
  }
  EXPECT_EQ(opt->state(a).step, 4);
  EXPECT_EQ(opt->state(b).step, 3);
}

// ---- SGD ---------------------------------------------------------------------------------------

TEST(Optimizer, SgdPlainAndDecoupledDecay) {
  const double lr = 0.1, wd = 0.2;
  auto p = ot::param({1.0, -2.0, 3.0});
  auto opt = fastai::SGD({.wd = wd})(std::vector<at::Tensor>{p}, lr);
  ot::Vec ref = ot::values(p);
  for (int t = 1; t <= 3; ++t) {
    auto g = ot::grads(t, 3);
    ot::set_grad(p, g);
    opt->step();
    for (size_t j = 0; j < 3; ++j) ref[j] = ref[j] * (1 - lr * wd) - lr * g[j];
    ot::expect_close(p, ref, 1e-14, "step " + std::to_string(t));
  }
  EXPECT_TRUE(opt->state(p).tensors.empty()) << "plain SGD keeps no state";
}

TEST(Optimizer, SgdMomentumEqualsTorchSgd) {
  for (bool with_wd : {false, true}) {
    const double lr = 0.1, mom = 0.9, wd = with_wd ? 0.05 : 0.0;
    auto a = ot::param({1.0, -2.0, 3.0}), b = ot::param({0.5, 0.25}, {2, 1});
    auto ta = a.detach().clone().requires_grad_(true), tb = b.detach().clone().requires_grad_(true);
    // fastai's L2 form (decouple_wd=false) is torch's weight_decay; no dampening in either.
    auto opt = fastai::SGD({.mom = mom, .wd = wd, .decouple_wd = false})(std::vector<at::Tensor>{a, b}, lr);
    torch::optim::SGD ref({ta, tb}, torch::optim::SGDOptions(lr).momentum(mom).weight_decay(wd));
    for (int t = 1; t <= 5; ++t) {
      ot::set_grad(a, ot::grads(t, 3, 0));
      ot::set_grad(b, ot::grads(t, 2, 1));
      ot::set_grad(ta, ot::grads(t, 3, 0));
      ot::set_grad(tb, ot::grads(t, 2, 1));
      opt->step();
      ref.step();
      EXPECT_TRUE(torch::allclose(a.detach(), ta.detach(), 0, 1e-14)) << "wd " << wd << " step " << t;
      EXPECT_TRUE(torch::allclose(b.detach(), tb.detach(), 0, 1e-14)) << "wd " << wd << " step " << t;
    }
    EXPECT_GT((a.detach() - torch::tensor({1.0, -2.0, 3.0}, torch::kDouble)).abs().max().item<double>(), 1e-3);
  }
}

// ---- RMSProp -----------------------------------------------------------------------------------

TEST(Optimizer, RmsPropWithAndWithoutMomentum) {
  for (double mom : {0.0, 0.9}) {
    const double lr = 0.01, sqr_mom = 0.9, eps = 1e-8;
    auto p = ot::param({1.0, -0.5, 0.25});
    auto opt = fastai::RMSProp({.sqr_mom = sqr_mom, .mom = mom})(std::vector<at::Tensor>{p}, lr);
    ot::Vec ref = ot::values(p), m(3, 0.0), v(3, 0.0);
    for (int t = 1; t <= 4; ++t) {
      auto g = ot::grads(t, 3);
      ot::set_grad(p, g);
      opt->step();
      for (size_t j = 0; j < 3; ++j) {
        m[j] = mom * m[j] + g[j];  // no dampening for grad_avg
        v[j] = sqr_mom * v[j] + (1 - sqr_mom) * g[j] * g[j];
        ref[j] -= lr * (mom != 0 ? m[j] : g[j]) / (std::sqrt(v[j]) + eps);
      }
      ot::expect_close(p, ref, 1e-12, "mom " + std::to_string(mom) + " step " + std::to_string(t));
    }
    EXPECT_EQ(opt->state(p).tensors.count("grad_avg"), mom != 0 ? 1u : 0u);
  }
}

// ---- RAdam / ranger --------------------------------------------------------------------------

TEST(Optimizer, RAdamBothBranchesAndSoftplusBeta) {
  for (double beta : {0.0, 2.0}) {
    const double lr = 0.01, mom = 0.9, sqr_mom = 0.99, eps = 1e-5, wd = 0.01;
    auto p = ot::param({0.8, -1.2, 0.3});
    auto opt = fastai::RAdam({.wd = wd, .beta = beta})(std::vector<at::Tensor>{p}, lr);
    ot::Ref r(ot::values(p));
    // r_t <= 5 for the first 5 steps (SGD-like step), rectified afterwards.
    for (int t = 1; t <= 10; ++t) {
      auto g = ot::grads(t, 3);
      ot::set_grad(p, g);
      opt->step();
      ot::radam_ref(r, g, lr, mom, sqr_mom, eps, wd, beta);
      ot::expect_close(p, r.p, 1e-12, "beta " + std::to_string(beta) + " step " + std::to_string(t));
    }
  }
}

TEST(Optimizer, RangerIsLookaheadOverRAdamWithFastaiDefaults) {
  const double lr = 0.02;
  auto p = ot::param({0.8, -1.2, 0.3});
  auto opt = fastai::ranger(std::vector<at::Tensor>{p}, lr);
  EXPECT_DOUBLE_EQ(opt->hyper("mom"), 0.95);
  EXPECT_DOUBLE_EQ(opt->hyper("sqr_mom"), 0.99);
  EXPECT_DOUBLE_EQ(opt->hyper("eps"), 1e-6);
  EXPECT_DOUBLE_EQ(opt->hyper("wd"), 0.01);
  EXPECT_DOUBLE_EQ(opt->hyper("k"), 6);
  EXPECT_DOUBLE_EQ(opt->hyper("alpha"), 0.5);
  ot::Ref r(ot::values(p));
  ot::Vec slow = r.p;
  for (int t = 1; t <= 13; ++t) {
    auto g = ot::grads(t, 3);
    ot::set_grad(p, g);
    opt->step();
    ot::radam_ref(r, g, lr, 0.95, 0.99, 1e-6, 0.01, 0.0);
    ot::lookahead_ref(r.p, slow, t, 6, 0.5);
    ot::expect_close(p, r.p, 1e-12, "step " + std::to_string(t));
  }
  ot::expect_close(opt->state(p).tensors.at("slow_p"), slow, 1e-12, "slow weights");
}

TEST(Optimizer, LookaheadOverSgdFactory) {
  const double lr = 0.1;
  fastai::OptFunc f = fastai::Lookahead(fastai::SGD, {.k = 3, .alpha = 0.25});
  auto a = ot::param({1.0, 2.0}), b = ot::param({-1.0});
  auto opt = f({{a}, {b}}, lr);
  ASSERT_EQ(opt->n_groups(), 2u);
  ot::Vec fa = ot::values(a), fb = ot::values(b), sa = fa, sb = fb;
  for (int t = 1; t <= 7; ++t) {
    auto ga = ot::grads(t, 2, 0), gb = ot::grads(t, 1, 1);
    ot::set_grad(a, ga);
    ot::set_grad(b, gb);
    opt->step();
    for (size_t j = 0; j < 2; ++j) fa[j] -= lr * ga[j];
    fb[0] -= lr * gb[0];
    ot::lookahead_ref(fa, sa, t, 3, 0.25);
    ot::lookahead_ref(fb, sb, t, 3, 0.25);
    ot::expect_close(a, fa, 1e-14, "a step " + std::to_string(t));
    ot::expect_close(b, fb, 1e-14, "b step " + std::to_string(t));
  }
  // clear_state drops the slow weights: they are taken again from the current weights.
  opt->clear_state();
  EXPECT_EQ(opt->state(a).tensors.count("slow_p"), 0u);
  EXPECT_THROW(fastai::Lookahead(fastai::SGD, {.k = 0}), fastai::Error);
}

// ---- QHAdam ------------------------------------------------------------------------------------

TEST(Optimizer, QHAdamMatchesFormula) {
  const double lr = 0.01, mom = 0.9, sqr_mom = 0.99, nu_1 = 0.7, nu_2 = 0.8, eps = 1e-8, wd = 0.05;
  auto p = ot::param({0.4, -0.6, 1.5, 0.0});
  auto opt = fastai::QHAdam({.mom = mom, .sqr_mom = sqr_mom, .nu_2 = nu_2, .wd = wd})(std::vector<at::Tensor>{p}, lr);
  EXPECT_DOUBLE_EQ(opt->hyper("nu_1"), nu_1);
  ot::Ref r(ot::values(p));
  for (int t = 1; t <= 5; ++t) {
    auto g = ot::grads(t, 4);
    ot::set_grad(p, g);
    opt->step();
    r.decay(lr, wd);
    r.moments(g, mom, sqr_mom);
    const double b1 = 1 - std::pow(mom, t), b2 = 1 - std::pow(sqr_mom, t);
    for (size_t j = 0; j < 4; ++j) {
      const double num = (1 - nu_1) * g[j] + nu_1 * r.m[j] / b1;
      const double den = std::sqrt((1 - nu_2) * g[j] * g[j] + nu_2 * r.v[j] / b2) + eps;
      r.p[j] -= lr * num / den;
    }
    ot::expect_close(p, r.p, 1e-12, "step " + std::to_string(t));
  }
}

// ---- Larc --------------------------------------------------------------------------------------

TEST(Optimizer, LarcLocalLrWithAndWithoutClip) {
  // trust_coeff 0.02: local lr below lr (clip inactive); trust_coeff 5: local lr above lr, so clip
  // makes the step exactly lr * grad_avg.
  for (double tc : {0.02, 5.0})
    for (bool clip : {true, false}) {
      const double lr = 0.1, mom = 0.9, eps = 1e-8, wd = 0.01;
      auto a = ot::param({1.0, -2.0, 0.5}), b = ot::param({0.1, 0.3});
      auto opt = fastai::Larc({.mom = mom, .clip = clip, .trust_coeff = tc, .wd = wd})(std::vector<at::Tensor>{a, b}, lr);
      ot::Vec pa = ot::values(a), pb = ot::values(b), ma(3, 0.0), mb(2, 0.0);
      bool clipped = false;
      for (int t = 1; t <= 3; ++t) {
        auto ga = ot::grads(t, 3, 0), gb = ot::grads(t, 2, 1);
        ot::set_grad(a, ga);
        ot::set_grad(b, gb);
        opt->step();
        auto ref = [&](ot::Vec& p, ot::Vec& m, const ot::Vec& g) {
          for (double& x : p) x *= 1 - lr * wd;  // decoupled decay runs first
          for (size_t j = 0; j < p.size(); ++j) m[j] = mom * m[j] + g[j];
          const double pn = ot::norm(p), gn = ot::norm(g);
          double local = lr * tc * pn / (gn + pn * wd + eps);
          if (clip && local > lr) {
            local = lr;
            clipped = true;
          }
          for (size_t j = 0; j < p.size(); ++j) p[j] -= local * m[j];
        };
        ref(pa, ma, ga);
        ref(pb, mb, gb);
        const std::string what = "tc " + std::to_string(tc) + " clip " + std::to_string(clip) + " step " + std::to_string(t);
        ot::expect_close(a, pa, 1e-12, what);
        ot::expect_close(b, pb, 1e-12, what);
      }
      EXPECT_EQ(clipped, clip && tc > 1) << "the clip branch must be exercised exactly when expected";
    }
}

// ---- Lamb --------------------------------------------------------------------------------------

TEST(Optimizer, LambTrustRatioClippedAtTenAndOneForZeroWeights) {
  const double lr = 0.01, mom = 0.9, sqr_mom = 0.99, eps = 1e-5, wd = 0.0;
  // small weights: ratio < 10; large weights: ratio clipped at 10; zero weights: ratio 1.
  auto small = ot::param({0.05, -0.03, 0.02}), large = ot::param({100.0, -50.0, 30.0}), zero = ot::param({0.0, 0.0});
  auto opt = fastai::Lamb(std::vector<at::Tensor>{small, large, zero}, lr);
  std::vector<ot::Ref> refs{ot::Ref(ot::values(small)), ot::Ref(ot::values(large)), ot::Ref(ot::values(zero))};
  std::vector<at::Tensor> ps{small, large, zero};
  std::vector<double> first_q(3, 0.0);
  for (int t = 1; t <= 4; ++t) {
    for (size_t k = 0; k < 3; ++k) ot::set_grad(ps[k], ot::grads(t, refs[k].p.size(), k));
    opt->step();
    for (size_t k = 0; k < 3; ++k) {
      auto& r = refs[k];
      const auto g = ot::grads(t, r.p.size(), k);
      r.decay(lr, wd);
      r.moments(g, mom, sqr_mom);
      const double b1 = 1 - std::pow(mom, t), b2 = 1 - std::pow(sqr_mom, t);
      ot::Vec u(r.p.size());
      for (size_t j = 0; j < u.size(); ++j) u[j] = (r.m[j] / b1) / (std::sqrt(r.v[j] / b2) + eps);
      const double n = static_cast<double>(u.size());
      const double r1 = ot::norm(r.p) / std::sqrt(n), r2 = ot::norm(u) / std::sqrt(n);
      const double q = (r1 == 0 || r2 == 0) ? 1.0 : std::min(r1 / r2, 10.0);
      if (t == 1) first_q[k] = q;
      for (size_t j = 0; j < u.size(); ++j) r.p[j] -= lr * q * u[j];
      ot::expect_close(ps[k], r.p, 1e-10, "param " + std::to_string(k) + " step " + std::to_string(t));
    }
  }
  EXPECT_LT(first_q[0], 10.0);
  EXPECT_NE(first_q[0], 1.0);
  EXPECT_EQ(first_q[1], 10.0);
  EXPECT_EQ(first_q[2], 1.0);
}

// ---- weight decay flags ------------------------------------------------------------------------

TEST(Optimizer, DoWdFalseAndZeroWdSkipDecay) {
  const double lr = 0.1, wd = 0.5;
  // Decoupled: zero gradients isolate the decay factor.
  auto a = ot::param({1.0, 2.0}), b = ot::param({3.0, 4.0});
  auto opt = fastai::SGD({.wd = wd})(std::vector<at::Tensor>{a, b}, lr);
  opt->state(b).do_wd = false;
  ot::set_grad(a, {0.0, 0.0});
  ot::set_grad(b, {0.0, 0.0});
  opt->step();
  ot::expect_close(a, {1.0 * (1 - lr * wd), 2.0 * (1 - lr * wd)}, 1e-15, "do_wd param");
  ot::expect_close(b, {3.0, 4.0}, 0, "do_wd=false param");
  opt->set_hyper("wd", 0.0);
  opt->step();
  ot::expect_close(a, {1.0 * (1 - lr * wd), 2.0 * (1 - lr * wd)}, 1e-15, "wd == 0");

  // L2 form: only do_wd params get wd*p added to their gradient.
  auto c = ot::param({1.0, -1.0}), d = ot::param({2.0, -2.0});
  auto l2 = fastai::SGD({.wd = wd, .decouple_wd = false})(std::vector<at::Tensor>{c, d}, lr);
  l2->state(d).do_wd = false;
  ot::set_grad(c, {0.1, 0.1});
  ot::set_grad(d, {0.1, 0.1});
  l2->step();
  ot::expect_close(c.grad(), {0.1 + wd * 1.0, 0.1 - wd * 1.0}, 1e-15, "l2 grad");
  ot::expect_close(d.grad(), {0.1, 0.1}, 0, "l2 grad, do_wd=false");
  ot::expect_close(d, {2.0 - lr * 0.1, -2.0 - lr * 0.1}, 1e-15, "l2 step, do_wd=false");

  // Adam: a do_wd=false param follows Adam with wd 0.
  auto e = ot::param({1.0, 2.0}), f = ot::param({1.0, 2.0});
  auto adam = fastai::Adam({.wd = 0.3})(std::vector<at::Tensor>{e, f}, lr);
  adam->state(f).do_wd = false;
  ot::Ref re(ot::values(e)), rf(ot::values(f));
  for (int t = 1; t <= 2; ++t) {
    ot::set_grad(e, ot::grads(t, 2));
    ot::set_grad(f, ot::grads(t, 2));
    adam->step();
    ot::adam_ref(re, ot::grads(t, 2), lr, 0.9, 0.99, 1e-5, 0.3);
    ot::adam_ref(rf, ot::grads(t, 2), lr, 0.9, 0.99, 1e-5, 0.0);
  }
  ot::expect_close(e, re.p, 1e-12, "adam do_wd");
  ot::expect_close(f, rf.p, 1e-12, "adam do_wd=false");
}

// ---- grads, zero_grad --------------------------------------------------------------------------

TEST(Optimizer, StepSkipsParamsWithoutGradAndZeroGradModes) {
  auto a = ot::param({1.0}), b = ot::param({2.0});
  auto opt = fastai::Adam(std::vector<at::Tensor>{a, b}, 0.1);
  ot::set_grad(a, {1.0});
  opt->step();
  EXPECT_NE(a.item<double>(), 1.0);
  EXPECT_EQ(b.item<double>(), 2.0);
  EXPECT_EQ(opt->state(b).step, 0);
  EXPECT_TRUE(opt->state(b).tensors.empty());

  opt->zero_grad();
  ASSERT_TRUE(a.grad().defined());
  EXPECT_EQ(a.grad().item<double>(), 0.0);
  opt->zero_grad(true);
  EXPECT_FALSE(a.grad().defined());
  opt->step();  // nothing has a gradient: nothing moves
  EXPECT_EQ(opt->state(a).step, 1);
}

// ---- freezing ----------------------------------------------------------------------------------

TEST(Optimizer, FreezeToCountsTrainableParamsAndKeepsFlags) {
  fastai::ParamList groups{{ot::param({1.0}), ot::param({2.0})},
                           {ot::param({3.0}), ot::param({4.0}), ot::param({5.0})},
                           {ot::param({6.0})}};
  auto opt = fastai::Adam(groups, 0.1);
  opt->state(groups[0][1]).force_train = true;  // e.g. a BatchNorm weight with train_bn
  opt->state(groups[1][0]).do_wd = false;
  for (auto& g : groups)
    for (auto& p : g) ot::set_grad(p, {0.5});
  opt->step();
  ASSERT_EQ(opt->state(groups[2][0]).step, 1);

  opt->freeze();
  EXPECT_EQ(opt->frozen_idx(), 2);
  EXPECT_EQ(ot::trainable(*opt), 1 + 1);  // last group + the force_train param
  EXPECT_TRUE(groups[0][1].requires_grad());
  EXPECT_FALSE(groups[0][0].requires_grad());
  // state cleared, flags kept
  EXPECT_EQ(opt->state(groups[2][0]).step, 0);
  EXPECT_TRUE(opt->state(groups[2][0]).tensors.empty());
  EXPECT_TRUE(opt->state(groups[0][1]).force_train);
  EXPECT_FALSE(opt->state(groups[1][0]).do_wd);

  opt->freeze_to(1);
  EXPECT_EQ(opt->frozen_idx(), 1);
  EXPECT_EQ(ot::trainable(*opt), 3 + 1 + 1);
  opt->freeze_to(-2);
  EXPECT_EQ(opt->frozen_idx(), 1);
  EXPECT_EQ(ot::trainable(*opt), 5);
  opt->freeze_to(3);
  EXPECT_EQ(ot::trainable(*opt), 1);  // whole model frozen but the force_train param
  opt->unfreeze();
  EXPECT_EQ(opt->frozen_idx(), 0);
  EXPECT_EQ(ot::trainable(*opt), 6);
}

// ---- state dict --------------------------------------------------------------------------------

TEST(Optimizer, StateDictRoundTripContinuesIdentically) {
  for (bool use_ranger : {false, true}) {
    fastai::ParamList groups{{ot::param({0.5, -1.0, 2.0}), ot::param({0.1, 0.2, 0.3, 0.4}, {2, 2})},
                             {ot::param({-0.7})}};
    fastai::OptFunc f = use_ranger ? fastai::OptFunc(fastai::ranger({.k = 2})) : fastai::OptFunc(fastai::Adam);
    auto opt = f(groups, 0.01);
    opt->state(groups[1][0]).do_wd = false;
    opt->set_hyper("lr", std::vector<double>{0.02, 0.03});
    auto feed = [&](int t) {
      for (size_t g = 0; g < groups.size(); ++g)
        for (size_t k = 0; k < groups[g].size(); ++k)
          ot::set_grad(groups[g][k], ot::grads(t, static_cast<size_t>(groups[g][k].numel()), 3 * g + k));
    };
    for (int t = 1; t <= 3; ++t) {
      feed(t);
      opt->step();
    }
    auto sd = opt->state_dict();
    auto has = [&](const std::string& n) {
      return std::any_of(sd.begin(), sd.end(), [&](auto& e) { return e.first == n; });
    };
    EXPECT_TRUE(has("group.1.hyper.lr"));
    EXPECT_TRUE(has("param.1.state.grad_avg"));
    EXPECT_TRUE(has("param.2.step"));
    EXPECT_EQ(has("param.0.state.slow_p"), use_ranger);

    // A second optimizer on copies of the current weights, built with different hypers.
    fastai::ParamList copies;
    for (auto& g : groups) {
      copies.emplace_back();
      for (auto& p : g) copies.back().push_back(p.detach().clone().requires_grad_(true));
    }
    auto opt2 = f(copies, 0.5);
    opt2->load_state_dict(sd);
    EXPECT_DOUBLE_EQ(opt2->hyper("lr", 0), 0.02);
    EXPECT_FALSE(opt2->state(copies[1][0]).do_wd);
    EXPECT_EQ(opt2->state(copies[0][0]).step, 3);

    for (int t = 4; t <= 7; ++t) {
      feed(t);
      for (size_t g = 0; g < groups.size(); ++g)
        for (size_t k = 0; k < groups[g].size(); ++k) copies[g][k].mutable_grad() = groups[g][k].grad().clone();
      opt->step();
      opt2->step();
    }
    for (size_t g = 0; g < groups.size(); ++g)
      for (size_t k = 0; k < groups[g].size(); ++k)
        EXPECT_TRUE(torch::equal(groups[g][k].detach(), copies[g][k].detach()))
            << (use_ranger ? "ranger" : "adam") << " group " << g << " param " << k;
    // the snapshot is a copy, not the live state (which moved on)
    auto it = std::find_if(sd.begin(), sd.end(), [](auto& e) { return e.first == "param.0.state.grad_avg"; });
    ASSERT_NE(it, sd.end());
    EXPECT_FALSE(torch::equal(it->second, opt->state(groups[0][0]).tensors.at("grad_avg")));
    EXPECT_EQ(opt->state_dict().size(), sd.size());
  }
}

TEST(Optimizer, LoadStateDictErrorsNameTheEntry) {
  auto a = ot::param({1.0, 2.0}), b = ot::param({3.0});
  auto opt = fastai::Adam(fastai::ParamList{{a}, {b}}, 0.1);
  ot::set_grad(a, {0.1, 0.2});
  ot::set_grad(b, {0.3});
  opt->step();
  const auto sd = opt->state_dict();

  // fewer groups in the optimizer than in the state dict
  auto one_group = fastai::Adam(fastai::ParamList{{ot::param({1.0, 2.0}), ot::param({3.0})}}, 0.1);
  auto msg = ot::error_of([&] { one_group->load_state_dict(sd); });
  EXPECT_NE(msg.find("group.1."), std::string::npos) << msg;
  EXPECT_NE(msg.find("has 1 parameter groups"), std::string::npos) << msg;

  // more groups in the optimizer
  auto three = fastai::Adam(fastai::ParamList{{ot::param({1.0, 2.0})}, {ot::param({3.0})}, {ot::param({4.0})}}, 0.1);
  msg = ot::error_of([&] { three->load_state_dict(sd); });
  EXPECT_NE(msg.find("group.2.n_params"), std::string::npos) << msg;

  // same groups, different parameter count
  auto more_params = fastai::Adam(fastai::ParamList{{ot::param({1.0, 2.0}), ot::param({5.0})}, {ot::param({3.0})}}, 0.1);
  msg = ot::error_of([&] { more_params->load_state_dict(sd); });
  EXPECT_NE(msg.find("group.0.n_params"), std::string::npos) << msg;

  // different shape
  auto other_shape = fastai::Adam(fastai::ParamList{{ot::param({1.0, 2.0, 3.0})}, {ot::param({3.0})}}, 0.1);
  msg = ot::error_of([&] { other_shape->load_state_dict(sd); });
  EXPECT_NE(msg.find("param.0.state."), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[3]"), std::string::npos) << msg;
  // a failed load leaves the optimizer as it was
  EXPECT_EQ(other_shape->state(other_shape->param_groups()[0].params[0]).step, 0);
  EXPECT_DOUBLE_EQ(other_shape->hyper("lr"), 0.1);

  auto bad = sd;
  bad.emplace_back("param.0.something", torch::zeros({}));
  msg = ot::error_of([&] { opt->load_state_dict(bad); });
  EXPECT_NE(msg.find("param.0.something"), std::string::npos) << msg;
}

// ---- hypers and errors -------------------------------------------------------------------------

TEST(Optimizer, HyperErrorsNameHyperAndGroup) {
  auto a = ot::param({1.0}), b = ot::param({2.0});
  auto opt = fastai::SGD(fastai::ParamList{{a}, {b}, {ot::param({3.0})}}, 0.1);
  EXPECT_DOUBLE_EQ(opt->hyper("lr"), 0.1);
  opt->set_hyper("lr", std::vector<double>{0.1, 0.2, 0.3});
  EXPECT_DOUBLE_EQ(opt->hyper("lr", 1), 0.2);
  EXPECT_DOUBLE_EQ(opt->hyper("lr"), 0.3);
  opt->set_hyper("lr", std::vector<double>{0.5});
  EXPECT_DOUBLE_EQ(opt->hyper("lr", 0), 0.5);
  EXPECT_TRUE(opt->has_hyper("mom"));
  EXPECT_FALSE(opt->has_hyper("sqr_mom"));

  auto msg = ot::error_of([&] { opt->set_hyper("lr", std::vector<double>{0.1, 0.2}); });
  EXPECT_NE(msg.find("expected 1 or 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("got 2"), std::string::npos) << msg;
  msg = ot::error_of([&] { opt->hyper("sqr_mom", 2); });
  EXPECT_NE(msg.find("sqr_mom"), std::string::npos) << msg;
  EXPECT_NE(msg.find("group 2"), std::string::npos) << msg;
  EXPECT_NE(ot::error_of([&] { opt->hyper("lr", 3); }), "<no fastai::Error>");

  // a stepper reading a hyper that is not set
  fastai::Optimizer custom(fastai::ParamList{{ot::param({1.0})}, {b}}, {[](fastai::StepBatch& sb) { sb.hp("beta2"); }}, {{"lr", 0.1}});
  ot::set_grad(b, {1.0});
  msg = ot::error_of([&] { custom.step(); });
  EXPECT_NE(msg.find("beta2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("group 1"), std::string::npos) << msg;

  // state of a tensor that is not a parameter; a parameter listed twice
  EXPECT_NE(ot::error_of([&] { opt->state(ot::param({0.0})); }), "<no fastai::Error>");
  EXPECT_NE(ot::error_of([&] { fastai::SGD(fastai::ParamList{{a}, {a}}, 0.1); }).find("group 1"), std::string::npos);
}

TEST(Optimizer, FactoriesAreOptFuncsWithOptions) {
  fastai::OptFunc f = fastai::Adam;
  auto p = ot::param({1.0});
  auto opt = f({{p}}, 0.003);
  EXPECT_DOUBLE_EQ(opt->hyper("lr"), 0.003);
  EXPECT_DOUBLE_EQ(opt->hyper("mom"), 0.9);
  EXPECT_DOUBLE_EQ(opt->hyper("wd"), 0.01);
  fastai::OptFunc g = fastai::Adam({.mom = 0.8});
  auto opt2 = g({{ot::param({1.0})}}, 0.1);
  EXPECT_DOUBLE_EQ(opt2->hyper("mom"), 0.8);
  EXPECT_DOUBLE_EQ(opt2->hyper("sqr_mom"), 0.99);
  EXPECT_DOUBLE_EQ(opt2->hyper("eps"), 1e-5);
  fastai::OptFunc h = fastai::Lookahead(fastai::SGD({.mom = 0.9}));
  auto opt3 = h({{ot::param({1.0})}}, 0.1);
  EXPECT_DOUBLE_EQ(opt3->hyper("k"), 6);
  EXPECT_DOUBLE_EQ(opt3->hyper("mom"), 0.9);
  EXPECT_DOUBLE_EQ(fastai::debias(0.9, 0.1, 2), 0.1 * (1 - 0.81) / 0.1);
}
