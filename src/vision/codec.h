// Internal to src/vision: the PNG and JPEG codecs behind image.h, and the row converter they
// share. Decoders write straight into the planes of a preallocated uint8 [C,H,W] buffer.
#pragma once
#include "fastai/vision/image.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fastai::vision_codec {

/// The planes of a [C,H,W] uint8 buffer: plane c of row y starts at base + c*h*w + y*w.
struct Planes {
  uint8_t* base = nullptr;
  int64_t h = 0, w = 0;
  int c = 0;
};

/// The number of channels a decoded image of `src_channels` stored channels gets in `mode`.
int out_channels(int src_channels, ImageMode mode);

/// Converts one interleaved row of `src_c` channels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) into
/// row y of `dst` (dst.c = out_channels(src_c, mode)). Never throws.
void convert_row(const uint8_t* src, int src_c, const Planes& dst, int64_t y) noexcept;

/// CMYK as Adobe JPEGs store it (inverted) -> RGB, as PIL converts it (one row, interleaved).
void cmyk_inverted_to_rgb(const uint8_t* src, uint8_t* rgb, int64_t w) noexcept;

/// A short name for the format a buffer's magic bytes announce ("PNG", "JPEG"), or "" if neither.
std::string sniff_format(const uint8_t* data, size_t n);

// ---- PNG (png_io.cpp) ----
TensorImage png_decode(const uint8_t* data, size_t n, const std::string& name, ImageMode mode);
TensorMask png_decode_mask(const uint8_t* data, size_t n, const std::string& name);
std::vector<uint8_t> png_encode(const uint8_t* hwc, int64_t h, int64_t w, int c, const std::string& what);

// ---- JPEG (jpeg_io.cpp) ----
/// Decodes a JPEG into [C,H,W]; Unchanged keeps grey as 1 channel, colour as 3.
TensorImage jpeg_decode(const uint8_t* data, size_t n, const std::string& name, ImageMode mode);
/// Decodes the part of a JPEG that `hint` needs (see decode_image_region), filling `g`.
TensorImage jpeg_decode_region(const uint8_t* data, size_t n, const std::string& name, ImageMode mode,
                               const DecodeHint& hint, DecodedRegion& g);
std::vector<uint8_t> jpeg_encode(const uint8_t* hwc, int64_t h, int64_t w, int c, int quality, const std::string& what);
/// (width, height) from a JPEG's header bytes (markers up to the first SOFn); false if not found.
bool jpeg_header_size(const uint8_t* data, size_t n, int64_t& w, int64_t& h);

}  // namespace fastai::vision_codec
