// Batch augmentation, second part: AffineCoordTfm's output `size` (one grid at the new size, one
// interpolation), RandomResizedCropGPU (window geometry on ramps and points, validation centre
// crop, window statistics), aug_transforms(size, min_scale), Hue (HSV conversions and shifts),
// state round trips and option errors.
#include "test_util.h"
#include "fastai/core/random.h"
#include "fastai/vision/batch_augment.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <set>

namespace batch_augment_size_test {

using namespace fastai;  // NOLINT: test file
using fastai::testing::expect_error;

at::Tensor maps_of(std::vector<double> m) { return at::tensor(m, at::kDouble).view({-1, 3, 3}); }
at::Tensor eye_maps(int64_t bs) { return at::eye(3, at::kDouble).unsqueeze(0).expand({bs, 3, 3}).contiguous(); }

// A ramp image v(row, col) = col + 100 row, [bs,1,h,w] float.
at::Tensor ramp(int64_t bs, int64_t h, int64_t w) {
  auto r = at::arange(h, at::kDouble).view({h, 1}), c = at::arange(w, at::kDouble).view({1, w});
  return (c + 100.0 * r).to(at::kFloat).view({1, 1, h, w}).expand({bs, 1, h, w}).contiguous();
}

// The expected ramp values of the window (top, left, ch, cw) stretched (align_corners) over oh x ow.
at::Tensor window_ramp(int64_t top, int64_t left, int64_t ch, int64_t cw, int64_t oh, int64_t ow) {
  auto i = at::arange(oh, at::kDouble).view({oh, 1}), j = at::arange(ow, at::kDouble).view({1, ow});
  auto rows = static_cast<double>(top) + i * static_cast<double>(ch - 1) / static_cast<double>(oh - 1);
  auto cols = static_cast<double>(left) + j * static_cast<double>(cw - 1) / static_cast<double>(ow - 1);
  return cols + 100.0 * rows;
}

at::Tensor smooth(const at::Tensor& x, const at::Tensor& y) { return at::sin(3 * x) * at::cos(2 * y) + 0.5 * at::sin(5 * x * y); }

TEST(BatchAugmentSize, OutputSizeInOneInterpolation) {
  const int64_t n = 32, oh = 24, ow = 40;
  auto lin = at::linspace(-1.0, 1.0, n, at::kDouble);
  auto img = smooth(lin.view({1, n}).expand({n, n}), lin.view({n, 1}).expand({n, n})).to(at::kFloat).view({1, 1, n, n});
  const double th = 12.0 * std::numbers::pi / 180.0, s = 1.0 / 1.15;
  auto R = maps_of({std::cos(th), -std::sin(th), 0, std::sin(th), std::cos(th), 0, 0, 0, 1});
  auto Z = maps_of({s, 0, 0.04, 0, s, -0.03, 0, 0, 1});
  auto RZ = at::matmul(R, Z);
  AffineCoordTfm sized({}, {.size = ImageSize(oh, ow)}), plain({}, {});
  auto once = sized.apply(Item(TensorImage(img)), RZ).get<TensorImage>().data;
  ASSERT_EQ(once.sizes(), (at::IntArrayRef{1, 1, oh, ow}));
  auto twice = sized.apply(plain.apply(Item(TensorImage(img)), RZ), eye_maps(1)).get<TensorImage>().data;
  ASSERT_EQ(twice.sizes(), (at::IntArrayRef{1, 1, oh, ow}));
  // Exact: f at input coords RZ p for the output grid p (align_corners, oh x ow).
  auto ys = at::linspace(-1.0, 1.0, oh, at::kDouble).view({oh, 1}).expand({oh, ow});
  auto xs = at::linspace(-1.0, 1.0, ow, at::kDouble).view({1, ow}).expand({oh, ow});
  auto q = at::matmul(at::stack({xs, ys, at::ones_like(xs)}, -1).view({oh * ow, 3}), RZ[0].transpose(0, 1));
  auto qx = q.select(1, 0).view({oh, ow}), qy = q.select(1, 1).view({oh, ow});
  auto exact = smooth(qx, qy);
  auto inside = (qx.abs() < 0.9) & (qy.abs() < 0.9);
  auto err = [&](const at::Tensor& o) { return (o.view({oh, ow}).to(at::kDouble) - exact).abs().masked_select(inside).mean().item<double>(); };
  const double e1 = err(once), e2 = err(twice);
  EXPECT_LT(e1, 0.8 * e2) << "single " << e1 << " double " << e2;
}

TEST(BatchAugmentSize, ValidationIsAPlainResize) {
  auto t = Rotate(30, 1.0, {.size = ImageSize(16, 24)});
  EXPECT_EQ(t->split_idx, std::nullopt);  // fastai: resizes on every split
  EXPECT_EQ(Rotate(30, 1.0)->split_idx, std::optional<int>(0));
  auto img = at::rand({2, 3, 20, 20});
  auto v = (*t)(Item(TensorImage(img)), 1).get<TensorImage>().data;
  auto want = at::upsample_bilinear2d(img, {16, 24}, true);
  EXPECT_LT((v - want).abs().max().item<double>(), 1e-5);
  seed_thread_rng(2);
  auto tr = (*t)(Item(TensorImage(img)), 0).get<TensorImage>().data;
  EXPECT_EQ(tr.sizes(), (at::IntArrayRef{2, 3, 16, 24}));
  EXPECT_GT((tr - want).abs().max().item<double>(), 1e-2);  // rotated on train
  // A ramp resized exactly (bilinear reproduces a linear function).
  auto r = (*t)(Item(TensorImage(ramp(1, 20, 30))), 1).get<TensorImage>().data.view({16, 24});
  EXPECT_LT((r.to(at::kDouble) - window_ramp(0, 0, 20, 30, 16, 24)).abs().max().item<double>(), 2e-3);
}

// fastai's _grid_sample: a big bilinear downsize area-averages first. A 1-pixel checkerboard
// 64 -> 16 (d = 2): 2x2 blocks average to 0.5 exactly, then the grid samples a constant.
TEST(BatchAugmentSize, BigDownsizesAreaAverageFirstAsFastai) {
  auto r = at::arange(64, at::kLong).view({64, 1}), c = at::arange(64, at::kLong).view({1, 64});
  auto board = ((r + c) % 2).to(at::kFloat).view({1, 1, 64, 64}).expand({2, 3, 64, 64}).contiguous();
  AffineCoordTfm aa({}, {.size = ImageSize(16)}), raw({}, {.size = ImageSize(16), .antialias = false});
  auto a = aa.apply(Item(TensorImage(board)), eye_maps(2)).get<TensorImage>().data;
  ASSERT_EQ(a.sizes(), (at::IntArrayRef{2, 3, 16, 16}));
  EXPECT_LT((a - 0.5).abs().max().item<double>(), 1e-5);
  auto b = raw.apply(Item(TensorImage(board)), eye_maps(2)).get<TensorImage>().data;
  EXPECT_GT((b - 0.5).abs().max().item<double>(), 0.1);  // plain bilinear aliases
  // A zoom-in by more than d: no pre-pass (fastai: d > z needed).
  auto zoomed = aa.apply(Item(TensorImage(board)), maps_of({0.25, 0, 0, 0, 0.25, 0, 0, 0, 1}).expand({2, 3, 3}).contiguous());
  auto zraw = raw.apply(Item(TensorImage(board)), maps_of({0.25, 0, 0, 0, 0.25, 0, 0, 0, 1}).expand({2, 3, 3}).contiguous());
  EXPECT_TRUE(at::allclose(zoomed.get<TensorImage>().data, zraw.get<TensorImage>().data));
  // RandomResizedCropGPU: the validation window is the whole 64 x 64 image, 2x the output.
  RandomResizedCropGPU rrc(ImageSize(16));
  auto v = rrc(Item(TensorImage(board)), 1).get<TensorImage>().data;
  EXPECT_LT((v - 0.5).abs().max().item<double>(), 1e-5);
}

TEST(BatchAugmentSize, MasksKeepIntegerLabelsAtTheNewSize) {
  auto mask = at::full({2, 20, 20}, 2, at::kLong);
  mask.narrow(2, 0, 10).fill_(1);
  AffineCoordTfm t({}, {.size = ImageSize(7, 10)});
  auto r = t.apply(Item(TensorMask(mask)), eye_maps(2)).get<TensorMask>().data;
  ASSERT_EQ(r.sizes(), (at::IntArrayRef{2, 7, 10}));
  EXPECT_EQ(r.scalar_type(), at::kLong);
  // Output column j samples input column round(j * 19 / 9): j <= 4 -> < 10 (label 1), j >= 5 -> label 2.
  EXPECT_TRUE(at::equal(r.narrow(2, 0, 5), at::ones({2, 7, 5}, at::kLong)));
  EXPECT_TRUE(at::equal(r.narrow(2, 5, 5), at::full({2, 7, 5}, 2, at::kLong)));
  auto rot = setup_aug_tfms({Rotate(30, 1.0, {.size = ImageSize(13, 17)}), Zoom(1.1, 1.3, 1.0)}).at(0);
  seed_thread_rng(4);
  auto o = (*rot)(Item(TensorMask(mask)), 0).get<TensorMask>().data;
  ASSERT_EQ(o.sizes(), (at::IntArrayRef{2, 13, 17}));
  auto u = std::get<0>(at::_unique(o));
  for (int64_t i = 0; i < u.numel(); ++i) EXPECT_TRUE(u[i].item<int64_t>() == 1 || u[i].item<int64_t>() == 2);
}


// A bright dot at a point's pixel: after the transform (output size differs from the input, and its
// aspect too) the brightest output pixel is where the moved point says, read at the output size.
TEST(BatchAugmentSize, PointsFollowTheImageAtTheNewSize) {
  const int64_t h = 48, w = 64, oh = 36, ow = 40;
  auto t = std::dynamic_pointer_cast<AffineCoordTfm>(
      setup_aug_tfms({Flip(0.5, {.size = ImageSize(oh, ow)}), Rotate(25, 1.0), Zoom(1.05, 1.2, 1.0)}).at(0));
  ASSERT_TRUE(t);
  for (uint64_t seed = 0; seed < 5; ++seed) {
    const int64_t r0 = 18 + static_cast<int64_t>(seed) * 2, c0 = 36 - static_cast<int64_t>(seed) * 3;
    auto rr = at::arange(h, at::kDouble).view({h, 1}), cc = at::arange(w, at::kDouble).view({1, w});
    auto img = at::exp(-((rr - r0).pow(2) + (cc - c0).pow(2)) / 4.0).to(at::kFloat).view({1, 1, h, w});
    auto pt = at::tensor({-1 + 2.0 * c0 / (w - 1), -1 + 2.0 * r0 / (h - 1)}, at::kFloat).view({1, 1, 2});
    seed_thread_rng(seed);
    Tuple out = (*t)(Tuple{TensorImage(img), TensorPoint(pt, {w, h})}, 0);
    auto o = out[0].get<TensorImage>().data;
    ASSERT_EQ(o.sizes(), (at::IntArrayRef{1, 1, oh, ow}));
    EXPECT_EQ(out[1].get<TensorPoint>().img_size, (std::vector<int64_t>{ow, oh}));
    const int64_t am = o.view({-1}).argmax().item<int64_t>();
    auto q = out[1].get<TensorPoint>().data.view({2});
    const double qc = (q[0].item<double>() + 1) / 2 * static_cast<double>(ow - 1);
    const double qr = (q[1].item<double>() + 1) / 2 * static_cast<double>(oh - 1);
    EXPECT_LE(std::abs(qc - static_cast<double>(am % ow)), 1.0) << "seed " << seed;
    EXPECT_LE(std::abs(qr - static_cast<double>(am / ow)), 1.0) << "seed " << seed;
  }
  // A pure resize leaves relative points where they were.
  AffineCoordTfm rs({}, {.size = ImageSize(10, 30)});
  auto p = at::rand({2, 4, 2}) * 2 - 1;
  auto moved = rs.apply(Item(TensorPoint(p, {64, 48})), eye_maps(2)).get<TensorPoint>();
  EXPECT_TRUE(at::allclose(moved.data, p, 1e-5, 1e-6));
  EXPECT_EQ(moved.img_size, (std::vector<int64_t>{30, 10}));
}

TEST(BatchAugmentSize, RandomResizedCropKnownWindow) {
  const int64_t h = 64, w = 80, top = 10, left = 20, ch = 21, cw = 31, oh = 11, ow = 16;
  RandomResizedCropGPU t(ImageSize(oh, ow));
  auto maps = RandomResizedCropGPU::window_maps({{top, left, ch, cw}, {0, 0, h, w}}, h, w);
  auto out = t.apply(Item(TensorImage(ramp(2, h, w))), maps).get<TensorImage>().data;
  ASSERT_EQ(out.sizes(), (at::IntArrayRef{2, 1, oh, ow}));
  EXPECT_LT((out[0][0].to(at::kDouble) - window_ramp(top, left, ch, cw, oh, ow)).abs().max().item<double>(), 5e-3);
  EXPECT_LT((out[1][0].to(at::kDouble) - window_ramp(0, 0, h, w, oh, ow)).abs().max().item<double>(), 5e-3);
  // A point at input pixel (r, c) lands at output pixel ((r - top) (oh-1)/(ch-1), (c - left) (ow-1)/(cw-1)).
  const double r = 25, c = 38;
  auto pt = at::tensor({-1 + 2.0 * c / (w - 1), -1 + 2.0 * r / (h - 1)}, at::kFloat).view({1, 1, 2}).expand({2, 1, 2}).contiguous();
  auto q = t.apply(Item(TensorPoint(pt, {w, h})), maps).get<TensorPoint>();
  EXPECT_EQ(q.img_size, (std::vector<int64_t>{ow, oh}));
  const double qc = (q.data[0][0][0].item<double>() + 1) / 2 * (ow - 1), qr = (q.data[0][0][1].item<double>() + 1) / 2 * (oh - 1);
  EXPECT_NEAR(qc, (c - left) * (ow - 1) / static_cast<double>(cw - 1), 1e-4);
  EXPECT_NEAR(qr, (r - top) * (oh - 1) / static_cast<double>(ch - 1), 1e-4);
  // Boxes: the window's own corners map to the output corners.
  const double x1 = -1 + 2.0 * left / (w - 1), y1 = -1 + 2.0 * top / (h - 1);
  const double x2 = -1 + 2.0 * (left + cw - 1) / (w - 1), y2 = -1 + 2.0 * (top + ch - 1) / (h - 1);
  auto box = at::tensor({x1, y1, x2, y2}, at::kFloat).view({1, 1, 4}).expand({2, 1, 4}).contiguous();
  auto b = t.apply(Item(TensorBBox(box, {w, h})), maps).get<TensorBBox>().data;
  EXPECT_TRUE(at::allclose(b[0], at::tensor({-1.0, -1.0, 1.0, 1.0}, at::kFloat).view({1, 4}), 1e-4, 1e-5));
  // Masks: nearest, labels kept, at the output size.
  auto mask = (ramp(2, h, w).squeeze(1).to(at::kLong) % 7);
  auto m = t.apply(Item(TensorMask(mask)), maps).get<TensorMask>().data;
  ASSERT_EQ(m.sizes(), (at::IntArrayRef{2, oh, ow}));
  EXPECT_EQ(m[0][0][0].item<int64_t>(), mask[0][top][left].item<int64_t>());
  EXPECT_EQ(m[0][oh - 1][ow - 1].item<int64_t>(), mask[0][top + ch - 1][left + cw - 1].item<int64_t>());
}

TEST(BatchAugmentSize, RandomResizedCropValidationIsTheCentreCrop) {
  RandomResizedCropGPU t(ImageSize(16, 16), {.valid_scale = 0.5});
  EXPECT_EQ(t.order, 30);
  EXPECT_EQ(t.split_idx, std::nullopt);
  auto v = t(Item(TensorImage(ramp(2, 40, 40))), 1).get<TensorImage>().data;  // window (10, 10, 20, 20)
  ASSERT_EQ(v.sizes(), (at::IntArrayRef{2, 1, 16, 16}));
  EXPECT_LT((v[1][0].to(at::kDouble) - window_ramp(10, 10, 20, 20, 16, 16)).abs().max().item<double>(), 5e-3);
  // A wide image: clipped to ratio 4/3 (cw = int(30 * 4/3) = 40), centred: window (0, 10, 30, 40).
  RandomResizedCropGPU wide(ImageSize(15, 20));
  auto wins = wide.draw_windows(3, 30, 60, false);
  for (const auto& win : wins) EXPECT_EQ(win, (std::array<int64_t, 4>{0, 10, 30, 40}));
  auto wv = wide(Item(TensorImage(ramp(1, 30, 60))), 1).get<TensorImage>().data;
  EXPECT_LT((wv[0][0].to(at::kDouble) - window_ramp(0, 10, 30, 40, 15, 20)).abs().max().item<double>(), 5e-3);
  auto wn = wide(Item(TensorImage(ramp(1, 30, 60))), std::nullopt).get<TensorImage>().data;  // no split: not training
  EXPECT_TRUE(at::equal(wn, wv));
}

TEST(BatchAugmentSize, RandomResizedCropWindowStatistics) {
  const int64_t h = 100, w = 120;
  const double min_scale = 0.3;
  RandomResizedCropGPU t(ImageSize(32), {.min_scale = min_scale});
  seed_thread_rng(7);
  auto wins = t.draw_windows(2000, h, w, true);
  ASSERT_EQ(wins.size(), 2000u);
  double min_frac = 1.0, max_frac = 0.0, min_ar = 10.0, max_ar = 0.0;
  std::set<std::array<int64_t, 4>> distinct;
  for (const auto& [top, left, ch, cw] : wins) {
    ASSERT_GE(top, 0);
    ASSERT_GE(left, 0);
    ASSERT_LE(top + ch, h);
    ASSERT_LE(left + cw, w);
    const double fch = static_cast<double>(ch), fcw = static_cast<double>(cw);
    // Sides are rounded: allow half a pixel on each.
    EXPECT_GE((fch + 0.5) * (fcw + 0.5), min_scale * h * w);
    EXPECT_LE((fcw - 0.5) / (fch + 0.5), 4.0 / 3.0);
    EXPECT_GE((fcw + 0.5) / (fch - 0.5), 3.0 / 4.0);
    min_frac = std::min(min_frac, fch * fcw / (h * w)), max_frac = std::max(max_frac, fch * fcw / (h * w));
    min_ar = std::min(min_ar, fcw / fch), max_ar = std::max(max_ar, fcw / fch);
    distinct.insert({top, left, ch, cw});
  }
  EXPECT_LT(min_frac, min_scale + 0.03);  // the whole range is drawn
  EXPECT_GT(max_frac, 0.9);
  EXPECT_LT(min_ar, 0.8);
  EXPECT_GT(max_ar, 1.25);
  EXPECT_GT(distinct.size(), 1500u);  // a window per item
  RandomResizedCropGPU tb(ImageSize(32), {.min_scale = min_scale, .batch = true});
  auto wb = tb.draw_windows(8, h, w, true);
  for (const auto& win : wb) EXPECT_EQ(win, wb[0]);  // batch: one window (fastai's behaviour)
  // Through the transform: every item resized to the size, a batch of windows per call.
  seed_thread_rng(8);
  auto out = t(Item(TensorImage(at::rand({4, 3, h, w}))), 0).get<TensorImage>().data;
  EXPECT_EQ(out.sizes(), (at::IntArrayRef{4, 3, 32, 32}));
}

TEST(BatchAugmentSize, AugTransformsSizeAndMinScale) {
  auto t0 = aug_transforms({.size = 224, .max_warp = 0});  // design.md's user code compiles
  auto a0 = std::dynamic_pointer_cast<AffineCoordTfm>(t0.at(0));
  ASSERT_TRUE(a0 && a0->options().size);
  EXPECT_EQ(a0->ops().size(), 3u);  // flip, rotate, zoom
  auto t1 = aug_transforms({.size = 24});
  ASSERT_EQ(t1.size(), 2u);
  auto aff = std::dynamic_pointer_cast<AffineCoordTfm>(t1[0]);
  ASSERT_TRUE(aff && aff->options().size);
  EXPECT_EQ(aff->options().size->h, 24);
  EXPECT_EQ(aff->options().size->w, 24);
  auto img = at::rand({2, 3, 40, 30});
  seed_thread_rng(1);
  for (int split : {0, 1}) {
    Tuple x{TensorImage(img)};
    for (const auto& t : t1) x = (*t)(x, split);
    EXPECT_EQ(x[0].get<TensorImage>().data.sizes(), (at::IntArrayRef{2, 3, 24, 24})) << "split " << split;
  }
  auto t2 = aug_transforms({.size = ImageSize(24, 32), .min_scale = 0.75});
  ASSERT_EQ(t2.size(), 3u);
  auto aff2 = std::dynamic_pointer_cast<AffineCoordTfm>(t2[0]);
  auto rrc = std::dynamic_pointer_cast<RandomResizedCropGPU>(t2[2]);
  ASSERT_TRUE(aff2 && rrc && std::dynamic_pointer_cast<LightingTfm>(t2[1]));
  EXPECT_FALSE(aff2->options().size);  // fastai: the size goes to the crop
  EXPECT_EQ(rrc->size().h, 24);
  EXPECT_EQ(rrc->size().w, 32);
  EXPECT_DOUBLE_EQ(rrc->options().min_scale, 0.75);
  EXPECT_DOUBLE_EQ(rrc->options().ratio.first, 1.0);
  EXPECT_DOUBLE_EQ(rrc->options().ratio.second, 1.0);
  EXPECT_FALSE(rrc->options().batch);
  auto t3 = aug_transforms({.size = 24, .batch = true, .min_scale = 0.5});
  auto rrc3 = std::dynamic_pointer_cast<RandomResizedCropGPU>(t3.at(2));
  ASSERT_TRUE(rrc3);
  EXPECT_TRUE(rrc3->options().batch);
  for (int split : {0, 1}) {
    Tuple x{TensorImage(img), TensorMask(at::randint(0, 3, {2, 40, 30}, at::kLong))};
    for (const auto& t : t2) x = (*t)(x, split);
    EXPECT_EQ(x[0].get<TensorImage>().data.sizes(), (at::IntArrayRef{2, 3, 24, 32})) << "split " << split;
    EXPECT_EQ(x[1].get<TensorMask>().data.sizes(), (at::IntArrayRef{2, 24, 32})) << "split " << split;
  }
  expect_error([] { aug_transforms({.size = 24, .min_scale = 1.5}); }, {"aug_transforms", "min_scale", "1.5"});
  expect_error([] { aug_transforms({.min_scale = 0.5}); }, {"aug_transforms", "min_scale", "size"});
  expect_error([] { aug_transforms({.size = 0}); }, {"aug_transforms", "size"});
}

TEST(BatchAugmentSize, RgbHsvConversions) {
  auto x = at::rand({4, 3, 5, 6}, at::kDouble);
  auto back = hsv2rgb(rgb2hsv(x));
  EXPECT_LT((back - x).abs().max().item<double>(), 1e-5);
  auto xf = at::rand({2, 3, 7, 7});
  EXPECT_LT((hsv2rgb(rgb2hsv(xf)) - xf).abs().max().item<double>(), 1e-5);
  // (0.2, 0.4, 0.8): blue largest, h = (4 + (r - g) / (max - min)) / 6 = (4 - 1/3) / 6, s = 0.6 / 0.8, v = 0.8.
  auto hsv = rgb2hsv(at::tensor({0.2, 0.4, 0.8}, at::kDouble).view({1, 3, 1, 1})).view({3});
  EXPECT_NEAR(hsv[0].item<double>(), (4.0 - 1.0 / 3.0) / 6.0, 1e-12);
  EXPECT_NEAR(hsv[1].item<double>(), 0.75, 1e-12);
  EXPECT_NEAR(hsv[2].item<double>(), 0.8, 1e-12);
  auto grey = rgb2hsv(at::full({1, 3, 1, 1}, 0.3, at::kDouble)).view({3});
  EXPECT_EQ(grey[0].item<double>(), 0.0);
  EXPECT_EQ(grey[1].item<double>(), 0.0);
  expect_error([] { rgb2hsv(at::rand({1, 1, 4, 4})); }, {"rgb2hsv", "[1, 1, 4, 4]"});
}

TEST(BatchAugmentSize, HueShiftsTheHue) {
  auto h = Hue();
  ASSERT_EQ(h->ops().size(), 1u);
  EXPECT_EQ(h->ops()[0].kind, "hue");
  EXPECT_EQ(h->order, 40);
  auto red = at::tensor({1.0, 0.0, 0.0}, at::kFloat).view({1, 3, 1, 1});
  auto g = h->apply(red, {{1.0 / 3.0}}).view({3});
  EXPECT_LT((g - at::tensor({0.0, 1.0, 0.0}, at::kFloat)).abs().max().item<double>(), 1e-5);
  auto b = h->apply(h->apply(red, {{1.0 / 3.0}}), {{1.0 / 3.0}}).view({3});
  EXPECT_LT((b - at::tensor({0.0, 0.0, 1.0}, at::kFloat)).abs().max().item<double>(), 1e-5);
  auto back = h->apply(red, {{-1.0}}).view({3});  // a whole turn
  EXPECT_LT((back - red.view({3})).abs().max().item<double>(), 1e-5);
  auto grey = at::rand({3, 1, 4, 4}).expand({3, 3, 4, 4}).contiguous();
  EXPECT_LT((h->apply(grey, {{0.1, 0.25, -0.3}}) - grey).abs().max().item<double>(), 1e-5);
  // Draws: fastai's exp(U(log(1-m), -log(1-m))) added mod 1 = shifts in [-m, m/(1-m)]; 0 when not drawn.
  seed_thread_rng(3);
  auto f = Hue(0.2, 1.0)->draw(2000)[0];
  const double lo = *std::min_element(f.begin(), f.end()), hi = *std::max_element(f.begin(), f.end());
  EXPECT_GE(lo, -0.2 - 1e-12);
  EXPECT_LE(hi, 0.25 + 1e-12);
  EXPECT_LT(lo, -0.19);
  EXPECT_GT(hi, 0.24);
  auto f0 = Hue(0.2, 0.0)->draw(50)[0];
  for (double v : f0) EXPECT_EQ(v, 0.0);
  expect_error([] { (*Hue(0.1, 1.0))(Item(TensorImage(at::rand({2, 1, 4, 4}))), 0); }, {"hue", "[2, 1, 4, 4]"});
}

TEST(BatchAugmentSize, HueComposesInOrderWithTheLightingOps) {
  auto lig = std::dynamic_pointer_cast<LightingTfm>(setup_aug_tfms({Brightness(0.2, 1.0), Hue(0.1, 1.0), Contrast(0.2, 1.0)}).at(0));
  ASSERT_TRUE(lig);
  ASSERT_EQ(lig->ops().size(), 3u);
  EXPECT_EQ(lig->ops()[1].kind, "hue");
  auto x = at::rand({2, 3, 5, 5});
  auto all = lig->apply(x, {{0.6, 0.45}, {0.3, -0.2}, {1.2, 0.9}});
  auto step = Brightness()->apply(x, {{0.6, 0.45}});
  step = Hue()->apply(step, {{0.3, -0.2}});
  step = Contrast()->apply(step, {{1.2, 0.9}});
  EXPECT_LT((all - step).abs().max().item<double>(), 1e-5);
  auto swapped = Hue()->apply(Contrast()->apply(Brightness()->apply(x, {{0.6, 0.45}}), {{1.2, 0.9}}), {{0.3, -0.2}});
  EXPECT_GT((all - swapped).abs().max().item<double>(), 1e-3);  // the order matters, and is kept
}

TEST(BatchAugmentSize, StateRoundTrips) {
  std::vector<std::shared_ptr<Transform>> ts = {
      Rotate(20, 0.6, {.mode = "nearest", .size = ImageSize(12, 18)}),
      std::make_shared<RandomResizedCropGPU>(ImageSize(10, 14), RandomResizedCropGPUOptions{
          .min_scale = 0.4, .ratio = {0.9, 1.1}, .mode = "bicubic", .valid_scale = 0.8, .max_scale = 0.9, .batch = true}),
      Hue(0.15, 0.5, true)};
  for (const auto& t : ts) {
    auto back = make_transform(t->name(), t->state());
    EXPECT_EQ(back->state(), t->state()) << t->name();
    EXPECT_EQ(back->order, t->order) << t->name();
    EXPECT_EQ(back->split_idx, t->split_idx) << t->name();
  }
  auto a = std::dynamic_pointer_cast<AffineCoordTfm>(make_transform("AffineCoordTfm", ts[0]->state()));
  ASSERT_TRUE(a && a->options().size);
  EXPECT_EQ(a->options().size->h, 12);
  EXPECT_EQ(a->options().size->w, 18);
  auto r = std::dynamic_pointer_cast<RandomResizedCropGPU>(make_transform("RandomResizedCropGPU", ts[1]->state()));
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(r->options().valid_scale, 0.8);
  EXPECT_DOUBLE_EQ(r->options().ratio.second, 1.1);
  auto img = ramp(1, 30, 30);
  EXPECT_TRUE(at::equal((*r)(Item(TensorImage(img)), 1).get<TensorImage>().data,
                        (*ts[1])(Item(TensorImage(img)), 1).get<TensorImage>().data));
  // Without size the state has none and the transform stays train-only.
  auto plain = make_transform("AffineCoordTfm", Rotate()->state());
  EXPECT_FALSE(plain->state().contains("size"));
  EXPECT_EQ(plain->split_idx, std::optional<int>(0));
}

TEST(BatchAugmentSize, BadOptionsNameTheOption) {
  expect_error([] { Rotate(10, 0.5, {.size = ImageSize(0, 10)}); }, {"AffineCoordTfm", "size", "(0, 10)"});
  expect_error([] { RandomResizedCropGPU(ImageSize(0)); }, {"RandomResizedCropGPU", "size"});
  expect_error([] { RandomResizedCropGPU(ImageSize(8), {.min_scale = 1.2}); }, {"RandomResizedCropGPU", "min_scale", "1.2"});
  expect_error([] { RandomResizedCropGPU(ImageSize(8), {.ratio = {2.0, 1.0}}); }, {"RandomResizedCropGPU", "ratio"});
  expect_error([] { RandomResizedCropGPU(ImageSize(8), {.valid_scale = 0}); }, {"RandomResizedCropGPU", "valid_scale"});
  expect_error([] { Hue(-0.1); }, {"Hue", "max_hue", "-0.1"});
  expect_error([] { Hue(1.0); }, {"Hue", "max_hue"});
  expect_error([] { make_transform("LightingTfm", {{"ops", {{{"kind", "hue"}, {"max_lighting", -0.5}}}}}); }, {"hue", "max_hue"});
  expect_error([] { make_transform("AffineCoordTfm", {{"size", {0, 4}}}); }, {"AffineCoordTfm", "size"});
}

}  // namespace batch_augment_size_test
