// create_head's layout and parameter counts (spec §7.5), AdaptiveConcatPool2d's [max, avg] order,
// Flatten, and the errors.
#include "fastai/layers/create_head.h"
#include "fastai/layers/init.h"
#include "fastai/layers/pooling.h"

#include "layers/layers_fixtures.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace fastai::testing::layers {
namespace head_tests {
using V = std::vector<std::string>;
using Shape = std::vector<int64_t>;
// kinds() plus the pooling layers of a head.
V head_kinds(const torch::nn::Module& m) {
  V out = kinds(m);
  size_t i = 0;
  for (const auto& c : m.children()) {
    if (c->as<fastai::AdaptiveConcatPool2d>()) out[i] = "ConcatPool";
    else if (c->as<torch::nn::AdaptiveAvgPool2d>()) out[i] = "AvgPool";
    else if (c->as<fastai::Flatten>()) out[i] = "Flatten";
    ++i;
  }
  return out;
}
}  // namespace head_tests

TEST(AdaptiveConcatPool2d, MaxThenAverage) {
  // one image, two channels: [[1, 2], [3, 6]] and [[-1, 0], [0, 5]]
  const auto x = torch::tensor({1.f, 2.f, 3.f, 6.f, -1.f, 0.f, 0.f, 5.f}).reshape({1, 2, 2, 2});
  fastai::AdaptiveConcatPool2d pool;
  const auto y = pool(x);
  EXPECT_EQ(y.sizes(), (head_tests::Shape{1, 4, 1, 1}));
  EXPECT_TRUE(torch::equal(y.flatten(), torch::tensor({6.f, 5.f, 3.f, 1.f})));  // max c0, max c1, mean c0, mean c1
  EXPECT_EQ(fastai::AdaptiveConcatPool2d(2)(torch::randn({3, 5, 4, 4})).sizes(), (head_tests::Shape{3, 10, 2, 2}));
  std::vector<std::string> names;
  for (const auto& kv : pool->named_children()) names.push_back(kv.key());
  EXPECT_EQ(names, (head_tests::V{"ap", "mp"}));
  expect_error([&] { pool(torch::randn({2, 3, 4})); }, {"AdaptiveConcatPool2d", "[bs, c, h, w]", "[2, 3, 4]"});
}

TEST(Flatten, KeepsTheBatchDimensionUnlessFull) {
  const auto x = torch::randn({10, 5, 4});
  EXPECT_EQ(fastai::Flatten()(x).sizes(), (head_tests::Shape{10, 20}));
  EXPECT_EQ(fastai::Flatten(true)(x).sizes(), (head_tests::Shape{200}));
}

TEST(CreateHead, Fastai27Layout) {
  auto h = create_head(20, 2);
  EXPECT_EQ(head_tests::head_kinds(*h), (head_tests::V{"ConcatPool", "Flatten", "BN(40)", "Drop(0.25)", "Lin(40,512)", "ReLU",
                                                      "BN(512)", "Drop(0.5)", "Lin(512,2)"}));
  EXPECT_EQ(param_names(*h), (head_tests::V{"2.weight", "2.bias", "4.weight", "6.weight", "6.bias", "8.weight"}));
  auto p = h->named_parameters();
  EXPECT_TRUE(p["2.bias"].eq(1e-3f).all().item<bool>());
  EXPECT_TRUE(p["6.weight"].eq(1.f).all().item<bool>());
  h->eval();
  EXPECT_EQ(h->forward(torch::randn({3, 20, 7, 7})).sizes(), (head_tests::Shape{3, 2}));

  EXPECT_EQ(head_tests::head_kinds(*create_head(5, 10, {.concat_pool = false}))[4], "Lin(5,512)");
  EXPECT_EQ(head_tests::head_kinds(*create_head(5, 10, {.concat_pool = false}))[0], "AvgPool");
  EXPECT_EQ(head_tests::head_kinds(*create_head(5, 10, {.first_bn = false})),
            (head_tests::V{"ConcatPool", "Flatten", "Drop(0.25)", "Lin(10,512,bias)", "ReLU", "BN(512)", "Drop(0.5)", "Lin(512,10)"}));
  EXPECT_EQ(head_tests::head_kinds(*create_head(5, 10, {.lin_ftrs = {}, .pool = false})), (head_tests::V{"BN(5)", "Drop(0.5)", "Lin(5,10)"}));
  EXPECT_EQ(head_tests::head_kinds(*create_head(8, 3, {.lin_ftrs = {6, 4}, .ps = {0.1, 0.2, 0.3}, .pool = false})),
            (head_tests::V{"BN(8)", "Drop(0.1)", "Lin(8,6)", "ReLU", "BN(6)", "Drop(0.2)", "Lin(6,4)", "ReLU", "BN(4)", "Drop(0.3)",
                           "Lin(4,3)"}));
  EXPECT_EQ(head_tests::head_kinds(*create_head(5, 10, {.bn_final = true, .y_range = std::make_pair(0., 5.)})).back(),
            "SigmoidRange(0,5)");
}

TEST(CreateHead, LinFirstKeepsFastaisZipQuirk) {
  // fastai pops ps[0] into a leading Dropout, so zip() runs one LinBnDrop, then Linear(512, n_out)
  EXPECT_EQ(head_tests::head_kinds(*create_head(5, 10, {.lin_first = true})),
            (head_tests::V{"ConcatPool", "Flatten", "Drop(0.25)", "Lin(10,512)", "ReLU", "BN(512)", "Drop(0.5)", "Lin(512,10,bias)"}));
}

TEST(CreateHead, BatchNormFinalHasMomentum001) {
  auto h = create_head(5, 10, {.bn_final = true});
  auto* bn = h[h->size() - 1]->as<torch::nn::BatchNorm1d>();
  ASSERT_TRUE(bn);
  EXPECT_EQ(bn->options.num_features(), 10);
  EXPECT_DOUBLE_EQ(bn->options.momentum().value(), 0.01);
}

TEST(CreateHead, ParameterCountsOfSpec75) {
  EXPECT_EQ(n_params(*create_head(512, 2)), 528384);
  EXPECT_EQ(n_params(*create_head(512, 10)), 532480);
  EXPECT_EQ(n_params(*create_head(512, 37)), 546304);
  EXPECT_EQ(n_params(*create_head(512, 1000)), 1039360);
  EXPECT_EQ(n_params(*create_head(2048, 2)), 2107392);
  EXPECT_EQ(n_params(*create_head(2048, 37)), 2125312);
  EXPECT_EQ(n_params(*create_head(2048, 1000)), 2618368);
}

TEST(CreateHead, ApplyInitGivesKaimingNormalLinears) {
  torch::manual_seed(1);
  auto h = create_head(512, 37);
  apply_init(*h);
  auto p = h->named_parameters();
  EXPECT_NEAR(p["4.weight"].std().item<double>(), std::sqrt(2. / 1024.), 0.02 * std::sqrt(2. / 1024.));
  EXPECT_TRUE(p["2.bias"].eq(1e-3f).all().item<bool>());  // BatchNorms skipped
}

TEST(CreateHead, BadArgumentsAreErrors) {
  expect_error([] { create_head(0, 2); }, {"create_head", "(0, 2)"});
  expect_error([] { create_head(512, 2, {.ps = {0.1, 0.2, 0.3}}); }, {"create_head", "1 or 2 values", "got 3"});
  expect_error([] { create_head(512, 2, {.ps = {1.5}}); }, {"create_head", "[0, 1)", "1.5"});
  auto h = create_head(512, 2);
  h->eval();
  expect_error([&] { h->forward(torch::randn({2, 512})); }, {"AdaptiveConcatPool2d", "[2, 512]"});
}

}  // namespace fastai::testing::layers
