// The common transforms of fastai.data.transforms: category encoding (Categorize, MultiCategorize,
// OneHotEncode, EncodedMultiCategorize, RegressionSetup), ToTensor, IntToFloatTensor, Normalize;
// and the getters / labellers (get_files, ColReader, RegexLabeller, parent_label).
// All are registered for make_transform under their class name.
#pragma once
#include "fastai/core/transform.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace fastai {

/// Labels <-> indices (fastai CategoryMap): sorted unique labels, "#na#" first when add_na.
class CategoryMap {
 public:
  CategoryMap() = default;
  /// From raw labels: unique (first-seen order), sorted when `sort`, "#na#" prepended when `add_na`.
  CategoryMap(const std::vector<std::string>& labels, bool sort = true, bool add_na = false);
  /// From a finished vocab, used as is (e.g. loaded state).
  static CategoryMap from_vocab(std::vector<std::string> vocab, bool add_na);

  const std::vector<std::string>& items() const { return items_; }
  std::size_t size() const { return items_.size(); }
  bool add_na() const { return add_na_; }
  /// Index of a label: an unknown label maps to 0 ("#na#") with add_na, else Error naming it,
  /// `who` (the transform) and a few vocab entries.
  int64_t index(const std::string& label, const char* who = "CategoryMap") const;
  /// Label of an index; Error naming the index and the vocab size when out of range.
  const std::string& label(int64_t i, const char* who = "CategoryMap") const;

 private:
  std::vector<std::string> items_;
  std::unordered_map<std::string, int64_t> o2i_;
  bool add_na_ = false;
};

/// Categorize options (fastai Categorize(vocab=None, sort=True, add_na=False)).
struct CategorizeOptions {
  std::vector<std::string> vocab = {};  ///< empty: learned in setup from the training labels
  bool sort = true;
  bool add_na = false;
};

/// Category / std::string label -> TensorCategory (0-d int64); decodes back to Category. order 1.
class Categorize : public Transform {
 public:
  explicit Categorize(CategorizeOptions o = {});
  const std::vector<std::string>* vocab() const override;
  std::optional<int64_t> c() const override;
  const CategoryMap& category_map() const;
  std::optional<LossHint> loss_hint() const override { return LossHint{"CrossEntropyLossFlat"}; }
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 protected:
  void setups(const std::vector<Item>& items, const Pipeline* before) override;

 private:
  std::optional<CategoryMap> map_;
  bool sort_ = true, add_na_ = false;
};

/// MultiCategory / std::vector<std::string> -> TensorMultiCategory of indices (int64 [k]);
/// decodes back to MultiCategory. Vocab: sorted union of the training labels. order 1.
class MultiCategorize : public Transform {
 public:
  explicit MultiCategorize(std::vector<std::string> vocab = {}, bool add_na = false);
  const std::vector<std::string>* vocab() const override;
  std::optional<int64_t> c() const override;
  std::optional<LossHint> loss_hint() const override { return LossHint{"BCEWithLogitsLossFlat"}; }
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 protected:
  void setups(const std::vector<Item>& items, const Pipeline* before) override;

 private:
  std::optional<CategoryMap> map_;
  bool add_na_ = false;
};

/// TensorMultiCategory indices -> one-hot float [c]; decodes to the indices of the non-zero
/// entries. c from the previous transform's vocab when not given. order 2.
class OneHotEncode : public Transform {
 public:
  explicit OneHotEncode(std::optional<int64_t> c = std::nullopt);
  std::optional<int64_t> c() const override { return c_; }
  std::optional<LossHint> loss_hint() const override { return LossHint{"BCEWithLogitsLossFlat"}; }
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 protected:
  void setups(const std::vector<Item>& items, const Pipeline* before) override;

 private:
  std::optional<int64_t> c_;
};

/// Already one-hot targets (a plain at::Tensor or std::vector<double>) -> float
/// TensorMultiCategory; decodes to MultiCategory of the vocab entries that are non-zero. order 1.
class EncodedMultiCategorize : public Transform {
 public:
  explicit EncodedMultiCategorize(std::vector<std::string> vocab = {});
  const std::vector<std::string>* vocab() const override { return &vocab_; }
  std::optional<int64_t> c() const override { return static_cast<int64_t>(vocab_.size()); }
  std::optional<LossHint> loss_hint() const override { return LossHint{"BCEWithLogitsLossFlat"}; }
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 protected:
  Item encodes_item(const Item& x) const override;

 private:
  std::vector<std::string> vocab_;
};

/// Regression targets (double, float, int64, std::vector<double>, plain at::Tensor) -> float
/// TensorFloat. c = number of targets, from the first training item when not given.
class RegressionSetup : public Transform {
 public:
  explicit RegressionSetup(std::optional<int64_t> c = std::nullopt);
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

/// Converts decoded items (images, ...) to semantic tensors. order 5. The core registers no
/// overloads: applications add theirs with extend_encodes<T>("ToTensor", f).
class ToTensor : public Transform {
 public:
  ToTensor();
};

/// IntToFloatTensor options.
struct IntToFloatTensorOptions {
  double div = 255.0;      ///< TensorImage: x.float() / div
  double div_mask = 1.0;   ///< TensorMask: (x.long() / div_mask).long()
};

/// uint8 TensorImage -> float / div (masks only divided by div_mask). decodes: images back to
/// uint8 0..255 (rounded; fastai truncates to int64). order 10.
class IntToFloatTensor : public Transform {
 public:
  explicit IntToFloatTensor(IntToFloatTensorOptions o = {});
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 private:
  IntToFloatTensorOptions o_;
};

/// Per-channel mean and standard deviation.
struct Stats {
  std::vector<double> mean;
  std::vector<double> std;
};
inline const Stats imagenet_stats{{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}};
inline const Stats cifar_stats{{0.491, 0.482, 0.447}, {0.247, 0.243, 0.261}};
inline const Stats mnist_stats{{0.131}, {0.308}};

/// (x - mean) / std on float TensorImage items only (masks, labels pass); decodes x * std + mean.
/// Stats shaped to broadcast over a batch [B,C,H,W] (or a single image [C,H,W]); when not given,
/// setup computes them over `axes` from a batch of training images (std + 1e-7). order 99.
class Normalize : public Transform {
 public:
  explicit Normalize(at::Tensor mean = {}, at::Tensor std = {}, std::vector<int64_t> axes = {0, 2, 3});
  /// From per-channel stats, shaped [1,C,1,1] (dim 1 of ndim 4), as fastai's Normalize.from_stats.
  static std::shared_ptr<Normalize> from_stats(const Stats& s, int64_t dim = 1, int64_t ndim = 4);
  static std::shared_ptr<Normalize> from_stats(std::vector<double> mean, std::vector<double> std, int64_t dim = 1,
                                               int64_t ndim = 4);
  const at::Tensor& mean() const { return mean_; }
  const at::Tensor& std() const { return std_; }
  bool needs_setup_data() const override { return !mean_.defined(); }
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;

 protected:
  void setups(const std::vector<Item>& items, const Pipeline* before) override;

 private:
  at::Tensor stat_for(const at::Tensor& stat, const at::Tensor& x) const;
  at::Tensor mean_, std_;
  std::vector<int64_t> axes_;
};

// ---- getters and labellers ------------------------------------------------------------------

/// Files under `path` whose extension (lower-cased, with the dot, e.g. ".jpg") is in `extensions`
/// (all files when empty), recursing into subfolders when `recurse`; with `folders` non-empty only
/// top-level subfolders of those names are searched. Hidden files and folders (starting with '.')
/// are skipped. Sorted. Error naming the path when it is not a folder.
std::vector<std::filesystem::path> get_files(const std::filesystem::path& path, std::vector<std::string> extensions = {},
                                             bool recurse = true, std::vector<std::string> folders = {});
/// The extensions get_image_files looks for (".jpg", ".png", ...).
const std::vector<std::string>& image_extensions();
/// get_files with image_extensions() (fastai get_image_files). A function object, so that it can
/// be passed where a getter is expected (`.get_items = get_image_files`).
struct GetImageFiles {
  std::vector<std::filesystem::path> operator()(const std::filesystem::path& path, bool recurse = true,
                                                std::vector<std::string> folders = {}) const;
};
inline constexpr GetImageFiles get_image_files{};
/// get_files with ".txt" (fastai get_text_files).
struct GetTextFiles {
  std::vector<std::filesystem::path> operator()(const std::filesystem::path& path, bool recurse = true,
                                                std::vector<std::string> folders = {}) const;
};
inline constexpr GetTextFiles get_text_files{};
/// A get_items function with fixed arguments (fastai FileGetter / ImageGetter).
std::function<std::vector<std::filesystem::path>(const std::filesystem::path&)> FileGetter(
    std::vector<std::string> extensions = {}, bool recurse = true, std::vector<std::string> folders = {});
/// The name of the folder holding the file (fastai parent_label).
std::string parent_label(const std::filesystem::path& p);

/// The first capture group of `pattern` in the path's text (fastai RegexLabeller): searched
/// anywhere, or matched from the start when `match`. Error naming the pattern and the path.
class RegexLabeller {
 public:
  explicit RegexLabeller(std::string pattern, bool match = false);
  std::string operator()(const std::filesystem::path& p) const;

 private:
  std::string pattern_;
  bool match_;
  std::shared_ptr<const void> re_;  // std::regex, kept out of the header
};

}  // namespace fastai
