// The fused ReLU + BatchNorm1d kernel (batch_norm_1d.h) against LibTorch's own relu + BatchNorm1d:
// outputs, gradients, running stats and num_batches_tracked, over shapes, thread counts, modes and
// the fallbacks (the kernel against LibTorch in double precision); and LinBnDrop / TabularModel, which run it, against their modules one by one.
#include "fastai/layers/batch_norm_1d.h"

#include "fastai/layers/lin_bn_drop.h"
#include "test_util.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <tuple>
#include <vector>

namespace fastai::testing::layers {
namespace bn1d_tests {

struct Pair {
  torch::nn::BatchNorm1d ours{nullptr}, ref{nullptr};
};

/// Two BatchNorm1d modules with the same random affine parameters and running stats.
Pair make_pair(int64_t c, double momentum = 0.1) {
  Pair p;
  p.ours = torch::nn::BatchNorm1d(torch::nn::BatchNorm1dOptions(c).momentum(momentum));
  torch::NoGradGuard ng;
  p.ours->weight.uniform_(0.5, 1.5);
  p.ours->bias.uniform_(-0.5, 0.5);
  p.ours->running_mean.uniform_(-1., 1.);
  p.ours->running_var.uniform_(0.5, 2.);
  p.ref = torch::nn::BatchNorm1d(torch::nn::BatchNorm1dOptions(c).momentum(momentum));
  p.ref->weight.copy_(p.ours->weight);
  p.ref->bias.copy_(p.ours->bias);
  p.ref->running_mean.copy_(p.ours->running_mean);
  p.ref->running_var.copy_(p.ours->running_var);
  return p;
}

void expect_close(const at::Tensor& a, const at::Tensor& b, double tol, const char* what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double err = (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
  const double scale = std::max(1., b.abs().max().item<double>());
  EXPECT_LE(err, tol * scale) << what;
}

/// Forward + backward of the kernel on float x (scaled so ReLU cuts about half) and of LibTorch's
/// relu + BatchNorm1d in double precision on the same values, with an upstream gradient g.
void check_training(int64_t n, int64_t c, bool relu, uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << "n=" << n << " c=" << c << " relu=" << relu);
  torch::manual_seed(seed);
  Pair p = make_pair(c);
  p.ref->to(at::kDouble);
  const at::Tensor x0 = torch::randn({n, c}) * 2 + 0.3, g = torch::randn({n, c});
  at::Tensor xa = x0.clone().requires_grad_(true), xb = x0.to(at::kDouble).requires_grad_(true);
  const at::Tensor ya = batch_norm_1d(xa, *p.ours, relu);
  const at::Tensor yb = p.ref->forward(relu ? torch::relu(xb) : xb);
  EXPECT_EQ(ya.scalar_type(), at::kFloat);
  expect_close(ya, yb, 1e-5, "output");
  ya.backward(g);
  yb.backward(g.to(at::kDouble));
  expect_close(xa.grad(), xb.grad(), 1e-5, "grad x");
  expect_close(p.ours->weight.grad(), p.ref->weight.grad(), 1e-5, "grad weight");
  expect_close(p.ours->bias.grad(), p.ref->bias.grad(), 1e-5, "grad bias");
  expect_close(p.ours->running_mean, p.ref->running_mean, 1e-6, "running_mean");
  expect_close(p.ours->running_var, p.ref->running_var, 1e-6, "running_var");
  EXPECT_EQ(p.ours->num_batches_tracked.item<int64_t>(), p.ref->num_batches_tracked.item<int64_t>());
  EXPECT_EQ(p.ours->num_batches_tracked.item<int64_t>(), 1);
}

TEST(BatchNorm1dFused, MatchesReluThenBatchNormOverShapes) {
  for (bool relu : {false, true})
    for (auto [n, c] : std::vector<std::pair<int64_t, int64_t>>{{2, 1}, {7, 3}, {64, 33}, {1024, 200}, {3000, 17}})
      check_training(n, c, relu, static_cast<uint64_t>(n * 131 + c));
}

TEST(BatchNorm1dFused, MatchesOnOneAndTwoThreads) {
  const int saved = at::get_num_threads();
  for (int t : {1, 2}) {
    at::set_num_threads(t);
    check_training(4096, 64, true, 5);  // 4096 x 64 rows split into chunks when there are threads
  }
  at::set_num_threads(saved);
}

TEST(BatchNorm1dFused, LargeOffsetsKeepTheVariance) {
  // Values around 1e3 with a spread of 1e-1: a one-pass E[x²] - E[x]² in float would lose it.
  torch::manual_seed(3);
  Pair p = make_pair(8);
  p.ref->to(at::kDouble);
  const at::Tensor x = torch::randn({512, 8}) * 0.1 + 1000.;
  const at::Tensor ya = batch_norm_1d(x, *p.ours, false), yb = p.ref->forward(x.to(at::kDouble));
  expect_close(ya, yb, 1e-3, "output");
  expect_close(p.ours->running_var, p.ref->running_var, 1e-5, "running_var");
}

TEST(BatchNorm1dFused, EvalModeAndFallbacksEqualTheModule) {
  torch::manual_seed(4);
  Pair p = make_pair(5);
  p.ours->eval(), p.ref->eval();
  const at::Tensor x = torch::randn({9, 5});
  expect_close(batch_norm_1d(x, *p.ours, true), p.ref->forward(torch::relu(x)), 1e-6, "eval");
  p.ours->train(), p.ref->train();
  // double input, [N, C, L] input and a non-contiguous [N, C] view
  const at::Tensor xd = torch::randn({6, 5}, at::kDouble);
  Pair pd = make_pair(5);
  pd.ours->to(at::kDouble), pd.ref->to(at::kDouble);
  expect_close(batch_norm_1d(xd, *pd.ours, false), pd.ref->forward(xd), 1e-12, "double");
  const at::Tensor x3 = torch::randn({4, 5, 3});
  expect_close(batch_norm_1d(x3, *p.ours, false), p.ref->forward(x3), 1e-5, "[N, C, L]");
  const at::Tensor xt = torch::randn({5, 10}).t();
  expect_close(batch_norm_1d(xt, *p.ours, true), p.ref->forward(torch::relu(xt)), 1e-5, "transposed");
  expect_close(p.ours->running_mean, p.ref->running_mean, 1e-6, "running_mean after three batches");
}

TEST(BatchNorm1dFused, ErrorsNameTheShape) {
  Pair p = make_pair(4);
  expect_error([&] { batch_norm_1d(torch::randn({1, 4}), *p.ours, true); }, {"BatchNorm1d(4)", "more than one value", "[1, 4]"});
  expect_error([&] { batch_norm_1d(torch::randn({8, 3}), *p.ours, false); }, {"BatchNorm1d(4)", "[bs, 4]", "[8, 3]"});
  p.ours->eval();
  EXPECT_EQ(batch_norm_1d(torch::randn({1, 4}), *p.ours, false).sizes(), (std::vector<int64_t>{1, 4}));
}

TEST(BatchNorm1dFused, LinBnDropEqualsItsChildrenRunOneByOne) {
  torch::manual_seed(6);
  for (bool lin_first : {true, false}) {
    LinBnDrop block(12, 7, {.act = torch::nn::AnyModule(torch::nn::ReLU()), .lin_first = lin_first});
    auto ref = std::dynamic_pointer_cast<LinBnDropImpl>(block->clone());
    const at::Tensor x = torch::randn({32, 12});
    const at::Tensor ya = block->forward(x);
    at::Tensor yb = x;
    for (auto& m : *ref) yb = m.forward(yb);  // LibTorch's modules, one after the other
    expect_close(ya, yb, 2e-5, lin_first ? "lin_first" : "bn first");
    ya.sum().backward();
    yb.sum().backward();
    for (size_t i = 0; i < block->parameters().size(); ++i)
      expect_close(block->parameters()[i].grad(), ref->parameters()[i].grad(), 2e-5, "parameter grad");
  }
}

}  // namespace bn1d_tests
}  // namespace fastai::testing::layers
