// Vision item transforms move an image, its mask, its points and its boxes together: one bright
// pixel, the same pixel labelled in the mask, a point at its centre and a box around it still agree
// after flips, dihedral ops, crops and pads; boxes are clipped to the output.
#include "fastai/core/random.h"
#include "fastai/vision/augment.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>
#include <tuple>
#include <vector>

namespace augment_coords_test {

using namespace fastai;  // NOLINT: test file

constexpr int64_t kH = 9, kW = 13, kY = 2, kX = 3;

Item sample() {
  auto img = at::zeros({1, kH, kW}, at::kByte);
  img[0][kY][kX] = 255;
  auto mask = at::zeros({kH, kW}, at::kLong);
  mask[kY][kX] = 1;
  auto pt = at::tensor({kX + 0.5f, kY + 0.5f}).view({1, 2});
  auto box = at::tensor({float(kX), float(kY), kX + 1.f, kY + 1.f}).view({1, 4});
  return Item::make<Tuple>({TensorImage(img), TensorMask(mask), TensorPoint(pt, {kW, kH}), TensorBBox(box, {kW, kH}),
                            Category{"cat"}});
}

// Checks the four agree; returns (y, x, H, W) of the pixel (y = -1 when it was cropped away).
std::tuple<int64_t, int64_t, int64_t, int64_t> check_agree(const Item& out) {
  const auto& t = out.get<Tuple>();
  EXPECT_EQ(t.size(), 5u);
  auto img = t[0].get<TensorImage>().data[0];
  auto mask = t[1].get<TensorMask>().data;
  auto pt = t[2].get<TensorPoint>();
  auto box = t[3].get<TensorBBox>();
  EXPECT_EQ(t[4].get<Category>().label, "cat");
  const int64_t H = img.size(0), W = img.size(1);
  EXPECT_EQ(mask.sizes(), img.sizes());
  EXPECT_EQ(pt.img_size, (std::vector<int64_t>{W, H}));
  EXPECT_EQ(box.img_size, (std::vector<int64_t>{W, H}));
  auto nz = at::nonzero(mask);
  EXPECT_TRUE(at::equal(at::nonzero(img), nz)) << "image and mask disagree";
  const float px = pt.data[0][0].item<float>(), py = pt.data[0][1].item<float>();
  if (nz.size(0) == 0) {  // cropped away: the point lies outside too
    EXPECT_TRUE(px < 0 || py < 0 || px > W || py > H) << px << "," << py;
    return {-1, -1, H, W};
  }
  EXPECT_EQ(nz.size(0), 1);
  const int64_t y = nz[0][0].item<int64_t>(), x = nz[0][1].item<int64_t>();
  EXPECT_FLOAT_EQ(px, x + 0.5f);
  EXPECT_FLOAT_EQ(py, y + 0.5f);
  EXPECT_TRUE(at::allclose(box.data, at::tensor({float(x), float(y), x + 1.f, y + 1.f}).view({1, 4}))) << box.data;
  return {y, x, H, W};
}

TEST(AugmentCoords, FlipMovesAllTogether) {
  auto [y, x, H, W] = check_agree(FlipItem(1.0).apply(sample(), 0));
  EXPECT_EQ(y, kY);
  EXPECT_EQ(x, kW - 1 - kX);
  EXPECT_EQ(H, kH);
  EXPECT_EQ(W, kW);
  // p = 0: unchanged; on valid: not applied at all (train only).
  EXPECT_EQ(std::get<1>(check_agree(FlipItem(0.0).apply(sample(), 0))), kX);
  auto s = sample();
  EXPECT_TRUE(FlipItem(1.0).apply(s, 1).same(s));
}

TEST(AugmentCoords, AllEightDihedralOpsAgree) {
  std::set<std::tuple<int64_t, int64_t, int64_t, int64_t>> seen;
  for (uint64_t s = 0; s < 80; ++s) {
    seed_thread_rng(s);
    seen.insert(check_agree(DihedralItem().apply(sample(), 0)));
  }
  EXPECT_EQ(seen.size(), 8u);  // the pixel is at 8 distinct places, 4 of them transposed (H = 13)
  int transposed = 0;
  for (const auto& e : seen) transposed += std::get<2>(e) == kW ? 1 : 0;
  EXPECT_EQ(transposed, 4);
}

TEST(AugmentCoords, CropsAndPadsAgree) {
  int kept = 0;
  for (uint64_t s = 0; s < 30; ++s) {
    seed_thread_rng(s);
    auto [y, x, H, W] = check_agree(RandomCrop(7).apply(sample(), 0));
    EXPECT_EQ(H, 7);
    EXPECT_EQ(W, 7);
    kept += y >= 0;
    seed_thread_rng(s);
    check_agree(Resize(9).apply(sample(), 0));  // a 9 x 9 window of 9 x 13, no resampling
  }
  EXPECT_GT(kept, 0);
  auto [y, x, H, W] = check_agree(CropPad({11, 15}).apply(sample(), 0));  // one pixel of zeros around
  EXPECT_EQ(y, kY + 1);
  EXPECT_EQ(x, kX + 1);
  EXPECT_EQ(H, 11);
  EXPECT_EQ(W, 15);
  // Valid: RandomCrop's centred window of 5 starts at (2, 4): the pixel at (2, 3) is cut away.
  EXPECT_EQ(std::get<0>(check_agree(RandomCrop(5).apply(sample(), 1))), -1);
}

TEST(AugmentCoords, BoxesClippedScaledAndOrdered) {
  auto boxes = at::tensor({0.f, 0.f, 13.f, 9.f, 5.f, 3.f, 12.f, 8.f}).view({2, 4});
  auto x = Item::make<Tuple>({TensorImage(at::zeros({3, kH, kW}, at::kByte)), TensorBBox(boxes, {kW, kH})});
  // CropPad(5): window rows 2..6, columns 4..8.
  auto c = CropPad(5).apply(x, 0).get<Tuple>()[1].get<TensorBBox>();
  EXPECT_TRUE(at::equal(c.data, at::tensor({0.f, 0.f, 5.f, 5.f, 1.f, 1.f, 5.f, 5.f}).view({2, 4}))) << c.data;
  EXPECT_EQ(c.img_size, (std::vector<int64_t>{5, 5}));
  // Squish to twice the size: coordinates double.
  auto s = Resize({18, 26}, {.method = ResizeMethod::Squish}).apply(x, 1).get<Tuple>()[1].get<TensorBBox>();
  EXPECT_TRUE(at::allclose(s.data, boxes * 2)) << s.data;
  // A flip keeps x0 < x1.
  auto f = FlipItem(1.0).apply(x, 0).get<Tuple>()[1].get<TensorBBox>();
  EXPECT_TRUE(at::equal(f.data, at::tensor({0.f, 0.f, 13.f, 9.f, 1.f, 3.f, 8.f, 8.f}).view({2, 4}))) << f.data;
  // Points alone (no image): the size comes from img_size.
  auto p = FlipItem(1.0).apply(TensorPoint(at::tensor({1.f, 2.f}).view({1, 2}), {10, 4}), 0).get<TensorPoint>();
  EXPECT_TRUE(at::equal(p.data, at::tensor({9.f, 2.f}).view({1, 2})));
}

}  // namespace augment_coords_test
