// ConvLayer's layout, padding, bias and init rules (fastai 2.7 layers.py), fastai's BatchNorm,
// apply_init / init_cnn, and the errors.
#include "fastai/layers/conv_layer.h"
#include "fastai/layers/init.h"
#include "fastai/layers/norm.h"

#include "layers/layers_fixtures.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

namespace fastai::testing::layers {
namespace conv_tests {
using V = std::vector<std::string>;
using Shape = std::vector<int64_t>;
// One token per child: "Conv2d(16,32,k3,s1)" (+",bias"), "BN2d(32)", "IN2d(32)", "ReLU", "Sigmoid", "?".
V conv_kinds(const torch::nn::Module& m) {
  V out;
  for (const auto& c : m.children()) {
    std::ostringstream os;
    if (auto* cv = c->as<torch::nn::Conv2d>()) {
      const auto& o = cv->options;
      os << "Conv2d(" << o.in_channels() << "," << o.out_channels() << ",k" << (*o.kernel_size())[0] << ",s"
         << (*o.stride())[0] << (cv->bias.defined() ? ",bias)" : ")");
    } else if (c->as<torch::nn::Conv1d>()) {
      os << "Conv1d";
    } else if (c->as<torch::nn::Conv3d>()) {
      os << "Conv3d";
    } else if (c->as<torch::nn::ConvTranspose2d>()) {
      os << "ConvTranspose2d";
    } else if (auto* bn = c->as<torch::nn::BatchNorm2d>()) {
      os << "BN2d(" << bn->options.num_features() << ")";
    } else if (auto* bn1 = c->as<torch::nn::BatchNorm1d>()) {
      os << "BN1d(" << bn1->options.num_features() << ")";
    } else if (c->as<torch::nn::BatchNorm3d>()) {
      os << "BN3d";
    } else if (auto* in = c->as<torch::nn::InstanceNorm2d>()) {
      os << "IN2d(" << in->options.num_features() << ")";
    } else if (c->as<torch::nn::ReLU>()) {
      os << "ReLU";
    } else if (c->as<torch::nn::Sigmoid>()) {
      os << "Sigmoid";
    } else {
      os << "?";
    }
    out.push_back(os.str());
  }
  return out;
}
torch::Tensor param(const torch::nn::Module& m, const std::string& name) { return m.named_parameters()[name]; }
}  // namespace conv_tests

TEST(BatchNorm, FastaiInit) {
  auto bn = fastai::BatchNorm(15);
  auto* b2 = bn.ptr()->as<torch::nn::BatchNorm2d>();
  ASSERT_TRUE(b2);
  EXPECT_TRUE(b2->weight.eq(1.f).all().item<bool>());
  EXPECT_TRUE(b2->bias.eq(1e-3f).all().item<bool>());
  auto zero = fastai::BatchNorm(15, {.ndim = 1, .norm_type = NormType::BatchZero});
  auto* b1 = zero.ptr()->as<torch::nn::BatchNorm1d>();
  ASSERT_TRUE(b1);
  EXPECT_TRUE(b1->weight.eq(0.f).all().item<bool>());
  EXPECT_TRUE(b1->bias.eq(1e-3f).all().item<bool>());
  EXPECT_TRUE(fastai::BatchNorm(4, {.ndim = 3}).ptr()->as<torch::nn::BatchNorm3d>());
  auto in = fastai::InstanceNorm(6, {.ndim = 2, .norm_type = NormType::InstanceZero});
  auto* i2 = in.ptr()->as<torch::nn::InstanceNorm2d>();
  ASSERT_TRUE(i2 && i2->weight.defined());
  EXPECT_TRUE(i2->weight.eq(0.f).all().item<bool>());
  EXPECT_TRUE(is_norm_module(*in.ptr()));
  EXPECT_FALSE(is_norm_module(*torch::nn::Linear(2, 3)));
  expect_error([] { fastai::BatchNorm(4, {.ndim = 4}); }, {"BatchNorm", "ndim", "4"});
  expect_error([] { fastai::BatchNorm(4, {.norm_type = NormType::Instance}); }, {"BatchNorm", "Batch or BatchZero", "Instance"});
}

TEST(ConvLayer, DefaultIsConvBatchNormReluWithoutBias) {
  fastai::ConvLayer c(16, 32);
  EXPECT_EQ(conv_tests::conv_kinds(*c), (conv_tests::V{"Conv2d(16,32,k3,s1)", "BN2d(32)", "ReLU"}));
  EXPECT_EQ(param_names(*c), (conv_tests::V{"0.weight", "1.weight", "1.bias"}));
  EXPECT_EQ(n_params(*c), 16 * 32 * 9 + 64);
  EXPECT_TRUE(conv_tests::param(*c, "1.weight").eq(1.f).all().item<bool>());
  EXPECT_TRUE(conv_tests::param(*c, "1.bias").eq(1e-3f).all().item<bool>());
  const auto x = torch::randn({4, 16, 8, 8});
  EXPECT_EQ(c(x).sizes(), (conv_tests::Shape{4, 32, 8, 8}));
  EXPECT_EQ(fastai::ConvLayer(16, 32, {.stride = 2})(x).sizes(), (conv_tests::Shape{4, 32, 4, 4}));
  EXPECT_EQ(fastai::ConvLayer(16, 32, {.padding = 0})(x).sizes(), (conv_tests::Shape{4, 32, 6, 6}));
  EXPECT_EQ(conv_tests::conv_kinds(*fastai::ConvLayer(16, 32, {.ks = 5, .stride = 2}))[0], "Conv2d(16,32,k5,s2)");
  EXPECT_EQ(fastai::ConvLayer(16, 32, {.ks = 5})(x).sizes(), (conv_tests::Shape{4, 32, 8, 8}));  // padding (5-1)/2
}

TEST(ConvLayer, OrderBiasNormAndDims) {
  EXPECT_EQ(conv_tests::conv_kinds(*fastai::ConvLayer(4, 8, {.bn_1st = false})),
            (conv_tests::V{"Conv2d(4,8,k3,s1)", "ReLU", "BN2d(8)"}));
  EXPECT_EQ(conv_tests::conv_kinds(*fastai::ConvLayer(4, 8, {.norm_type = std::nullopt})),
            (conv_tests::V{"Conv2d(4,8,k3,s1,bias)", "ReLU"}));
  EXPECT_EQ(conv_tests::conv_kinds(*fastai::ConvLayer(4, 8, {.bias = true})),
            (conv_tests::V{"Conv2d(4,8,k3,s1,bias)", "BN2d(8)", "ReLU"}));
  EXPECT_EQ(conv_tests::conv_kinds(*fastai::ConvLayer(4, 8, {.act = {}})), (conv_tests::V{"Conv2d(4,8,k3,s1)", "BN2d(8)"}));
  EXPECT_EQ(conv_tests::conv_kinds(*fastai::ConvLayer(4, 8, {.norm_type = NormType::Instance})),
            (conv_tests::V{"Conv2d(4,8,k3,s1)", "IN2d(8)", "ReLU"}));
  EXPECT_EQ(conv_tests::conv_kinds(*fastai::ConvLayer(4, 8, {.norm_type = NormType::BatchZero, .act = {}})),
            (conv_tests::V{"Conv2d(4,8,k3,s1)", "BN2d(8)"}));
  EXPECT_TRUE(conv_tests::param(*fastai::ConvLayer(4, 8, {.norm_type = NormType::BatchZero}), "1.weight").eq(0.f).all().item<bool>());
  EXPECT_EQ(conv_tests::conv_kinds(*fastai::ConvLayer(4, 8, {.ndim = 1})), (conv_tests::V{"Conv1d", "BN1d(8)", "ReLU"}));
  EXPECT_EQ(conv_tests::conv_kinds(*fastai::ConvLayer(4, 8, {.ndim = 3}))[0], "Conv3d");
  fastai::ConvLayer t(4, 8, {.ks = 2, .stride = 2, .transpose = true});
  EXPECT_EQ(conv_tests::conv_kinds(*t)[0], "ConvTranspose2d");
  EXPECT_EQ(t(torch::randn({1, 4, 5, 5})).sizes(), (conv_tests::Shape{1, 8, 10, 10}));
  fastai::ConvLayer g(8, 16, {.groups = 4});
  EXPECT_EQ(conv_tests::param(*g, "0.weight").sizes(), (conv_tests::Shape{16, 2, 3, 3}));
}

TEST(ConvLayer, InitAutoFollowsTheActivation) {
  torch::manual_seed(0);
  // ReLU -> kaiming_uniform (gain sqrt(2)): U(-b, b) with b = sqrt(6 / fan_in); fan_in = 64 * 9
  fastai::ConvLayer c(64, 128);
  const auto w = conv_tests::param(*c, "0.weight");
  const double bound = std::sqrt(6. / (64 * 9));
  EXPECT_LE(w.abs().max().item<double>(), bound);
  EXPECT_GT(w.abs().max().item<double>(), 0.95 * bound);
  EXPECT_NEAR(w.std().item<double>(), bound / std::sqrt(3.), 0.02 * bound);
  // Sigmoid -> xavier_uniform: b = sqrt(6 / (fan_in + fan_out)); no norm -> bias ~ N(0, 0.01)
  fastai::ConvLayer s(64, 128, {.norm_type = std::nullopt, .act = torch::nn::AnyModule(torch::nn::Sigmoid())});
  const auto ws = conv_tests::param(*s, "0.weight");
  const double xb = std::sqrt(6. / (64 * 9 + 128 * 9));
  EXPECT_LE(ws.abs().max().item<double>(), xb);
  EXPECT_GT(ws.abs().max().item<double>(), 0.95 * xb);
  const auto b = conv_tests::param(*s, "0.bias");
  EXPECT_LT(b.abs().max().item<double>(), 0.05);
  EXPECT_GT(b.std().item<double>(), 0.005);
  EXPECT_TRUE(conv_tests::param(*fastai::ConvLayer(4, 8, {.norm_type = std::nullopt, .bias_std = 0.}), "0.bias").eq(0.f).all().item<bool>());
  // no activation -> LibTorch's default (kaiming_uniform with a = sqrt(5)): b = 1 / sqrt(fan_in)
  fastai::ConvLayer n(64, 128, {.act = {}});
  const auto wn = conv_tests::param(*n, "0.weight");
  EXPECT_LE(wn.abs().max().item<double>(), 1. / 24.);
  EXPECT_GT(wn.abs().max().item<double>(), 0.95 / 24.);
  // explicit kaiming_normal: std sqrt(2 / fan_in)
  fastai::ConvLayer k(64, 128, {.init = "kaiming_normal"});
  EXPECT_NEAR(conv_tests::param(*k, "0.weight").std().item<double>(), std::sqrt(2. / 576.), 0.03 * std::sqrt(2. / 576.));
}

TEST(ConvLayer, NestsClonesAndPrints) {
  torch::nn::Sequential seq(fastai::ConvLayer(3, 8), fastai::ConvLayer(8, 4, {.act = {}}));
  seq->eval();
  EXPECT_EQ(param_names(*seq), (conv_tests::V{"0.0.weight", "0.1.weight", "0.1.bias", "1.0.weight", "1.1.weight", "1.1.bias"}));
  const auto x = torch::randn({2, 3, 6, 6});
  auto copy = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(seq->clone());
  ASSERT_TRUE(copy);
  EXPECT_TRUE(torch::equal(copy->forward(x), seq->forward(x)));
  EXPECT_NE(copy->parameters()[0].data_ptr(), seq->parameters()[0].data_ptr());
  std::ostringstream os;
  os << *seq[0];
  EXPECT_EQ(os.str().rfind("fastai::ConvLayer(3, 8, ks=3, stride=1)", 0), 0u) << os.str();
}

TEST(ConvLayer, BadInputsAreErrors) {
  fastai::ConvLayer c(3, 8);
  expect_error([&] { c(torch::randn({2, 4, 8, 8})); }, {"ConvLayer(3, 8)", "[bs, 3, h, w]", "[2, 4, 8, 8]"});
  expect_error([&] { c(torch::randn({4, 8, 8})); }, {"ConvLayer(3, 8)", "[4, 8, 8]"});
  expect_error([] { fastai::ConvLayer(0, 8); }, {"ConvLayer", "(0, 8)"});
  expect_error([] { fastai::ConvLayer(3, 8, {.ndim = 4}); }, {"ConvLayer", "ndim", "4"});
  // Weight / Spectral are ported (test_weight_norm.cpp): the conv is wrapped, no norm module, a bias
  EXPECT_EQ(conv_tests::conv_kinds(*fastai::ConvLayer(3, 8, {.norm_type = NormType::Spectral})), (conv_tests::V{"?", "ReLU"}));
  EXPECT_TRUE(fastai::ConvLayer(3, 8, {.norm_type = NormType::Weight})->named_parameters().contains("0.bias"));
  expect_error([] { fastai::ConvLayer(3, 8, {.init = "orthogonal"}); }, {"ConvLayer", "init", "'orthogonal'"});
  expect_error([] { fastai::ConvLayer(6, 8, {.groups = 4}); }, {"ConvLayer", "groups=4", "(6, 8)"});
}

TEST(ApplyInit, SkipsNormLayersAndZeroesBiases) {
  torch::nn::Sequential m(torch::nn::Linear(100, 50), fastai::BatchNorm(50, {.ndim = 1}), torch::nn::Linear(50, 10));
  apply_init(*m);
  auto p = m->named_parameters();
  EXPECT_TRUE(p["0.bias"].eq(0.f).all().item<bool>());
  EXPECT_TRUE(p["2.bias"].eq(0.f).all().item<bool>());
  EXPECT_TRUE(p["1.bias"].eq(1e-3f).all().item<bool>());  // norm layer untouched
  EXPECT_TRUE(p["1.weight"].eq(1.f).all().item<bool>());
  EXPECT_NEAR(p["0.weight"].std().item<double>(), std::sqrt(2. / 100.), 0.05 * std::sqrt(2. / 100.));
  // frozen modules keep their weights
  torch::nn::Linear frozen(100, 50);
  frozen->weight.set_requires_grad(false);
  const auto before = frozen->weight.clone();
  apply_init(*frozen, [](at::Tensor& w) { w.fill_(7.); });
  EXPECT_TRUE(torch::equal(frozen->weight, before));
}

TEST(InitCnn, ZeroesEveryBiasIncludingNorms) {
  torch::nn::Sequential m(fastai::ConvLayer(16, 32, {.norm_type = NormType::BatchZero}), torch::nn::Linear(32, 10));
  init_cnn(*m);
  auto p = m->named_parameters();
  EXPECT_TRUE(p["0.1.bias"].eq(0.f).all().item<bool>());
  EXPECT_TRUE(p["0.1.weight"].eq(0.f).all().item<bool>());  // BatchZero weight stays 0
  EXPECT_TRUE(p["1.bias"].eq(0.f).all().item<bool>());
  EXPECT_NEAR(p["0.0.weight"].std().item<double>(), std::sqrt(2. / 144.), 0.05 * std::sqrt(2. / 144.));
}

}  // namespace fastai::testing::layers
