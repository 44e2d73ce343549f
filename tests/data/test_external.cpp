// The local dataset registry: untar_data resolves $FASTAI_HOME/data/<name>, and a missing or
// incomplete dataset is an Error naming the folder, the missing file and the install command.
#include "fastai/data/external.h"
#include "fastai/data/idx.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <set>

namespace {

namespace fs = std::filesystem;
using fastai::testing::expect_error;

// Points FASTAI_HOME at a fresh folder for one test and restores it afterwards.
struct HomeGuard {
  fastai::testing::TmpDir tmp;
  std::optional<std::string> saved;
  HomeGuard() {
    if (const char* h = std::getenv("FASTAI_HOME")) saved = h;
    ::setenv("FASTAI_HOME", tmp.p.c_str(), 1);
  }
  ~HomeGuard() {
    if (saved) ::setenv("FASTAI_HOME", saved->c_str(), 1);
    else ::unsetenv("FASTAI_HOME");
  }
  // Creates the dataset's folder with every registered file (empty files and folders will do).
  fs::path install(const std::string& name) const {
    const auto dir = tmp.p / "data" / name;
    for (const auto& f : fastai::dataset_info(name).files) {
      fs::create_directories((dir / f).parent_path());
      if (fs::path(f).extension().empty()) fs::create_directories(dir / f);
      else std::ofstream(dir / f) << "x\n";
    }
    return dir;
  }
  HomeGuard(const HomeGuard&) = delete;
  HomeGuard& operator=(const HomeGuard&) = delete;
};

TEST(External, RegistryHasEveryURLsName) {
  const std::vector<std::string> names{fastai::URLs::FASHION_MNIST, fastai::URLs::FASHION_MNIST_PNG,
                                       fastai::URLs::CREDIT,        fastai::URLs::DIAMONDS,
                                       fastai::URLs::MOVIELENS,     fastai::URLs::FINE_FOODS,
                                       fastai::URLs::JANE_AUSTEN,   fastai::URLs::OPENCLIPART,
                                       fastai::URLs::OPENCLIPART_ALL};
  EXPECT_EQ(fastai::registered_datasets().size(), names.size());
  std::set<std::string> seen;
  for (const auto& d : fastai::registered_datasets()) {
    EXPECT_TRUE(seen.insert(d.name).second) << "registered twice: " << d.name;
    EXPECT_GT(d.description.size(), 40u) << d.name;
    EXPECT_FALSE(d.files.empty()) << d.name;
  }
  for (const auto& n : names) {
    const auto& d = fastai::dataset_info(n);
    EXPECT_EQ(d.name, n);
    std::string want = "bash scripts/data.sh ";
    want += n;
    EXPECT_EQ(d.install, n == "fashion_mnist" ? std::string("bash scripts/setup.sh") : want);
  }
  EXPECT_EQ(fastai::dataset_info("movielens").files, (std::vector<std::string>{"ratings.csv", "movies.csv"}));
}

TEST(External, UntarDataFindsACompleteDataset) {
  HomeGuard h;
  EXPECT_EQ(fastai::data_dir(), h.tmp.p / "data");
  const auto dir = h.install("credit_data");
  EXPECT_EQ(fastai::untar_data(fastai::URLs::CREDIT), dir);
  EXPECT_EQ(fastai::untar_data("janeausten", h.tmp.p / "data"), h.install("janeausten"));
  EXPECT_EQ(fastai::untar_data("fashion_mnist_png"), h.install("fashion_mnist_png"));
}

TEST(External, MissingDatasetNamesTheInstallCommand) {
  HomeGuard h;
  const auto dir = h.tmp.p / "data" / "movielens";
  expect_error([] { fastai::untar_data(fastai::URLs::MOVIELENS); },
               {"untar_data", "'movielens' is not installed", dir.string(), "`bash scripts/data.sh movielens`"});
  expect_error([] { fastai::untar_data(fastai::URLs::FASHION_MNIST); }, {"`bash scripts/setup.sh`"});
  h.install("movielens");
  fs::remove(dir / "ratings.csv");
  expect_error([] { fastai::untar_data(fastai::URLs::MOVIELENS); },
               {"'movielens'", "incomplete", "ratings.csv is missing", "`bash scripts/data.sh movielens`"});
}

TEST(External, BrokenLinkIsNamed) {
  HomeGuard h;
  const auto dir = h.install("fashion_mnist");
  fs::remove(dir / "t10k-labels-idx1-ubyte.gz");
  fs::create_symlink(h.tmp.p / "gone.gz", dir / "t10k-labels-idx1-ubyte.gz");
  expect_error([] { fastai::untar_data("fashion_mnist"); },
               {"t10k-labels-idx1-ubyte.gz is a link to", "gone.gz", "does not exist", "bash scripts/setup.sh"});
}

TEST(External, DestElsewhereSaysWhereTheScriptInstalls) {
  HomeGuard h;
  const auto other = h.tmp.p / "elsewhere";
  expect_error([&] { fastai::untar_data("diamonds", other); },
               {(other / "diamonds").string(), "bash scripts/data.sh diamonds", "installs into",
                (h.tmp.p / "data").string()});
}

TEST(External, UnknownNameListsTheRegisteredOnes) {
  expect_error([] { fastai::untar_data("pets"); },
               {"unknown dataset 'pets'", "fashion_mnist, fashion_mnist_png, credit_data, diamonds, movielens, "
                                          "fine_foods, janeausten"});
}

TEST(External, FashionMnistDefaultsToTheRegistryFolder) {
  HomeGuard h;
  EXPECT_EQ(fastai::default_fashion_mnist_dir(), fs::path("/usr/share/datasets/fashion-mnist"));
  const auto dir = h.install("fashion_mnist");
  EXPECT_EQ(fastai::default_fashion_mnist_dir(), dir);
}

}  // namespace
