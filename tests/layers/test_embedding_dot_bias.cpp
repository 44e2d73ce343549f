// EmbeddingDotBias: parameter count (spec §7.5), names, init, forward against the formula,
// y_range, the weight / bias accessors, and errors for bad inputs.
#include "fastai/layers/embedding_dot_bias.h"

#include "layers/layers_fixtures.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace fastai::testing::layers {
namespace dot_tests {
// Random weights much larger than the init, so predictions spread well beyond any y_range.
void scramble(fastai::EmbeddingDotBias& m, double scale) {
  torch::NoGradGuard g;
  for (auto& p : m->parameters()) p.normal_(0., scale);
}
at::Tensor batch(int64_t bs, int64_t n_users, int64_t n_items) {
  return torch::stack({torch::randint(n_users, {bs}), torch::randint(n_items, {bs})}, 1);
}
}  // namespace dot_tests

TEST(EmbeddingDotBias, SpecParameterCountNamesAndInit) {
  fastai::EmbeddingDotBias m(50, 944, 1665);
  EXPECT_EQ(n_params(*m), 133059);
  EXPECT_EQ(param_names(*m), (std::vector<std::string>{"u_weight.weight", "i_weight.weight", "u_bias.weight", "i_bias.weight"}));
  EXPECT_EQ(m->u_weight->weight.sizes(), (std::vector<int64_t>{944, 50}));
  EXPECT_EQ(m->i_weight->weight.sizes(), (std::vector<int64_t>{1665, 50}));
  EXPECT_EQ(m->u_bias->weight.sizes(), (std::vector<int64_t>{944, 1}));
  EXPECT_EQ(m->i_bias->weight.sizes(), (std::vector<int64_t>{1665, 1}));
  for (const auto& p : m->parameters()) EXPECT_LT(p.abs().max().item<double>(), 0.02);
  EXPECT_NEAR(m->i_weight->weight.std().item<double>(), 0.00866, 0.0005);
}

TEST(EmbeddingDotBias, ForwardIsDotPlusBiases) {
  torch::manual_seed(3);
  fastai::EmbeddingDotBias m(4, 7, 9);
  dot_tests::scramble(m, 1.);
  const auto x = dot_tests::batch(12, 7, 9);
  const auto u = x.select(1, 0), i = x.select(1, 1);
  const auto U = m->u_weight->weight, I = m->i_weight->weight;
  const auto want = (U.index_select(0, u) * I.index_select(0, i)).sum(1) + m->u_bias->weight.index_select(0, u).select(1, 0) +
                    m->i_bias->weight.index_select(0, i).select(1, 0);
  const auto got = m(x);
  EXPECT_EQ(got.sizes(), (std::vector<int64_t>{12}));
  EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6));
  // one row by hand
  double r0 = m->u_bias->weight[u[0]][0].item<double>() + m->i_bias->weight[i[0]][0].item<double>();
  for (int64_t k = 0; k < 4; ++k) r0 += U[u[0]][k].item<double>() * I[i[0]][k].item<double>();
  EXPECT_NEAR(got[0].item<double>(), r0, 1e-5);
  EXPECT_TRUE(torch::equal(m(x.to(torch::kInt)), got));
}

TEST(EmbeddingDotBias, YRangeKeepsOutputsInRange) {
  torch::manual_seed(4);
  fastai::EmbeddingDotBias raw(8, 20, 30);
  dot_tests::scramble(raw, 3.);
  fastai::EmbeddingDotBias m(8, 20, 30, {.y_range = std::pair{0., 5.5}});
  {
    torch::NoGradGuard g;
    for (size_t k = 0; k < raw->parameters().size(); ++k) m->parameters()[k].copy_(raw->parameters()[k]);
  }
  const auto x = dot_tests::batch(200, 20, 30);
  const auto r = raw(x), y = m(x);
  EXPECT_GT(r.max().item<double>(), 5.5);  // the raw scores leave the range...
  EXPECT_LT(r.min().item<double>(), 0.);
  EXPECT_GE(y.min().item<double>(), 0.);   // ...the ranged ones do not
  EXPECT_LE(y.max().item<double>(), 5.5);
  EXPECT_TRUE(torch::allclose(y, torch::sigmoid(r) * 5.5));
}

TEST(EmbeddingDotBias, WeightAndBiasAccessors) {
  torch::manual_seed(5);
  fastai::EmbeddingDotBias m(6, 10, 12);
  const auto idx = torch::tensor({3, 0, 11}, torch::kLong);
  const auto w = m->weight(idx);
  EXPECT_EQ(w.sizes(), (std::vector<int64_t>{3, 6}));
  EXPECT_TRUE(torch::equal(w[2], m->i_weight->weight[11]));
  EXPECT_TRUE(torch::equal(m->weight(idx.slice(0, 0, 2), /*is_item=*/false)[0], m->u_weight->weight[3]));
  const auto b = m->bias(idx);
  EXPECT_EQ(b.sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(b[1].item<float>(), m->i_bias->weight[0][0].item<float>());
  EXPECT_EQ(m->bias(torch::tensor({9}), false).sizes(), (std::vector<int64_t>{1}));
  EXPECT_EQ(m->bias(torch::tensor({9}), false)[0].item<float>(), m->u_bias->weight[9][0].item<float>());
  expect_error([&] { m->weight(idx, /*is_item=*/false); }, {"weight", "code 11", "[0, 10)", "users"});
  expect_error([&] { m->bias(torch::tensor({0.5})); }, {"bias", "integer", "Float"});
}

TEST(EmbeddingDotBias, CloneIsDeep) {
  fastai::EmbeddingDotBias m(3, 5, 6, {.y_range = std::pair{1., 2.}});
  auto copy = std::dynamic_pointer_cast<fastai::EmbeddingDotBiasImpl>(m->clone());
  ASSERT_TRUE(copy);
  const auto x = dot_tests::batch(4, 5, 6);
  EXPECT_TRUE(torch::equal(copy->forward(x), m(x)));
  EXPECT_NE(copy->u_weight->weight.data_ptr(), m->u_weight->weight.data_ptr());
}

TEST(EmbeddingDotBias, BadInputsNameTheProblem) {
  fastai::EmbeddingDotBias m(50, 944, 1665);
  expect_error([&] { m(torch::zeros({4, 3}, torch::kLong)); }, {"[bs, 2]", "[4, 3]"});
  expect_error([&] { m(torch::zeros({4}, torch::kLong)); }, {"[bs, 2]", "[4]"});
  expect_error([&] { m(torch::zeros({4, 2})); }, {"integer", "Float"});
  expect_error([&] { m(torch::tensor({{944, 0}}, torch::kLong)); }, {"column 0", "code 944", "[0, 944)", "user"});
  expect_error([&] { m(torch::tensor({{1, 2}, {3, 1700}}, torch::kLong)); }, {"column 1", "row 1", "code 1700", "[0, 1665)", "item"});
  expect_error([] { fastai::EmbeddingDotBias(0, 3, 4); }, {"n_factors", "(0, 3, 4)"});
}

}  // namespace fastai::testing::layers
