// Vision item transforms: output sizes per method, crop position (random on train, centred on
// valid), pad modes by hand, squish corners, RandomResizedCrop's valid sizes, state round trip.
#include "test_util.h"
#include "fastai/core/pipeline.h"
#include "fastai/core/random.h"
#include "fastai/vision/augment.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace augment_test {

using namespace fastai;  // NOLINT: test file

// A uint8 image [3,h,w] whose value at (y, x) is x (so a crop's left edge is its first value).
at::Tensor col_image(int64_t h, int64_t w) {
  return at::arange(w, at::kLong).view({1, 1, w}).expand({3, h, w}).to(at::kByte).contiguous();
}

std::vector<int64_t> shape(const Item& x) {
  auto t = tensor_of(x);
  return {t.sizes().begin(), t.sizes().end()};
}

TEST(Augment, OutputSizesForEveryMethod) {
  const Item img = TensorImage(col_image(40, 60));
  const Item mask = TensorMask(at::zeros({40, 60}, at::kLong));
  for (auto m : {ResizeMethod::Crop, ResizeMethod::Pad, ResizeMethod::Squish}) {
    for (int split : {0, 1}) {
      Resize r(20, {.method = m});
      auto out = r.apply(Item::make<Tuple>({img, mask}), split).get<Tuple>();
      EXPECT_EQ(shape(out[0]), (std::vector<int64_t>{3, 20, 20})) << to_string(m);
      EXPECT_EQ(shape(out[1]), (std::vector<int64_t>{20, 20})) << to_string(m);
      EXPECT_EQ(tensor_of(out[0]).scalar_type(), at::kByte);
      EXPECT_EQ(tensor_of(out[1]).scalar_type(), at::kLong);
      EXPECT_EQ(shape(Resize({10, 30}, {.method = m}).apply(img, split)), (std::vector<int64_t>{3, 10, 30}));
    }
  }
  EXPECT_EQ(shape(RandomResizedCrop(16).apply(img, 0)), (std::vector<int64_t>{3, 16, 16}));
  EXPECT_EQ(shape(RandomResizedCrop({16, 24}).apply(img, 1)), (std::vector<int64_t>{3, 16, 24}));
  EXPECT_EQ(shape(RandomCrop(25).apply(img, 0)), (std::vector<int64_t>{3, 25, 25}));
  EXPECT_EQ(shape(RandomCrop(50).apply(img, 0)), (std::vector<int64_t>{3, 50, 50}));  // padded
  EXPECT_EQ(shape(CropPad({30, 70}).apply(img, 1)), (std::vector<int64_t>{3, 30, 70}));
  EXPECT_EQ(shape(RatioResize(30).apply(img, 0)), (std::vector<int64_t>{3, 20, 30}));
  EXPECT_EQ(shape(RatioResize(30).apply(TensorImage(col_image(60, 40)), 0)), (std::vector<int64_t>{3, 30, 20}));
  // Float images stay float; a TensorImageBW stays one.
  auto bw = Resize(8).apply(TensorImageBW(at::rand({1, 16, 16})), 1);
  EXPECT_TRUE(bw.type() == typeid(TensorImageBW));
  EXPECT_EQ(tensor_of(bw).scalar_type(), at::kFloat);
}

TEST(Augment, CropRandomOnTrainCentredOnValid) {
  // 40 x 60 to a 40 x 40 window: no resampling, the first value is the window's left edge.
  const Item img = TensorImage(col_image(40, 60));
  Resize r(40);
  EXPECT_EQ(tensor_of(r.apply(img, 1))[0][0][0].item<int64_t>(), 10);  // int(0.5 * 20)
  std::set<int64_t> lefts;
  for (uint64_t s = 0; s < 20; ++s) {
    seed_thread_rng(s);
    auto t = tensor_of(r.apply(img, 0));
    const int64_t left = t[0][0][0].item<int64_t>();
    EXPECT_GE(left, 0);
    EXPECT_LE(left, 20);
    EXPECT_EQ(t[0][0][39].item<int64_t>(), left + 39);
    lefts.insert(left);
  }
  EXPECT_GT(lefts.size(), 5u);
  // RandomCrop: centre on valid ((60 - 20) // 2 = 20), random on train.
  RandomCrop rc(20);
  EXPECT_EQ(tensor_of(rc.apply(img, 1))[0][0][0].item<int64_t>(), 20);
  std::set<int64_t> rl;
  for (uint64_t s = 0; s < 20; ++s) {
    seed_thread_rng(s);
    rl.insert(tensor_of(rc.apply(img, 0))[0][0][0].item<int64_t>());
  }
  EXPECT_GT(rl.size(), 5u);
}

TEST(Augment, PadModesByHand) {
  // [[1,2,3],[4,5,6]] centred in 4 x 5: rows -1..2, columns -1..3.
  const Item img = TensorImage(at::arange(1, 7, at::kFloat).view({1, 2, 3}));
  auto pad = [&](PadMode m) { return tensor_of(CropPad({4, 5}, m).apply(img, 0))[0]; };
  auto expect = [](const at::Tensor& got, std::vector<float> want) {
    EXPECT_TRUE(at::equal(got, at::tensor(want, at::kFloat).view({4, 5}))) << got;
  };
  expect(pad(PadMode::Zeros), {0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0});
  expect(pad(PadMode::Border), {1, 1, 2, 3, 3, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6, 4, 4, 5, 6, 6});
  expect(pad(PadMode::Reflection), {5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2});
  // Resize's Pad method on 2 x 3 -> 3 x 3 target: window 3 x 3 at top int(0.5 * -1) = 0.
  auto r = tensor_of(Resize(3, {.method = ResizeMethod::Pad}).apply(img, 1))[0];
  EXPECT_TRUE(at::equal(r, at::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 1.f, 2.f, 3.f}).view({3, 3}))) << r;
}

TEST(Augment, SquishKeepsCornersAndAntialiases) {
  auto q = at::zeros({3, 40, 60}, at::kByte);
  q.narrow(1, 0, 20).narrow(2, 0, 30).fill_(10);
  q.narrow(1, 0, 20).narrow(2, 30, 30).fill_(50);
  q.narrow(1, 20, 20).narrow(2, 0, 30).fill_(100);
  q.narrow(1, 20, 20).narrow(2, 30, 30).fill_(200);
  Resize r({20, 30}, {.method = ResizeMethod::Squish});
  auto out = r.apply(Item::make<Tuple>({TensorImage(q), TensorMask(q[0].to(at::kLong))}), 0).get<Tuple>();
  for (const auto& t : {tensor_of(out[0])[1], tensor_of(out[1])}) {
    EXPECT_EQ(t[0][0].item<int64_t>(), 10);
    EXPECT_EQ(t[0][29].item<int64_t>(), 50);
    EXPECT_EQ(t[19][0].item<int64_t>(), 100);
    EXPECT_EQ(t[19][29].item<int64_t>(), 200);
  }
  // The mask is resampled by nearest: only the original values appear.
  auto vals = std::get<0>(at::_unique(tensor_of(out[1])));
  EXPECT_EQ(vals.numel(), 4);
  // A 6 x 6 checkerboard to 2 x 2: plain bilinear would hit single pixels (0 or 255); antialias averages.
  auto cb = ((at::arange(6).view({6, 1}) + at::arange(6).view({1, 6})) % 2 * 255).to(at::kByte).unsqueeze(0);
  auto small = tensor_of(Resize(2, {.method = ResizeMethod::Squish}).apply(TensorImage(cb), 0));
  EXPECT_GT(small.min().item<int64_t>(), 60);
  EXPECT_LT(small.max().item<int64_t>(), 195);
}

TEST(Augment, RandomResizedCropValidSizes) {
  const std::vector<std::pair<int64_t, int64_t>> table = {{128, 152}, {192, 224}, {224, 256}, {256, 296},
                                                          {299, 347}, {320, 368}, {460, 532}};
  for (auto [s, v] : table) {
    auto vs = RandomResizedCrop(s).valid_size();
    EXPECT_EQ(vs.h, v) << s;
    EXPECT_EQ(vs.w, v) << s;
  }
  // Valid: squish 40 x 60 to 152 x 152, centre 128 x 128: the planned steps say so.
  auto steps = RandomResizedCrop(128).plan(40, 60, 1);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].out_h, 152);
  EXPECT_EQ(steps[0].crop_w, 60);
  EXPECT_EQ(steps[1].top, 12);
  EXPECT_EQ(steps[1].left, 12);
  EXPECT_EQ(shape(RandomResizedCrop(128).apply(TensorImage(col_image(40, 60)), 1)), (std::vector<int64_t>{3, 128, 128}));
  // Train: the window lies inside the image, its area within the scale range (rounding aside).
  RandomResizedCrop rrc(16, {.min_scale = 0.25});
  for (uint64_t s = 0; s < 50; ++s) {
    seed_thread_rng(s);
    auto st = rrc.plan(40, 60, 0).at(0);
    EXPECT_GE(st.top, 0);
    EXPECT_GE(st.left, 0);
    EXPECT_LE(st.top + st.crop_h, 40);
    EXPECT_LE(st.left + st.crop_w, 60);
    EXPECT_GE(static_cast<double>(st.crop_h * st.crop_w), 0.2 * 2400);
  }
}

TEST(Augment, SeededDeterminism) {
  const Item img = TensorImage(at::randint(0, 256, {3, 30, 40}, at::kByte));
  RandomResizedCrop rrc(16);
  seed_thread_rng(7);
  auto a = tensor_of(rrc.apply(img, 0));
  seed_thread_rng(7);
  auto b = tensor_of(rrc.apply(img, 0));
  EXPECT_TRUE(at::equal(a, b));
  bool differs = false;
  for (uint64_t s = 8; s < 12 && !differs; ++s) {
    seed_thread_rng(s);
    differs = !at::equal(a, tensor_of(rrc.apply(img, 0)));
  }
  EXPECT_TRUE(differs);
}

TEST(Augment, StateRoundTripAndPipeline) {
  auto r = std::make_shared<Resize>(ImageSize{12, 20}, ResizeOptions{.method = ResizeMethod::Pad, .pad_mode = PadMode::Border});
  auto back = make_transform("Resize", r->state());
  EXPECT_EQ(back->state(), r->state());
  EXPECT_EQ(r->state()["method"], "pad");
  EXPECT_EQ(r->order, 1);
  for (const char* n : {"RandomResizedCrop", "RandomCrop", "CropPad", "FlipItem", "DihedralItem", "RatioResize"}) {
    auto t = make_transform(n, nlohmann::json::object());
    EXPECT_EQ(make_transform(n, t->state())->state(), t->state()) << n;
  }
  EXPECT_EQ(make_transform("CropPad", {{"size", {3, 4}}, {"pad_mode", "border"}})->state()["pad_mode"], "border");
  EXPECT_EQ(FlipItem().split_idx, std::optional<int>(0));
  EXPECT_EQ(CropPad(3).order, 0);
  // Through a Pipeline the transforms get the call's split: on valid FlipItem is skipped and
  // Resize takes the centred window; on train the flipped image is cropped at a random offset.
  Pipeline p({std::make_shared<FlipItem>(1.0), std::make_shared<Resize>(40)});
  const Item img = TensorImage(col_image(40, 60));
  EXPECT_EQ(tensor_of(p(img, 1))[0][0][0].item<int64_t>(), 10);
  std::set<int64_t> firsts;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    seed_thread_rng(seed);
    int64_t v = tensor_of(p(img, 0))[0][0][0].item<int64_t>();  // flipped: column 59 - offset, offset in [0, 20]
    EXPECT_GE(v, 39);
    EXPECT_LE(v, 59);
    firsts.insert(v);
  }
  EXPECT_GT(firsts.size(), 3u);
}

TEST(Augment, BadInputErrors) {
  using fastai::testing::expect_error;
  expect_error([] { Resize r(0); }, {"Resize", "size must be positive", "(0, 0)"});
  expect_error([] { RandomCrop r({5, -1}); }, {"RandomCrop", "(5, -1)"});
  expect_error([] { RatioResize r(0); }, {"RatioResize", "max_sz"});
  expect_error([] { make_transform("Resize", {{"size", 0}}); }, {"Resize", "size must be positive"});
  expect_error([] { Resize(10).apply(TensorImage(at::zeros({5, 5})), 0); }, {"Resize", "TensorImage", "[C,H,W]", "[5, 5]"});
  expect_error([] { CropPad(3).apply(TensorMask(at::zeros({1, 5, 5}, at::kLong)), 0); }, {"CropPad", "TensorMask", "[1, 5, 5]"});
  expect_error([] { FlipItem(1).apply(TensorPoint(at::zeros({3, 3}), {4, 4}), 0); }, {"FlipItem", "TensorPoint", "[3, 3]"});
  expect_error(
      [] {
        Resize(4).apply(Item::make<Tuple>({TensorImage(at::zeros({3, 5, 5})), TensorMask(at::zeros({6, 5}, at::kLong))}), 0);
      },
      {"Resize", "mask", "[6, 5]", "(5, 5)"});
}

}  // namespace augment_test
