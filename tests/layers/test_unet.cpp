// PixelShuffle_ICNR (ICNR init, weight norm), SelfAttention, DynamicUnet (shapes for any input
// size, cross connections, fastai's parameter layout and counts).
#include "test_util.h"

#include "fastai/layers/pixel_shuffle.h"
#include "fastai/layers/unet.h"
#include "fastai/vision/learner.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/conv.h>

namespace unet_layers_test {

using fastai::testing::expect_error;

int64_t n_params(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

// Every scale x scale block of sub-pixels of every channel holds one value.
void expect_subpixels_identical(const at::Tensor& y, int64_t scale) {
  for (int64_t dy = 0; dy < scale; ++dy)
    for (int64_t dx = 0; dx < scale; ++dx) {
      auto a = y.slice(2, dy, y.size(2), scale).slice(3, dx, y.size(3), scale);
      auto b = y.slice(2, 0, y.size(2), scale).slice(3, 0, y.size(3), scale);
      EXPECT_TRUE(at::allclose(a, b, 1e-5, 1e-6)) << "sub-pixel (" << dy << ", " << dx << ")";
    }
}

TEST(PixelShuffleICNR, ShapeAndIdenticalSubPixelsAtInit) {
  at::NoGradGuard ng;
  for (auto nt : {std::optional<fastai::NormType>(fastai::NormType::Weight), std::optional<fastai::NormType>()}) {
    fastai::PixelShuffle_ICNR ps(16, {.nf = 8, .norm_type = nt});
    auto x = at::randn({2, 16, 5, 6});
    auto y = ps->forward(x);
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 8, 10, 12}));
    expect_subpixels_identical(y, 2);
    EXPECT_GT(y.abs().sum().item<double>(), 0.0);  // not trivially zero
    // the 4 conv output channels c*4+r share one kernel
    auto w = ps->conv_weight().reshape({8, 4, 16});
    EXPECT_TRUE(at::allclose(w, w.select(1, 0).unsqueeze(1).expand_as(w)));
  }
  fastai::PixelShuffle_ICNR p3(4, {.scale = 3});
  auto y3 = p3->forward(at::randn({1, 4, 3, 3}));
  EXPECT_EQ(y3.sizes(), (std::vector<int64_t>{1, 4, 9, 9}));
  expect_subpixels_identical(y3, 3);
  // blur keeps the size (pad 1 then 2x2 average with stride 1)
  fastai::PixelShuffle_ICNR pb(4, {.blur = true});
  EXPECT_EQ(pb->forward(at::randn({1, 4, 5, 7})).sizes(), (std::vector<int64_t>{1, 4, 10, 14}));
  expect_error([&] { p3->forward(at::randn({1, 5, 3, 3})); }, {"PixelShuffle_ICNR(4, 4)", "[1, 5, 3, 3]"});
  // Spectral (as fastai): ICNR on weight_orig, which spectral norm only rescales
  fastai::PixelShuffle_ICNR psn(4, {.nf = 2, .norm_type = fastai::NormType::Spectral});
  auto named_sn = psn->named_parameters();
  EXPECT_TRUE(named_sn.contains("0.0.weight_orig"));
  EXPECT_TRUE(named_sn.contains("0.0.bias"));
  EXPECT_TRUE(psn->named_buffers().contains("0.0.weight_u"));
  psn->eval();
  auto ysn = psn->forward(at::randn({1, 4, 3, 5}));
  EXPECT_EQ(ysn.sizes(), (std::vector<int64_t>{1, 2, 6, 10}));
  expect_subpixels_identical(ysn, 2);
}

TEST(PixelShuffleICNR, WeightNormIsPytorchsAndNamedLikeIt) {
  fastai::PixelShuffle_ICNR ps(6, {.nf = 3});
  auto named = ps->named_parameters();
  ASSERT_TRUE(named.contains("0.0.weight_g"));
  ASSERT_TRUE(named.contains("0.0.weight_v"));
  ASSERT_TRUE(named.contains("0.0.bias"));
  EXPECT_FALSE(named.contains("0.0.weight"));
  EXPECT_EQ(named["0.0.weight_g"].sizes(), (std::vector<int64_t>{12, 1, 1, 1}));
  EXPECT_EQ(named["0.0.bias"].abs().sum().item<double>(), 0.0);  // bias_std 0
  // g starts at ||v||, so the effective weight is v
  auto v = named["0.0.weight_v"].detach(), g = named["0.0.weight_g"].detach();
  EXPECT_TRUE(at::allclose(g.flatten(), v.flatten(1).norm(2, 1)));
  // w = g * v / ||v|| for any g: compare with a plain conv of that weight
  {
    at::NoGradGuard ng;
    named["0.0.weight_g"].copy_(at::rand({12, 1, 1, 1}) + 0.5);
    named["0.0.bias"].copy_(at::randn({12}));
  }
  auto x = at::randn({2, 6, 4, 4});
  auto* conv = ps->named_modules()["0.0"]->as<fastai::WeightNormConvImpl>();
  ASSERT_NE(conv, nullptr);
  auto gv = named["0.0.weight_g"].detach();
  auto w = gv * v / v.flatten(1).norm(2, 1).view({12, 1, 1, 1});
  auto ref = at::conv2d(x, w, named["0.0.bias"].detach());
  EXPECT_TRUE(at::allclose(conv->forward(x), ref, 1e-5, 1e-5));
  // gradients reach both g and v
  conv->forward(x).pow(2).sum().backward();
  EXPECT_GT(named["0.0.weight_g"].grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(named["0.0.weight_v"].grad().abs().sum().item<double>(), 0.0);
}

TEST(PixelShuffleICNR, IcnrInitRepeatsTheKernel) {
  auto w = fastai::icnr_init(at::empty({12, 5, 3, 3}), 2);
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{12, 5, 3, 3}));
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t r = 1; r < 4; ++r) EXPECT_TRUE(at::equal(w[c * 4 + r], w[c * 4]));
  EXPECT_FALSE(at::equal(w[0], w[4]));
  // kaiming_normal on [3, 5, 3, 3]: std sqrt(2 / 45)
  auto big = fastai::icnr_init(at::empty({4 * 64, 64, 3, 3}), 2);
  EXPECT_NEAR(big.std().item<double>(), std::sqrt(2.0 / (64 * 9)), 0.01);
  expect_error([] { fastai::icnr_init(at::empty({6, 5, 1, 1}), 2); }, {"6", "multiple", "4"});
}

TEST(SelfAttention, IdentityAtInitThenSagansFormula) {
  at::NoGradGuard ng;
  fastai::SelfAttention sa(16);
  auto named = sa->named_parameters();
  for (const char* k : {"query.0.weight_orig", "key.0.weight_orig", "value.0.weight_orig", "gamma"})
    EXPECT_TRUE(named.contains(k)) << k;
  auto bufs = sa->named_buffers();
  EXPECT_TRUE(bufs.contains("query.0.weight_u"));
  EXPECT_TRUE(bufs.contains("query.0.weight_v"));
  EXPECT_EQ(named["query.0.weight_orig"].sizes(), (std::vector<int64_t>{2, 16, 1}));
  EXPECT_EQ(n_params(*sa), 2 * 16 * 2 + 16 * 16 + 1);  // no biases
  auto x = at::randn({2, 16, 3, 4});
  EXPECT_TRUE(at::equal(sa->forward(x), x));  // gamma = 0
  named["gamma"].fill_(0.5);
  sa->eval();  // u, v fixed: the weights are weight_orig / sigma(u, v)
  // by hand: f = Wq x, g = Wk x, h = Wv x on [16, 12]; beta = softmax over i of f_iᵀ g_j
  auto w = [&](const std::string& k) {
    auto wo = named[k + ".0.weight_orig"].squeeze(-1);
    auto sigma = at::dot(bufs[k + ".0.weight_u"], wo.mv(bufs[k + ".0.weight_v"]));
    return wo / sigma;
  };
  auto wq = w("query"), wk = w("key"), wv = w("value");
  auto xf = x.reshape({2, 16, 12});
  auto y = sa->forward(x);
  for (int64_t b = 0; b < 2; ++b) {
    auto f = wq.matmul(xf[b]), g = wk.matmul(xf[b]), h = wv.matmul(xf[b]);
    auto beta = at::softmax(f.t().matmul(g), 0);
    auto ref = (0.5 * h.matmul(beta) + xf[b]).reshape({16, 3, 4});
    EXPECT_TRUE(at::allclose(y[b], ref, 1e-4, 1e-5));
  }
}

TEST(SelfAttention, SpectralNormConvergesToUnitSpectralNorm) {
  at::NoGradGuard ng;
  fastai::SpectralNormConv c(12, 6, {.ndim = 1, .bias = false});
  c->train();
  auto x = at::randn({1, 12, 5});
  for (int i = 0; i < 60; ++i) c->forward(x);  // one power iteration per training forward
  auto wm = c->weight().reshape({6, 12});
  EXPECT_NEAR(std::get<1>(at::svd(wm)).max().item<double>(), 1.0, 1e-3);
  // u, v are the top singular vectors of weight_orig: sigma = its largest singular value
  auto s0 = std::get<1>(at::svd(c->weight_orig.reshape({6, 12}))).max().item<double>();
  EXPECT_NEAR(at::dot(c->weight_u, c->weight_orig.reshape({6, 12}).mv(c->weight_v)).item<double>(), s0, 1e-3 * s0);
  // eval mode leaves u and v alone
  c->eval();
  auto u = c->weight_u.clone();
  c->forward(x);
  EXPECT_TRUE(at::equal(u, c->weight_u));
  // the output is conv1d with weight_orig / sigma
  EXPECT_TRUE(at::allclose(c->forward(x), at::conv1d(x, c->weight()), 1e-5, 1e-6));
}

TEST(DynamicUnet, SizeChangeIndices) {
  // fastai's _get_sz_change_idxs on the last dimension
  std::vector<std::vector<int64_t>> sizes = {{1, 64, 32, 32}, {1, 64, 32, 32}, {1, 64, 16, 16}, {1, 128, 16, 16},
                                             {1, 256, 8, 8}};
  EXPECT_EQ(fastai::get_sz_change_idxs(sizes), (std::vector<int64_t>{1, 3}));
  EXPECT_TRUE(fastai::get_sz_change_idxs({{1, 3, 8, 8}}).empty());
}

torch::nn::Sequential resnet18_body() { return fastai::create_body(fastai::resnet18(1000)); }

TEST(DynamicUnet, OutputMatchesTheInputForAnySize) {
  at::NoGradGuard ng;
  fastai::DynamicUnet u(resnet18_body(), 5, {64, 64});
  u->eval();
  // resnet18 body: conv1 /2, bn, relu, maxpool /4, layer1, layer2 /8, layer3 /16, layer4 /32
  EXPECT_EQ(u->sz_chg_idxs, (std::vector<int64_t>{6, 5, 4, 2}));
  EXPECT_EQ(u->blocks.size(), 4u);
  for (auto hw : std::vector<std::pair<int64_t, int64_t>>{{64, 64}, {96, 64}, {32, 128}, {100, 100}, {70, 45}}) {
    auto y = u->forward(at::randn({2, 3, hw.first, hw.second}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 5, hw.first, hw.second})) << hw.first << "x" << hw.second;
    EXPECT_FALSE(at::isnan(y).any().item<bool>());
  }
  expect_error([&] { u->forward(at::randn({1, 1, 64, 64})); }, {"DynamicUnet", "[1, 1, 64, 64]"});
  expect_error([] { fastai::DynamicUnet(resnet18_body(), 0, {64, 64}); }, {"n_out", "0"});
}

TEST(DynamicUnet, CrossConnectionsFollowTheEncodersSizeChanges) {
  at::NoGradGuard ng;
  auto conv = [](int64_t ni, int64_t nf, int64_t stride) {
    return fastai::ConvLayer(ni, nf, {.stride = stride});
  };
  // sizes on 32x32: 32, 16, 16, 8, 8, 4 -> changes after children 0, 2, 4
  torch::nn::Sequential enc(conv(3, 8, 1), conv(8, 16, 2), conv(16, 16, 1), conv(16, 32, 2), conv(32, 32, 1),
                            conv(32, 64, 2));
  fastai::DynamicUnet u(enc, 3, {32, 32});
  EXPECT_EQ(u->sz_chg_idxs, (std::vector<int64_t>{4, 2, 0}));
  ASSERT_EQ(u->blocks.size(), 3u);
  // block channels: (64 -> 32 shuffled) + 32 skip = 64; (64 -> 32) + 16 = 48; last halves (24 + 8) / 2 = 16
  EXPECT_EQ(u->blocks[0]->nf, 64);
  EXPECT_EQ(u->blocks[1]->nf, 48);
  EXPECT_EQ(u->blocks[2]->nf, 16);
  EXPECT_FALSE(u->final_shuf);  // the encoder's first output is already the image size
  u->eval();
  EXPECT_EQ(u->forward(at::randn({2, 3, 32, 48})).sizes(), (std::vector<int64_t>{2, 3, 32, 48}));
  EXPECT_EQ(u->forward(at::randn({1, 3, 33, 31})).sizes(), (std::vector<int64_t>{1, 3, 33, 31}));
  // an encoder that never changes size has nothing to connect
  expect_error([&] { fastai::DynamicUnet(torch::nn::Sequential(conv(3, 8, 1), conv(8, 8, 1)), 2, {16, 16}); },
               {"DynamicUnet", "never change"});
  // xresnet18's body has the same size changes as resnet18's
  fastai::DynamicUnet xu(fastai::create_body(fastai::xresnet18({})), 2, {64, 64});
  EXPECT_EQ(xu->sz_chg_idxs, (std::vector<int64_t>{6, 5, 4, 2}));
  xu->eval();
  EXPECT_EQ(xu->forward(at::randn({1, 3, 64, 96})).sizes(), (std::vector<int64_t>{1, 2, 64, 96}));
}

TEST(DynamicUnet, FastaisLayoutAndParameterCounts) {
  // Counts re-derived with plain torch modules (torchvision resnet18 body + fastai's unet.py
  // formulas: BN + middle convs ni->2ni->ni, UnetBlocks with 1x1 shuffle convs, the extra
  // PixelShuffle_ICNR, ResBlock(1, c, c), 1x1 conv; every conv with bias, norm_type None).
  fastai::DynamicUnet u(resnet18_body(), 5, {64, 64});
  EXPECT_EQ(n_params(*u), 31113308);
  EXPECT_EQ(n_params(*u->encoder), 11176512);
  auto named = u->named_parameters();
  for (const char* k : {"layers.0.0.weight", "layers.1.weight", "layers.3.0.0.weight", "layers.3.1.0.bias",
                        "layers.4.shuf.0.0.weight", "layers.4.bn.weight", "layers.4.conv1.0.weight",
                        "layers.7.conv2.0.weight", "layers.8.0.0.weight", "layers.11.convpath.0.0.weight",
                        "layers.12.0.weight"})
    EXPECT_TRUE(named.contains(k)) << k;
  EXPECT_EQ(named["layers.12.0.weight"].sizes(), (std::vector<int64_t>{5, 99, 1, 1}));  // 96 + 3 input channels
  EXPECT_EQ(n_params(*fastai::DynamicUnet(resnet18_body(), 5, {64, 64}, {.last_cross = false})), 30936677);
  fastai::DynamicUnet sa(resnet18_body(), 3, {64, 64}, {.self_attention = true});
  EXPECT_EQ(n_params(*sa), 31297429);
  EXPECT_TRUE(sa->named_parameters().contains("layers.5.conv2.2.gamma"));  // third block from the end
  // y_range: outputs inside the range
  fastai::DynamicUnet yr(resnet18_body(), 1, {32, 32}, {.y_range = std::make_pair(-1.0, 2.0)});
  at::NoGradGuard ng;
  yr->eval();
  auto y = yr->forward(at::randn({1, 3, 32, 32}) * 10);
  EXPECT_GE(y.min().item<double>(), -1.0);
  EXPECT_LE(y.max().item<double>(), 2.0);
}

}  // namespace unet_layers_test
