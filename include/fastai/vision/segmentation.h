// fastai's SegmentationDataLoaders.from_label_func, and a SYNTHETIC segmentation data set
// generator (procedural shapes, or Fashion-MNIST items, pasted on a noisy canvas) for examples
// and tests that must not depend on downloaded data.
#pragma once
#include "fastai/data/block.h"
#include "fastai/vision/data.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fastai {

/// SegmentationDataLoaders options (fastai's names and defaults).
struct SegmentationDataLoadersOptions {
  std::vector<std::string> codes = {};           ///< class names, index = mask value
  double valid_pct = 0.2;                        ///< RandomSplitter fraction
  std::optional<uint64_t> seed = std::nullopt;   ///< RandomSplitter seed (and the shuffle's)
  ImageMode img_mode = ImageMode::RGB;           ///< fastai img_cls
  std::vector<std::shared_ptr<Transform>> item_tfms = {};
  std::vector<std::shared_ptr<Transform>> batch_tfms = {};
  int64_t bs = 64;
  std::optional<int64_t> val_bs = std::nullopt;
  bool shuffle = true;
  std::optional<c10::Device> device = std::nullopt;
  int num_workers = -1;
};

/// fastai's SegmentationDataLoaders.
struct SegmentationDataLoaders {
  /// DataBlock({ImageBlock(img_mode), MaskBlock(codes)}, RandomSplitter(valid_pct, seed),
  /// get_y = label_func) over `fnames` (relative names are taken under `path`): the masks are
  /// label_func(image path). Errors: empty fnames or label_func; label_func giving a file that
  /// does not exist (names it and the image); a mask value >= len(codes) (names the file and
  /// the value, see MaskCreate).
  static DataLoaders from_label_func(const std::filesystem::path& path, std::vector<std::filesystem::path> fnames,
                                     std::function<std::filesystem::path(const std::filesystem::path&)> label_func,
                                     SegmentationDataLoadersOptions o = {});
};

/// make_synthetic_segmentation options.
struct SyntheticSegmentationOptions {
  int64_t size = 128;           ///< canvas side (square)
  uint64_t seed = 0;
  int64_t min_items = 1;        ///< items pasted per image: uniform in [min_items, max_items]
  int64_t max_items = 3;
  /// false: procedural shapes, codes {"background", "circle", "rectangle", "triangle"}.
  /// true: Fashion-MNIST items (read from fashion_mnist_dir, "" = the default folder), codes
  /// {"background", 10 Fashion-MNIST class names}; pixels of an item above 40/255 are its mask.
  bool fashion_mnist = false;
  std::string fashion_mnist_dir = "";
  int64_t item_scale = 2;       ///< Fashion-MNIST items are upscaled (nearest) by this factor
  double noise = 25.0;          ///< std of the canvas' and the shapes' pixel noise (0..255 scale)
  /// false: every item gets a random colour, so only its shape tells its class. true: class k
  /// always has the same colour (an easier set, learnable from colour alone: quick sanity checks).
  bool class_colours = false;
};

/// What make_synthetic_segmentation wrote.
struct SyntheticSegmentation {
  std::filesystem::path path;                ///< the data set folder
  std::vector<std::filesystem::path> images; ///< path/images/img_0000.png, ...
  std::vector<std::string> codes;            ///< also in path/codes.txt, one per line
};

/// Writes a SYNTHETIC segmentation set of n RGB images under dir: images/img_XXXX.png (size x
/// size, a random grey level plus Gaussian noise, with 1..3 items pasted at random places, each
/// in a random colour with its own texture noise) and labels/img_XXXX_P.png (grey mask: 0
/// background, k = the class of the item covering the pixel, later items on top), plus codes.txt.
/// Random colours are at least 60 grey levels from the background in every channel; fixed class
/// colours (class_colours) are a 10-entry palette.
/// Deterministic for a seed. Errors: n < 1, size < 16, bad item counts, a missing Fashion-MNIST.
SyntheticSegmentation make_synthetic_segmentation(const std::filesystem::path& dir, int64_t n,
                                                  SyntheticSegmentationOptions o = {});

/// The label_func of a synthetic set: <dir>/images/<stem>.png -> <dir>/labels/<stem>_P.png.
std::filesystem::path synthetic_label_func(const std::filesystem::path& image);

}  // namespace fastai
