// fastai's batch augmentation (vision.augment, GPU part), on the batch's device: every affine and
// coordinate transform of a batch (Flip, Dihedral, Rotate, Zoom, Warp) is merged into ONE
// AffineCoordTfm that builds one sampling grid per item and interpolates once (grid_sampler);
// Brightness / Contrast are merged into one LightingTfm working in logit space. Draws come from
// thread_rng() (the DataLoader reseeds it per batch), one per item with the op's probability p
// (or one per batch with `batch`). All are train-only (split_idx 0): the identity on validation.
#pragma once
#include "fastai/core/transform.h"

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
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
};

/// fastai AffineCoordTfm (order 30, split_idx 0): the ops' 3x3 matrices are drawn per item and
/// multiplied (in the order given, as fastai composes aff_fs), a warp is applied to the grid after
/// them, and each element of the batch is resampled ONCE: float TensorImage [B,C,H,W] with `mode`,
/// TensorMask [B,H,W] with nearest (labels kept), TensorPoint [B,n,2] / TensorBBox [B,n,4] in
/// fastai's -1..1 coordinates moved by the exact inverse map (boxes: bounding box of the moved
/// corners, clamped to -1..1). Other elements pass through.
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
  /// Applies given maps (from draw_maps) to one element (image, mask, points, boxes; others unchanged).
  Item apply(const Item& x, const at::Tensor& maps) const;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 protected:
  Item encodes_item(const Item& x) const override;
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

/// One lighting op: "brightness" (a = max_lighting: x <- sigmoid(logit(x) + logit(c)),
/// c ~ U(0.5(1-a), 0.5(1+a)), neutral 0.5) or "contrast" (x <- sigmoid(c * logit(x)),
/// c = exp(U(log(1-a), -log(1-a))), neutral 1) or "saturation" (x <- sigmoid(c * l + (1-c) * gray(l)),
/// l = logit(x), gray the ITU-R 601-2 luma of l, c drawn as for contrast; RGB only), each item
/// with probability p.
struct LightingOp {
  std::string kind;
  double max_lighting = 0.2;
  double p = 0.75;
};

/// fastai LightingTfm (order 40, split_idx 0; Hue is not ported) on float TensorImage batches [B,C,H,W] in 0..1:
/// logit (clamped to 1e-7..1-1e-7), the ops in order, sigmoid. Masks and points pass through.
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

/// aug_transforms options (fastai's signature; `size` and RandomResizedCropGPU are not ported yet).
struct AugTransformsOptions {
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
};

/// fastai aug_transforms: [Flip(0.5) or Dihedral(0.5)], Warp, Rotate, Zoom (p_affine), Brightness,
/// Contrast (p_lighting) and xtra_tfms, merged by setup_aug_tfms: one AffineCoordTfm, one LightingTfm.
std::vector<std::shared_ptr<Transform>> aug_transforms(AugTransformsOptions o = {});
/// Merges all AffineCoordTfms into one (ops in order) and all LightingTfms into one (fastai
/// setup_aug_tfms); other transforms are kept after them.
std::vector<std::shared_ptr<Transform>> setup_aug_tfms(const std::vector<std::shared_ptr<Transform>>& tfms);

/// Registers AffineCoordTfm, LightingTfm and RandomErasing for make_transform (done when the library is linked).
void register_batch_augment_transforms();

}  // namespace fastai
