// emb_sz_rule against the spec's table (§7.6), and fastai's trunc-normal Embedding init.
#include "fastai/layers/embedding.h"

#include "test_util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <utility>
#include <vector>

TEST(EmbSzRule, SpecTable) {
  const std::vector<std::pair<int64_t, int64_t>> table = {
      {2, 2},    {3, 3},    {4, 3},      {5, 4},    {8, 5},      {10, 6},  {13, 7},    {25, 10},
      {50, 14},  {100, 21}, {365, 44},   {1000, 77}, {1116, 81}, {3000, 142}, {10000, 278}, {100000, 600}};
  for (const auto& [n, sz] : table) EXPECT_EQ(fastai::emb_sz_rule(n), sz) << "n_cat=" << n;
}

TEST(EmbSzRule, CapsAt600AndRejectsEmptyColumns) {
  EXPECT_EQ(fastai::emb_sz_rule(1), 2);  // round(1.6)
  EXPECT_EQ(fastai::emb_sz_rule(10'000'000), 600);
  fastai::testing::expect_error([] { fastai::emb_sz_rule(0); }, {"emb_sz_rule", ">= 1", "got 0"});
}

TEST(EmbSzRule, EmbSzsForCardinalities) {
  const auto szs = fastai::emb_szs_for({10, 3, 17, 8});
  const std::vector<fastai::EmbSz> want = {{10, 6}, {3, 3}, {17, 8}, {8, 5}};
  EXPECT_EQ(szs, want);
}

TEST(TruncNormal, FmodTwoBoundsAndStd) {
  torch::manual_seed(0);
  auto t = torch::empty({1000, 200});
  fastai::trunc_normal_(t, 0., 0.01);
  EXPECT_LT(t.abs().max().item<double>(), 0.02);
  // N(0,1) fmod 2 has std ~0.866, so std=0.01 gives ~0.0087 (fastai's approximation, not a true 0.01).
  EXPECT_NEAR(t.std().item<double>(), 0.00866, 0.0003);
  EXPECT_NEAR(t.mean().item<double>(), 0., 1e-4);

  auto u = torch::empty({10000});
  fastai::trunc_normal_(u, 5., 1.);
  EXPECT_GT(u.min().item<double>(), 3.);
  EXPECT_LT(u.max().item<double>(), 7.);
  EXPECT_NEAR(u.mean().item<double>(), 5., 0.05);
}

TEST(TruncNormal, WorksOnLeafParametersWithoutRecordingGrad) {
  auto w = torch::zeros({50, 4}, torch::requires_grad());
  auto r = fastai::trunc_normal_(w, 0., 0.01);
  EXPECT_TRUE(r.is_same(w));
  EXPECT_TRUE(w.requires_grad());
  EXPECT_FALSE(w.grad_fn());
  EXPECT_GT(w.abs().sum().item<double>(), 0.);
}

TEST(FastaiEmbedding, ShapeAndInit) {
  torch::manual_seed(1);
  torch::nn::Embedding e = fastai::Embedding(5000, 40);
  EXPECT_EQ(e->weight.sizes(), (std::vector<int64_t>{5000, 40}));
  EXPECT_TRUE(e->weight.requires_grad());
  EXPECT_LT(e->weight.abs().max().item<double>(), 0.02);
  EXPECT_NEAR(e->weight.std().item<double>(), 0.00866, 0.0003);
  EXPECT_FALSE(e->options.padding_idx().has_value());
  const auto out = e->forward(torch::tensor({0, 4999}, torch::kLong));
  EXPECT_TRUE(torch::equal(out[1], e->weight[4999]));
  fastai::testing::expect_error([] { fastai::Embedding(0, 3); }, {"Embedding", "(0, 3)"});
}
