// Bad input to the image codecs: each error names the file and what was expected.
#include "fastai/vision/image.h"

#include "test_util.h"
#include "vision/image_fixtures.h"

#include <ATen/ATen.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <random>

namespace fx = fastai::test_image_fixtures;
using fastai::ImageMode;
using fastai::testing::expect_error;
using fastai::testing::TmpDir;

namespace fastai::test_image_errors_detail {

// An image whose encoded size grows with its area (noise-like), so cuts land in the pixel data.
at::Tensor busy(int64_t c, int64_t h, int64_t w) {
  std::mt19937 rng(7);
  auto t = at::empty({c, h, w}, at::kByte);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_ptr<uint8_t>()[i] = static_cast<uint8_t>(rng() >> 24);
  return t;
}

// Offset of the first byte of chunk `type`'s data in a PNG, or 0.
size_t chunk_data(const std::vector<uint8_t>& png, const char* type) {
  for (size_t i = 8; i + 8 <= png.size();) {
    const size_t len = (size_t{png[i]} << 24) | (size_t{png[i + 1]} << 16) | (size_t{png[i + 2]} << 8) | png[i + 3];
    if (std::memcmp(&png[i + 4], type, 4) == 0) return i + 8;
    i += 12 + len;
  }
  return 0;
}

}  // namespace fastai::test_image_errors_detail

namespace e = fastai::test_image_errors_detail;

TEST(ImageIO, MissingEmptyFolderAndNonImageFiles) {
  TmpDir tmp;
  expect_error([&] { fastai::load_image(tmp.p / "nope.png"); }, {"nope.png", "does not exist"});
  expect_error([&] { fastai::load_image(tmp.p); }, {tmp.p.string(), "is a folder"});
  tmp.write("empty.png", "");
  expect_error([&] { fastai::load_image(tmp.p / "empty.png"); }, {"empty.png", "empty (0 bytes)"});
  tmp.write("notes.png", "hello, this is text");
  expect_error([&] { fastai::load_image(tmp.p / "notes.png"); },
               {"notes.png", "not a supported image", "68 65 6c 6c", "supported formats: PNG, JPEG"});
  tmp.write("anim.gif.png", "GIF89a\x01\x00\x01\x00");
  expect_error([&] { fastai::load_image(tmp.p / "anim.gif.png"); }, {"anim.gif.png", "a GIF image"});
  expect_error([&] { fastai::image_size(tmp.p / "notes.png"); }, {"notes.png", "not a supported image"});
  expect_error([&] { fastai::load_mask(tmp.p / "nope.png"); }, {"nope.png", "does not exist"});
  const std::vector<uint8_t> junk = {1, 2, 3};
  expect_error([&] { fastai::decode_image(junk.data(), junk.size(), "my bytes"); }, {"my bytes", "01 02 03"});
  expect_error([&] { fastai::decode_image(junk.data(), 0, "my bytes"); }, {"my bytes", "empty"});
}

TEST(ImageIO, TruncatedAndCorruptPng) {
  TmpDir tmp;
  auto png = fastai::encode_image(e::busy(3, 32, 32), "png");
  ASSERT_GT(png.size(), 1000u);
  fx::write_bytes(tmp.p / "cut.png", std::vector<uint8_t>(png.begin(), png.begin() + static_cast<long>(png.size() / 2)));
  expect_error([&] { fastai::load_image(tmp.p / "cut.png"); }, {"cut.png", "cannot decode PNG image", "truncated"});
  fx::write_bytes(tmp.p / "head.png", std::vector<uint8_t>(png.begin(), png.begin() + 20));
  expect_error([&] { fastai::load_image(tmp.p / "head.png"); }, {"head.png", "cannot decode PNG image", "truncated"});
  expect_error([&] { fastai::image_size(tmp.p / "head.png"); }, {"head.png", "truncated"});
  auto bad = png;
  const size_t idat = e::chunk_data(bad, "IDAT");
  ASSERT_GT(idat, 0u);
  bad[idat + 10] ^= 0x5A;
  fx::write_bytes(tmp.p / "bad.png", bad);
  expect_error([&] { fastai::load_image(tmp.p / "bad.png"); }, {"bad.png", "cannot decode PNG image", "IDAT"});
  // width 0 in IHDR (with a valid CRC): libpng refuses it
  auto zero = png;
  const size_t ihdr = e::chunk_data(zero, "IHDR");
  std::fill(zero.begin() + static_cast<long>(ihdr), zero.begin() + static_cast<long>(ihdr + 4), 0);
  const uLong crc = crc32(0, zero.data() + ihdr - 4, 17);
  for (int k = 0; k < 4; ++k) zero[ihdr + 13 + k] = static_cast<uint8_t>(crc >> (24 - 8 * k));
  fx::write_bytes(tmp.p / "zero.png", zero);
  expect_error([&] { fastai::load_image(tmp.p / "zero.png"); }, {"zero.png", "width is zero"});
  expect_error([&] { fastai::image_size(tmp.p / "zero.png"); }, {"zero.png", "0-size"});
  // the same failures many times over: errors release libpng's state (no crash, no growth)
  for (int i = 0; i < 200; ++i) EXPECT_THROW(fastai::load_image(tmp.p / "cut.png"), fastai::Error);
}

TEST(ImageIO, TruncatedAndCorruptJpeg) {
  TmpDir tmp;
  auto jpg = fastai::encode_image(e::busy(3, 64, 64), "jpeg");
  fx::write_bytes(tmp.p / "cut.jpg", std::vector<uint8_t>(jpg.begin(), jpg.begin() + static_cast<long>(jpg.size() * 6 / 10)));
  expect_error([&] { fastai::load_image(tmp.p / "cut.jpg"); }, {"cut.jpg", "cannot decode JPEG image", "truncated"});
  expect_error([&] { fastai::load_image(tmp.p / "cut.jpg", ImageMode::L); }, {"cut.jpg", "truncated"});
  fx::write_bytes(tmp.p / "head.jpg", std::vector<uint8_t>(jpg.begin(), jpg.begin() + 4));
  expect_error([&] { fastai::load_image(tmp.p / "head.jpg"); }, {"head.jpg", "cannot decode JPEG image"});
  expect_error([&] { fastai::image_size(tmp.p / "head.jpg"); }, {"head.jpg", "no frame header"});
  std::vector<uint8_t> junk = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x02, 0x13, 0x37, 0x00, 0x00};
  fx::write_bytes(tmp.p / "junk.jpg", junk);
  expect_error([&] { fastai::load_image(tmp.p / "junk.jpg"); }, {"junk.jpg", "cannot decode JPEG image"});
  for (int i = 0; i < 200; ++i) EXPECT_THROW(fastai::load_image(tmp.p / "cut.jpg"), fastai::Error);
}

TEST(ImageIO, SaveRejectsBadTensorsAndExtensions) {
  TmpDir tmp;
  auto check = [&](const char* name, const at::Tensor& t, std::initializer_list<std::string> parts) {
    expect_error([&] { fastai::save_image(tmp.p / name, t); }, parts);
    EXPECT_FALSE(std::filesystem::exists(tmp.p / name)) << name;
  };
  check("f.png", at::zeros({3, 4, 5}, at::kFloat), {"f.png", "[3, 4, 5]", "Float", "uint8"});
  check("r4.png", at::zeros({2, 3, 4, 5}, at::kByte), {"r4.png", "[2, 3, 4, 5]", "[C,H,W] with C 1, 3 or 4"});
  check("c5.png", at::zeros({5, 4, 4}, at::kByte), {"c5.png", "[5, 4, 4]"});
  check("e.png", at::zeros({3, 0, 4}, at::kByte), {"e.png", "empty", "[3, 0, 4]"});
  check("a.jpg", at::zeros({4, 4, 4}, at::kByte), {"a.jpg", "JPEG", "got 4", "alpha"});
  check("x.bmp", at::zeros({3, 4, 4}, at::kByte), {"x.bmp", "'.bmp'", "use .png, .jpg or .jpeg"});
}

TEST(ImageIO, BadQualityFormatAndModeNames) {
  TmpDir tmp;
  auto img = at::zeros({3, 4, 4}, at::kByte);
  expect_error([&] { fastai::save_image(tmp.p / "q.jpg", img, 0); }, {"q.jpg", "quality must be 1..100, got 0"});
  EXPECT_FALSE(std::filesystem::exists(tmp.p / "q.jpg"));
  expect_error([&] { fastai::encode_image(img, "gif"); }, {"'gif'", "'png' or 'jpeg'"});
  expect_error([&] { fastai::image_mode_from_string("CMYK"); }, {"'CMYK'", "'RGB', 'L' or 'Unchanged'"});
  EXPECT_EQ(fastai::image_mode_from_string(fastai::to_string(ImageMode::Unchanged)), ImageMode::Unchanged);
}
