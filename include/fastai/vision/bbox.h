// Points and bounding boxes (fastai.vision.core / fastai.vision.data): PointCreate and BBoxCreate
// (fastai's TensorPoint.create / TensorBBox.create as type transforms), PointScaler (pixels <->
// fastai's -1..1 coordinates), clip_remove_empty and bb_pad (the per-batch box padding), the
// PointBlock / BBoxBlock / BBoxLblBlock that put them in a DataBlock, get_annotations (COCO-style
// JSON) and make_synthetic_boxes (a procedurally drawn box set with exact boxes, for tests and
// examples).
//
// Coordinates: points are (x, y), boxes (x0, y0, x1, y1), in pixels where pixel i covers [i, i+1)
// (what the item transforms of fastai/vision/augment.h move). PointScaler maps them to -1..1 with
// -1 the left/top edge and 1 the right/bottom edge: x' = x * 2 / w - 1 (what the batch
// AffineCoordTfm moves). fastai's PointScaler has order 1 because fastai's item transforms move
// scaled points; ours move pixels, so PointScaler runs after them (order 50).
#pragma once
#include "fastai/core/transform.h"
#include "fastai/data/block.h"

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fastai {

/// Points -> float TensorPoint [n,2] (fastai TensorPoint.create): an at::Tensor with 2k values
/// ([n,2] or flat), std::vector<std::pair<double,double>>, std::vector<std::array<double,2>>,
/// std::vector<std::vector<double>> (each of size 2) or std::vector<double> (x0,y0,x1,y1...). A
/// TensorPoint passes. setup learns c = 2 * the number of points of the first training item (the
/// regression outputs); as a target it implies MSELossFlat. make_transform name "PointCreate".
class PointCreate : public Transform {
 public:
  PointCreate();
  std::optional<int64_t> c() const override { return c_; }
  std::optional<LossHint> loss_hint() const override { return LossHint{"MSELossFlat"}; }
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 protected:
  Item encodes_item(const Item& x) const override;
  void setups(const std::vector<Item>& items, const Pipeline* before) override;

 private:
  std::optional<int64_t> c_;
};

/// Boxes -> float TensorBBox [n,4] x0,y0,x1,y1 (fastai TensorBBox.create): an at::Tensor with 4k
/// values, std::vector<std::array<double,4>>, std::vector<std::vector<double>> (each of size 4)
/// or std::vector<double>. A TensorBBox passes. Error naming the box (index and values) when
/// x1 < x0 or y1 < y0, or a value is not finite. make_transform name "BBoxCreate".
class BBoxCreate : public Transform {
 public:
  BBoxCreate();

 protected:
  Item encodes_item(const Item& x) const override;
};

/// PointScaler options (fastai PointScaler(do_scale=True, y_first=False)).
struct PointScalerOptions {
  bool do_scale = true;  ///< false: points are already in -1..1
  bool y_first = false;  ///< the points are given as (y, x): swapped to (x, y) on encode
};

/// Scales TensorPoint / TensorBBox elements of a sample to -1..1 by the size (w, h) of the
/// sample's first image or mask, or by their img_size when there is none, and sets img_size
/// (fastai PointScaler; an ItemTransform here, so it needs no per-call state). decodes scales
/// back to pixels (always x first) and, for boxes, drops the rows that are empty (x1 <= x0 or
/// y1 <= y0: bb_pad's padding) together with the same rows of the TensorMultiCategory element
/// right after the boxes (their labels). Error naming the element when no size is known.
/// order 50 (see the file comment); make_transform name "PointScaler".
class PointScaler : public ItemTransform {
 public:
  explicit PointScaler(PointScalerOptions o = {});
  const PointScalerOptions& options() const { return o_; }
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 protected:
  Item encodes_item(const Item& x) const override;
  Item decodes_item(const Item& x) const override;

 private:
  PointScalerOptions o_;
};

/// Boxes [n,4] (in -1..1) clamped to -1..1, then the empty ones (x1 <= x0 or y1 <= y0) removed
/// together with their labels [n] (fastai clip_remove_empty). Error naming both shapes when they
/// do not match.
std::pair<at::Tensor, at::Tensor> clip_remove_empty(const at::Tensor& bbox, const at::Tensor& label);

/// fastai bb_pad: in every sample, each TensorBBox element (and the TensorMultiCategory of labels
/// right after it, if any) goes through clip_remove_empty, then is padded to the largest count
/// in the batch: boxes with rows of 0, labels with `pad_idx` (0: the background '#na#').
/// Errors name the sample and element when a box element is not [n,4] or its labels not [n].
std::vector<Tuple> bb_pad(std::vector<Tuple> samples, int64_t pad_idx = 0);

/// bb_pad as a before_batch transform (receives the list of samples as one Tuple of Tuples).
/// make_transform name "BBoxPad"; state {"pad_idx": 0}.
class BBoxPad : public ItemTransform {
 public:
  explicit BBoxPad(int64_t pad_idx = 0);
  int64_t pad_idx() const { return pad_idx_; }
  nlohmann::json state() const override { return {{"pad_idx", pad_idx_}}; }
  void load_state(const nlohmann::json& s) override { pad_idx_ = s.value("pad_idx", int64_t{0}); }

 protected:
  Item encodes_item(const Item& x) const override;

 private:
  int64_t pad_idx_ = 0;
};

/// Points as targets (fastai PointBlock): type_tfms {PointCreate}, item_tfms {PointScaler}.
TransformBlock PointBlock();
/// Boxes (fastai BBoxBlock): type_tfms {BBoxCreate}, item_tfms {PointScaler}, before_batch {BBoxPad}.
TransformBlock BBoxBlock();
/// The boxes' labels (fastai BBoxLblBlock(vocab=None, add_na=True)): type_tfms
/// {MultiCategorize(vocab, add_na)}; with add_na, index 0 is the background '#na#' bb_pad pads with.
TransformBlock BBoxLblBlock(std::vector<std::string> vocab = {}, bool add_na = true);

/// Boxes (x0, y0, x1, y1 in pixels) and one label each, for one image.
struct BBoxAnnotation {
  std::vector<std::array<double, 4>> boxes;
  std::vector<std::string> labels;
};
/// What get_annotations returns: image file names and, in the same order, their annotations.
struct Annotations {
  std::vector<std::string> images;
  std::vector<BBoxAnnotation> lbl_bbox;
};

/// Reads a COCO-style JSON (fastai get_annotations): "images" [{id, file_name}], "annotations"
/// [{image_id, category_id, bbox: [x, y, w, h]}], "categories" [{id, name}]. Returns the images
/// that have at least one annotation (in the order of "images"), with `prefix` prepended to each
/// file name, and their boxes as (x, y, x + w, y + h) with the category names. Errors name the
/// file and: a missing / unreadable file, malformed JSON, a missing key (with the entry, e.g.
/// "annotations[3]"), an unknown category or image id, a box with negative width or height
/// (naming the image and the box).
Annotations get_annotations(const std::filesystem::path& fname, const std::string& prefix = "");

/// make_synthetic_boxes options.
struct SyntheticBoxesOptions {
  int64_t height = 64;
  int64_t width = 64;
  int64_t min_boxes = 1;      ///< shapes per image, drawn uniformly in [min_boxes, max_boxes]
  int64_t max_boxes = 3;
  int64_t min_side = 10;      ///< shape size in pixels (rectangle sides, circle diameter)
  int64_t max_side = 24;
  double noise = 40.0;        ///< background: uniform noise in 0..noise (dark), shapes are bright
  uint64_t seed = 42;
};
/// Where make_synthetic_boxes wrote the set.
struct SyntheticBoxes {
  std::filesystem::path images;       ///< folder of PNG images img_000.png, img_001.png, ...
  std::filesystem::path annotations;  ///< COCO-style JSON (file_name relative to `images`)
};

/// Writes `n` images of non-overlapping filled rectangles and circles (categories "rectangle",
/// "circle") on a noisy dark canvas, with their exact boxes: a rectangle covers the pixels of its
/// box, a circle of centre (cx, cy) and radius r the pixels whose centre is within r, whose box is
/// (cx - r, cy - r, cx + r, cy + r). Deterministic for a seed. Errors name the option that is
/// out of range.
SyntheticBoxes make_synthetic_boxes(const std::filesystem::path& dir, int64_t n, SyntheticBoxesOptions o = {});

/// Registers PointCreate, BBoxCreate, PointScaler and BBoxPad with make_transform. Idempotent;
/// done at start-up by any program that links this file.
void register_bbox_transforms();

}  // namespace fastai
