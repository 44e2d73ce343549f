// torchvision-compatible ResNets: parameter / buffer names and shapes equal to torchvision's
// (tests/layers/resnet_expected.json, written by gen_resnet_expected.py), counts, init, errors.
#include "fastai/layers/resnet.h"

#include "layers/layers_fixtures.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace fastai::testing::layers {
namespace resnet_tests {
const nlohmann::json& expected() {
  static const nlohmann::json j = load_expected("resnet_expected.json");
  return j;
}
fastai::ResNet make(const std::string& name) {
  static const std::map<std::string, fastai::ResNet (*)(int64_t)> f{{"resnet18", fastai::resnet18}, {"resnet34", fastai::resnet34},
                                                                    {"resnet50", fastai::resnet50}, {"resnet101", fastai::resnet101},
                                                                    {"resnet152", fastai::resnet152}};
  return f.at(name)(1000);
}
}  // namespace resnet_tests

TEST(ResNet, NamesAndShapesEqualTorchvisions) {
  for (const std::string name : {"resnet18", "resnet50"}) {
    SCOPED_TRACE(name);
    const auto& e = resnet_tests::expected()["models"][name];
    auto m = resnet_tests::make(name);
    EXPECT_EQ(entries_of_dict(m->named_parameters()), entries_of_json(e["params"]));
    EXPECT_EQ(entries_of_dict(m->named_buffers()), entries_of_json(e["buffers"]));
    std::vector<std::string> children;
    for (const auto& kv : m->named_children()) children.push_back(kv.key());
    EXPECT_EQ(children, e["children"].get<std::vector<std::string>>());
  }
}

TEST(ResNet, CountsOfAllDepths) {
  for (const std::string name : {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152"}) {
    SCOPED_TRACE(name);
    const auto& e = resnet_tests::expected()["models"][name];
    auto m = resnet_tests::make(name);
    EXPECT_EQ(n_params(*m), e["n_params"].get<int64_t>());
    EXPECT_EQ(static_cast<int64_t>(m->parameters().size()), e["n_param_tensors"].get<int64_t>());
    EXPECT_EQ(static_cast<int64_t>(m->buffers().size()), e["n_buffers"].get<int64_t>());
  }
  // spec §7.5, independent of the JSON
  EXPECT_EQ(n_params(*fastai::resnet18()), 11689512);
  EXPECT_EQ(n_params(*fastai::resnet34()), 21797672);
  EXPECT_EQ(n_params(*fastai::resnet50()), 25557032);
}

TEST(ResNet, ForwardShape) {
  for (auto m : {fastai::resnet18(), fastai::resnet50()}) {
    m->eval();
    torch::NoGradGuard g;
    EXPECT_EQ(m(torch::randn({2, 3, 64, 64})).sizes(), (std::vector<int64_t>{2, 1000}));
  }
  auto m = fastai::resnet34(37);
  m->eval();
  torch::NoGradGuard g;
  EXPECT_EQ(m(torch::randn({1, 3, 40, 56})).sizes(), (std::vector<int64_t>{1, 37}));
}

TEST(ResNet, TorchvisionInit) {
  torch::manual_seed(0);
  auto m = fastai::resnet18();
  auto p = m->named_parameters();
  // kaiming_normal(fan_out, relu): std sqrt(2 / (64 * 7 * 7)) for conv1
  const double want = std::sqrt(2. / (64 * 49));
  EXPECT_NEAR(p["conv1.weight"].std().item<double>(), want, 0.03 * want);
  const double want2 = std::sqrt(2. / (512 * 9));
  EXPECT_NEAR(p["layer4.1.conv2.weight"].std().item<double>(), want2, 0.02 * want2);
  EXPECT_TRUE(p["layer1.0.bn2.weight"].eq(1.f).all().item<bool>());
  EXPECT_TRUE(p["layer1.0.bn2.bias"].eq(0.f).all().item<bool>());
  EXPECT_LE(p["fc.weight"].abs().max().item<double>(), 1. / std::sqrt(512.));  // LibTorch's default Linear
  auto z = fastai::ResNet(ResNetOptions{.bottleneck = true, .layers = {3, 4, 6, 3}, .zero_init_residual = true});
  EXPECT_TRUE(z->named_parameters()["layer2.3.bn3.weight"].eq(0.f).all().item<bool>());
  EXPECT_TRUE(z->named_parameters()["layer2.3.bn2.weight"].eq(1.f).all().item<bool>());
}

TEST(ResNet, LoadsAStateDictByName) {
  auto a = fastai::resnet18(10), b = fastai::resnet18(10);
  {
    torch::NoGradGuard g;
    auto pb = b->named_parameters();
    for (const auto& kv : a->named_parameters()) pb[kv.key()].copy_(kv.value());
  }
  a->eval();
  b->eval();
  const auto x = torch::randn({2, 3, 32, 32});
  EXPECT_TRUE(torch::allclose(a(x), b(x)));
  auto c = std::dynamic_pointer_cast<fastai::ResNetImpl>(a->clone());
  ASSERT_TRUE(c);
  EXPECT_TRUE(torch::allclose(c->forward(x), a(x)));
}

TEST(ResNet, BadInputsAreErrors) {
  auto m = fastai::resnet18();
  expect_error([&] { m(torch::randn({2, 1, 64, 64})); }, {"ResNet", "[bs, 3, h, w]", "[2, 1, 64, 64]"});
  expect_error([] { fastai::ResNet(ResNetOptions{.layers = {2, 2, 2}}); }, {"ResNet", "4 stages", "got 3"});
  expect_error([] { fastai::resnet18(0); }, {"ResNet", "n_out", "0"});
}

}  // namespace fastai::testing::layers
