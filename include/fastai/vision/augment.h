// fastai's item transforms for vision (fastai.vision.augment, run per item on loader threads):
// Resize, RandomResizedCrop, RandomCrop, CropPad, FlipItem, DihedralItem, RatioResize.
// Each is an ItemTransform: its random parameters are drawn once per sample from thread_rng(), so
// every element of the tuple moves together: images (TensorImage / TensorImageBW [C,H,W], uint8 or
// float; bilinear with antialias, uint8 stays uint8), masks (TensorMask [H,W], nearest), points
// (TensorPoint [n,2] x,y in pixels, pixel i covering [i, i+1)) and boxes (TensorBBox [n,4]
// x0,y0,x1,y1, clipped to the output). Other elements pass through unchanged.
// All are registered for make_transform under their class name, with JSON state.
#pragma once
#include "fastai/core/transform.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fastai {

/// How Resize reaches the target aspect ratio (fastai ResizeMethod).
enum class ResizeMethod { Crop, Pad, Squish };
/// How pixels outside the image are filled (fastai PadMode; PIL constant / reflect / edge).
enum class PadMode { Zeros, Reflection, Border };

/// A target size (h, w); an int is a square.
struct ImageSize {
  int64_t h = 0, w = 0;
  ImageSize(int64_t s) : h(s), w(s) {}  // NOLINT(google-explicit-constructor)
  ImageSize(int64_t h_, int64_t w_) : h(h_), w(w_) {}
};

/// One geometric step of a plan: crop the window [top, top+crop_h) x [left, left+crop_w) (pixels
/// outside padded with `pad`), resize it to out_h x out_w; then the dihedral op `k` (bit 0: flip
/// left-right, bit 1: flip top-bottom, bit 2: transpose; applied in that order).
struct GeomStep {
  int64_t top = 0, left = 0, crop_h = 0, crop_w = 0, out_h = 0, out_w = 0;
  PadMode pad = PadMode::Zeros;
  int k = 0;
};

/// Base of the vision item transforms: plans the steps once per call from the sample's size. An
/// EncodedImage in the sample (a JPEG that ImageCreate kept encoded; see image.h) is decoded here,
/// only as far as the plan needs: the first step's window, at the smallest libjpeg DCT scale that
/// keeps it at least its output size (decode_image_region), the window mapped into the decoded
/// pixels; the rest of the plan runs as usual, and masks, points and boxes move by the plan in
/// original coordinates. A plan of dihedral ops only (FlipItem, DihedralItem) is recorded on the
/// EncodedImage without decoding, and applied after the next transform's resize.
class AugmentTransform : public ItemTransform {
 public:
  /// Applies to one item or a tuple with an explicit split (0 train, 1 valid, nullopt as fastai's
  /// None: random like train). Error naming the transform and the shape for a bad tensor.
  Item apply(const Item& x, std::optional<int> split) const;
  /// The steps for an image of h x w (draws from thread_rng() where random).
  virtual std::vector<GeomStep> plan(int64_t h, int64_t w, std::optional<int> split) const = 0;

 protected:
  using ItemTransform::ItemTransform;
  /// Plans with the split the Pipeline / DataLoader calls it with.
  Item encodes_split(const Item& x, std::optional<int> split) const override;
};

struct ResizeOptions {
  ResizeMethod method = ResizeMethod::Crop;
  PadMode pad_mode = PadMode::Reflection;
};
/// fastai Resize (order 1): Crop the largest window of the target aspect (random position on
/// train, centred on valid), Pad to the target aspect, or Squish; then resize to `size`.
class Resize : public AugmentTransform {
 public:
  explicit Resize(ImageSize size, ResizeOptions o = {});
  std::vector<GeomStep> plan(int64_t h, int64_t w, std::optional<int> split) const override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 private:
  ImageSize size_;
  ResizeOptions o_;
};

struct RandomResizedCropOptions {
  double min_scale = 0.08, max_scale = 1.0;
  std::pair<double, double> ratio = {3.0 / 4.0, 4.0 / 3.0};
  double val_xtra = 0.14;
};
/// fastai RandomResizedCrop (order 1). Train: a random window (area U(min_scale, max_scale) of the
/// image, log-uniform aspect, 10 tries then a centre crop) resized to `size`. Valid: the whole
/// image squished to size + xtra (xtra = ceil(max(size) * val_xtra / 8) * 8), then centre-cropped.
class RandomResizedCrop : public AugmentTransform {
 public:
  explicit RandomResizedCrop(ImageSize size, RandomResizedCropOptions o = {});
  std::vector<GeomStep> plan(int64_t h, int64_t w, std::optional<int> split) const override;
  /// The valid-time intermediate size (h, w): size + xtra.
  ImageSize valid_size() const;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 private:
  ImageSize size_;
  RandomResizedCropOptions o_;
};

/// fastai RandomCrop (order 1): a random window of `size` on train (zero padding when the image is
/// smaller), the centred one on valid. No resize.
class RandomCrop : public AugmentTransform {
 public:
  explicit RandomCrop(ImageSize size);
  std::vector<GeomStep> plan(int64_t h, int64_t w, std::optional<int> split) const override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 private:
  ImageSize size_;
};

/// fastai CropPad (order 0): centre crop or pad to `size`, always.
class CropPad : public AugmentTransform {
 public:
  explicit CropPad(ImageSize size, PadMode pad_mode = PadMode::Zeros);
  std::vector<GeomStep> plan(int64_t h, int64_t w, std::optional<int> split) const override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 private:
  ImageSize size_;
  PadMode pad_;
};

/// fastai FlipItem (train only, order 0): left-right flip with probability p.
class FlipItem : public AugmentTransform {
 public:
  explicit FlipItem(double p = 0.5);
  std::vector<GeomStep> plan(int64_t h, int64_t w, std::optional<int> split) const override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 private:
  double p_;
};

/// fastai DihedralItem (train only, order 0): with probability p one of the 8 dihedral ops, k
/// uniform in 0..7 (0 identity).
class DihedralItem : public AugmentTransform {
 public:
  explicit DihedralItem(double p = 1.0);
  std::vector<GeomStep> plan(int64_t h, int64_t w, std::optional<int> split) const override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 private:
  double p_;
};

/// fastai RatioResize (order 1): the longest side to max_sz, the other int(side * max_sz / longest).
class RatioResize : public AugmentTransform {
 public:
  explicit RatioResize(int64_t max_sz);
  std::vector<GeomStep> plan(int64_t h, int64_t w, std::optional<int> split) const override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 private:
  int64_t max_sz_;
};

std::string to_string(ResizeMethod m);
std::string to_string(PadMode m);

/// Registers the transforms above with make_transform. Idempotent; done at start-up by any program
/// that links augment.cpp.
void register_augment_transforms();

}  // namespace fastai
