// Image decoding and encoding: PNG of every colour type / bit depth, palettes, interlacing, JPEG,
// conversions pinned to PIL's outputs, masks, sizes from headers.
#include "fastai/vision/image.h"

#include "test_util.h"
#include "vision/image_fixtures.h"

#include <ATen/ATen.h>

namespace fx = fastai::test_image_fixtures;
using fastai::ImageMode;
using fastai::testing::TmpDir;

namespace fastai::test_image_detail {

// Expected [C,H,W] from packed 8-bit interleaved rows of `c` channels.
at::Tensor planar(const std::vector<uint8_t>& rows, int h, int w, int c) {
  return at::from_blob(const_cast<uint8_t*>(rows.data()), {h, w, c}, at::kByte).permute({2, 0, 1}).contiguous();
}

at::Tensor luma_of(const at::Tensor& rgb) {  // [3,H,W] -> [1,H,W] with PIL's formula
  auto r = rgb.to(at::kInt);
  return r[0].mul(19595).add(r[1].mul(38470)).add(r[2].mul(7471)).add(0x8000).div(65536, "floor").to(at::kByte).unsqueeze(0);
}

}  // namespace fastai::test_image_detail

namespace d = fastai::test_image_detail;

TEST(ImagePng, GreyRoundTripInEveryMode) {
  TmpDir tmp;
  auto img = fx::pattern({1, 17, 23});
  fastai::save_image(tmp.p / "g.png", img);
  EXPECT_TRUE(at::equal(fastai::load_image(tmp.p / "g.png", ImageMode::L).data, img));
  EXPECT_TRUE(at::equal(fastai::load_image(tmp.p / "g.png", ImageMode::Unchanged).data, img));
  auto rgb = fastai::load_image(tmp.p / "g.png").data;  // default RGB: grey repeated
  ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{3, 17, 23}));
  EXPECT_TRUE(at::equal(rgb, img.expand({3, 17, 23})));
  fastai::save_image(tmp.p / "hw.png", img[0]);  // [H,W] is a grey image too
  EXPECT_TRUE(at::equal(fastai::load_image(tmp.p / "hw.png", ImageMode::L).data, img));
}

TEST(ImagePng, RgbAndRgbaRoundTrips) {
  TmpDir tmp;
  auto rgb = fx::pattern({3, 9, 31}, 1);
  fastai::save_image(tmp.p / "c.png", rgb);
  EXPECT_TRUE(at::equal(fastai::load_image(tmp.p / "c.png").data, rgb));
  EXPECT_TRUE(at::equal(fastai::load_image(tmp.p / "c.png", ImageMode::L).data, d::luma_of(rgb)));
  auto rgba = fx::pattern({4, 9, 31}, 2);
  fastai::save_image(tmp.p / "a.png", rgba);
  EXPECT_TRUE(at::equal(fastai::load_image(tmp.p / "a.png", ImageMode::Unchanged).data, rgba));
  EXPECT_TRUE(at::equal(fastai::load_image(tmp.p / "a.png").data, rgba.slice(0, 0, 3)));  // alpha dropped
  EXPECT_TRUE(at::equal(fastai::load_image(tmp.p / "a.png", ImageMode::L).data, d::luma_of(rgba.slice(0, 0, 3))));
}

TEST(ImagePng, RgbToLMatchesPil) {
  // PIL 9.4: Image.fromarray(rgb).convert('L') for these pixels (the integer formula
  // R*299/1000 + G*587/1000 + B*114/1000 with flooring gives 149, 123, 4, 250, 113 for some of them)
  const int px[10][3] = {{255, 0, 0}, {0, 255, 0},   {0, 0, 255}, {10, 200, 30},  {1, 1, 1},
                         {128, 128, 128}, {200, 100, 50}, {3, 5, 7}, {250, 251, 252}, {17, 140, 233}};
  const int pil[10] = {76, 150, 29, 124, 1, 128, 124, 5, 251, 114};
  auto rgb = at::empty({3, 1, 10}, at::kByte);
  for (int i = 0; i < 10; ++i)
    for (int c = 0; c < 3; ++c) rgb[c][0][i] = px[i][c];
  auto bytes = fastai::encode_image(rgb, "png");
  auto l = fastai::decode_image(bytes.data(), bytes.size(), "pixels", ImageMode::L).data;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(l[0][0][i].item<int>(), pil[i]) << "pixel " << i;
}

TEST(ImagePng, GreyAlpha) {
  fx::RawPng r{.w = 5, .h = 3, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_GRAY_ALPHA};
  for (int i = 0; i < 30; ++i) r.rows.push_back(static_cast<uint8_t>(i * 8 + 1));
  auto b = fx::encode_raw_png(r);
  auto ga = d::planar(r.rows, 3, 5, 2);
  EXPECT_TRUE(at::equal(fastai::decode_image(b.data(), b.size(), "ga", ImageMode::Unchanged).data, ga));
  EXPECT_TRUE(at::equal(fastai::decode_image(b.data(), b.size(), "ga", ImageMode::L).data, ga.slice(0, 0, 1)));
  EXPECT_TRUE(at::equal(fastai::decode_image(b.data(), b.size(), "ga").data, ga.slice(0, 0, 1).expand({3, 3, 5})));
}

TEST(ImagePng, SixteenBitKeepsTheHighByte) {
  fx::RawPng g{.w = 4, .h = 2, .bit_depth = 16, .color_type = PNG_COLOR_TYPE_GRAY};
  fx::RawPng c{.w = 4, .h = 2, .bit_depth = 16, .color_type = PNG_COLOR_TYPE_RGB};
  std::vector<uint8_t> high_g, high_c;
  for (int i = 0; i < 8; ++i) {  // samples 0x0000, 0x23ff, 0x4780 ...
    const uint16_t v = static_cast<uint16_t>(i * 0x2400 + (i % 2 ? 0xff : 0x80) * (i > 0));
    g.rows.insert(g.rows.end(), {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v & 0xff)});
    high_g.push_back(static_cast<uint8_t>(v >> 8));
  }
  for (int i = 0; i < 24; ++i) {
    const uint16_t v = static_cast<uint16_t>(65535 - i * 2731);
    c.rows.insert(c.rows.end(), {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v & 0xff)});
    high_c.push_back(static_cast<uint8_t>(v >> 8));
  }
  auto bg = fx::encode_raw_png(g), bc = fx::encode_raw_png(c);
  EXPECT_TRUE(at::equal(fastai::decode_image(bg.data(), bg.size(), "g16", ImageMode::L).data, d::planar(high_g, 2, 4, 1)));
  EXPECT_TRUE(at::equal(fastai::decode_image(bc.data(), bc.size(), "c16").data, d::planar(high_c, 2, 4, 3)));
}

TEST(ImagePng, LowBitDepthGreyIsScaledTo255) {
  // 8 pixels per row; PIL maps 1-bit to 0/255, 2-bit v to v*85, 4-bit v to v*17
  for (int bits : {1, 2, 4}) {
    fx::RawPng r{.w = 8, .h = 1, .bit_depth = bits, .color_type = PNG_COLOR_TYPE_GRAY};
    const int maxv = (1 << bits) - 1;
    std::vector<int> vals = {0, maxv, 1 % (maxv + 1), maxv / 2, maxv, 0, maxv - 1, 1};
    uint32_t acc = 0;
    for (int v : vals) acc = (acc << bits) | static_cast<uint32_t>(v);
    for (int k = bits - 1; k >= 0; --k) r.rows.push_back(static_cast<uint8_t>(acc >> (8 * k)));
    auto b = fx::encode_raw_png(r);
    auto got = fastai::decode_image(b.data(), b.size(), "low", ImageMode::L).data;
    for (int x = 0; x < 8; ++x) EXPECT_EQ(got[0][0][x].item<int>(), vals[x] * 255 / maxv) << bits << "-bit, x=" << x;
  }
}

TEST(ImagePng, PaletteExpandsAndMaskKeepsIndices) {
  const std::vector<png_color> pal = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 200, 30}};
  for (int bits : {2, 8}) {
    fx::RawPng r{.w = 4, .h = 2, .bit_depth = bits, .color_type = PNG_COLOR_TYPE_PALETTE, .palette = pal};
    const std::vector<int> idx = {0, 1, 2, 3, 3, 2, 1, 0};
    if (bits == 8) {
      for (int i : idx) r.rows.push_back(static_cast<uint8_t>(i));
    } else {
      r.rows = {0b00011011, 0b11100100};
    }
    auto b = fx::encode_raw_png(r);
    auto rgb = fastai::decode_image(b.data(), b.size(), "pal").data;
    auto l = fastai::decode_image(b.data(), b.size(), "pal", ImageMode::L).data;
    auto m = fastai::decode_mask(b.data(), b.size(), "pal");
    ASSERT_EQ(m.data.sizes(), (std::vector<int64_t>{2, 4}));
    EXPECT_EQ(m.data.scalar_type(), at::kLong);
    const int want_l[4] = {76, 150, 29, 124};  // PIL's L of the palette colours
    for (int i = 0; i < 8; ++i) {
      const int y = i / 4, x = i % 4, k = idx[static_cast<size_t>(i)];
      EXPECT_EQ(rgb[0][y][x].item<int>(), pal[static_cast<size_t>(k)].red);
      EXPECT_EQ(rgb[1][y][x].item<int>(), pal[static_cast<size_t>(k)].green);
      EXPECT_EQ(rgb[2][y][x].item<int>(), pal[static_cast<size_t>(k)].blue);
      EXPECT_EQ(l[0][y][x].item<int>(), want_l[k]);
      EXPECT_EQ(m.data[y][x].item<int64_t>(), k) << bits << "-bit palette";
    }
  }
}

TEST(ImagePng, PaletteTransparencyIsAlphaOnlyWhenUnchanged) {
  fx::RawPng r{.w = 2, .h = 1, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_PALETTE,
               .rows = {0, 1}, .palette = {{9, 8, 7}, {200, 100, 50}}, .trns = {0, 128}};
  auto b = fx::encode_raw_png(r);
  auto u = fastai::decode_image(b.data(), b.size(), "trns", ImageMode::Unchanged).data;
  ASSERT_EQ(u.size(0), 4);
  EXPECT_EQ(u[3][0][0].item<int>(), 0);
  EXPECT_EQ(u[3][0][1].item<int>(), 128);
  auto rgb = fastai::decode_image(b.data(), b.size(), "trns").data;
  EXPECT_TRUE(at::equal(rgb, u.slice(0, 0, 3)));
}

TEST(ImagePng, InterlacedImagesDecodeLikePlainOnes) {
  for (int ct : {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA}) {
    fx::RawPng r{.w = 13, .h = 11, .bit_depth = 8, .color_type = ct, .interlace = true};
    auto flat = fx::pattern({static_cast<int64_t>(11 * 13 * r.channels())}, ct);
    r.rows.assign(flat.data_ptr<uint8_t>(), flat.data_ptr<uint8_t>() + flat.numel());
    auto b = fx::encode_raw_png(r);
    EXPECT_EQ(b[28], 1) << "IHDR says interlaced";
    auto got = fastai::decode_image(b.data(), b.size(), "adam7", ImageMode::Unchanged).data;
    EXPECT_TRUE(at::equal(got, d::planar(r.rows, 11, 13, r.channels()))) << "colour type " << ct;
  }
}

TEST(ImageJpeg, RoundTripsWithinTolerance) {
  TmpDir tmp;
  // a smooth image (JPEG's good case): gradients per channel
  auto yy = at::arange(40, at::kFloat).view({1, 40, 1}), xx = at::arange(48, at::kFloat).view({1, 1, 48});
  auto rgb = at::cat({yy * 5 + xx, 250 - xx * 4 - yy, (yy + xx) * 2.5}, 0).clamp(0, 255).round().to(at::kByte);
  fastai::save_image(tmp.p / "c.jpg", rgb, 95);
  auto got = fastai::load_image(tmp.p / "c.jpg").data;
  ASSERT_EQ(got.sizes(), rgb.sizes());
  auto diff = (got.to(at::kInt) - rgb.to(at::kInt)).abs();
  EXPECT_LT(diff.to(at::kFloat).mean().item<float>(), 1.5);
  EXPECT_LE(diff.max().item<int>(), 12);
  // L from a colour JPEG is PIL's luma of its RGB decode, exactly
  EXPECT_TRUE(at::equal(fastai::load_image(tmp.p / "c.jpg", ImageMode::L).data, d::luma_of(got)));
  // a lower quality gives a smaller file
  fastai::save_image(tmp.p / "q20.jpeg", rgb, 20);
  EXPECT_LT(std::filesystem::file_size(tmp.p / "q20.jpeg"), std::filesystem::file_size(tmp.p / "c.jpg"));
}

TEST(ImageJpeg, GreyJpegIsOneChannelAndRepeatsInRgb) {
  TmpDir tmp;
  auto g = at::arange(32 * 32, at::kInt).view({1, 32, 32}).div(5, "floor").remainder(200).to(at::kByte);
  fastai::save_image(tmp.p / "g.jpg", g, 100);
  auto l = fastai::load_image(tmp.p / "g.jpg", ImageMode::L).data;
  EXPECT_EQ(fastai::load_image(tmp.p / "g.jpg", ImageMode::Unchanged).data.size(0), 1);
  EXPECT_LE((l.to(at::kInt) - g.to(at::kInt)).abs().max().item<int>(), 8);
  EXPECT_TRUE(at::equal(fastai::load_image(tmp.p / "g.jpg").data, l.expand({3, 32, 32})));
}

TEST(ImageJpeg, CmykConvertsLikePil) {
  // stored (Adobe-inverted) C,M,Y,K = 55,155,205,230, i.e. PIL's CMYK (200,100,50,25), which
  // PIL 9.4 saves as these bytes and converts to RGB (50, 140, 185)
  const uint8_t cmyk[4] = {55, 155, 205, 230};
  auto b = fx::encode_cmyk_jpeg(16, 16, cmyk);
  auto rgb = fastai::decode_image(b.data(), b.size(), "cmyk").data;
  ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{3, 16, 16}));
  const int want[3] = {50, 140, 185};
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(rgb[c][8][8].item<int>(), want[c], 2) << "channel " << c;
}

TEST(ImageIO, FormatComesFromTheBytesNotTheName) {
  TmpDir tmp;
  auto img = fx::pattern({3, 6, 7}, 5);
  auto png = fastai::encode_image(img, "png");
  fx::write_bytes(tmp.p / "actually_png.jpg", png);
  fx::write_bytes(tmp.p / "no_extension", png);
  EXPECT_TRUE(at::equal(fastai::load_image(tmp.p / "actually_png.jpg").data, img));
  EXPECT_TRUE(at::equal(fastai::load_image(tmp.p / "no_extension").data, img));
  auto jpg = fastai::encode_image(img, "jpeg");
  EXPECT_EQ(jpg[0], 0xFF);
  EXPECT_EQ(jpg[1], 0xD8);
  fx::write_bytes(tmp.p / "actually_jpeg.png", jpg);
  EXPECT_EQ(fastai::load_image(tmp.p / "actually_jpeg.png").data.sizes(), img.sizes());
}

TEST(ImageIO, SaveReplacesAtomicallyAndLeavesNoTemporaries) {
  TmpDir tmp;
  fastai::save_image(tmp.p / "sub" / "x.png", fx::pattern({1, 4, 4}));  // parent folders are created
  fastai::save_image(tmp.p / "sub" / "x.png", fx::pattern({3, 5, 6}, 9));
  EXPECT_TRUE(at::equal(fastai::load_image(tmp.p / "sub" / "x.png").data, fx::pattern({3, 5, 6}, 9)));
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(tmp.p / "sub")) ++n;
  EXPECT_EQ(n, 1);
}

TEST(ImageIO, ImageSizeReadsTheHeader) {
  TmpDir tmp;
  fastai::save_image(tmp.p / "a.png", fx::pattern({3, 5, 7}));
  fastai::save_image(tmp.p / "b.jpg", fx::pattern({1, 9, 21}));
  EXPECT_EQ(fastai::image_size(tmp.p / "a.png"), (std::pair<int64_t, int64_t>{7, 5}));
  EXPECT_EQ(fastai::image_size(tmp.p / "b.jpg"), (std::pair<int64_t, int64_t>{21, 9}));
  // a JPEG whose frame header comes after 128 KiB of comments (two COM segments)
  auto jpg = fx::read_bytes(tmp.p / "b.jpg");
  std::vector<uint8_t> big = {0xFF, 0xD8};
  for (int k = 0; k < 2; ++k) {
    big.insert(big.end(), {0xFF, 0xFE, 0xFF, 0xFF});
    big.insert(big.end(), 65533, 'c');
  }
  big.insert(big.end(), jpg.begin() + 2, jpg.end());
  fx::write_bytes(tmp.p / "big.jpg", big);
  EXPECT_EQ(fastai::image_size(tmp.p / "big.jpg"), (std::pair<int64_t, int64_t>{21, 9}));
  EXPECT_EQ(fastai::load_image(tmp.p / "big.jpg").data.sizes(), (std::vector<int64_t>{3, 9, 21}));
}

TEST(ImageMask, GreyPalette16BitAndColourMasks) {
  TmpDir tmp;
  auto m = at::tensor(std::vector<uint8_t>{0, 1, 2, 3, 4, 0}, at::kByte).view({2, 3});
  fastai::save_image(tmp.p / "m.png", m);
  auto got = fastai::load_mask(tmp.p / "m.png");
  EXPECT_EQ(got.data.scalar_type(), at::kLong);
  EXPECT_TRUE(at::equal(got.data, m.to(at::kLong)));
  fx::RawPng r16{.w = 2, .h = 1, .bit_depth = 16, .color_type = PNG_COLOR_TYPE_GRAY, .rows = {0x03, 0xE8, 0x00, 0x07}};
  auto b16 = fx::encode_raw_png(r16);
  auto m16 = fastai::decode_mask(b16.data(), b16.size(), "m16").data;
  EXPECT_EQ(m16[0][0].item<int64_t>(), 1000);
  EXPECT_EQ(m16[0][1].item<int64_t>(), 7);
  fastai::save_image(tmp.p / "rgb.png", fx::pattern({3, 2, 2}));
  fastai::testing::expect_error([&] { fastai::load_mask(tmp.p / "rgb.png"); },
                                {"rgb.png", "colour PNG", "one channel"});
}
