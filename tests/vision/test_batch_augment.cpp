// Batch augmentation: AffineCoordTfm (one grid, one interpolation; masks nearest; points and boxes
// moved exactly), LightingTfm (spec §7.7 numbers), aug_transforms, per-item probabilities,
// validation identity, seeded determinism, state round trip and input errors.
#include "test_util.h"
#include "fastai/core/random.h"
#include "fastai/vision/batch_augment.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <set>

namespace batch_augment_test {

using namespace fastai;  // NOLINT: test file
using fastai::testing::expect_error;

at::Tensor maps_of(std::vector<double> m) { return at::tensor(m, at::kDouble).view({-1, 3, 3}); }

std::shared_ptr<AffineCoordTfm> merged(const std::vector<std::shared_ptr<Transform>>& ts) {
  auto r = setup_aug_tfms(ts);
  EXPECT_EQ(r.size(), 1u);
  return std::dynamic_pointer_cast<AffineCoordTfm>(r.at(0));
}

TEST(BatchAugment, IdentityWhenEveryProbabilityIsZero) {
  auto t = merged({Flip(0), Rotate(10, 0), Zoom(1, 1.1, 0), Warp(0.2, 0)});
  auto img = at::rand({2, 3, 16, 12});
  auto mask = at::randint(0, 5, {2, 16, 12}, at::kLong);
  auto pts = at::rand({2, 5, 2}) * 2 - 1;
  seed_thread_rng(1);
  Tuple out = (*t)(Tuple{TensorImage(img), TensorMask(mask), TensorPoint(pts)}, 0);
  EXPECT_TRUE(at::allclose(out[0].get<TensorImage>().data, img, 1e-5, 1e-5));
  EXPECT_TRUE(at::equal(out[1].get<TensorMask>().data, mask));
  EXPECT_TRUE(at::allclose(out[2].get<TensorPoint>().data, pts, 1e-5, 1e-6));
}

TEST(BatchAugment, PureFlipEqualsAtFlip) {
  auto t = Flip(1.0);
  auto img = at::rand({2, 3, 8, 12});
  auto mask = at::randint(0, 4, {2, 8, 12}, at::kLong);
  auto box = at::tensor({-0.5, -0.2, 0.3, 0.4}, at::kFloat).view({1, 1, 4}).expand({2, 1, 4}).contiguous();
  Tuple out = (*t)(Tuple{TensorImageBW(img), TensorMask(mask), TensorBBox(box)}, 0);
  EXPECT_TRUE(out[0].is<TensorImageBW>());  // subtype kept
  EXPECT_LT((out[0].get<TensorImage>().data - at::flip(img, {3})).abs().max().item<double>(), 1e-5);
  EXPECT_TRUE(at::equal(out[1].get<TensorMask>().data, at::flip(mask, {2})));
  auto want = at::tensor({-0.3, -0.2, 0.5, 0.4}, at::kFloat).view({1, 1, 4}).expand({2, 1, 4});
  EXPECT_TRUE(at::allclose(out[2].get<TensorBBox>().data, want, 1e-5, 1e-6));
}

// A smooth analytic image f(x, y) on -1..1 coords, and its samples on an n x n grid (align_corners).
at::Tensor smooth(const at::Tensor& x, const at::Tensor& y) { return at::sin(3 * x) * at::cos(2 * y) + 0.5 * at::sin(5 * x * y); }

TEST(BatchAugment, OneInterpolationIsMoreAccurateThanTwo) {
  const int64_t n = 32;
  auto lin = at::linspace(-1.0, 1.0, n, at::kDouble);
  auto ys = lin.view({n, 1}).expand({n, n}), xs = lin.view({1, n}).expand({n, n});
  auto img = smooth(xs, ys).to(at::kFloat).view({1, 1, n, n});
  const double th = 10.0 * std::numbers::pi / 180.0, s = 1.0 / 1.1;
  std::vector<double> r = {std::cos(th), -std::sin(th), 0, std::sin(th), std::cos(th), 0, 0, 0, 1};
  std::vector<double> z = {s, 0, 0.03, 0, s, -0.02, 0, 0, 1};
  auto R = maps_of(r), Z = maps_of(z), RZ = at::matmul(R, Z);
  AffineCoordTfm t({}, {});
  auto once = t.apply(Item(TensorImage(img)), RZ).get<TensorImage>().data;
  auto first = t.apply(Item(TensorImage(img)), R);
  auto twice = t.apply(first, Z).get<TensorImage>().data;
  // The exact result: f at input coords RZ * p, for output pixels that map well inside the image.
  auto p = at::stack({xs, ys, at::ones_like(xs)}, -1).view({n * n, 3});
  auto q = at::matmul(p, RZ[0].transpose(0, 1));
  auto qx = q.select(1, 0).view({n, n}), qy = q.select(1, 1).view({n, n});
  auto exact = smooth(qx, qy);
  auto inside = (qx.abs() < 0.9) & (qy.abs() < 0.9);
  auto err = [&](const at::Tensor& o) {
    return (o.view({n, n}).to(at::kDouble) - exact).abs().masked_select(inside).mean().item<double>();
  };
  double e1 = err(once), e2 = err(twice);
  EXPECT_LT(e1, e2);
  EXPECT_LT(e1, 0.8 * e2) << "single " << e1 << " double " << e2;
}

TEST(BatchAugment, MasksKeepTheirLabels) {
  auto t = merged({Rotate(30, 1.0), Zoom(1.2, 1.5, 1.0), Warp(0.2, 1.0)});
  auto mask = at::full({4, 20, 20}, 3, at::kLong);
  mask.narrow(1, 0, 10).fill_(7);
  mask.narrow(2, 0, 5).fill_(0);
  seed_thread_rng(3);
  auto out = (*t)(Item(TensorMask(mask)), 0).get<TensorMask>().data;
  EXPECT_EQ(out.scalar_type(), at::kLong);
  auto u = std::get<0>(at::_unique(out));
  std::set<int64_t> got;
  for (int64_t i = 0; i < u.numel(); ++i) got.insert(u[i].item<int64_t>());
  for (auto v : got) EXPECT_TRUE(v == 0 || v == 3 || v == 7) << v;
  EXPECT_FALSE(at::equal(out, mask));
}

// A bright dot at a point's pixel: after the transform the brightest pixel is where the moved point
// says (within a pixel), on square and non-square images (aspect-corrected maps).
void check_points_follow(int64_t h, int64_t w) {
  auto t = merged({Flip(0.5), Warp(0.2, 1.0), Rotate(30, 1.0), Zoom(1.05, 1.2, 1.0)});
  for (uint64_t seed = 0; seed < 6; ++seed) {
    const int64_t r0 = h / 3 + static_cast<int64_t>(seed) * 3, c0 = w * 5 / 8 - static_cast<int64_t>(seed) * 2;
    auto rr = at::arange(h, at::kDouble).view({h, 1}), cc = at::arange(w, at::kDouble).view({1, w});
    auto img = at::exp(-((rr - r0).pow(2) + (cc - c0).pow(2)) / 4.0).to(at::kFloat).view({1, 1, h, w});
    auto pt = at::tensor({-1 + 2.0 * c0 / (w - 1), -1 + 2.0 * r0 / (h - 1)}, at::kFloat).view({1, 1, 2});
    seed_thread_rng(seed);
    Tuple out = (*t)(Tuple{TensorImage(img), TensorPoint(pt, {w, h})}, 0);
    auto o = out[0].get<TensorImage>().data.view({-1});
    const int64_t am = o.argmax().item<int64_t>();
    auto q = out[1].get<TensorPoint>().data.view({2});
    EXPECT_EQ(out[1].get<TensorPoint>().img_size, (std::vector<int64_t>{w, h}));
    double qc = (q[0].item<double>() + 1) / 2 * static_cast<double>(w - 1);
    double qr = (q[1].item<double>() + 1) / 2 * static_cast<double>(h - 1);
    EXPECT_GT(std::abs(qc - static_cast<double>(c0)) + std::abs(qr - static_cast<double>(r0)), 1.0);  // it moved
    EXPECT_LE(std::abs(qc - static_cast<double>(am % w)), 1.0) << "seed " << seed << " " << h << "x" << w;
    EXPECT_LE(std::abs(qr - static_cast<double>(am / w)), 1.0) << "seed " << seed << " " << h << "x" << w;
  }
}

TEST(BatchAugment, PointsFollowTheImage) {
  check_points_follow(64, 64);
  check_points_follow(48, 80);
}

TEST(BatchAugment, LightingNumbersInLogitSpace) {
  auto x = at::full({1, 1, 1, 1}, 0.25, at::kFloat);
  auto b = Brightness(), c = Contrast();
  EXPECT_NEAR(b->apply(x, {{0.6}}).item<double>(), 0.33333, 1e-5);
  EXPECT_NEAR(b->apply(x, {{0.4}}).item<double>(), 0.18182, 1e-5);
  EXPECT_NEAR(c->apply(x, {{1.25}}).item<double>(), 0.20209, 1e-5);
  EXPECT_NEAR(c->apply(x, {{0.8}}).item<double>(), 0.29341, 1e-5);
  seed_thread_rng(5);
  auto f = Contrast(0.2, 1.0)->draw(2000)[0];
  double lo = *std::min_element(f.begin(), f.end()), hi = *std::max_element(f.begin(), f.end());
  EXPECT_GE(lo, 0.8 - 1e-12);
  EXPECT_LE(hi, 1.25 + 1e-12);
  EXPECT_LT(lo, 0.81);
  EXPECT_GT(hi, 1.23);
  auto fb = Brightness(0.2, 1.0)->draw(2000)[0];
  EXPECT_GE(*std::min_element(fb.begin(), fb.end()), 0.4);
  EXPECT_LE(*std::max_element(fb.begin(), fb.end()), 0.6);
}

TEST(BatchAugment, SaturationMixesWithTheLumaInLogitSpace) {
  auto x = at::tensor({0.25, 0.5, 0.75}, at::kFloat).view({1, 3, 1, 1});
  auto s = Saturation();
  auto y = s->apply(x, {{0.5}}).view({3});
  EXPECT_NEAR(y[0].item<double>(), 0.34279, 1e-5);
  EXPECT_NEAR(y[1].item<double>(), 0.47463, 1e-5);
  EXPECT_NEAR(y[2].item<double>(), 0.61010, 1e-5);
  auto g = s->apply(x, {{0.0}}).view({3});  // c = 0: grey
  EXPECT_NEAR((g - 0.44939).abs().max().item<double>(), 0.0, 1e-5);
  EXPECT_TRUE(at::allclose(s->apply(x, {{1.0}}), x, 1e-5, 1e-6));
  expect_error([&] { (*Saturation(0.2, 1.0))(Item(TensorImage(at::rand({2, 1, 4, 4}))), 0); }, {"saturation", "[2, 1, 4, 4]"});
}

TEST(BatchAugment, PerItemProbabilities) {
  const int64_t bs = 256;
  auto img = at::arange(4, at::kFloat).view({1, 1, 1, 4}).expand({bs, 1, 1, 4}).contiguous();
  seed_thread_rng(11);
  auto out = (*Flip(0.5))(Item(TensorImage(img)), 0).get<TensorImage>().data;
  auto flipped = (out - at::flip(img, {3})).abs().amax({1, 2, 3}) < 1e-4;
  const int64_t k = flipped.sum().item<int64_t>();
  EXPECT_GE(k, 128 - 40);  // binomial(256, 0.5): sd 8, +-5 sd
  EXPECT_LE(k, 128 + 40);
  auto f = Brightness(0.2, 0.5)->draw(bs)[0];
  int64_t changed = 0;
  for (double v : f) changed += v != 0.5;
  EXPECT_GE(changed, 88);
  EXPECT_LE(changed, 168);
  seed_thread_rng(12);
  auto all = (*Flip(0.5, {.batch = true}))(Item(TensorImage(img)), 0).get<TensorImage>().data;
  auto same = (all - all[0]).abs().max().item<double>();
  EXPECT_LT(same, 1e-6);  // batch = true: one draw for all items
}

TEST(BatchAugment, SeededDeterminismAndValidationIdentity) {
  auto tfms = aug_transforms();
  ASSERT_EQ(tfms.size(), 2u);
  auto img = at::rand({3, 3, 16, 16}), mask = at::randint(0, 3, {3, 16, 16}, at::kLong);
  auto run = [&](uint64_t seed, std::optional<int> split) {
    seed_thread_rng(seed);
    Tuple x{TensorImage(img), TensorMask(mask)};
    for (const auto& t : tfms) x = (*t)(x, split);
    return x;
  };
  auto a = run(9, 0), b = run(9, 0), c = run(10, 0);
  EXPECT_TRUE(at::equal(a[0].get<TensorImage>().data, b[0].get<TensorImage>().data));
  EXPECT_TRUE(at::equal(a[1].get<TensorMask>().data, b[1].get<TensorMask>().data));
  EXPECT_FALSE(at::equal(a[0].get<TensorImage>().data, c[0].get<TensorImage>().data));
  auto v = run(9, 1);
  EXPECT_TRUE(v[0].get<TensorImage>().data.is_same(img));
  EXPECT_TRUE(v[1].get<TensorMask>().data.is_same(mask));
}

TEST(BatchAugment, AugTransformsStructureAndState) {
  auto tfms = aug_transforms();
  auto aff = std::dynamic_pointer_cast<AffineCoordTfm>(tfms.at(0));
  auto lig = std::dynamic_pointer_cast<LightingTfm>(tfms.at(1));
  ASSERT_TRUE(aff && lig);
  EXPECT_EQ(aff->order, 30);
  EXPECT_EQ(lig->order, 40);
  EXPECT_EQ(aff->split_idx, std::optional<int>(0));
  EXPECT_EQ(lig->split_idx, std::optional<int>(0));
  std::vector<std::string> kinds;
  for (const auto& op : aff->ops()) kinds.push_back(op.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"flip", "warp", "rotate", "zoom"}));
  EXPECT_DOUBLE_EQ(aff->ops()[0].p, 0.5);
  EXPECT_DOUBLE_EQ(aff->ops()[2].a, 10.0);
  EXPECT_DOUBLE_EQ(aff->ops()[2].p, 0.75);
  ASSERT_EQ(lig->ops().size(), 2u);
  EXPECT_EQ(lig->ops()[0].kind, "brightness");
  EXPECT_EQ(lig->ops()[1].kind, "contrast");
  auto t2 = aug_transforms({.mult = 2.0, .flip_vert = true, .max_lighting = 0});
  ASSERT_EQ(t2.size(), 1u);
  auto a2 = std::dynamic_pointer_cast<AffineCoordTfm>(t2[0]);
  EXPECT_EQ(a2->ops()[0].kind, "dihedral");
  EXPECT_DOUBLE_EQ(a2->ops()[2].a, 20.0);
  for (const auto& t : tfms) {
    auto back = make_transform(t->name(), t->state());
    EXPECT_EQ(back->state(), t->state());
    EXPECT_EQ(back->order, t->order);
  }
}

TEST(BatchAugment, BadInputNamesTheTransformAndShape) {
  auto t = Rotate(10, 1.0);
  expect_error([&] { (*t)(Item(TensorImage(at::zeros({2, 3, 8, 8}, at::kByte))), 0); },
               {"AffineCoordTfm", "Byte", "[2, 3, 8, 8]", "IntToFloatTensor"});
  expect_error([&] { (*t)(Item(TensorImage(at::zeros({3, 8, 8}))), 0); }, {"AffineCoordTfm", "[3, 8, 8]"});
  expect_error([&] { (*t)(Item(TensorPoint(at::zeros({2, 5, 3}))), 0); }, {"AffineCoordTfm", "[2, 5, 3]"});
  expect_error([&] { (*Brightness())(Item(TensorImage(at::zeros({3, 8, 8}))), 0); }, {"LightingTfm", "[3, 8, 8]"});
  expect_error([] { Zoom(1.2, 1.0); }, {"Zoom", "min_zoom"});
  expect_error([] { Flip(0.5, {.pad_mode = "wrap"}); }, {"pad_mode", "wrap"});
}

}  // namespace batch_augment_test
