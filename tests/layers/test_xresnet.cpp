// XResNet (spec §7.5 counts), ResBlock and SEModule layouts, init_cnn's statistics, errors.
#include "fastai/layers/conv_layer.h"
#include "fastai/layers/pooling.h"
#include "fastai/layers/res_block.h"
#include "fastai/layers/xresnet.h"

#include "layers/layers_fixtures.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

namespace fastai::testing::layers {
namespace xresnet_tests {
using V = std::vector<std::string>;
using Shape = std::vector<int64_t>;
V child_kinds(const torch::nn::Module& m) {
  V out;
  for (const auto& c : m.children()) {
    if (c->as<fastai::ConvLayer>()) out.push_back("ConvLayer");
    else if (c->as<torch::nn::MaxPool2d>()) out.push_back("MaxPool2d");
    else if (c->as<torch::nn::AvgPool2d>()) out.push_back("AvgPool2d");
    else if (c->as<torch::nn::AdaptiveAvgPool2d>()) out.push_back("AdaptiveAvgPool2d");
    else if (c->as<fastai::Flatten>()) out.push_back("Flatten");
    else if (c->as<torch::nn::Dropout>()) out.push_back("Dropout");
    else if (c->as<torch::nn::Linear>()) out.push_back("Linear");
    else if (c->as<fastai::SEModule>()) out.push_back("SEModule");
    else if (c->as<fastai::ResBlock>()) out.push_back("ResBlock");
    else if (c->as<torch::nn::Sequential>()) out.push_back("Sequential");
    else out.push_back("?");
  }
  return out;
}
int64_t params_of_children(const torch::nn::Module& m, size_t from, size_t to) {
  int64_t n = 0;
  const auto ch = m.children();
  for (size_t i = from; i < to && i < ch.size(); ++i) n += n_params(*ch[i]);
  return n;
}
}  // namespace xresnet_tests

TEST(XResNet, ParameterCountsOfSpec75) {
  auto x18 = xresnet18();
  EXPECT_EQ(n_params(*x18), 11708744);
  EXPECT_EQ(xresnet_tests::params_of_children(*x18, 0, x18->size() - 4), 11195744);  // body after cut -4
  EXPECT_EQ(n_params(*xresnet34()), 21816904);
  EXPECT_EQ(xresnet_tests::params_of_children(*xresnet34(), 0, 8), 21303904);
  auto x50 = xresnet50();
  EXPECT_EQ(n_params(*x50), 25576264);
  EXPECT_EQ(xresnet_tests::params_of_children(*x50, 0, 8), 23527264);
  EXPECT_EQ(xresnet_tests::params_of_children(*x50, 0, 3), 28768);  // split group body[:3]
  EXPECT_EQ(xresnet_tests::params_of_children(*x50, 3, 8), 23498496);
  EXPECT_EQ(n_params(*xresnet101()), 44568392);
}

TEST(XResNet, LayoutAndNames) {
  auto m = xresnet18();
  EXPECT_EQ(xresnet_tests::child_kinds(*m),
            (xresnet_tests::V{"ConvLayer", "ConvLayer", "ConvLayer", "MaxPool2d", "Sequential", "Sequential", "Sequential", "Sequential",
                              "AdaptiveAvgPool2d", "Flatten", "Dropout", "Linear"}));
  const auto names = param_names(*m);
  EXPECT_EQ(names.front(), "0.0.weight");
  EXPECT_EQ(names.back(), "11.bias");
  auto p = m->named_parameters();
  EXPECT_EQ(p["0.0.weight"].sizes(), (xresnet_tests::Shape{32, 3, 3, 3}));
  EXPECT_EQ(p["2.0.weight"].sizes(), (xresnet_tests::Shape{64, 32, 3, 3}));
  EXPECT_EQ(p["4.0.convpath.1.0.weight"].sizes(), (xresnet_tests::Shape{64, 64, 3, 3}));
  EXPECT_EQ(p["5.0.idpath.1.0.weight"].sizes(), (xresnet_tests::Shape{128, 64, 1, 1}));  // [AvgPool, ConvLayer]
  EXPECT_EQ(p["11.weight"].sizes(), (xresnet_tests::Shape{1000, 512}));
  EXPECT_EQ(p.find("4.0.idpath.0.0.weight"), nullptr);  // 64 -> 64, stride 1: identity shortcut
  auto p50 = xresnet50()->named_parameters();
  EXPECT_EQ(p50["4.0.idpath.0.0.weight"].sizes(), (xresnet_tests::Shape{256, 64, 1, 1}));  // no pool at stride 1
  EXPECT_EQ(p50["4.0.convpath.2.0.weight"].sizes(), (xresnet_tests::Shape{256, 64, 1, 1}));
  EXPECT_EQ(p50["7.2.convpath.1.0.weight"].sizes(), (xresnet_tests::Shape{512, 512, 3, 3}));
  EXPECT_EQ(p50["11.weight"].sizes(), (xresnet_tests::Shape{1000, 2048}));
}

TEST(XResNet, InitCnnStatistics) {
  torch::manual_seed(0);
  auto m = xresnet18();
  for (const auto& kv : m->named_parameters()) {
    if (kv.key().size() > 5 && kv.key().compare(kv.key().size() - 5, 5, ".bias") == 0) {
      EXPECT_TRUE(kv.value().eq(0.f).all().item<bool>()) << kv.key();  // every bias 0, BatchNorms' too
    }
  }
  auto p = m->named_parameters();
  for (const char* k : {"4.0.convpath.1.1.weight", "5.1.convpath.1.1.weight", "7.1.convpath.1.1.weight"})
    EXPECT_TRUE(p[k].eq(0.f).all().item<bool>()) << k;  // BatchZero: last BN of each ResBlock
  for (const char* k : {"0.1.weight", "4.0.convpath.0.1.weight", "5.0.idpath.1.1.weight"})
    EXPECT_TRUE(p[k].eq(1.f).all().item<bool>()) << k;
  const double want = std::sqrt(2. / (512 * 9));  // kaiming_normal, fan_in
  EXPECT_NEAR(p["7.1.convpath.0.0.weight"].std().item<double>(), want, 0.02 * want);
  EXPECT_NEAR(p["7.1.convpath.0.0.weight"].mean().item<double>(), 0., 0.02 * want);
  EXPECT_NEAR(p["11.weight"].std().item<double>(), std::sqrt(2. / 512.), 0.02 * std::sqrt(2. / 512.));
}

TEST(XResNet, ForwardShapesAndOptions) {
  torch::NoGradGuard g;
  auto m = xresnet18();
  m->eval();
  EXPECT_EQ(m(torch::randn({2, 3, 64, 64})).sizes(), (xresnet_tests::Shape{2, 1000}));
  auto s = xresnet34({.p = 0.2, .c_in = 1, .n_out = 10});
  s->eval();
  EXPECT_EQ(s(torch::randn({2, 1, 32, 32})).sizes(), (xresnet_tests::Shape{2, 10}));
  auto se = xresnet50({.n_out = 5, .block = {.reduction = 16}});
  EXPECT_GT(n_params(*se), n_params(*xresnet50({.n_out = 5})));
  se->eval();
  EXPECT_EQ(se(torch::randn({1, 3, 32, 32})).sizes(), (xresnet_tests::Shape{1, 5}));
  auto c = std::dynamic_pointer_cast<fastai::XResNetImpl>(m->clone());
  ASSERT_TRUE(c);
  const auto x = torch::randn({1, 3, 32, 32});
  EXPECT_TRUE(torch::allclose(c->forward(x), m(x)));
}

TEST(ResBlock, BasicLayoutShortcutAndZeroStart) {
  fastai::ResBlock b(1, 16, 32, {.stride = 2});
  EXPECT_EQ(xresnet_tests::child_kinds(*b->convpath), (xresnet_tests::V{"ConvLayer", "ConvLayer"}));
  EXPECT_EQ(xresnet_tests::child_kinds(*b->idpath), (xresnet_tests::V{"AvgPool2d", "ConvLayer"}));
  EXPECT_EQ(xresnet_tests::child_kinds(*fastai::ResBlock(1, 16, 32, {.stride = 2, .pool_first = false})->idpath),
            (xresnet_tests::V{"ConvLayer", "AvgPool2d"}));
  EXPECT_EQ(b(torch::randn({2, 16, 7, 7})).sizes(), (xresnet_tests::Shape{2, 32, 4, 4}));  // ceil_mode pooling
  auto p = b->named_parameters();
  EXPECT_TRUE(p["convpath.1.1.weight"].eq(0.f).all().item<bool>());
  EXPECT_TRUE(p["convpath.1.1.bias"].eq(1e-3f).all().item<bool>());
  EXPECT_EQ(p["convpath.0.0.weight"].sizes(), (xresnet_tests::Shape{32, 16, 3, 3}));
  // at init the conv path is the BatchZero bias only: out = relu(x + 1e-3) for an identity block
  fastai::ResBlock id(1, 8, 8);
  id->eval();
  EXPECT_EQ(id->idpath->size(), 0u);
  const auto x = torch::randn({2, 8, 5, 5});
  EXPECT_TRUE(torch::allclose(id(x), torch::relu(x + 1e-3), 1e-5, 1e-6));
}

TEST(ResBlock, BottleneckGroupsAndSE) {
  fastai::ResBlock b(4, 16, 32, {.stride = 2, .groups = 4, .reduction = 16});
  EXPECT_EQ(xresnet_tests::child_kinds(*b->convpath), (xresnet_tests::V{"ConvLayer", "ConvLayer", "ConvLayer", "SEModule"}));
  auto p = b->named_parameters();
  EXPECT_EQ(p["convpath.0.0.weight"].sizes(), (xresnet_tests::Shape{32, 64, 1, 1}));
  EXPECT_EQ(p["convpath.1.0.weight"].sizes(), (xresnet_tests::Shape{32, 8, 3, 3}));  // groups 4
  EXPECT_EQ(p["convpath.2.0.weight"].sizes(), (xresnet_tests::Shape{128, 32, 1, 1}));
  EXPECT_TRUE(p["convpath.2.1.weight"].eq(0.f).all().item<bool>());
  // SE hidden width ceil(128 // 16 / 8) * 8 = 8; ConvLayers with bias, no norm
  EXPECT_EQ(p["convpath.3.layers.1.0.weight"].sizes(), (xresnet_tests::Shape{8, 128, 1, 1}));
  EXPECT_EQ(p["convpath.3.layers.2.0.bias"].sizes(), (xresnet_tests::Shape{128}));
  EXPECT_EQ(b(torch::randn({2, 64, 8, 8})).sizes(), (xresnet_tests::Shape{2, 128, 4, 4}));
  EXPECT_EQ(fastai::SEModule(64, 16)->nh, 8);
  EXPECT_EQ(fastai::SEModule(512, 16)->nh, 32);
  EXPECT_EQ(fastai::SEModule(100, 16)->nh, 8);  // 100 // 16 = 6 -> 8
}

TEST(SEModule, ScalesChannelsBySigmoidGates) {
  fastai::SEModule se(16, 4);
  auto p = se->named_parameters();
  {
    torch::NoGradGuard g;
    for (auto& kv : p) kv.value().zero_();  // every gate sigmoid(0) = 0.5
  }
  const auto x = torch::randn({2, 16, 3, 3});
  EXPECT_TRUE(torch::allclose(se(x), x * 0.5));
  expect_error([&] { se(torch::randn({2, 8, 3, 3})); }, {"SEModule(16)", "[bs, 16, h, w]", "[2, 8, 3, 3]"});
}

TEST(XResNet, BadInputsAreErrors) {
  auto m = xresnet18();
  expect_error([&] { m(torch::randn({2, 1, 64, 64})); }, {"XResNet", "[bs, 3, h, w]", "[2, 1, 64, 64]"});
  expect_error([] { xresnet18({.ks = 4}); }, {"XResNet", "odd", "ks=4"});
  expect_error([] { xresnet18({.base_width = 0}); }, {"XResNet", "base_width >= 1", "got 0"});
  expect_error([] { fastai::XResNet(1, {}); }, {"XResNet", "at least one stage"});
  fastai::ResBlock b(4, 16, 32);
  expect_error([&] { b(torch::randn({2, 16, 8, 8})); }, {"ResBlock(4, 16, 32)", "[bs, 64, h, w]", "[2, 16, 8, 8]"});
  // sa=true is ported now (SimpleSelfAttention): see test_xresnet_variants.cpp
}

}  // namespace fastai::testing::layers
