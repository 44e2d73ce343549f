// The local dataset registry (fastai.data.external): untar_data(URLs::NAME) resolves a dataset
// folder under $FASTAI_HOME/data (fastai_home()), filled by scripts/setup.sh (and scripts/data.sh)
// from Debian packages, since the machines have no internet. A missing dataset is an Error that
// names the command installing it.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace fastai {

/// Names of the registered datasets (fastai's URLs.*; ours are local, not URLs).
struct URLs {
  static constexpr const char* FASHION_MNIST = "fashion_mnist";        ///< IDX files (dataset-fashion-mnist)
  static constexpr const char* FASHION_MNIST_PNG = "fashion_mnist_png";///< the same as PNGs: {train,valid}/<class>/<n>.png
  static constexpr const char* CREDIT = "credit_data";                 ///< tabular classification (replaces ADULT_SAMPLE)
  static constexpr const char* DIAMONDS = "diamonds";                  ///< tabular regression
  static constexpr const char* MOVIELENS = "movielens";                ///< collaborative filtering (replaces ML_SAMPLE)
  static constexpr const char* FINE_FOODS = "fine_foods";              ///< text classification (replaces IMDB_SAMPLE)
  static constexpr const char* JANE_AUSTEN = "janeausten";             ///< language modelling (replaces WIKITEXT)
  static constexpr const char* OPENCLIPART = "openclipart";            ///< image classification, 8 categories (replaces PETS)
  static constexpr const char* OPENCLIPART_ALL = "openclipart_all";    ///< every category of openclipart-png (22, unbalanced)
};

/// One registry entry.
struct DatasetInfo {
  std::string name;          ///< the URLs:: value, also the folder name under data/
  std::string description;
  std::string install;       ///< the command that installs it
  std::vector<std::string> files;  ///< files (relative to the folder) that must exist
};

/// Every registered dataset.
const std::vector<DatasetInfo>& registered_datasets();
/// The entry for `name`; Error listing the registered names when unknown.
const DatasetInfo& dataset_info(const std::string& name);
/// $FASTAI_HOME/data (or ~/.fastai-cpp/data).
std::filesystem::path data_dir();

/// The folder of dataset `name` (fastai untar_data): `dest` / name, default data_dir() / name.
/// Error naming the folder, the missing file and the install command when it is not complete.
std::filesystem::path untar_data(const std::string& name, const std::filesystem::path& dest = "");

}  // namespace fastai
