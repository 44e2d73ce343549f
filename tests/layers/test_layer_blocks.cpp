// SigmoidRange values (spec §7.7) and LinBnDrop's layout for both orders, plus how it nests and clones.
#include "fastai/layers/lin_bn_drop.h"
#include "fastai/layers/sigmoid_range.h"

#include "layers/layers_fixtures.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>
#include <string>
#include <vector>

namespace fastai::testing::layers {
namespace blocks_tests {
using V = std::vector<std::string>;
torch::nn::AnyModule relu() { return torch::nn::AnyModule(torch::nn::ReLU()); }
}  // namespace blocks_tests

TEST(SigmoidRange, Values) {
  fastai::SigmoidRange sr(0., 5.5);
  EXPECT_DOUBLE_EQ(sr(torch::zeros({1}, torch::kDouble)).item<double>(), 2.75);
  const auto x = torch::tensor({-100., -1., 0., 1., 100.}, torch::kDouble);
  const auto y = sr(x);
  EXPECT_NEAR(y[0].item<double>(), 0., 1e-12);
  EXPECT_NEAR(y[4].item<double>(), 5.5, 1e-12);
  EXPECT_NEAR(y[3].item<double>(), 5.5 / (1. + std::exp(-1.)), 1e-12);
  EXPECT_NEAR(y[1].item<double>() + y[3].item<double>(), 5.5, 1e-12);  // symmetric around the middle
  // sigmoid_range(x, -1, 1) == tanh(x / 2)
  EXPECT_TRUE(torch::allclose(fastai::sigmoid_range(x, -1., 1.), torch::tanh(x / 2)));
  EXPECT_EQ(fastai::testing::layers::n_params(*sr), 0);
  std::ostringstream os;
  os << *sr;
  EXPECT_EQ(os.str(), "fastai::SigmoidRange(low=0, high=5.5)");
}

TEST(LinBnDrop, DefaultIsBatchNormThenLinearWithoutBias) {
  fastai::LinBnDrop b(10, 4);
  EXPECT_EQ(kinds(*b), (blocks_tests::V{"BN(10)", "Lin(10,4)"}));
  EXPECT_EQ(param_names(*b), (blocks_tests::V{"0.weight", "0.bias", "1.weight"}));
}

TEST(LinBnDrop, BatchNormStartsAsFastaisBatchNorm) {
  fastai::LinBnDrop b(10, 4);
  auto params = b->named_parameters();
  EXPECT_TRUE(params["0.bias"].eq(1e-3f).all().item<bool>());   // fastai BatchNorm: bias 1e-3
  EXPECT_TRUE(params["0.weight"].eq(1.f).all().item<bool>());
}

TEST(LinBnDrop, OrderForBothLinFirstValues) {
  fastai::LinBnDrop old(10, 4, {.bn = true, .p = 0.25, .act = blocks_tests::relu(), .lin_first = false});
  EXPECT_EQ(kinds(*old), (blocks_tests::V{"BN(10)", "Drop(0.25)", "Lin(10,4)", "ReLU"}));
  fastai::LinBnDrop lf(10, 4, {.bn = true, .p = 0.25, .act = blocks_tests::relu(), .lin_first = true});
  EXPECT_EQ(kinds(*lf), (blocks_tests::V{"Lin(10,4)", "ReLU", "BN(4)", "Drop(0.25)"}));
  fastai::LinBnDrop nobn(10, 4, {.bn = false, .p = 0.5});
  EXPECT_EQ(kinds(*nobn), (blocks_tests::V{"Drop(0.5)", "Lin(10,4,bias)"}));
  fastai::LinBnDrop plain(10, 4, {.bn = false, .lin_first = true});
  EXPECT_EQ(kinds(*plain), (blocks_tests::V{"Lin(10,4,bias)"}));
}

TEST(LinBnDrop, ForwardIsTheChildrenInOrder) {
  torch::manual_seed(0);
  fastai::LinBnDrop b(6, 3, {.act = blocks_tests::relu(), .lin_first = true});
  b->eval();
  auto* lin = b[0]->as<torch::nn::Linear>();
  auto* bn = b[2]->as<torch::nn::BatchNorm1d>();
  ASSERT_TRUE(lin && bn);
  {
    torch::NoGradGuard g;
    bn->running_mean.copy_(torch::tensor({0.1f, -0.2f, 0.3f}));
    bn->running_var.copy_(torch::tensor({1.f, 2.f, 0.5f}));
    bn->weight.copy_(torch::tensor({1.f, 0.5f, 2.f}));
    bn->bias.copy_(torch::tensor({0.f, 1.f, -1.f}));
  }
  const auto x = torch::randn({5, 6});
  const auto h = torch::relu(x.matmul(lin->weight.t()));
  const auto want = (h - bn->running_mean) / torch::sqrt(bn->running_var + 1e-5) * bn->weight + bn->bias;
  EXPECT_TRUE(torch::allclose(b(x), want, 1e-5, 1e-6));
}

TEST(LinBnDrop, NestsInSequentialAndClonesDeep) {
  torch::nn::Sequential seq(fastai::LinBnDrop(4, 3, {.act = blocks_tests::relu()}), fastai::LinBnDrop(3, 2, {.bn = false}));
  seq->eval();
  EXPECT_EQ(kinds(*seq), (blocks_tests::V{"LinBnDrop", "LinBnDrop"}));
  EXPECT_EQ(param_names(*seq), (blocks_tests::V{"0.0.weight", "0.0.bias", "0.1.weight", "1.0.weight", "1.0.bias"}));
  const auto x = torch::randn({2, 4});
  EXPECT_EQ(seq->forward(x).sizes(), (std::vector<int64_t>{2, 2}));

  auto copy = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(seq->clone());
  ASSERT_TRUE(copy);
  EXPECT_EQ(kinds(*copy), (blocks_tests::V{"LinBnDrop", "LinBnDrop"}));
  EXPECT_TRUE(torch::equal(copy->forward(x), seq->forward(x)));
  const auto p0 = seq->parameters()[2], c0 = copy->parameters()[2];
  EXPECT_TRUE(torch::equal(p0, c0));
  EXPECT_NE(p0.data_ptr(), c0.data_ptr());
  std::ostringstream os;
  os << *seq[0];
  EXPECT_EQ(os.str().rfind("fastai::LinBnDrop", 0), 0u) << os.str();
}

TEST(LinBnDrop, EachBlockGetsItsOwnActivation) {
  const fastai::LinBnDropOptions o{.act = blocks_tests::relu()};
  fastai::LinBnDrop a(4, 3, o), b(4, 3, o);
  EXPECT_NE(a->children().back().get(), b->children().back().get());
}

TEST(LinBnDrop, BadArgumentsAreErrors) {
  expect_error([] { fastai::LinBnDrop(0, 3); }, {"LinBnDrop", "n_in", "(0, 3)"});
  expect_error([] { fastai::LinBnDrop(4, 3, {.p = 1.5}); }, {"LinBnDrop", "[0, 1)", "1.5"});
}

}  // namespace fastai::testing::layers
