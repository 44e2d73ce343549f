// SequentialEx with MergeLayer / ProdLayer (fastai's residual-block test), and Mish / Swish.
#include "fastai/layers/activations.h"
#include "fastai/layers/conv_layer.h"
#include "fastai/layers/sequential_ex.h"

#include "layers/layers_fixtures.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

namespace fastai::testing::layers {

TEST(SequentialEx, MergeLayerAddsTheInput) {
  fastai::SequentialEx res(fastai::ConvLayer(16, 16), fastai::ConvLayer(16, 16));
  res->push_back(torch::nn::AnyModule(fastai::MergeLayer()));  // fastai's test appends it too
  res->eval();
  EXPECT_EQ(res->size(), 3u);
  EXPECT_EQ(param_names(*res),
            (std::vector<std::string>{"layers.0.0.weight", "layers.0.1.weight", "layers.0.1.bias", "layers.1.0.weight",
                                      "layers.1.1.weight", "layers.1.1.bias"}));
  const auto x = torch::randn({4, 16, 8, 8});
  auto* c0 = (*res)[0]->as<fastai::ConvLayer>();
  auto* c1 = (*res)[1]->as<fastai::ConvLayer>();
  ASSERT_TRUE(c0 && c1);
  EXPECT_TRUE(torch::allclose(res(x), x + c1->forward(c0->forward(x))));
  auto copy = std::dynamic_pointer_cast<fastai::SequentialExImpl>(res->clone());
  ASSERT_TRUE(copy);
  EXPECT_TRUE(torch::allclose(copy->forward(x), res(x)));
  EXPECT_NE(copy->parameters()[0].data_ptr(), res->parameters()[0].data_ptr());
}

TEST(SequentialEx, DenseMergeConcatenatesAndProdMultiplies) {
  fastai::SequentialEx dense(fastai::ConvLayer(4, 6), fastai::MergeLayer(true));
  EXPECT_EQ(dense(torch::randn({2, 4, 5, 5})).sizes(), (std::vector<int64_t>{2, 10, 5, 5}));
  fastai::SequentialEx prod{torch::nn::Sigmoid(), fastai::ProdLayer()};
  const auto x = torch::randn({3, 7});
  EXPECT_TRUE(torch::allclose(prod(x), x * torch::sigmoid(x)));
}

TEST(SequentialEx, Errors) {
  fastai::SequentialEx bad(fastai::ConvLayer(4, 6), fastai::MergeLayer());
  expect_error([&] { bad(torch::randn({2, 4, 5, 5})); }, {"MergeLayer", "same shape", "[2, 6, 5, 5]", "[2, 4, 5, 5]"});
  fastai::MergeLayer m;
  expect_error([&] { m(torch::randn({2, 3})); }, {"MergeLayer", "SequentialEx"});
}

TEST(Activations, MishAndSwishValues) {
  const auto x = torch::tensor({-2., 0., 1., 3.}, torch::kDouble);
  for (int64_t i = 0; i < 4; ++i) {
    const double v = x[i].item<double>();
    EXPECT_NEAR(fastai::mish(x)[i].item<double>(), v * std::tanh(std::log1p(std::exp(v))), 1e-12);
    EXPECT_NEAR(fastai::swish(x)[i].item<double>(), v / (1. + std::exp(-v)), 1e-12);
  }
  EXPECT_TRUE(torch::allclose(fastai::Mish()(x), fastai::mish(x)));
  EXPECT_TRUE(torch::allclose(fastai::Swish()(x), fastai::swish(x)));
  // ConvLayer init "auto": kaiming_uniform for both, bound sqrt(6 / fan_in)
  for (auto act : {torch::nn::AnyModule(fastai::Mish()), torch::nn::AnyModule(fastai::Swish())}) {
    fastai::ConvLayer c(64, 128, {.act = act});
    const double bound = std::sqrt(6. / (64 * 9));
    const auto w = c->named_parameters()["0.weight"];
    EXPECT_LE(w.abs().max().item<double>(), bound);
    EXPECT_GT(w.abs().max().item<double>(), 0.95 * bound);
  }
}

}  // namespace fastai::testing::layers
