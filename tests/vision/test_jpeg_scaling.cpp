// Decoding only what is needed: libjpeg-turbo DCT scaling and region decode (decode_image_region),
// and the lazy EncodedImage that ImageCreate yields for JPEGs and AugmentTransform decodes partially.
#include "fastai/core/random.h"
#include "fastai/data/block.h"
#include "fastai/vision/augment.h"
#include "fastai/vision/data.h"
#include "fastai/vision/image.h"

#include "test_util.h"
#include "vision/image_fixtures.h"

#include <ATen/ATen.h>

#include <jpeglib.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace test_jpeg_scaling {

using fastai::Item;
using fastai::testing::expect_error;
using fastai::testing::TmpDir;

// A smooth RGB picture [3,h,w] (gradients and a slow wave), what DCT scaling keeps well.
at::Tensor smooth(int64_t h, int64_t w) {
  auto y = at::arange(h, at::kFloat).view({h, 1}).expand({h, w});
  auto x = at::arange(w, at::kFloat).view({1, w}).expand({h, w});
  auto r = x * (230.0 / static_cast<double>(w)) + 10;
  auto g = y * (230.0 / static_cast<double>(h)) + 10;
  auto b = 128 + 60 * at::sin(x / 53.0) * at::cos(y / 41.0);
  return at::stack({r, g, b}).round().clamp(0, 255).to(at::kByte);
}

std::vector<uint8_t> jpeg_bytes(int64_t h, int64_t w) { return fastai::encode_image(smooth(h, w), "jpeg", 90); }

void write_file(const std::filesystem::path& p, const std::vector<uint8_t>& b) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

double mad(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kFloat) - b.to(at::kFloat)).abs().mean().item<double>();
}

// Restores the lazy-decode setting on scope exit.
struct LazyGuard {
  bool saved = fastai::lazy_image_decode();
  ~LazyGuard() { fastai::set_lazy_image_decode(saved); }
};

// Writes `file` (a smooth h x w JPEG), switches lazy decoding on and opens it: an EncodedImage.
Item lazy_jpeg(const std::filesystem::path& file, int64_t h, int64_t w) {
  write_file(file, jpeg_bytes(h, w));
  fastai::set_lazy_image_decode(true);
  return fastai::ImageCreate()(Item(file));
}

TEST(JpegScaling, ScaleChoiceIsTheSmallestThatKeepsTheTargetSize) {
  // 750 x 1000 to 224: 3/8 gives 281 x 375 >= 224, 2/8 gives 187 rows < 224
  EXPECT_EQ(fastai::jpeg_scale_for(750, 1000, 224, 224), 3);
  EXPECT_EQ(fastai::jpeg_scale_for(750, 1000, 100, 100), 2);   // 188 x 250 >= 100; 1/8: 94 < 100
  EXPECT_EQ(fastai::jpeg_scale_for(750, 1000, 93, 125), 1);    // exactly 1/8 of each side
  EXPECT_EQ(fastai::jpeg_scale_for(750, 1000, 94, 125), 2);
  EXPECT_EQ(fastai::jpeg_scale_for(300, 300, 400, 400), 8);    // never enlarged
  EXPECT_EQ(fastai::jpeg_scale_for(300, 300, 0, 0), 8);        // no target: full resolution

  const auto b = jpeg_bytes(750, 1000);
  fastai::DecodedRegion g;
  auto img = fastai::decode_image_region(b.data(), b.size(), "big.jpg", fastai::ImageMode::RGB,
                                         {.min_h = 224, .min_w = 224}, &g);
  EXPECT_EQ(img.data.sizes(), (std::vector<int64_t>{3, 282, 375}));  // libjpeg: ceil(750 * 3 / 8)
  EXPECT_EQ(g.scale_num, 3);
  EXPECT_EQ(g.scale_denom, 8);
  EXPECT_EQ(g.top, 0);
  EXPECT_EQ(g.left, 0);
  EXPECT_EQ(g.h, 282);
  EXPECT_EQ(g.w, 375);
  EXPECT_EQ(g.scaled_h, 282);
  EXPECT_EQ(g.orig_h, 750);
  EXPECT_EQ(g.orig_w, 1000);
  // the scaled image is the full decode shrunk: compare with an area-average of the full decode
  auto full = fastai::decode_image(b.data(), b.size(), "big.jpg").data.to(at::kFloat).unsqueeze(0);
  auto ref = at::_upsample_bilinear2d_aa(full, {282, 375}, false).squeeze(0);
  EXPECT_LT(mad(img.data, ref), 3.0);
  // a window of 400 x 300 resized to 100 x 75 is decoded at 2/8
  img = fastai::decode_image_region(b.data(), b.size(), "big.jpg", fastai::ImageMode::RGB,
                                    {.top = 100, .left = 200, .crop_h = 400, .crop_w = 300, .min_h = 100, .min_w = 75}, &g);
  EXPECT_EQ(g.scale_num, 2);
  EXPECT_EQ(g.top, 25);  // 100 * 2 / 8
  EXPECT_EQ(g.h, 100);   // rows 25..125 of the 1/4 image
  EXPECT_LE(g.left, 50);
  EXPECT_GE(g.left + g.w, 125);
  EXPECT_EQ(img.data.sizes(), (std::vector<int64_t>{3, g.h, g.w}));
}

TEST(JpegScaling, RegionDecodeEqualsThatRegionOfTheFullDecode) {
  const auto b = jpeg_bytes(375, 500);
  const auto full = fastai::decode_image(b.data(), b.size(), "r.jpg").data;
  fastai::DecodedRegion g;
  auto reg = fastai::decode_image_region(b.data(), b.size(), "r.jpg", fastai::ImageMode::RGB,
                                         {.top = 37, .left = 203, .crop_h = 150, .crop_w = 180}, &g);
  EXPECT_EQ(g.scale_num, 8);
  EXPECT_EQ(g.top, 37);
  EXPECT_EQ(g.h, 150);
  EXPECT_LE(g.left, 203);           // widened to an iMCU boundary (16 px for 4:2:0)
  EXPECT_EQ(g.left % 8, 0);
  EXPECT_GE(g.left + g.w, 383);
  ASSERT_EQ(reg.data.sizes(), (std::vector<int64_t>{3, 150, g.w}));
  auto same = full.narrow(1, g.top, g.h).narrow(2, g.left, g.w);
  EXPECT_LT(mad(reg.data, same), 0.5);
  EXPECT_LE((reg.data.to(at::kInt) - same.to(at::kInt)).abs().max().item<int>(), 8);
  // at a reduced scale: the region equals the same pixels of the whole image decoded at that scale
  fastai::DecodedRegion gw;
  auto whole = fastai::decode_image_region(b.data(), b.size(), "r.jpg", fastai::ImageMode::RGB,
                                           {.min_h = 375 / 2, .min_w = 500 / 2}, &gw);
  EXPECT_EQ(gw.scale_num, 4);
  reg = fastai::decode_image_region(b.data(), b.size(), "r.jpg", fastai::ImageMode::RGB,
                                    {.top = 100, .left = 100, .crop_h = 200, .crop_w = 200, .min_h = 100, .min_w = 100}, &g);
  EXPECT_EQ(g.scale_num, 4);
  EXPECT_EQ(g.top, 50);
  EXPECT_EQ(g.h, 100);
  auto part = whole.data.narrow(1, g.top, g.h).narrow(2, g.left, g.w);
  EXPECT_LT(mad(reg.data, part), 0.5);
  // a window reaching outside the image is clipped to it
  reg = fastai::decode_image_region(b.data(), b.size(), "r.jpg", fastai::ImageMode::RGB,
                                    {.top = -20, .left = 450, .crop_h = 100, .crop_w = 100}, &g);
  EXPECT_EQ(g.top, 0);
  EXPECT_EQ(g.h, 80);
  EXPECT_EQ(g.left + g.w, 500);
}

TEST(JpegScaling, ImageCreateKeepsJpegsEncodedAndTheyDecodeWhenViewed) {
  TmpDir tmp;
  LazyGuard guard;
  fastai::set_lazy_image_decode(true);
  write_file(tmp.p / "a.jpg", jpeg_bytes(60, 80));
  fastai::ImageCreate create;
  Item x = create(Item(tmp.p / "a.jpg"));
  ASSERT_EQ(x.type_name(), "EncodedImage");
  const auto& e = x.get<fastai::EncodedImage>();
  EXPECT_EQ(e.h, 60);
  EXPECT_EQ(e.w, 80);
  EXPECT_FALSE(e.is_decoded());
  // viewed as a TensorImage (what any other transform or collation does): the full decode
  ASSERT_TRUE(x.is<fastai::TensorImage>());
  auto eager = fastai::load_image(tmp.p / "a.jpg").data;
  EXPECT_TRUE(at::equal(x.get<fastai::TensorImage>().data, eager));
  EXPECT_TRUE(e.is_decoded());
  // a transform with only a TensorImage overload gets the decoded image
  fastai::Transform t("Inc");
  t.encodes<fastai::TensorImage>([](const fastai::TensorImage& im) { return fastai::TensorImage(im.data + 1); });
  Item y = t(Item(create(Item(tmp.p / "a.jpg"))));
  ASSERT_EQ(y.type_name(), "TensorImage");
  EXPECT_TRUE(at::equal(y.get<fastai::TensorImage>().data, eager + 1));
  // switched off: decoded at once
  fastai::set_lazy_image_decode(false);
  EXPECT_EQ(create(Item(tmp.p / "a.jpg")).type_name(), "TensorImage");
  // mode L is never lazy
  fastai::set_lazy_image_decode(true);
  fastai::ImageCreate grey(fastai::ImageMode::L);
  EXPECT_EQ(grey(Item(tmp.p / "a.jpg")).type_name(), "TensorImageBW");
}

// The same RandomResizedCrop plan (same seed) through the lazy path and through a full decode.
TEST(JpegScaling, LazyRandomResizedCropMatchesTheEagerPath) {
  TmpDir tmp;
  LazyGuard guard;
  Item lazy = lazy_jpeg(tmp.p / "big.jpg", 750, 1000);
  ASSERT_EQ(lazy.type_name(), "EncodedImage");
  Item eager = fastai::TensorImage(fastai::load_image(tmp.p / "big.jpg").data);
  fastai::RandomResizedCrop rrc(224);
  for (int split : {0, 1}) {
    for (uint64_t s = 1; s <= 6; ++s) {
      fastai::seed_thread_rng(s);
      Item a = rrc.apply(lazy, split);
      fastai::seed_thread_rng(s);
      Item b = rrc.apply(eager, split);
      ASSERT_EQ(a.type_name(), "TensorImage");
      const auto& ta = a.get<fastai::TensorImage>().data;
      const auto& tb = b.get<fastai::TensorImage>().data;
      ASSERT_EQ(ta.sizes(), (std::vector<int64_t>{3, 224, 224})) << "split " << split << " seed " << s;
      ASSERT_EQ(ta.sizes(), tb.sizes());
      EXPECT_LT(mad(ta, tb), 3.0) << "split " << split << " seed " << s;
    }
  }
  // the lazy item was not decoded whole on the way
  EXPECT_FALSE(lazy.get<fastai::EncodedImage>().is_decoded());
}

// Flips and dihedral ops before the crop are recorded, not decoded, and still land right; points in
// the same tuple move with the plan as before.
TEST(JpegScaling, DihedralOpsBeforeTheCropAndPointsStayConsistent) {
  TmpDir tmp;
  LazyGuard guard;
  Item lazy = lazy_jpeg(tmp.p / "r.jpg", 300, 440);
  Item eager = fastai::TensorImage(fastai::load_image(tmp.p / "r.jpg").data);
  auto pts = fastai::TensorPoint(at::tensor({10.f, 20.f, 400.f, 250.f}).view({2, 2}), {440, 300});
  fastai::Pipeline p({std::make_shared<fastai::DihedralItem>(1.0), std::make_shared<fastai::FlipItem>(1.0),
                      std::make_shared<fastai::RandomResizedCrop>(fastai::ImageSize(64, 96))},
                     0);
  int transposed = 0;
  for (uint64_t s = 1; s <= 12; ++s) {
    fastai::seed_thread_rng(s);
    Item a = p(Item(fastai::Tuple{lazy, pts}));
    fastai::seed_thread_rng(s);
    Item b = p(Item(fastai::Tuple{eager, pts}));
    const auto& ta = a.get<fastai::Tuple>();
    const auto& tb = b.get<fastai::Tuple>();
    ASSERT_EQ(ta[0].type_name(), "TensorImage");
    const auto& ia = ta[0].get<fastai::TensorImage>().data;
    const auto& ib = tb[0].get<fastai::TensorImage>().data;
    ASSERT_EQ(ia.sizes(), ib.sizes()) << "seed " << s;
    EXPECT_EQ(ia.sizes(), (std::vector<int64_t>{3, 64, 96}));
    EXPECT_LT(mad(ia, ib), 3.0) << "seed " << s;
    EXPECT_TRUE(at::allclose(ta[1].get<fastai::TensorPoint>().data, tb[1].get<fastai::TensorPoint>().data)) << "seed " << s;
    fastai::seed_thread_rng(s);
    const auto k = fastai::DihedralItem(1.0).plan(300, 440, 0)[0].k;
    transposed += (k & 4) ? 1 : 0;
  }
  EXPECT_GT(transposed, 0);  // the seeds cover transposing ops too
  // only flips, no crop: the item stays encoded with the ops recorded
  fastai::seed_thread_rng(3);
  Item f = fastai::FlipItem(1.0).apply(lazy, 0);
  ASSERT_EQ(f.type_name(), "EncodedImage");
  EXPECT_EQ(f.get<fastai::EncodedImage>().pending, std::vector<int>{1});
  EXPECT_TRUE(at::equal(f.get<fastai::TensorImage>().data, eager.get<fastai::TensorImage>().data.flip({-1})));
}

// Left-right flips waiting on an encoded image are folded into the uint8 resize's last write: the
// result is exactly the resized image mirrored (and two flips cancel).
TEST(JpegScaling, FlipFoldedIntoTheResizeEqualsMirroringAfter) {
  TmpDir tmp;
  LazyGuard guard;
  Item lazy = lazy_jpeg(tmp.p / "r.jpg", 300, 440);
  for (auto [h, w] : std::vector<std::pair<int64_t, int64_t>>{{57, 83}, {150, 100}, {301, 445}}) {
    fastai::Resize r(fastai::ImageSize(h, w), {.method = fastai::ResizeMethod::Squish});
    const auto plain = r.apply(lazy, 1).get<fastai::TensorImage>().data;
    Item once = fastai::FlipItem(1.0).apply(lazy, 0);
    Item twice = fastai::FlipItem(1.0).apply(once, 0);
    ASSERT_EQ(once.get<fastai::EncodedImage>().pending, std::vector<int>{1});
    ASSERT_EQ(twice.get<fastai::EncodedImage>().pending, (std::vector<int>{1, 1}));
    const auto a = r.apply(once, 1).get<fastai::TensorImage>().data;
    const auto b = r.apply(twice, 1).get<fastai::TensorImage>().data;
    ASSERT_EQ(a.sizes(), (std::vector<int64_t>{3, h, w}));
    EXPECT_TRUE(at::equal(a, plain.flip({-1}))) << h << "x" << w;
    EXPECT_TRUE(at::equal(b, plain)) << h << "x" << w;
    EXPECT_FALSE(at::equal(a, plain)) << h << "x" << w;
  }
}

TEST(JpegScaling, CorruptOrTruncatedJpegThroughTheLazyPathNamesTheFile) {
  TmpDir tmp;
  LazyGuard guard;
  fastai::set_lazy_image_decode(true);
  auto b = jpeg_bytes(200, 300);
  write_file(tmp.p / "cut.jpg", std::vector<uint8_t>(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(b.size() / 3)));
  auto bad = b;  // a bogus Huffman table (after the frame header, so the size is still readable)
  size_t dht = 0;
  for (size_t i = 2; i + 21 < bad.size() && !dht; ++i)
    if (bad[i] == 0xFF && bad[i + 1] == 0xC4) dht = i;
  ASSERT_GT(dht, 0u);
  for (size_t i = dht + 5; i < dht + 21; ++i) bad[i] = 0xFF;  // code counts summing past 256
  write_file(tmp.p / "bad.jpg", bad);
  fastai::ImageCreate create;
  fastai::RandomResizedCrop rrc(32);
  for (const char* f : {"cut.jpg", "bad.jpg"}) {
    SCOPED_TRACE(f);
    Item x = create(Item(tmp.p / f));
    ASSERT_EQ(x.type_name(), "EncodedImage") << f;  // the header is intact: the error comes at decode
    expect_error([&] { rrc.apply(x, 0); }, {f, "cannot decode JPEG"});
    expect_error([&] { rrc.apply(x, 1); }, {f, "cannot decode JPEG"});
    expect_error([&] { (void)x.get<fastai::TensorImage>(); }, {f, "cannot decode JPEG"});
  }
  expect_error([&] { rrc.apply(create(Item(tmp.p / "cut.jpg")), 0); }, {"truncated"});
  // a missing file still fails in ImageCreate
  expect_error([&] { create(Item(tmp.p / "gone.jpg")); }, {"ImageCreate", "gone.jpg", "does not exist"});
}

TEST(JpegScaling, PngIsUnaffected) {
  TmpDir tmp;
  LazyGuard guard;
  fastai::set_lazy_image_decode(true);
  auto img = smooth(40, 50);
  fastai::save_image(tmp.p / "a.png", img);
  Item x = fastai::ImageCreate()(Item(tmp.p / "a.png"));
  EXPECT_EQ(x.type_name(), "TensorImage");
  EXPECT_TRUE(at::equal(x.get<fastai::TensorImage>().data, img));
  const auto bytes = fastai::encode_image(img, "png");
  fastai::DecodedRegion g;
  auto r = fastai::decode_image_region(bytes.data(), bytes.size(), "a.png", fastai::ImageMode::RGB,
                                       {.top = 5, .left = 5, .crop_h = 10, .crop_w = 10, .min_h = 2, .min_w = 2}, &g);
  EXPECT_TRUE(at::equal(r.data, img));
  EXPECT_EQ(g.scale_num, g.scale_denom);
  EXPECT_EQ(g.top, 0);
  EXPECT_EQ(g.h, 40);
  EXPECT_EQ(g.w, 50);
}

// A user's DataBlock needs no change: its batches with lazy decoding match those without.
TEST(JpegScaling, DataBlockBatchesMatchWithAndWithoutLazyDecode) {
  TmpDir tmp;
  LazyGuard guard;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 4; ++i)
      for (const char* split : {"train", "valid"})
        write_file(tmp.p / split / (c ? "b" : "a") / (std::to_string(i) + ".jpg"), jpeg_bytes(150 + 20 * i, 200 - 10 * c));
  auto batches = [&](bool lazy, std::vector<std::shared_ptr<fastai::Transform>> item_tfms) {
    fastai::set_lazy_image_decode(lazy);
    fastai::DataBlock block({.blocks = {fastai::ImageBlock(), fastai::CategoryBlock()},
                             .get_items = fastai::get_image_files,
                             .get_y = fastai::parent_label,
                             .splitter = fastai::GrandparentSplitter(),
                             .item_tfms = std::move(item_tfms)});
    auto dls = block.dataloaders(Item(tmp.p), {.bs = 4, .num_workers = 2, .seed = 5});
    std::vector<at::Tensor> out;
    for (int k : {0, 1}) out.push_back(dls.tfmd(k)->one_batch()[0].get<fastai::TensorImage>().data);
    return out;
  };
  auto tfms = [] {
    return std::vector<std::shared_ptr<fastai::Transform>>{std::make_shared<fastai::RandomResizedCrop>(48),
                                                           std::make_shared<fastai::FlipItem>()};
  };
  auto lazy = batches(true, tfms());
  auto eager = batches(false, tfms());
  for (size_t k = 0; k < 2; ++k) {
    ASSERT_EQ(lazy[k].sizes(), (std::vector<int64_t>{4, 3, 48, 48}));
    ASSERT_EQ(lazy[k].sizes(), eager[k].sizes());
    EXPECT_LT(mad(lazy[k], eager[k]) * 255.0, 3.0) << "loader " << k;
  }
  // no item transform: the encoded images are decoded whole at collation, exactly as before
  fastai::set_lazy_image_decode(true);
  auto same_size = [&](bool lazy_on) {
    fastai::set_lazy_image_decode(lazy_on);
    fastai::DataBlock block({.blocks = {fastai::ImageBlock(), fastai::CategoryBlock()},
                             .get_items = [](const std::filesystem::path& p) {
                               return fastai::get_image_files(p / "valid");
                             },
                             .get_y = fastai::parent_label,
                             .splitter = fastai::IndexSplitter({0})});
    return block.datasets(Item(tmp.p));
  };
  auto dl = same_size(true);
  auto de = same_size(false);
  fastai::set_lazy_image_decode(false);  // read when an item is made
  auto b = de.train().get(0);
  fastai::set_lazy_image_decode(true);
  auto a = dl.train().get(0);
  EXPECT_EQ(a[0].type_name(), "EncodedImage");
  EXPECT_EQ(b[0].type_name(), "TensorImage");
  EXPECT_TRUE(at::equal(a[0].get<fastai::TensorImage>().data, b[0].get<fastai::TensorImage>().data));
}

// uint8 images are resized by a separable kernel of their own; it must agree with LibTorch's
// antialiased bilinear (what float images go through) to within rounding, down and up.
TEST(JpegScaling, Uint8ResizeMatchesTheFloatKernel) {
  auto img = at::randint(0, 256, {3, 57, 83}, at::kLong).to(at::kByte);
  img.narrow(1, 10, 20).fill_(200);  // edges as well as noise
  for (auto [h, w] : std::vector<std::pair<int64_t, int64_t>>{{20, 30}, {57, 40}, {100, 150}, {13, 200}, {1, 1}}) {
    fastai::Resize r(fastai::ImageSize(h, w), {.method = fastai::ResizeMethod::Squish});
    auto u = r.apply(fastai::TensorImage(img), 1).get<fastai::TensorImage>().data;
    auto f = r.apply(fastai::TensorImage(img.to(at::kFloat)), 1).get<fastai::TensorImage>().data;
    ASSERT_EQ(u.scalar_type(), at::kByte);
    ASSERT_EQ(u.sizes(), (std::vector<int64_t>{3, h, w}));
    auto want = f.round().clamp(0, 255);
    EXPECT_LE((u.to(at::kFloat) - want).abs().max().item<float>(), 1.0f) << h << "x" << w;
    EXPECT_LT((u.to(at::kFloat) - want).abs().mean().item<float>(), 0.01f) << h << "x" << w;
  }
}

// Without item transforms the encoded images reach collation and are decoded whole there: the
// batch is exactly the eager one, typed TensorImage.
TEST(JpegScaling, CollationDecodesEncodedImagesWhole) {
  TmpDir tmp;
  LazyGuard guard;
  for (const char* split : {"train", "valid"})
    for (int i = 0; i < 3; ++i) write_file(tmp.p / split / "a" / (std::to_string(i) + ".jpg"), jpeg_bytes(30, 40));
  auto batch = [&](bool lazy) {
    fastai::set_lazy_image_decode(lazy);
    fastai::DataBlock block({.blocks = {fastai::ImageBlock(), fastai::CategoryBlock()},
                             .get_items = fastai::get_image_files,
                             .get_y = fastai::parent_label,
                             .splitter = fastai::GrandparentSplitter()});
    auto dls = block.dataloaders(Item(tmp.p), {.bs = 3, .num_workers = 1, .seed = 2});
    return dls.tfmd(1)->one_batch();
  };
  auto a = batch(true);
  auto b = batch(false);
  ASSERT_EQ(a[0].type_name(), "TensorImage");
  const auto& ta = a[0].get<fastai::TensorImage>().data;
  ASSERT_EQ(ta.sizes(), (std::vector<int64_t>{3, 3, 30, 40}));
  EXPECT_TRUE(at::equal(ta, b[0].get<fastai::TensorImage>().data));
}

// A progressive RGB JPEG of smooth(h, w) (libjpeg's simple progression script).
std::vector<uint8_t> progressive_jpeg(int h, int w) {
  auto hwc = smooth(h, w).permute({1, 2, 0}).contiguous();
  return fastai::test_image_fixtures::encode_jpeg_rows(hwc.data_ptr<uint8_t>(), w, h, 3, JCS_RGB, 90, /*progressive=*/true);
}

// Progressive and CMYK JPEGs decode by region too, equal to the same pixels of a full decode.
TEST(JpegScaling, ProgressiveAndCmykRegionsMatchTheFullDecode) {
  const auto b = progressive_jpeg(120, 160);
  const auto full = fastai::decode_image(b.data(), b.size(), "p.jpg").data;
  fastai::DecodedRegion g;
  auto reg = fastai::decode_image_region(b.data(), b.size(), "p.jpg", fastai::ImageMode::RGB,
                                         {.top = 30, .left = 50, .crop_h = 40, .crop_w = 60}, &g);
  EXPECT_EQ(g.top, 30);
  EXPECT_EQ(g.h, 40);
  EXPECT_LE(g.left, 50);
  EXPECT_GE(g.left + g.w, 110);
  EXPECT_LT(mad(reg.data, full.narrow(1, g.top, g.h).narrow(2, g.left, g.w)), 0.5);
  const uint8_t cmyk[4] = {55, 155, 205, 230};
  const auto c = fastai::test_image_fixtures::encode_cmyk_jpeg(48, 40, cmyk);
  const auto cfull = fastai::decode_image(c.data(), c.size(), "cmyk").data;
  reg = fastai::decode_image_region(c.data(), c.size(), "cmyk", fastai::ImageMode::RGB,
                                    {.top = 8, .left = 20, .crop_h = 16, .crop_w = 20, .min_h = 8, .min_w = 10}, &g);
  EXPECT_EQ(g.scale_num, 4);
  ASSERT_EQ(reg.data.size(0), 3);
  auto colour = cfull.narrow(1, 0, 1).narrow(2, 0, 1).to(at::kInt);  // a flat colour: [3,1,1]
  EXPECT_LE((reg.data.to(at::kInt) - colour).abs().max().item<int>(), 1);
  EXPECT_FALSE(at::equal(colour[0], colour[1]));
}

}  // namespace test_jpeg_scaling
