// Test inputs for the image codecs, made in C++ (no Python at test time): a raw libpng writer for
// every PNG colour type / bit depth / interlacing, a libjpeg CMYK writer, byte-level helpers.
#pragma once
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <jpeglib.h>
#include <png.h>

namespace fastai::test_image_fixtures {

/// A PNG as libpng takes it: packed rows of `bit_depth` bits per sample (16-bit big-endian).
struct RawPng {
  int w = 0, h = 0, bit_depth = 8, color_type = PNG_COLOR_TYPE_GRAY;
  bool interlace = false;
  std::vector<uint8_t> rows = {};        ///< h rows of rowbytes() bytes
  std::vector<png_color> palette = {};   ///< PNG_COLOR_TYPE_PALETTE only
  std::vector<uint8_t> trns = {};        ///< palette alpha values (tRNS)
  int channels() const {
    switch (color_type) {
      case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
      case PNG_COLOR_TYPE_RGB: return 3;
      case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
      default: return 1;
    }
  }
  size_t rowbytes() const { return (static_cast<size_t>(w) * channels() * bit_depth + 7) / 8; }
};

inline void png_append(png_structp p, png_bytep d, size_t n) {
  auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(p));
  out->insert(out->end(), d, d + n);
}
inline void png_noflush(png_structp) {}

/// The PNG file bytes for `r` (written with libpng itself).
inline std::vector<uint8_t> encode_raw_png(const RawPng& r) {
  std::vector<uint8_t> out;
  std::vector<png_bytep> rows(static_cast<size_t>(r.h));
  for (int y = 0; y < r.h; ++y) rows[static_cast<size_t>(y)] = const_cast<uint8_t*>(r.rows.data()) + y * r.rowbytes();
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    ADD_FAILURE() << "libpng could not write the test PNG";
    return {};
  }
  png_set_write_fn(png, &out, png_append, png_noflush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(r.w), static_cast<png_uint_32>(r.h), r.bit_depth, r.color_type,
               r.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!r.palette.empty()) png_set_PLTE(png, info, r.palette.data(), static_cast<int>(r.palette.size()));
  if (!r.trns.empty()) png_set_tRNS(png, info, r.trns.data(), static_cast<int>(r.trns.size()), nullptr);
  png_write_info(png, info);
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

/// An interleaved 8-bit image (h rows of w * comps bytes) encoded as a JPEG by libjpeg, baseline or
/// progressive (libjpeg's simple progression script).
inline std::vector<uint8_t> encode_jpeg_rows(const uint8_t* data, int w, int h, int comps, J_COLOR_SPACE cs,
                                             int quality, bool progressive = false) {
  jpeg_compress_struct ci{};
  jpeg_error_mgr err{};
  ci.err = jpeg_std_error(&err);
  jpeg_create_compress(&ci);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&ci, &buf, &size);
  ci.image_width = static_cast<JDIMENSION>(w);
  ci.image_height = static_cast<JDIMENSION>(h);
  ci.input_components = comps;
  ci.in_color_space = cs;
  jpeg_set_defaults(&ci);
  jpeg_set_quality(&ci, quality, TRUE);
  if (progressive) jpeg_simple_progression(&ci);
  jpeg_start_compress(&ci, TRUE);
  while (ci.next_scanline < ci.image_height) {
    auto* p = const_cast<JSAMPLE*>(data + static_cast<size_t>(ci.next_scanline) * static_cast<size_t>(w) * comps);
    jpeg_write_scanlines(&ci, &p, 1);
  }
  jpeg_finish_compress(&ci);
  std::vector<uint8_t> out(buf, buf + size);
  jpeg_destroy_compress(&ci);
  std::free(buf);
  return out;
}

/// A flat-colour CMYK JPEG (libjpeg stores the values given and writes an Adobe marker).
inline std::vector<uint8_t> encode_cmyk_jpeg(int w, int h, const uint8_t cmyk[4]) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * 4);
  for (size_t i = 0; i < px.size(); ++i) px[i] = cmyk[i % 4];
  return encode_jpeg_rows(px.data(), w, h, 4, JCS_CMYK, 100);
}

inline std::filesystem::path write_bytes(const std::filesystem::path& p, const std::vector<uint8_t>& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return p;
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

/// PIL's RGB -> L (ITU-R 601-2 luma in PIL's 16-bit fixed point); tests pin it to PIL's own outputs.
inline int pil_luma(int r, int g, int b) { return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16; }

/// A deterministic uint8 tensor of `shape` with every value 0..255 represented.
inline at::Tensor pattern(std::vector<int64_t> shape, int64_t seed = 0) {
  auto n = 1;
  for (auto s : shape) n *= static_cast<int>(s);
  return at::arange(n, at::kLong).mul(73).add(seed * 31 + 11).remainder(256).to(at::kByte).reshape(shape);
}

}  // namespace fastai::test_image_fixtures
