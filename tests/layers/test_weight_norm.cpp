// WeightNormConv / SpectralNormConv against PyTorch 1.13's nn.utils.weight_norm / spectral_norm
// (tests/layers/weight_norm_expected.json, written by gen_weight_norm_expected.py): outputs,
// gradients, power-iteration buffers, and ConvLayer(norm_type=Weight/Spectral)'s state-dict layout.
#include "fastai/layers/conv_layer.h"
#include "fastai/layers/norm.h"
#include "fastai/layers/weight_norm.h"

#include "layers/layers_fixtures.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace fastai::testing::layers {
namespace weight_norm_tests {
const nlohmann::json& expected() {
  static const nlohmann::json j = load_expected("weight_norm_expected.json");
  return j;
}

void expect_close(const torch::Tensor& got, const nlohmann::json& e, const std::string& what, double rtol = 1e-4,
                  double atol = 1e-5) {
  const auto want = tensor_of(e);
  ASSERT_EQ(got.sizes().vec(), want.sizes().vec()) << what;
  EXPECT_TRUE(torch::allclose(got.detach(), want, rtol, atol))
      << what << ": max |diff| " << (got.detach() - want).abs().max().item<double>();
}

void set(torch::Tensor& t, const nlohmann::json& e) {
  torch::NoGradGuard ng;
  const auto v = tensor_of(e);
  ASSERT_EQ(t.sizes().vec(), v.sizes().vec());
  t.copy_(v);
}

NormConvOptions options_of(const nlohmann::json& c) {
  return NormConvOptions{.ndim = c["ndim"].get<int64_t>(), .transpose = c["transpose"].get<bool>(), .ks = c["ks"].get<int64_t>(),
                         .stride = c["stride"].get<int64_t>(), .padding = c["padding"].get<int64_t>(),
                         .groups = c["groups"].get<int64_t>(), .bias = true};
}

ConvLayerOptions layer_options(const nlohmann::json& c, NormType nt) {
  return ConvLayerOptions{.ks = c["ks"].get<int64_t>(), .stride = c["stride"].get<int64_t>(),
                          .padding = c["padding"].get<int64_t>(), .ndim = c["ndim"].get<int64_t>(), .norm_type = nt,
                          .transpose = c["transpose"].get<bool>(), .groups = c["groups"].get<int64_t>()};
}

}  // namespace weight_norm_tests

namespace wnt = weight_norm_tests;

TEST(WeightNormConv, ForwardAndGradientsMatchPytorch) {
  for (const auto& [name, c] : wnt::expected()["cases"].items()) {
    SCOPED_TRACE(name);
    const auto& e = c["weight"];
    WeightNormConv m(c["ni"].get<int64_t>(), c["nf"].get<int64_t>(), wnt::options_of(c));
    wnt::set(m->weight_g, e["weight_g"]);
    wnt::set(m->weight_v, e["weight_v"]);
    wnt::set(m->bias, e["bias"]);
    auto x = tensor_of(c["x"]).requires_grad_(true);
    auto y = m->forward(x);
    wnt::expect_close(y, e["y"], "y");
    (y * tensor_of(c["gy"])).sum().backward();
    wnt::expect_close(m->weight_g.grad(), e["grad_weight_g"], "grad weight_g");
    wnt::expect_close(m->weight_v.grad(), e["grad_weight_v"], "grad weight_v");
    wnt::expect_close(m->bias.grad(), e["grad_bias"], "grad bias");
    wnt::expect_close(x.grad(), e["grad_x"], "grad x");
  }
}

TEST(SpectralNormConv, PowerIterationsEvalAndGradientsMatchPytorch) {
  for (const auto& [name, c] : wnt::expected()["cases"].items()) {
    SCOPED_TRACE(name);
    const auto& e = c["spectral"];
    SpectralNormConv m(c["ni"].get<int64_t>(), c["nf"].get<int64_t>(), wnt::options_of(c));
    wnt::set(m->weight_orig, e["weight_orig"]);
    wnt::set(m->bias, e["bias"]);
    wnt::set(m->weight_u, e["weight_u"]);
    wnt::set(m->weight_v, e["weight_v"]);
    const auto x = tensor_of(c["x"]);
    m->train();
    for (const std::string i : {"1", "2"}) {  // one power iteration per training forward
      torch::NoGradGuard ng;
      auto y = m->forward(x);
      wnt::expect_close(y, e["y" + i], "y" + i);
      wnt::expect_close(m->weight_u, e["u" + i], "u" + i);
      wnt::expect_close(m->weight_v, e["v" + i], "v" + i);
    }
    m->eval();  // the stored u, v; gradients flow to weight_orig through sigma too
    auto y = m->forward(x);
    wnt::expect_close(y, e["y_eval"], "y eval");
    wnt::expect_close(m->weight_u, e["u_eval"], "u eval");
    wnt::expect_close(m->weight_v, e["v_eval"], "v eval");
    (y * tensor_of(c["gy"])).sum().backward();
    wnt::expect_close(m->weight_orig.grad(), e["grad_weight_orig"], "grad weight_orig");
    wnt::expect_close(m->bias.grad(), e["grad_bias"], "grad bias");
  }
}

TEST(ConvLayer, WeightAndSpectralNormLayoutIsPytorchs) {
  for (const auto& [name, c] : wnt::expected()["cases"].items()) {
    SCOPED_TRACE(name);
    const int64_t ni = c["ni"].get<int64_t>(), nf = c["nf"].get<int64_t>();
    const auto x = tensor_of(c["x"]);
    {
      ConvLayer l(ni, nf, wnt::layer_options(c, NormType::Weight));
      EXPECT_EQ(entries_of_dict(l->named_parameters()), entries_of_json(c["layout_weight"]["params"]));
      EXPECT_EQ(entries_of_dict(l->named_buffers()), entries_of_json(c["layout_weight"]["buffers"]));
      ASSERT_EQ(l->size(), 2u);  // the wrapped conv and the act: no norm module
      ASSERT_NE(l->ptr(0)->as<WeightNormConvImpl>(), nullptr);
      EXPECT_NE(l->ptr(1)->as<torch::nn::ReLU>(), nullptr);
      // the same computation as PyTorch's weight_norm(conv) followed by ReLU
      auto p = l->named_parameters();
      const auto& e = c["weight"];
      wnt::set(p["0.weight_g"], e["weight_g"]);
      wnt::set(p["0.weight_v"], e["weight_v"]);
      wnt::set(p["0.bias"], e["bias"]);
      torch::NoGradGuard ng;
      auto want = torch::relu(tensor_of(e["y"]));
      EXPECT_TRUE(torch::allclose(l->forward(x), want, 1e-4, 1e-5));
    }
    {
      ConvLayer l(ni, nf, wnt::layer_options(c, NormType::Spectral));
      EXPECT_EQ(entries_of_dict(l->named_parameters()), entries_of_json(c["layout_spectral"]["params"]));
      EXPECT_EQ(entries_of_dict(l->named_buffers()), entries_of_json(c["layout_spectral"]["buffers"]));
      ASSERT_EQ(l->size(), 2u);
      ASSERT_NE(l->ptr(0)->as<SpectralNormConvImpl>(), nullptr);
      auto p = l->named_parameters();
      auto b = l->named_buffers();
      const auto& e = c["spectral"];
      wnt::set(p["0.weight_orig"], e["weight_orig"]);
      wnt::set(p["0.bias"], e["bias"]);
      wnt::set(b["0.weight_u"], e["weight_u"]);
      wnt::set(b["0.weight_v"], e["weight_v"]);
      torch::NoGradGuard ng;
      l->train();
      EXPECT_TRUE(torch::allclose(l->forward(x), torch::relu(tensor_of(e["y1"])), 1e-4, 1e-5));
      wnt::expect_close(b["0.weight_u"], e["u1"], "u1 through ConvLayer");
    }
  }
}

TEST(ConvLayer, WeightNormWrapsTheInitialisedConv) {
  torch::manual_seed(1);
  // fastai: init_linear (kaiming_uniform for ReLU, bias ~ N(0, 0.01)) then weight_norm: g = ||v||
  ConvLayer l(16, 32, {.norm_type = NormType::Weight});
  auto* wn = l->ptr(0)->as<WeightNormConvImpl>();
  ASSERT_NE(wn, nullptr);
  ASSERT_TRUE(wn->bias.defined());
  EXPECT_TRUE(torch::allclose(wn->weight(), wn->weight_v, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(wn->weight_g.flatten(), wn->weight_v.flatten(1).norm(2, 1)));
  // kaiming_uniform(a=0) on fan_in 16*9: bound sqrt(6 / 144), std sqrt(2 / 144)
  EXPECT_NEAR(wn->weight_v.std().item<double>(), std::sqrt(2.0 / 144), 0.1 * std::sqrt(2.0 / 144));
  EXPECT_LE(wn->weight_v.abs().max().item<double>(), std::sqrt(6.0 / 144) + 1e-6);
  EXPECT_NEAR(wn->bias.std().item<double>(), 0.01, 0.005);
  for (auto nt : {NormType::Weight, NormType::Spectral}) {
    ConvLayer s(16, 32, {.bias = false, .norm_type = nt});
    EXPECT_FALSE(s->named_parameters().contains("0.bias"));
  }
  ConvLayer s(16, 32, {.norm_type = NormType::Spectral});
  auto* sn = s->ptr(0)->as<SpectralNormConvImpl>();
  ASSERT_NE(sn, nullptr);
  EXPECT_NEAR(sn->weight_orig.std().item<double>(), std::sqrt(2.0 / 144), 0.1 * std::sqrt(2.0 / 144));
  EXPECT_NEAR(sn->weight_u.norm().item<double>(), 1.0, 1e-5);
  EXPECT_NEAR(sn->weight_v.norm().item<double>(), 1.0, 1e-5);
}

TEST(ConvLayer, WeightAndSpectralNormForAllDimsTransposeAndClone) {
  torch::NoGradGuard ng;
  for (auto nt : {NormType::Weight, NormType::Spectral}) {
    SCOPED_TRACE(norm_type_name(nt));
    // output sizes equal the plain conv's
    for (int64_t ndim : {1, 2, 3})
      for (bool tr : {false, true}) {
        SCOPED_TRACE(std::to_string(ndim) + (tr ? " transpose" : ""));
        const ConvLayerOptions base{.ks = 2, .stride = 2, .ndim = ndim, .norm_type = std::nullopt, .transpose = tr, .groups = 2};
        ConvLayerOptions o = base;
        o.norm_type = nt;
        ConvLayer plain(4, 6, base), wrapped(4, 6, o);
        std::vector<int64_t> shape{2, 4};
        for (int64_t d = 0; d < ndim; ++d) shape.push_back(6);
        auto x = torch::randn(shape);
        EXPECT_EQ(wrapped->forward(x).sizes(), plain->forward(x).sizes());
      }
    ConvLayer l(4, 6, {.ndim = 1, .norm_type = nt});
    l->eval();
    auto copy = std::dynamic_pointer_cast<ConvLayerImpl>(l->clone());
    ASSERT_TRUE(copy);
    auto x = torch::randn({2, 4, 9});
    EXPECT_TRUE(torch::equal(copy->forward(x), l->forward(x)));
    EXPECT_NE(copy->parameters()[0].data_ptr(), l->parameters()[0].data_ptr());
    std::ostringstream os;
    os << *l->ptr(0);
    EXPECT_NE(os.str().find(nt == NormType::Weight ? "WeightNormConv(4, 6" : "SpectralNormConv(4, 6"), std::string::npos) << os.str();
  }
  // the spectral norm of the wrapped weight goes to 1 under repeated training forwards
  ConvLayer s(3, 5, {.norm_type = NormType::Spectral, .act = {}});
  s->train();
  auto x = torch::randn({1, 3, 4, 4});
  for (int i = 0; i < 60; ++i) s->forward(x);
  auto* sn = s->ptr(0)->as<SpectralNormConvImpl>();
  EXPECT_NEAR(std::get<1>(torch::svd(sn->weight().reshape({5, -1}))).max().item<double>(), 1.0, 1e-3);
}

TEST(WeightNormConv, BadInputsAreErrors) {
  WeightNormConv w(4, 6, {.ndim = 2, .ks = 3});
  expect_error([&] { w->forward(torch::randn({2, 5, 8, 8})); }, {"WeightNormConv(4, 6)", "[bs, 4, h, w]", "[2, 5, 8, 8]"});
  SpectralNormConv s(4, 6, {.ndim = 1});
  expect_error([&] { s->forward(torch::randn({2, 4, 8, 8})); }, {"SpectralNormConv(4, 6)", "[bs, 4, l]", "[2, 4, 8, 8]"});
  expect_error([] { WeightNormConv(4, 6, {.groups = 4}); }, {"WeightNormConv", "groups=4", "(4, 6)"});
  expect_error([] { SpectralNormConv(4, 6, {.ndim = 4}); }, {"SpectralNormConv", "ndim", "4"});
}

}  // namespace fastai::testing::layers
