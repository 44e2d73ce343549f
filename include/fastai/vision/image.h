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

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
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

// ---- decoding only what is needed (libjpeg-turbo DCT scaling and cropping) ----------------------

/// What a decode will be used for: a window of the original image (crop_h / crop_w 0: the whole
/// image) that will then be resized to min_h x min_w (0: kept at full resolution). A JPEG is then
/// decoded at the smallest scale N/8 (N = 1..8; never enlarged) at which the window is still at
/// least min_h x min_w, and only the rows and (iMCU-aligned) columns covering the window.
struct DecodeHint {
  int64_t top = 0, left = 0, crop_h = 0, crop_w = 0;  ///< the window, original pixels (may extend outside)
  int64_t min_h = 0, min_w = 0;                       ///< the window's final size
  bool crop = true;  ///< decode only the window (false: the whole image, at the scale the window needs)
};

/// Where the pixels of decode_image_region lie: the tensor is rows [top, top+h) and columns
/// [left, left+w) of the whole image scaled by scale_num/scale_denom (scaled_h x scaled_w, libjpeg's
/// ceil(orig * scale)). Scaled pixel i covers original pixels [i / scale(), (i+1) / scale()).
struct DecodedRegion {
  int scale_num = 1, scale_denom = 1;
  int64_t top = 0, left = 0, h = 0, w = 0;
  int64_t scaled_h = 0, scaled_w = 0;
  int64_t orig_h = 0, orig_w = 0;
  double scale() const { return static_cast<double>(scale_num) / static_cast<double>(scale_denom); }
};

/// The N of the JPEG scale N/8 decode_image_region picks for a crop_h x crop_w window resized to
/// min_h x min_w: the smallest N in 1..8 with crop * N / 8 >= min in both dimensions (8 when a
/// min is 0 or larger than the window).
int jpeg_scale_for(int64_t crop_h, int64_t crop_w, int64_t min_h, int64_t min_w);

/// decode_image, decoding only what `hint` needs (JPEG: scaled and cropped as DecodeHint says; the
/// window is clipped to the image, and its columns widened to iMCU boundaries; PNG: the whole image
/// at scale 1). `geometry`, when given, receives where the returned pixels lie. Errors as decode_image.
TensorImage decode_image_region(const uint8_t* data, size_t n, std::string_view name, ImageMode mode,
                                const DecodeHint& hint, DecodedRegion* geometry = nullptr);

/// The whole content of an image file. Errors name the file (missing, a folder, empty, unreadable).
std::vector<uint8_t> read_image_bytes(const std::filesystem::path& file);

namespace image_detail {
/// The full decode of an EncodedImage, made once (thread-safe) and shared by its copies.
struct DecodeCache {
  std::once_flag once;
  std::atomic<bool> done{false};
  TensorImage img;
};
}  // namespace image_detail

/// A JPEG not decoded yet: what ImageCreate yields for a JPEG (mode RGB or Unchanged), so that the
/// first vision item transform (AugmentTransform) decodes only the window its plan needs, at the
/// DCT scale its output size allows. Registered as a subtype of TensorImage (type name
/// "EncodedImage"): anything that views it as a TensorImage (Item::get / is, a transform's
/// TensorImage overload, collation) gets the full decode, made once, so code written for
/// TensorImage keeps working. `pending` holds dihedral ops (GeomStep::k codes) that item transforms
/// recorded without decoding (FlipItem before RandomResizedCrop); the decode applies them.
struct EncodedImage {
  std::shared_ptr<const std::vector<uint8_t>> bytes;
  std::string name;                   ///< the file (or bytes) name error messages use
  ImageMode mode = ImageMode::RGB;
  int64_t h = 0, w = 0;               ///< the stored size, from the JPEG header
  std::vector<int> pending = {};      ///< dihedral codes to apply after decoding, in order
  std::shared_ptr<image_detail::DecodeCache> cache = std::make_shared<image_detail::DecodeCache>();

  /// The size (h, w) once the pending ops are applied.
  std::pair<int64_t, int64_t> size() const;
  /// The whole image decoded, pending ops applied (cached; thread-safe). Errors name the file.
  const TensorImage& decoded() const;
  /// True once decoded() has run.
  bool is_decoded() const;
  /// A copy with the dihedral ops `ks` appended to pending (and its own, empty, cache).
  EncodedImage with_pending(const std::vector<int>& ks) const;
};

/// An EncodedImage for `bytes` when they are a JPEG whose header gives its size and `mode` is not
/// L; nullptr otherwise (the caller then decodes eagerly, which reports any error).
std::shared_ptr<EncodedImage> encoded_jpeg(std::shared_ptr<const std::vector<uint8_t>> bytes, std::string name,
                                           ImageMode mode);
/// Registers EncodedImage with the type registry (idempotent; done at start-up).
void register_encoded_image_type();

}  // namespace fastai
