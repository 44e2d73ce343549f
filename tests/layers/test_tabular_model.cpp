// TabularModel (fastai 2.7): parameter counts (spec §7.5), PyTorch-style names, block layout,
// forward against a hand computation in eval and train mode, BatchNorm running stats, errors.
#include "fastai/layers/tabular_model.h"

#include "layers/layers_fixtures.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace fastai::testing::layers {
namespace tabular_tests {
using V = std::vector<std::string>;
const std::vector<fastai::EmbSz> kSpecEmbs = {{10, 6}, {3, 3}, {17, 8}, {8, 5}};

// Batch norm of x with the given stats (what BatchNorm1d computes), eps 1e-5.
at::Tensor bn(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& var, const at::Tensor& w, const at::Tensor& b) {
  return (x - mean) / torch::sqrt(var + 1e-5) * w + b;
}

// Tiny model: embeddings (3,2) and (4,1), 2 conts, one hidden layer of 3, 1 output, y_range (0, 2),
// every parameter and running stat set by hand.
struct Tiny {
  fastai::TabularModel m;
  at::Tensor e0 = torch::tensor({{0.1f, -0.2f}, {0.3f, 0.4f}, {-0.5f, 0.6f}});
  at::Tensor e1 = torch::tensor({{1.f}, {-1.f}, {0.5f}, {2.f}});
  at::Tensor cw = torch::tensor({1.5f, 0.5f}), cb = torch::tensor({0.1f, -0.1f});
  at::Tensor cm = torch::tensor({1.f, -2.f}), cv = torch::tensor({4.f, 0.25f});
  at::Tensor w0 = torch::linspace(-1.f, 1.f, 15).reshape({3, 5});
  at::Tensor hw, hb, hm, hv;  // the hidden BatchNorm (size 3 when lin_first, 5 otherwise)
  at::Tensor w1 = torch::tensor({{0.7f, -0.3f, 0.2f}}), b1 = torch::tensor({0.05f});

  explicit Tiny(bool lin_first)
      : m(std::vector<fastai::EmbSz>{{3, 2}, {4, 1}}, 2, 1, std::vector<int64_t>{3},
          {.y_range = std::pair{0., 2.}, .lin_first = lin_first}) {
    const int64_t nh = lin_first ? 3 : 5;
    hw = torch::linspace(0.5f, 2.f, nh), hb = torch::linspace(-0.1f, 0.1f, nh);
    hm = torch::linspace(-0.3f, 0.3f, nh), hv = torch::linspace(0.5f, 2.f, nh);
    torch::NoGradGuard g;
    m->embeds[0]->as<torch::nn::Embedding>()->weight.copy_(e0);
    m->embeds[1]->as<torch::nn::Embedding>()->weight.copy_(e1);
    m->bn_cont->weight.copy_(cw), m->bn_cont->bias.copy_(cb);
    m->bn_cont->running_mean.copy_(cm), m->bn_cont->running_var.copy_(cv);
    auto block0 = m->layers[0];
    auto* lin0 = block0->children()[lin_first ? 0 : 1]->as<torch::nn::Linear>();
    auto* bn0 = block0->children()[lin_first ? 2 : 0]->as<torch::nn::BatchNorm1d>();
    auto* lin1 = m->layers[1]->children()[0]->as<torch::nn::Linear>();
    lin0->weight.copy_(w0);
    bn0->weight.copy_(hw), bn0->bias.copy_(hb), bn0->running_mean.copy_(hm), bn0->running_var.copy_(hv);
    lin1->weight.copy_(w1), lin1->bias.copy_(b1);
  }

  // The model by hand; batch stats (biased variance) in train mode, running stats in eval mode.
  at::Tensor expected(const at::Tensor& xcat, const at::Tensor& xcont, bool lin_first, bool train) const {
    auto norm = [&](const at::Tensor& x, const at::Tensor& rm, const at::Tensor& rv, const at::Tensor& w, const at::Tensor& b) {
      return train ? bn(x, x.mean(0), x.var(0, /*unbiased=*/false), w, b) : bn(x, rm, rv, w, b);
    };
    const auto emb = torch::cat({e0.index_select(0, xcat.select(1, 0)), e1.index_select(0, xcat.select(1, 1))}, 1);
    const auto x = torch::cat({emb, norm(xcont, cm, cv, cw, cb)}, 1);
    const auto h = lin_first ? norm(torch::relu(x.matmul(w0.t())), hm, hv, hw, hb)
                             : torch::relu(norm(x, hm, hv, hw, hb).matmul(w0.t()));
    return torch::sigmoid(h.matmul(w1.t()) + b1) * 2.;
  }
};
}  // namespace tabular_tests

using tabular_tests::V;

TEST(TabularModel, SpecParameterCounts) {
  const auto embs = fastai::emb_szs_for({10, 3, 17, 8});
  ASSERT_EQ(embs, tabular_tests::kSpecEmbs);
  fastai::TabularModel paper(embs, 5, 2, {200, 100}, {.lin_first = false});
  EXPECT_EQ(n_params(*paper), 26311);
  fastai::TabularModel v27(embs, 5, 2, {200, 100});
  EXPECT_EQ(n_params(*v27), 26457);
  EXPECT_EQ(v27->n_emb(), 22);
}

TEST(TabularModel, NamedParametersLikePyTorch) {
  fastai::TabularModel m(tabular_tests::kSpecEmbs, 5, 2, {200, 100});
  EXPECT_EQ(param_names(*m), (V{"embeds.0.weight", "embeds.1.weight", "embeds.2.weight", "embeds.3.weight",
                                "bn_cont.weight", "bn_cont.bias", "layers.0.0.weight", "layers.0.2.weight",
                                "layers.0.2.bias", "layers.1.0.weight", "layers.1.2.weight", "layers.1.2.bias",
                                "layers.2.0.weight", "layers.2.0.bias"}));
  fastai::TabularModel old(tabular_tests::kSpecEmbs, 5, 2, {200, 100}, {.lin_first = false});
  const auto names = param_names(*old);
  EXPECT_EQ(V(names.begin() + 6, names.end()),
            (V{"layers.0.0.weight", "layers.0.0.bias", "layers.0.1.weight", "layers.1.0.weight", "layers.1.0.bias",
               "layers.1.1.weight", "layers.2.0.weight", "layers.2.0.bias"}));
  const auto buffers = m->named_buffers();
  EXPECT_TRUE(buffers.contains("bn_cont.running_mean"));
  EXPECT_TRUE(buffers.contains("layers.0.2.running_var"));
}

TEST(TabularModel, BlockLayout) {
  fastai::TabularModel m(tabular_tests::kSpecEmbs, 5, 2, {200, 100}, {.ps = {0.1}, .embed_p = 0.04, .y_range = std::pair{0., 5.5}});
  EXPECT_EQ(kinds(*m->layers), (V{"LinBnDrop", "LinBnDrop", "LinBnDrop", "SigmoidRange(0,5.5)"}));
  EXPECT_EQ(kinds(*m->layers[0]), (V{"Lin(27,200)", "ReLU", "BN(200)", "Drop(0.1)"}));
  EXPECT_EQ(kinds(*m->layers[1]), (V{"Lin(200,100)", "ReLU", "BN(100)", "Drop(0.1)"}));
  EXPECT_EQ(kinds(*m->layers[2]), (V{"Lin(100,2,bias)"}));
  EXPECT_DOUBLE_EQ(m->emb_drop->options.p(), 0.04);
  EXPECT_EQ(m->bn_cont->options.num_features(), 5);

  fastai::TabularModel old(tabular_tests::kSpecEmbs, 5, 2, {200, 100},
                           {.ps = {0.2, 0.3}, .bn_final = true, .lin_first = false});
  EXPECT_EQ(kinds(*old->layers[0]), (V{"BN(27)", "Drop(0.2)", "Lin(27,200)", "ReLU"}));
  EXPECT_EQ(kinds(*old->layers[1]), (V{"BN(200)", "Drop(0.3)", "Lin(200,100)", "ReLU"}));
  EXPECT_EQ(kinds(*old->layers[2]), (V{"BN(100)", "Lin(100,2)"}));  // bn_final: BN, so no bias

  fastai::TabularModel nobn(tabular_tests::kSpecEmbs, 5, 2, {200}, {.use_bn = false, .bn_cont = false});
  EXPECT_FALSE(nobn->bn_cont);
  EXPECT_EQ(kinds(*nobn->layers[0]), (V{"Lin(27,200,bias)", "ReLU"}));
  EXPECT_EQ(n_params(*nobn), 245 + 27 * 200 + 200 + 200 * 2 + 2);
}

TEST(TabularModel, ForwardShapeAndEmbeddingNN) {
  torch::manual_seed(0);
  fastai::TabularModel m(tabular_tests::kSpecEmbs, 5, 2, {200, 100});
  const auto xcat = torch::stack({torch::randint(10, {7}), torch::randint(3, {7}), torch::randint(17, {7}), torch::randint(8, {7})}, 1);
  EXPECT_EQ(m(xcat, torch::randn({7, 5})).sizes(), (std::vector<int64_t>{7, 2}));
  m->eval();
  const auto xcont = torch::randn({7, 5});
  EXPECT_TRUE(torch::equal(m(xcat.to(torch::kInt), xcont), m(xcat, xcont)));  // int32 codes work too

  fastai::TabularModel nn = fastai::EmbeddingNN({{944, 74}, {1665, 102}}, {50});
  EXPECT_EQ(nn->n_cont(), 0);
  EXPECT_FALSE(nn->bn_cont);
  EXPECT_EQ(kinds(*nn->layers[0]), (V{"Lin(176,50)", "ReLU", "BN(50)"}));
  EXPECT_EQ(n_params(*nn), 944 * 74 + 1665 * 102 + 176 * 50 + 100 + 51);
  const auto x = torch::stack({torch::randint(944, {6}), torch::randint(1665, {6})}, 1);
  EXPECT_EQ(nn(x).sizes(), (std::vector<int64_t>{6, 1}));
}

TEST(TabularModel, ContinuousOnly) {
  fastai::TabularModel m(std::vector<fastai::EmbSz>{}, 3, 1, {4});
  m->eval();
  const auto xc = torch::randn({2, 3});
  const auto y = m(at::Tensor(), xc);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 1}));
  EXPECT_TRUE(torch::equal(m(torch::zeros({2, 0}, torch::kLong), xc), y));
}

TEST(TabularModel, EvalForwardMatchesHandComputation) {
  const auto xcat = torch::tensor({{0, 3}, {2, 1}, {1, 0}, {2, 2}}, torch::kLong);
  const auto xcont = torch::tensor({{0.5f, -1.f}, {2.f, 0.f}, {-1.f, 3.f}, {1.f, 1.f}});
  for (bool lin_first : {true, false}) {
    tabular_tests::Tiny t(lin_first);
    t.m->eval();
    const auto got = t.m(xcat, xcont);
    const auto want = t.expected(xcat, xcont, lin_first, /*train=*/false);
    EXPECT_EQ(got.sizes(), (std::vector<int64_t>{4, 1}));
    EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6)) << "lin_first=" << lin_first << "\n" << got << "\n" << want;
  }
}

TEST(TabularModel, TrainModeUsesBatchStatsAndUpdatesRunningStats) {
  const auto xcat = torch::tensor({{0, 3}, {2, 1}, {1, 0}, {2, 2}}, torch::kLong);
  const auto xcont = torch::tensor({{0.5f, -1.f}, {2.f, 0.f}, {-1.f, 3.f}, {1.f, 1.f}});
  for (bool lin_first : {true, false}) {
    tabular_tests::Tiny t(lin_first);
    t.m->train();
    const auto got = t.m(xcat, xcont);
    EXPECT_TRUE(torch::allclose(got, t.expected(xcat, xcont, lin_first, /*train=*/true), 1e-5, 1e-6))
        << "lin_first=" << lin_first;
    EXPECT_FALSE(torch::allclose(got, t.expected(xcat, xcont, lin_first, /*train=*/false), 1e-3, 1e-3));
    // momentum 0.1; running_var takes the unbiased batch variance
    const auto& bc = t.m->bn_cont;
    EXPECT_TRUE(torch::allclose(bc->running_mean, 0.9 * t.cm + 0.1 * xcont.mean(0)));
    EXPECT_TRUE(torch::allclose(bc->running_var, 0.9 * t.cv + 0.1 * xcont.var(0, /*unbiased=*/true)));
    t.m->eval();  // eval: no update, running stats used
    const auto rm = bc->running_mean.clone();
    t.m(xcat, xcont);
    EXPECT_TRUE(torch::equal(bc->running_mean, rm));
  }
}

TEST(TabularModel, GradientsReachTheUsedEmbeddingRowsOnly) {
  tabular_tests::Tiny t(true);
  // Three rows: with two, training-mode BatchNorm passes back only eps-sized gradients.
  t.m(torch::tensor({{0, 3}, {2, 3}, {1, 3}}, torch::kLong), torch::tensor({{0.5f, -1.f}, {2.f, 0.f}, {-1.f, 1.f}}))
      .sum()
      .backward();
  const auto g1 = t.m->embeds[1]->as<torch::nn::Embedding>()->weight.grad();
  ASSERT_TRUE(g1.defined());
  EXPECT_EQ(g1.slice(0, 0, 3).abs().sum().item<double>(), 0.);
  EXPECT_GT(g1[3].abs().sum().item<double>(), 0.);
}

TEST(TabularModel, CloneIsDeep) {
  tabular_tests::Tiny t(true);
  t.m->eval();
  auto copy = std::dynamic_pointer_cast<fastai::TabularModelImpl>(t.m->clone());
  ASSERT_TRUE(copy);
  const auto xcat = torch::tensor({{0, 3}, {2, 1}}, torch::kLong);
  const auto xcont = torch::tensor({{0.5f, -1.f}, {2.f, 0.f}});
  EXPECT_TRUE(torch::equal(copy->forward(xcat, xcont), t.m(xcat, xcont)));
  EXPECT_EQ(param_names(*copy), param_names(*t.m));
  EXPECT_NE(copy->parameters()[0].data_ptr(), t.m->parameters()[0].data_ptr());
}

TEST(TabularModel, BadInputsNameTheProblem) {
  fastai::TabularModel m(tabular_tests::kSpecEmbs, 5, 2, {20});
  const auto ok_cat = torch::zeros({3, 4}, torch::kLong);
  const auto ok_cont = torch::zeros({3, 5});
  expect_error([&] { m(torch::zeros({3, 3}, torch::kLong), ok_cont); }, {"x_cat", "[bs, 4]", "[3, 3]"});
  expect_error([&] { m(ok_cat, torch::zeros({3, 4})); }, {"x_cont", "[bs, 5]", "[3, 4]"});
  expect_error([&] { m(ok_cat, torch::zeros({2, 5})); }, {"batch size", "[3, 4]", "[2, 5]"});
  expect_error([&] { m(ok_cat.to(torch::kFloat), ok_cont); }, {"x_cat", "integer", "Float", "[3, 4]"});
  expect_error([&] { m(ok_cat, ok_cont.to(torch::kLong)); }, {"x_cont", "floating", "Long"});
  auto bad = ok_cat.clone();
  bad[1][2] = 17;
  expect_error([&] { m(bad, ok_cont); }, {"column 2", "row 1", "code 17", "[0, 17)", "Embedding(17, 8)"});
  bad[1][2] = 0, bad[2][0] = -1;
  expect_error([&] { m(bad, ok_cont); }, {"column 0", "code -1", "[0, 10)", "Embedding(10, 6)"});
  expect_error([&] { m(ok_cat); }, {"n_cont=5", "forward(x_cat, x_cont)"});

  expect_error([] { fastai::TabularModel(tabular_tests::kSpecEmbs, 5, 2, {20, 10}, {.ps = {0.1, 0.2, 0.3}}); },
               {"ps", "0, 1 or 2", "got 3"});
  expect_error([] { fastai::TabularModel(std::vector<fastai::EmbSz>{}, 0, 2, {20}); }, {"at least one"});
  expect_error([] { fastai::TabularModel(std::vector<fastai::EmbSz>{{0, 3}}, 1, 2, {20}); }, {"embedding 0", "(0, 3)"});
  fastai::TabularModel nn = fastai::EmbeddingNN({{5, 3}, {6, 3}}, {4});
  expect_error([&] { nn(torch::zeros({2, 2}, torch::kLong), torch::zeros({2, 1})); }, {"n_cont=0", "[2, 1]"});
}

}  // namespace fastai::testing::layers
