// XResNet variants (deep, deeper, SE, ResNeXt, SE-ResNeXt, SENet154), SimpleSelfAttention and
// sa=true. Expected parameter counts come from an independent plain-torch rebuild of fastai 2.7's
// formulas (SEBlock: nh1 = 2 nf, nh2 = nf * expansion; SEResNeXtBlock: nh2 = floor(nf * 4 / 64) * 32;
// SEModule hidden ceil(ch // 16 / 8) * 8; SimpleSelfAttention: n_in^2 conv weight + gamma).
#include "fastai/layers/res_block.h"
#include "fastai/layers/xresnet.h"
#include "fastai/vision/learner.h"

#include "layers/layers_fixtures.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace fastai::testing::layers {
namespace xresnet_variants_tests {
using fastai::testing::expect_error;

// The ResBlocks of an XResNet, stage by stage.
std::vector<std::vector<ResBlockImpl*>> stages(XResNet& m) {
  std::vector<std::vector<ResBlockImpl*>> out;
  for (const auto& c : m->children())
    if (auto* s = c->as<XResNetStageImpl>()) {
      out.emplace_back();
      for (const auto& b : s->children()) out.back().push_back(b->as<ResBlockImpl>());
    }
  return out;
}
bool has_sa(const ResBlockImpl& b) {
  for (const auto& c : b.convpath->children()) if (c->as<SimpleSelfAttentionImpl>()) return true;
  return false;
}
bool has_se(const ResBlockImpl& b) {
  for (const auto& c : b.convpath->children()) if (c->as<SEModuleImpl>()) return true;
  return false;
}
}  // namespace xresnet_variants_tests

TEST(XResNetVariants, ParameterCountsMatchFastaiFormulas) {
  EXPECT_EQ(n_params(*xresnet18_deep()), 14535496);
  EXPECT_EQ(n_params(*xresnet50_deep()), 29147976);
  EXPECT_EQ(n_params(*xresnet34_deeper()), 27005000);
  EXPECT_EQ(n_params(*xse_resnet18()), 11798856);
  EXPECT_EQ(n_params(*xse_resnet50()), 126777336);
  EXPECT_EQ(n_params(*xresnext18()), 13555784);
  EXPECT_EQ(n_params(*xresnext50()), 25048136);
  EXPECT_EQ(n_params(*xse_resnext50()), 27579128);
  EXPECT_EQ(n_params(*xsenet154()), 92960248);
}

TEST(XResNetVariants, LayersAndBlockConfiguration) {
  auto deeper = xresnet18_deeper({.n_out = 10});
  EXPECT_EQ(deeper->layers, (std::vector<int64_t>{2, 2, 1, 1, 1, 1, 1, 1}));
  auto st = xresnet_variants_tests::stages(deeper);
  ASSERT_EQ(st.size(), 8u);
  EXPECT_EQ(st[3][0]->nf, 512);
  EXPECT_EQ(st[4][0]->ni, 512);
  EXPECT_EQ(st[4][0]->nf, 256);  // stages past the 4th are 256 wide
  EXPECT_EQ(st[7][0]->nf, 256);
  EXPECT_EQ(xresnet34_deep()->layers, (std::vector<int64_t>{3, 4, 6, 3, 1, 1}));
  EXPECT_EQ(xresnet50_deeper()->layers, (std::vector<int64_t>{3, 4, 6, 3, 1, 1, 1, 1}));
  EXPECT_EQ(xse_resnet101()->layers, (std::vector<int64_t>{3, 4, 23, 3}));

  auto se50 = xse_resnet50({.n_out = 10});
  auto s = xresnet_variants_tests::stages(se50);
  EXPECT_EQ(se50->expansion, 4);
  EXPECT_EQ(s[1][0]->options.nh1, 256);  // nf 128 * 2
  EXPECT_EQ(s[1][0]->options.nh2, 512);  // nf 128 * expansion 4
  EXPECT_EQ(s[1][0]->options.groups, 1);
  EXPECT_TRUE(xresnet_variants_tests::has_se(*s[1][0]));

  auto next50 = xresnext50({.n_out = 10});
  s = xresnet_variants_tests::stages(next50);
  EXPECT_EQ(s[2][1]->options.groups, 32);
  EXPECT_EQ(s[2][1]->options.nh2, 512);  // floor(256 * 4 / 64) * 32
  EXPECT_FALSE(s[2][1]->options.nh1.has_value());
  EXPECT_FALSE(xresnet_variants_tests::has_se(*s[2][1]));  // reduction 0: no SEModule
  auto* grouped = s[2][1]->convpath[1]->children()[0]->as<torch::nn::Conv2dImpl>();
  ASSERT_NE(grouped, nullptr);
  EXPECT_EQ(grouped->options.groups(), 32);
  EXPECT_EQ(grouped->weight.sizes().vec(), (std::vector<int64_t>{512, 16, 3, 3}));

  auto sext = xse_resnext18({.n_out = 10});
  s = xresnet_variants_tests::stages(sext);
  EXPECT_TRUE(xresnet_variants_tests::has_se(*s[0][0]));
  EXPECT_EQ(s[3][0]->options.nh2, 1024);  // floor(512 * 4 / 64) * 32

  auto senet = xsenet154({.n_out = 10});
  s = xresnet_variants_tests::stages(senet);
  EXPECT_EQ(s[0][0]->options.groups, 64);
  EXPECT_EQ(senet->layers, (std::vector<int64_t>{3, 8, 36, 3}));
  auto* drop = senet[senet->size() - 2]->as<torch::nn::DropoutImpl>();
  ASSERT_NE(drop, nullptr);
  EXPECT_DOUBLE_EQ(drop->options.p(), 0.2);
}

TEST(XResNetVariants, ForwardShapes) {
  torch::manual_seed(0);
  at::Tensor x = torch::randn({2, 3, 64, 64});
  for (auto* f : {xresnet18_deep, xresnet18_deeper, xse_resnet18, xresnext18, xse_resnext18, xresnext50}) {
    auto m = f({.n_out = 7});
    m->eval();
    at::Tensor y = m->forward(x);
    EXPECT_EQ(y.sizes().vec(), (std::vector<int64_t>{2, 7})) << arch_name(f);
    EXPECT_TRUE(y.isfinite().all().item<bool>()) << arch_name(f);
  }
  auto c1 = xresnext18({.c_in = 1, .n_out = 4});
  expect_error([&] { c1->forward(x); }, {"XResNet", "[bs, 1, h, w]", "[2, 3, 64, 64]"});
}

TEST(SimpleSelfAttention, IdentityAtInitAndParameters) {
  torch::manual_seed(1);
  SimpleSelfAttention sa(6);
  EXPECT_EQ(n_params(*sa), 6 * 6 + 1);
  EXPECT_EQ(sa->gamma.item<float>(), 0.f);
  EXPECT_EQ(sa->conv->weight_orig.sizes().vec(), (std::vector<int64_t>{6, 6, 1}));
  at::Tensor x = torch::randn({2, 6, 3, 5});
  EXPECT_TRUE(torch::equal(sa->forward(x), x));
  at::Tensor x1 = torch::randn({2, 6, 7});
  EXPECT_TRUE(torch::equal(sa->forward(x1), x1));
  expect_error([&] { sa->forward(torch::randn({2, 5, 4, 4})); }, {"SimpleSelfAttention(6)", "[bs, 6, *spatial]", "[2, 5, 4, 4]"});
  expect_error([] { SimpleSelfAttention(4, 3); }, {"SimpleSelfAttention(4)", "ks=3"});
}

TEST(SimpleSelfAttention, FormulaWithGammaSet) {
  torch::manual_seed(2);
  for (bool sym : {false, true}) {
    SimpleSelfAttention sa(4, 1, sym);
    sa->eval();  // no power-iteration step: the weight is weight_orig / sigma with the stored u, v
    {
      torch::NoGradGuard ng;
      sa->gamma.fill_(0.5);
    }
    at::Tensor x = torch::randn({3, 4, 2, 3});
    // direct computation: W = weight_orig / (u . W v), o = (x xᵀ) (W x)
    at::Tensor wm = sa->conv->weight_orig.reshape({4, 4});
    at::Tensor sigma = torch::dot(sa->conv->weight_u, torch::mv(wm, sa->conv->weight_v));
    at::Tensor w = wm / sigma;
    if (sym) w = (w + w.t()) / 2;
    at::Tensor expected = torch::empty({3, 4, 6});
    for (int64_t b = 0; b < 3; ++b) {
      at::Tensor xb = x[b].reshape({4, 6});
      at::Tensor o = torch::matmul(torch::matmul(xb, xb.t()), torch::matmul(w, xb));
      expected[b] = 0.5 * o + xb;
    }
    at::Tensor y = sa->forward(x);
    EXPECT_EQ(y.sizes().vec(), x.sizes().vec());
    EXPECT_TRUE(torch::allclose(y, expected.reshape({3, 4, 2, 3}), 1e-4, 1e-4)) << "sym=" << sym;
    EXPECT_FALSE(torch::allclose(y, x, 1e-3, 1e-3));
  }
  // a clone is a deep copy computing the same function
  SimpleSelfAttention src(4);
  {
    torch::NoGradGuard ng;
    src->gamma.fill_(0.25);
  }
  src->eval();
  auto copy = std::dynamic_pointer_cast<SimpleSelfAttentionImpl>(src->clone());
  ASSERT_NE(copy, nullptr);
  at::Tensor xc = torch::randn({2, 4, 3, 3});
  EXPECT_TRUE(torch::allclose(copy->forward(xc), src->forward(xc)));
  {
    torch::NoGradGuard ng;
    copy->gamma.fill_(0.);
  }
  EXPECT_TRUE(torch::equal(copy->forward(xc), xc));
  EXPECT_FALSE(torch::allclose(src->forward(xc), xc, 1e-3, 1e-3));
  // sigma really normalises: the largest singular value of the used weight is ~1 after iterations
  SimpleSelfAttention sa(5);
  sa->train();
  for (int i = 0; i < 50; ++i) sa->conv->weight(true);
  at::Tensor w = sa->conv->weight(false).reshape({5, 5});
  EXPECT_NEAR(torch::linalg_svdvals(w)[0].item<double>(), 1.0, 1e-3);
}

TEST(XResNetVariants, SelfAttentionIsWiredLikeFastai) {
  // 4 stages: stage len(layers) - 4 = 0, its last block only; one more conv n^2 + gamma
  auto m = xresnet18({.n_out = 10, .sa = true});
  auto s = xresnet_variants_tests::stages(m);
  EXPECT_FALSE(xresnet_variants_tests::has_sa(*s[0][0]));
  EXPECT_TRUE(xresnet_variants_tests::has_sa(*s[0][1]));
  for (size_t i = 1; i < s.size(); ++i)
    for (auto* b : s[i]) EXPECT_FALSE(xresnet_variants_tests::has_sa(*b));
  EXPECT_EQ(n_params(*xresnet18({.sa = true})), 11712841);
  // 6 stages: the attention moves to stage 2 (256 wide)
  auto d = xresnet18_deep({.sa = true});
  EXPECT_EQ(n_params(*d), 14601033);
  EXPECT_TRUE(xresnet_variants_tests::has_sa(*xresnet_variants_tests::stages(d)[2][1]));
  // runs, and is the same function as without sa at init (gamma 0)
  torch::manual_seed(3);
  auto a = xse_resnext18({.n_out = 5, .sa = true});
  a->eval();
  at::Tensor x = torch::randn({2, 3, 32, 32});
  at::Tensor y = a->forward(x);
  EXPECT_EQ(y.sizes().vec(), (std::vector<int64_t>{2, 5}));
  // ResBlock alone with sa (and sym)
  ResBlock rb(1, 8, 8, {.sa = true, .sym = true});
  rb->eval();
  at::Tensor xb = torch::randn({2, 8, 5, 5});
  EXPECT_EQ(rb->forward(xb).sizes().vec(), xb.sizes().vec());
  EXPECT_EQ(n_params(*rb), n_params(*ResBlock(1, 8, 8)) + 8 * 8 + 1);
}

TEST(XResNetVariants, KnownByNameToVisionLearner) {
  EXPECT_EQ(arch_name(xse_resnext50), "xse_resnext50");
  EXPECT_EQ(arch_name(xresnet34_deeper), "xresnet34_deeper");
  EXPECT_EQ(arch_name(xsenet154), "xsenet154");
  auto body = arch_body("xresnext18");
  // the body is the arch without its last 4 children (pool, flatten, dropout, linear)
  EXPECT_EQ(n_params(*body), 13555784 - (512 * 1000 + 1000));
}

}  // namespace fastai::testing::layers
