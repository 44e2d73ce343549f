// The local dataset registry (fastai.data.external's URLs / untar_data, without downloads): each
// entry names the folder under data_dir(), the files that make it complete and the command that
// builds it from Debian packages (scripts/setup.sh, scripts/data.sh).
#include "fastai/data/external.h"

#include "fastai/core/error.h"
#include "fastai/core/files.h"

#include <system_error>

namespace fastai {
namespace external_detail {

std::string data_sh(const char* name) {
  std::string s = "bash scripts/data.sh ";
  s += name;
  return s;
}

std::vector<DatasetInfo> make_registry() {
  std::vector<DatasetInfo> r;
  r.push_back({URLs::FASHION_MNIST,
               "Fashion-MNIST (Zalando): 28x28 grey-scale images of clothes in 10 classes, 60,000 train + "
               "10,000 test, as gzip'd IDX files (links to Debian's dataset-fashion-mnist); read with "
               "load_fashion_mnist",
               "bash scripts/setup.sh",
               {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                "t10k-labels-idx1-ubyte.gz"}});
  r.push_back({URLs::FASHION_MNIST_PNG,
               "Fashion-MNIST as PNG files in an image-folder layout, train/<class>/<n>.png and "
               "valid/<class>/<n>.png (the 10,000 test images are the validation set): for "
               "get_image_files, GrandparentSplitter and parent_label",
               data_sh(URLs::FASHION_MNIST_PNG),
               {"train", "valid"}});
  r.push_back({URLs::CREDIT,
               "credit_data (R modeldata): 4,454 loan applications x 14 columns, binary target Status "
               "(good/bad), categorical and continuous columns with missing values; tabular classification "
               "(stands in for fastai's ADULT_SAMPLE)",
               data_sh(URLs::CREDIT),
               {"credit_data.csv"}});
  r.push_back({URLs::DIAMONDS,
               "diamonds (R ggplot2): 53,940 diamonds x 10 columns, target price, ordered categoricals cut, "
               "color and clarity; tabular regression",
               data_sh(URLs::DIAMONDS),
               {"diamonds.csv"}});
  r.push_back({URLs::MOVIELENS,
               "MovieLens latest-small 2016 (R dslabs): ratings.csv with 100,004 ratings (userId, movieId, "
               "rating 0.5-5, timestamp) of 671 users and 9,066 movies, movies.csv with titles and genres; "
               "collaborative filtering (stands in for fastai's ML_SAMPLE / ML_100k)",
               data_sh(URLs::MOVIELENS),
               {"ratings.csv", "movies.csv"}});
  r.push_back({URLs::FINE_FOODS,
               "Amazon fine-food reviews (R modeldata small_fine_foods): 5,000 reviews with score great/other "
               "and an is_valid column (1,000 validation rows); text classification (stands in for fastai's "
               "IMDB_SAMPLE)",
               data_sh(URLs::FINE_FOODS),
               {"fine_foods.csv"}});
  r.push_back({URLs::JANE_AUSTEN,
               "Jane Austen's six novels (R janeaustenr), one UTF-8 text file each, about 717k words; "
               "language modelling (stands in for fastai's WIKITEXT)",
               data_sh(URLs::JANE_AUSTEN),
               {"sense_and_sensibility.txt", "pride_and_prejudice.txt", "mansfield_park.txt", "emma.txt",
                "northanger_abbey.txt", "persuasion.txt"}});
  r.push_back({URLs::OPENCLIPART,
               "Openclipart clip art (Debian openclipart-png): 8 categories (animals, computer, food, people, "
               "recreation, shapes, signs_and_symbols, transportation), up to 250 PNGs each of varied sizes "
               "(60 px to over 1000 px; palette, grey+alpha and RGBA), as links in train/<category>/ and "
               "valid/<category>/ (every 5th in valid); image classification (stands in for fastai's PETS)",
               data_sh(URLs::OPENCLIPART),
               {"train", "valid"}});
  r.push_back({URLs::OPENCLIPART_ALL,
               "Openclipart clip art (Debian openclipart-png), every top-level category (22, from animals to "
               "unsorted) with every clip art: about 6,900 PNGs, 3 to 1,797 per category, as links in "
               "train/<category>/ and valid/<category>/ (every 5th in valid); unbalanced image classification",
               data_sh(URLs::OPENCLIPART_ALL),
               {"train", "valid"}});
  return r;
}

}  // namespace external_detail

const std::vector<DatasetInfo>& registered_datasets() {
  static const std::vector<DatasetInfo> r = external_detail::make_registry();
  return r;
}

const DatasetInfo& dataset_info(const std::string& name) {
  for (const auto& d : registered_datasets())
    if (d.name == name) return d;
  std::string names;
  for (const auto& d : registered_datasets()) {
    if (!names.empty()) names += ", ";
    names += d.name;
  }
  fail("untar_data: unknown dataset ", quote_value(name), "; the registered datasets are: ", names);
}

std::filesystem::path data_dir() { return fastai_home() / "data"; }

std::filesystem::path untar_data(const std::string& name, const std::filesystem::path& dest) {
  namespace fs = std::filesystem;
  const DatasetInfo& d = dataset_info(name);
  const fs::path base = dest.empty() ? data_dir() : dest;
  const fs::path dir = base / d.name;
  // scripts/data.sh installs into $FASTAI_HOME/data; say so when the caller looks elsewhere.
  std::string where;
  if (!dest.empty()) {
    where = " (it installs into ";
    where += data_dir().string();
    where += "; pass that folder as dest, or copy the dataset to ";
    where += base.string();
    where += ")";
  }
  std::error_code ec;
  FA_CHECK(fs::is_directory(dir, ec), "untar_data: dataset '", d.name, "' is not installed: folder ", dir,
           " does not exist; install it with `", d.install, "`", where, " (", d.description, ")");
  for (const auto& f : d.files) {
    if (fs::exists(dir / f, ec)) continue;
    std::string what = " is missing";
    if (fs::is_symlink(dir / f, ec)) {  // e.g. a link to a Debian package's file that was removed
      what = " is a link to ";
      what += fs::read_symlink(dir / f, ec).string();
      what += ", which does not exist";
    }
    fail("untar_data: dataset '", d.name, "' in ", dir, " is incomplete: ", f, what, "; install it with `", d.install,
         "`", where);
  }
  return dir;
}

}  // namespace fastai
