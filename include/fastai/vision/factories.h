// fastai's ImageDataLoaders: the one-line factories over an image folder, file names, lists or a
// table. Each is a DataBlock({ImageBlock(mode), CategoryBlock or MultiCategoryBlock}) underneath.
#pragma once
#include "fastai/io/table.h"
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

/// The options of every ImageDataLoaders factory (fastai's names and defaults; each factory
/// reads the fields it takes).
struct ImageDataLoadersOptions {
  // from_folder
  std::string train = "train";                   ///< training folder (GrandparentSplitter)
  std::string valid = "valid";                   ///< validation folder
  /// Random split fraction. nullopt: from_folder splits by train / valid folders, the others by
  /// 0.2 (fastai's default). from_df / from_csv ignore it when valid_col is set.
  std::optional<double> valid_pct = std::nullopt;
  std::optional<uint64_t> seed = std::nullopt;   ///< RandomSplitter seed (and the shuffle's)
  std::vector<std::string> vocab = {};           ///< empty: learned from the training labels
  // from_df / from_csv
  size_t fn_col = 0;                             ///< column of the file names
  size_t label_col = 1;                          ///< column of the labels
  std::string folder = "";                       ///< file names are under path / folder
  std::string pref = "", suff = "";              ///< around each file name (after the folder)
  std::optional<std::string> label_delim = std::nullopt;  ///< set: multi-label (MultiCategoryBlock)
  std::optional<std::string> valid_col = std::nullopt;    ///< boolean column: true = validation row
  // every factory
  ImageMode img_mode = ImageMode::RGB;           ///< fastai img_cls: RGB = PILImage, L = PILImageBW
  std::vector<std::shared_ptr<Transform>> item_tfms = {};
  std::vector<std::shared_ptr<Transform>> batch_tfms = {};
  int64_t bs = 64;
  std::optional<int64_t> val_bs = std::nullopt;
  bool shuffle = true;
  std::optional<c10::Device> device = std::nullopt;
  int num_workers = -1;
};

/// fastai's ImageDataLoaders. Errors name what is wrong (a missing folder or file, a column).
struct ImageDataLoaders {
  /// Images under path/train and path/valid (or all of path split by valid_pct), labelled by
  /// their parent folder.
  static DataLoaders from_folder(const std::filesystem::path& path, ImageDataLoadersOptions o = {});
  /// fnames labelled by label_func(file name).
  static DataLoaders from_name_func(const std::filesystem::path& path, std::vector<std::filesystem::path> fnames,
                                    std::function<std::string(const std::string&)> label_func,
                                    ImageDataLoadersOptions o = {});
  /// fnames labelled by label_func(full path).
  static DataLoaders from_path_func(const std::filesystem::path& path, std::vector<std::filesystem::path> fnames,
                                    std::function<std::string(const std::filesystem::path&)> label_func,
                                    ImageDataLoadersOptions o = {});
  /// fnames labelled by the first group of `pat` in the file name (RegexLabeller).
  static DataLoaders from_name_re(const std::filesystem::path& path, std::vector<std::filesystem::path> fnames,
                                  const std::string& pat, ImageDataLoadersOptions o = {});
  /// fnames (relative to path, or absolute) with their labels (one each; with label_delim
  /// multi-label strings).
  static DataLoaders from_lists(const std::filesystem::path& path, std::vector<std::filesystem::path> fnames,
                                std::vector<std::string> labels, ImageDataLoadersOptions o = {});
  /// A Table of file names (column fn_col) and labels (label_col), files under path/folder.
  static DataLoaders from_df(const Table& df, const std::filesystem::path& path = ".", ImageDataLoadersOptions o = {});
  /// from_df over read_csv(path / csv_fname).
  static DataLoaders from_csv(const std::filesystem::path& path, const std::filesystem::path& csv_fname = "labels.csv",
                              ImageDataLoadersOptions o = {});
};

}  // namespace fastai
