// RandomErasing: rectangles of noise of the drawn size, per-item probability (or one draw per
// batch), train only, seeded, state round trip, input errors; the whole batch pipeline
// (IntToFloatTensor, aug_transforms, Normalize, RandomErasing) sorted by fastai's orders.
#include "test_util.h"
#include "fastai/core/pipeline.h"
#include "fastai/core/random.h"
#include "fastai/core/transforms.h"
#include "fastai/vision/batch_augment.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace batch_erasing_test {

using namespace fastai;  // NOLINT: test file
using fastai::testing::expect_error;

at::Tensor erase(const RandomErasing& t, const at::Tensor& x, std::optional<int> split = 0) {
  return t(Item(TensorImage(x)), split).get<TensorImage>().data;
}

TEST(BatchAugmentErasing, ErasesOneRectangleOfTheDrawnArea) {
  RandomErasing t({.p = 1.0, .sl = 0.25, .sh = 0.25, .min_aspect = 0.5});
  auto x = at::zeros({8, 3, 40, 40});
  seed_thread_rng(4);
  auto y = erase(t, x);
  for (int64_t i = 0; i < 8; ++i) {
    auto changed = (y[i] != 0).any(0);  // [H,W]
    auto rows = changed.any(1).nonzero().view({-1}), cols = changed.any(0).nonzero().view({-1});
    ASSERT_GT(rows.numel(), 0);
    const int64_t r0 = rows.min().item<int64_t>(), r1 = rows.max().item<int64_t>() + 1;
    const int64_t c0 = cols.min().item<int64_t>(), c1 = cols.max().item<int64_t>() + 1;
    EXPECT_EQ(changed.sum().item<int64_t>(), (r1 - r0) * (c1 - c0)) << "not one full rectangle";
    const double frac = static_cast<double>((r1 - r0) * (c1 - c0)) / 1600.0;
    EXPECT_NEAR(frac, 0.25, 0.05);
    const double aspect = static_cast<double>(r1 - r0) / static_cast<double>(c1 - c0);
    EXPECT_GE(aspect, 0.5 - 0.1);
    EXPECT_LE(aspect, 2.0 + 0.2);
    auto inside = y[i].narrow(1, r0, r1 - r0).narrow(2, c0, c1 - c0);
    EXPECT_NEAR(inside.std().item<double>(), 1.0, 0.15);  // N(0,1) noise
  }
}

TEST(BatchAugmentErasing, PerItemProbabilityBatchModeAndValidation) {
  auto x = at::zeros({256, 1, 16, 16});
  RandomErasing t({.p = 0.5, .sl = 0.1, .sh = 0.3});
  seed_thread_rng(8);
  auto y = erase(t, x);
  const int64_t k = (y != 0).flatten(1).any(1).sum().item<int64_t>();
  EXPECT_GE(k, 128 - 40);  // binomial(256, 0.5): sd 8
  EXPECT_LE(k, 128 + 40);
  seed_thread_rng(8);
  EXPECT_TRUE(at::equal(erase(t, x), y));  // seeded
  RandomErasing tb({.p = 0.5, .sl = 0.1, .sh = 0.3, .batch = true});
  for (uint64_t s = 0; s < 4; ++s) {
    seed_thread_rng(s);
    const int64_t kb = (erase(tb, x) != 0).flatten(1).any(1).sum().item<int64_t>();
    EXPECT_TRUE(kb == 0 || kb == 256) << kb;
  }
  EXPECT_TRUE(erase(RandomErasing({.p = 0.0}), x).is_same(x));
  EXPECT_TRUE(erase(RandomErasing({.p = 1.0}), x, 1).is_same(x));  // validation: identity
  auto m = at::ones({2, 16, 16}, at::kLong);
  EXPECT_TRUE(RandomErasing({.p = 1.0})(Item(TensorMask(m)), 0).get<TensorMask>().data.is_same(m));
}

TEST(BatchAugmentErasing, OrderStateAndErrors) {
  RandomErasing t({.p = 0.3, .sh = 0.4, .max_count = 3});
  EXPECT_EQ(t.order, 100);
  EXPECT_EQ(t.split_idx, std::optional<int>(0));
  auto back = make_transform("RandomErasing", t.state());
  EXPECT_EQ(back->state(), t.state());
  EXPECT_EQ(back->state().at("max_count"), 3);
  auto x = at::zeros({4, 3, 32, 32});
  seed_thread_rng(2);
  auto y = erase(RandomErasing({.p = 1.0, .max_count = 3}), x);
  EXPECT_GT((y != 0).sum().item<int64_t>(), 0);
  expect_error([] { erase(RandomErasing({.p = 1.0}), at::zeros({2, 3, 8, 8}, at::kByte)); },
               {"RandomErasing", "Byte", "[2, 3, 8, 8]"});
  expect_error([] { RandomErasing({.sl = 0.5, .sh = 0.2}); }, {"RandomErasing", "sl"});
}

TEST(BatchAugmentErasing, BatchPipelineRunsInFastaiOrder) {
  auto tfms = aug_transforms();
  tfms.push_back(std::make_shared<RandomErasing>());
  tfms.push_back(Normalize::from_stats(imagenet_stats));
  tfms.push_back(std::make_shared<IntToFloatTensor>());
  Pipeline pipe(tfms);
  std::vector<std::string> names;
  for (const auto& t : pipe.transforms()) names.push_back(t->name());
  EXPECT_EQ(names, (std::vector<std::string>{"IntToFloatTensor", "AffineCoordTfm", "LightingTfm", "Normalize", "RandomErasing"}));
  auto img = at::randint(0, 256, {4, 3, 24, 24}, at::kLong).to(at::kByte);
  auto mask = at::randint(0, 3, {4, 24, 24}, at::kLong);
  seed_thread_rng(21);
  Tuple tr = pipe(Tuple{TensorImage(img), TensorMask(mask)}, 0);
  EXPECT_EQ(tr[0].get<TensorImage>().data.sizes(), img.sizes());
  EXPECT_EQ(tr[0].get<TensorImage>().data.scalar_type(), at::kFloat);
  EXPECT_EQ(tr[1].get<TensorMask>().data.scalar_type(), at::kLong);
  EXPECT_LE(tr[1].get<TensorMask>().data.max().item<int64_t>(), 2);
  Tuple va = pipe(Tuple{TensorImage(img), TensorMask(mask)}, 1);  // validation: only IntToFloatTensor + Normalize
  auto m = at::tensor(imagenet_stats.mean, at::kDouble).to(at::kFloat).view({1, 3, 1, 1});
  auto sd = at::tensor(imagenet_stats.std, at::kDouble).to(at::kFloat).view({1, 3, 1, 1});
  EXPECT_TRUE(at::allclose(va[0].get<TensorImage>().data, (img.to(at::kFloat) / 255 - m) / sd, 1e-5, 1e-5));
  EXPECT_TRUE(at::equal(va[1].get<TensorMask>().data, mask));
}

}  // namespace batch_erasing_test
