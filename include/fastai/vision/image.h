// Image files: decoding PNG (libpng) and JPEG (libjpeg-turbo) into uint8 tensors [C,H,W], saving
// tensors as PNG or JPEG, reading an image's size from its header. What fastai does with
// PILImage.create / PILMask.create / Image.save, without Python. The format is told by the file's
// first bytes, not by its name. Conversions match PIL's: RGB -> L is PIL's ITU-R 601-2 luma
// (L = R*299/1000 + G*587/1000 + B*114/1000 in PIL's fixed-point rounding), grey -> RGB repeats the
// grey value, alpha is dropped, palettes are expanded; checked equal to PIL 9.4's convert() for
// PNG (1-bit, L, LA, P, P + tRNS, RGB, RGBA) and JPEG (L, RGB, CMYK, progressive). One deliberate
// difference: 16-bit samples keep their high byte (v >> 8), where PIL clips 16-bit grey to 255.
#pragma once
#include "fastai/core/types.h"

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fastai {

/// The channels a decoded image gets (PIL's convert mode).
enum class ImageMode {
  RGB,       ///< 3 channels (PIL "RGB")
  L,         ///< 1 channel, grey (PIL "L")
  Unchanged  ///< as stored: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (palettes: RGB, or RGBA with transparency)
};

/// "RGB", "L" or "Unchanged".
std::string to_string(ImageMode m);
/// The mode named by to_string (also "rgb", "l", "unchanged"); Error naming the text otherwise.
ImageMode image_mode_from_string(std::string_view s);

/// Decodes an image file (PNG or JPEG, told by its magic bytes) into a CPU uint8 TensorImage
/// [C,H,W] (C = 3 for RGB, 1 for L). Errors name the file: missing, unreadable, empty, not a PNG or
/// JPEG, truncated or corrupt.
TensorImage load_image(const std::filesystem::path& file, ImageMode mode = ImageMode::RGB);
/// load_image on encoded bytes in memory; `name` is what error messages call them.
TensorImage decode_image(const uint8_t* data, size_t n, std::string_view name, ImageMode mode = ImageMode::RGB);

/// A segmentation mask (fastai PILMask.create): int64 TensorMask [H,W] from a one-channel image:
/// grey values (8- or 16-bit, kept as stored) or a palette PNG's indices (not its colours); the
/// alpha of grey+alpha is ignored. Error naming the file for colour images.
TensorMask load_mask(const std::filesystem::path& file);
/// load_mask on encoded bytes in memory; `name` is what error messages call them.
TensorMask decode_mask(const uint8_t* data, size_t n, std::string_view name);

/// Encodes uint8 [C,H,W] (C 1, 3 or 4) or [H,W] as "png" or "jpeg"/"jpg" bytes (JPEG: C 1 or 3,
/// quality 1..100). Errors name the tensor's shape and dtype.
std::vector<uint8_t> encode_image(const at::Tensor& img, std::string_view format, int jpeg_quality = 95);
/// Saves uint8 [C,H,W] (C 1, 3 or 4) or [H,W] as PNG (.png) or JPEG (.jpg, .jpeg), by the file's
/// extension; written atomically (fastai::atomic_write). Errors name the file, shape and dtype.
void save_image(const std::filesystem::path& file, const at::Tensor& img, int jpeg_quality = 95);

/// (width, height) of a PNG or JPEG, reading only its header (fastai's PILImage.size).
std::pair<int64_t, int64_t> image_size(const std::filesystem::path& file);

}  // namespace fastai
