// The vision blocks of fastai.vision.data: ImageCreate / MaskCreate (fastai's PILImage.create and
// PILMask.create as type transforms) and the ImageBlock / MaskBlock that put them in a DataBlock.
#pragma once
#include "fastai/core/transform.h"
#include "fastai/data/block.h"
#include "fastai/vision/image.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fastai {

/// Whether ImageCreate keeps JPEGs encoded (EncodedImage, see image.h) so that the first vision item
/// transform decodes only the window it needs at a reduced DCT scale. On by default; the
/// environment variable FASTAI_LAZY_DECODE=0 turns it off (read once, unless set here).
void set_lazy_image_decode(bool on);
/// The current setting of set_lazy_image_decode.
bool lazy_image_decode();

/// A file path (std::filesystem::path or std::string), encoded bytes (std::vector<uint8_t>) or a
/// uint8 at::Tensor [C,H,W] / [H,W] -> TensorImage [C,H,W] (TensorImageBW in mode L), decoded with
/// load_image (fastai PILImage.create / PILImageBW.create). A TensorImage passes unchanged. Errors
/// name the item (the file, or the item's type when it is none of these). With lazy_image_decode()
/// (the default) a JPEG in mode RGB / Unchanged becomes an EncodedImage instead: a subtype of
/// TensorImage that decodes when viewed as one, and that AugmentTransform decodes partially (only
/// the file is read here, so a missing file still fails here). make_transform name
/// "ImageCreate"; state {"mode": "RGB" | "L" | "Unchanged"}.
class ImageCreate : public Transform {
 public:
  explicit ImageCreate(ImageMode mode = ImageMode::RGB);
  ImageMode mode() const { return mode_; }
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 protected:
  Item encodes_item(const Item& x) const override;

 private:
  ImageMode mode_;
};

/// A file path (std::filesystem::path or std::string), encoded bytes or an integer at::Tensor
/// [H,W] -> int64 TensorMask [H,W] with load_mask (fastai PILMask.create); a TensorMask passes. With codes, vocab()
/// returns them and c() their number, and a mask holding a value >= their number is an Error naming the file and
/// the value (fastai does not check: the loss would fail later with an index error). As a target it implies CrossEntropyLossFlat(axis=1).
/// make_transform name "MaskCreate"; state {"codes": [...]}.
class MaskCreate : public Transform {
 public:
  explicit MaskCreate(std::vector<std::string> codes = {});
  const std::vector<std::string>* vocab() const override { return codes_.empty() ? nullptr : &codes_; }
  std::optional<int64_t> c() const override;
  std::optional<LossHint> loss_hint() const override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 protected:
  Item encodes_item(const Item& x) const override;

 private:
  std::vector<std::string> codes_;
};

/// Images as inputs (fastai ImageBlock; mode L is fastai's cls=PILImageBW): type_tfms {ImageCreate},
/// batch_tfms {IntToFloatTensor}.
TransformBlock ImageBlock(ImageMode mode = ImageMode::RGB);
/// Segmentation masks as targets (fastai MaskBlock): type_tfms {MaskCreate(codes)}, batch_tfms
/// {IntToFloatTensor} (which keeps masks int64).
TransformBlock MaskBlock(std::vector<std::string> codes = {});

/// Registers ImageCreate and MaskCreate with make_transform. Idempotent; done at start-up by
/// any program that links this file, so only needed by one that uses no other vision symbol.
void register_vision_transforms();

}  // namespace fastai
