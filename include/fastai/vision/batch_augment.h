// fastai's batch augmentation (vision.augment, GPU part), on the batch's device: every affine and
// coordinate transform of a batch (Flip, Dihedral, Rotate, Zoom, Warp) is merged into ONE
// AffineCoordTfm that builds one sampling grid per item, at the output `size` when one is given,
// and interpolates once (grid_sampler); RandomResizedCropGPU crops and resizes in one interpolation;
// Brightness / Contrast / Saturation / Hue (through HSV) are merged into one LightingTfm working in logit space.
// Draws come from thread_rng() (the DataLoader reseeds it per batch), one per item with the op's
// probability p (or one per batch with `batch`). The random parts are train-only: on validation
// an AffineCoordTfm without size and a LightingTfm are the identity, an AffineCoordTfm with size
// only resizes (as fastai's), RandomResizedCropGPU takes a centre crop.
#pragma once
#include "fastai/core/transform.h"
#include "fastai/vision/augment.h"  // ImageSize

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fastai {

/// One affine / coordinate op of an AffineCoordTfm. kind: "flip" (x-scale -1), "dihedral" (one of
/// 8, k uniform in 0..7), "rotate" (a = max_deg: theta ~ U(-a, a) degrees), "zoom" (a = min_zoom,
/// b = max_zoom: scale 1/U(a, b) with a random centre), "warp" (a = magnitude: perspective warp
/// whose corner offsets are U(-a, a)). Each item gets the op with probability p.
struct AffineOp {
  std::string kind;
  double p = 0.5;
  double a = 0.0, b = 0.0;
};

/// Options of the affine / coordinate transforms (fastai's mode, pad_mode, align_corners, batch).
struct AffineCoordOptions {
  std::string mode = "bilinear";      ///< images: "bilinear", "nearest" or "bicubic"; masks always nearest
  std::string pad_mode = "reflection";  ///< "zeros", "border" or "reflection"
  bool align_corners = true;
  bool batch = false;                 ///< one draw for the whole batch instead of one per item
  /// fastai's `size`: the output (h, w) (an int is a square; each >= 1). The one grid is built at
  /// this size, so resizing costs no extra interpolation. nullopt: the input's size.
  std::optional<ImageSize> size = std::nullopt;
  /// fastai's _grid_sample pre-pass (bilinear only, with a size): when the output is more than 2x
  /// smaller than the input (d = min(H/h, W/w)/2 > 1) and the maps zoom in less than d, the images
  /// are first area-averaged by 1/d (an anti-aliasing step, as fastai; not an interpolation of the
  /// grid). false: never.
  bool antialias = true;
};

/// fastai AffineCoordTfm (order 30): the ops' 3x3 matrices are drawn per item and multiplied (in
/// the order given, as fastai composes aff_fs), a warp is applied to the grid after them, and each
/// element of the batch is resampled ONCE, on a grid of the output size (options().size, else the
/// input's): float TensorImage [B,C,H,W] with `mode`, TensorMask [B,H,W] with nearest (labels kept),
/// TensorPoint [B,n,2] / TensorBBox [B,n,4] in fastai's -1..1 coordinates moved by the exact inverse
/// map (relative coordinates: the output size does not change them; img_size becomes the output
/// {w, h}; boxes: bounding box of the moved corners, clamped to -1..1). Other elements pass through.
/// Without size it is train-only (split_idx 0). With size it runs on every split (split_idx
/// nullopt, as fastai's): random maps on split 0, the identity map (a plain resize) otherwise.
class AffineCoordTfm : public Transform {
 public:
  explicit AffineCoordTfm(std::vector<AffineOp> ops = {}, AffineCoordOptions o = {});
  const std::vector<AffineOp>& ops() const { return ops_; }
  const AffineCoordOptions& options() const { return o_; }
  /// Appends the ops of another AffineCoordTfm (what setup_aug_tfms does).
  void merge(const AffineCoordTfm& other);
  /// The per-item 3x3 maps drawn for a batch of `bs` (from output coords to input coords,
  /// warp included, aspect-corrected for h x w), [bs,3,3] double on the CPU. Draws from thread_rng().
  at::Tensor draw_maps(int64_t bs, int64_t h, int64_t w) const;
  /// Applies given maps (from draw_maps; [B,3,3], output -> input coords) to one element (image,
  /// mask, points, boxes; others unchanged), resampling to options().size when set.
  Item apply(const Item& x, const at::Tensor& maps) const;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 protected:
  Item encodes_item(const Item& x) const override;
  Item encodes_split(const Item& x, std::optional<int> split) const override;
  Item decodes_item(const Item& x) const override { return x; }
  bool whole_tuple() const override { return true; }

 private:
  std::vector<AffineOp> ops_;
  AffineCoordOptions o_;
};

std::shared_ptr<AffineCoordTfm> Flip(double p = 0.5, AffineCoordOptions o = {});
std::shared_ptr<AffineCoordTfm> Dihedral(double p = 0.5, AffineCoordOptions o = {});
std::shared_ptr<AffineCoordTfm> Rotate(double max_deg = 10.0, double p = 0.5, AffineCoordOptions o = {});
std::shared_ptr<AffineCoordTfm> Zoom(double min_zoom = 1.0, double max_zoom = 1.1, double p = 0.5, AffineCoordOptions o = {});
std::shared_ptr<AffineCoordTfm> Warp(double magnitude = 0.2, double p = 0.5, AffineCoordOptions o = {});

/// RandomResizedCropGPU options (fastai's min_scale=0.08, ratio=(3/4, 4/3), mode='bilinear',
/// valid_scale=1., max_scale=1.; masks always nearest).
struct RandomResizedCropGPUOptions {
  double min_scale = 0.08;  ///< crop area fraction drawn in U(min_scale, max_scale); 0 < min_scale <= max_scale
  std::pair<double, double> ratio = {3.0 / 4.0, 4.0 / 3.0};  ///< aspect w/h drawn log-uniformly in ratio
  std::string mode = "bilinear";  ///< images: "bilinear", "nearest" or "bicubic"
  double valid_scale = 1.0;       ///< validation: the centre crop's sides are scaled by it
  double max_scale = 1.0;
  /// false: a window per item (like the item-level RandomResizedCrop); true: one window for the
  /// whole batch (what fastai's RandomResizedCropGPU does: one before_call per batch).
  bool batch = false;
};

/// fastai RandomResizedCropGPU (order 30, every split): a crop window is drawn as fastai draws it
/// (10 attempts of area U(min_scale, max_scale) * h * w, aspect exp(U(log r0, log r1)), sides
/// rounded, top-left uniform; else a centre crop clipped to `ratio`); on validation (any split but
/// 0) the centre crop of the ratio-clipped image with sides scaled by valid_scale. The window is
/// then resized to `size` with ONE interpolation (align_corners grid: the window's corner pixel
/// centres map to the output's, exactly fastai's slice + affine_coord resize; with bilinear and every
/// window of the batch more than 2x the output, the images are first area-averaged by the smallest
/// such factor, fastai's _grid_sample pre-pass on its crop). Kept a separate
/// transform as in fastai (not merged into AffineCoordTfm): images with `mode`, masks nearest,
/// points / boxes (-1..1) moved by the exact inverse map (fastai slices them as if they were images).
class RandomResizedCropGPU : public Transform {
 public:
  explicit RandomResizedCropGPU(ImageSize size = ImageSize(224), RandomResizedCropGPUOptions o = {});
  ImageSize size() const { return size_; }
  const RandomResizedCropGPUOptions& options() const { return o_; }
  /// The windows (top, left, crop_h, crop_w) in input pixels for a batch of `bs` h x w images:
  /// random (thread_rng()) when `train`, else the validation centre crop.
  std::vector<std::array<int64_t, 4>> draw_windows(int64_t bs, int64_t h, int64_t w, bool train) const;
  /// The [B,3,3] output -> input maps (-1..1 coords, align_corners) that crop these windows of an
  /// h x w image and stretch them over the output.
  static at::Tensor window_maps(const std::vector<std::array<int64_t, 4>>& windows, int64_t h, int64_t w);
  /// Applies given maps (from window_maps) to one element: resampled to size() (see AffineCoordTfm::apply).
  Item apply(const Item& x, const at::Tensor& maps) const;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 protected:
  Item encodes_split(const Item& x, std::optional<int> split) const override;
  Item decodes_item(const Item& x) const override { return x; }
  bool whole_tuple() const override { return true; }

 private:
  void rebuild();
  ImageSize size_;
  RandomResizedCropGPUOptions o_;
  std::shared_ptr<AffineCoordTfm> resampler_;
};

/// One lighting op: "brightness" (a = max_lighting: x <- sigmoid(logit(x) + logit(c)),
/// c ~ U(0.5(1-a), 0.5(1+a)), neutral 0.5) or "contrast" (x <- sigmoid(c * logit(x)),
/// c = exp(U(log(1-a), -log(1-a))), neutral 1) or "saturation" (x <- sigmoid(c * l + (1-c) * gray(l)),
/// l = logit(x), gray the ITU-R 601-2 luma of l, c drawn as for contrast; RGB only) or "hue"
/// (a = max_hue; RGB only: in 0..1 space, rgb -> hsv, h <- (h + c) mod 1, hsv -> rgb; fastai draws
/// exp(U(log(1-a), -log(1-a))) and adds it, which mod 1 is the shift c = that - 1, in
/// [-a, a/(1-a)]; neutral 0), each item with probability p.
struct LightingOp {
  std::string kind;
  double max_lighting = 0.2;  ///< max_hue for "hue"
  double p = 0.75;
};

/// fastai LightingTfm (order 40, split_idx 0) on float TensorImage batches [B,C,H,W] in 0..1:
/// logit (clamped to 1e-7..1-1e-7), the ops in order, sigmoid. Masks and points pass through.
/// fastai's Hue is a separate HSVTfm (order 40, after the LightingTfm in setup_aug_tfms); here it is
/// a "hue" op of the LightingTfm (leaves logit space for its HSV step, then returns), so it merges
/// with the other ops and keeps the order they are given in (aug_transforms' xtra_tfms come after
/// Brightness / Contrast, as in fastai).
class LightingTfm : public Transform {
 public:
  explicit LightingTfm(std::vector<LightingOp> ops = {}, bool batch = false);
  const std::vector<LightingOp>& ops() const { return ops_; }
  bool batch() const { return batch_; }
  void merge(const LightingTfm& other);
  /// Applies the ops with given per-item factors ([n_ops][B]) to a batch (no drawing).
  at::Tensor apply(const at::Tensor& x, const std::vector<std::vector<double>>& factors) const;
  /// Draws per-item factors for a batch of `bs` (neutral where an item is not transformed).
  std::vector<std::vector<double>> draw(int64_t bs) const;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 private:
  std::vector<LightingOp> ops_;
  bool batch_ = false;
};

std::shared_ptr<LightingTfm> Brightness(double max_lighting = 0.2, double p = 0.75, bool batch = false);
std::shared_ptr<LightingTfm> Contrast(double max_lighting = 0.2, double p = 0.75, bool batch = false);
std::shared_ptr<LightingTfm> Saturation(double max_lighting = 0.2, double p = 0.75, bool batch = false);
/// fastai Hue(max_hue=0.1, p=0.75, batch=False): a LightingTfm with one "hue" op; 0 <= max_hue < 1.
/// A 1-channel image is an Error naming the op (fastai fails on it too).
std::shared_ptr<LightingTfm> Hue(double max_hue = 0.1, double p = 0.75, bool batch = false);

/// RGB [B,3,H,W] in 0..1 to HSV (h, s, v each in 0..1; h = 0 and s = 0 for greys) (fastai rgb2hsv).
at::Tensor rgb2hsv(const at::Tensor& rgb);
/// HSV [B,3,H,W] (h taken mod 1) to RGB in 0..1 (fastai hsv2rgb).
at::Tensor hsv2rgb(const at::Tensor& hsv);

/// RandomErasing options (fastai RandomErasing(p=0.5, sl=0., sh=0.3, min_aspect=0.3, max_count=1)).
struct RandomErasingOptions {
  double p = 0.5;
  double sl = 0.0;          ///< min erased area, as a fraction of the image (split among the count)
  double sh = 0.3;          ///< max erased area fraction
  double min_aspect = 0.3;  ///< aspect ratio drawn log-uniformly in [min_aspect, 1/min_aspect]
  int64_t max_count = 1;    ///< 1..max_count rectangles per image
  bool batch = false;       ///< fastai's batch behaviour: one draw (p, rectangles) for the whole batch
};

/// fastai RandomErasing (order 100, after Normalize; split_idx 0): replaces 1..max_count random
/// rectangles of a float TensorImage batch [B,C,H,W] with N(0,1) noise (thread_generator()), each
/// item with probability p and its own rectangles (one draw for the batch with `batch`).
class RandomErasing : public Transform {
 public:
  explicit RandomErasing(RandomErasingOptions o = {});
  const RandomErasingOptions& options() const { return o_; }
  /// The rectangles (row0, row1, col0, col1) drawn for one image of h x w (empty when not erased).
  std::vector<std::array<int64_t, 4>> draw_areas(int64_t h, int64_t w) const;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 private:
  RandomErasingOptions o_;
};

/// aug_transforms options (fastai's signature and defaults; `size` comes first here so that
/// `{.size = 224, .max_warp = 0}` compiles, designated initializers being ordered).
struct AugTransformsOptions {
  std::optional<ImageSize> size = std::nullopt;  ///< output size (h, w); an int is a square
  double mult = 1.0;
  bool do_flip = true;
  bool flip_vert = false;  ///< Dihedral instead of Flip
  double max_rotate = 10.0;
  double min_zoom = 1.0;
  double max_zoom = 1.1;
  double max_lighting = 0.2;
  double max_warp = 0.2;
  double p_affine = 0.75;
  double p_lighting = 0.75;
  std::vector<std::shared_ptr<Transform>> xtra_tfms = {};
  std::string mode = "bilinear";
  std::string pad_mode = "reflection";
  bool align_corners = true;
  bool batch = false;
  double min_scale = 1.0;  ///< < 1: RandomResizedCropGPU(size, min_scale, ratio (1, 1)) instead of resizing in the AffineCoordTfm
};

/// fastai aug_transforms: [Flip(0.5) or Dihedral(0.5)], Warp, Rotate, Zoom (p_affine), Brightness,
/// Contrast (p_lighting) and xtra_tfms, merged by setup_aug_tfms: one AffineCoordTfm, one LightingTfm.
/// With min_scale == 1 the AffineCoordTfm gets `size`; with min_scale < 1 (needs size) a
/// RandomResizedCropGPU(size, {min_scale, ratio (1, 1), batch}) is put first in xtra_tfms (it runs
/// after the AffineCoordTfm, as in fastai: two interpolations then; `batch` = one window per batch,
/// fastai's only behaviour). min_scale must be in (0, 1].
std::vector<std::shared_ptr<Transform>> aug_transforms(AugTransformsOptions o = {});
/// Merges all AffineCoordTfms into one (ops in order) and all LightingTfms into one (fastai
/// setup_aug_tfms); other transforms are kept after them.
std::vector<std::shared_ptr<Transform>> setup_aug_tfms(const std::vector<std::shared_ptr<Transform>>& tfms);

/// Registers AffineCoordTfm, LightingTfm, RandomResizedCropGPU and RandomErasing for make_transform
/// (done when the library is linked).
void register_batch_augment_transforms();

}  // namespace fastai
