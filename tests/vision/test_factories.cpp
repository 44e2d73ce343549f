// ImageDataLoaders: every factory over a generated tree of small coloured PNGs.
#include "test_util.h"

#include "fastai/io/csv.h"
#include "fastai/core/transforms.h"
#include "fastai/vision/factories.h"
#include "fastai/vision/image.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>

namespace img_factories_test {

namespace fs = std::filesystem;
using fastai::testing::TmpDir;
using fastai::testing::expect_error;
using fastai::ImageDataLoaders;

const std::vector<std::string> kClasses = {"a", "b", "c"};

/// An 8x8 RGB image of class c: channel c bright, the others dark, varied by i.
at::Tensor colour_image(size_t c, int i) {
  auto img = at::full({3, 8, 8}, 20 + i, at::kByte);
  img[static_cast<int64_t>(c)].fill_(200 - i);
  return img;
}

/// <root>/{train,valid}/{a,b,c}/<i>.png: 4 training and 2 validation images per class.
void write_tree(const fs::path& root) {
  for (int split = 0; split < 2; ++split)
    for (size_t c = 0; c < kClasses.size(); ++c)
      for (int i = 0; i < (split ? 2 : 4); ++i)
        fastai::save_image(root / (split ? "valid" : "train") / kClasses[c] / (std::to_string(i) + ".png"),
                           colour_image(c, i));
}

/// Every label of the batch is the brightest channel of its image.
void expect_labels_match(const fastai::Tuple& b, int64_t n) {
  auto x = b[0].get<fastai::TensorImage>().data;
  auto y = fastai::tensor_of(b[1]);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{n, 3, 8, 8}));
  EXPECT_EQ(x.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(x.mean({2, 3}).argmax(1), y)) << y;
}

TEST(ImageDataLoaders, FromFolderSplitsByGrandparent) {
  TmpDir tmp;
  write_tree(tmp.p);
  auto dls = ImageDataLoaders::from_folder(tmp.p, {.bs = 12, .num_workers = 0});
  EXPECT_EQ(dls.vocab(), kClasses);
  EXPECT_EQ(dls.c(), 3);
  EXPECT_EQ(dls.train().n(), 12);
  EXPECT_EQ(dls.valid().n(), 6);
  expect_labels_match(dls.tfmd(0)->one_batch(), 12);
  auto vb = dls.tfmd(1)->one_batch();  // unshuffled: a a b b c c
  expect_labels_match(vb, 6);
  EXPECT_TRUE(at::equal(fastai::tensor_of(vb[1]), at::tensor({0, 0, 1, 1, 2, 2}, at::kLong)));
  // bs, a given vocab (with a class the data lacks), grey images
  auto d2 = ImageDataLoaders::from_folder(tmp.p, {.vocab = {"a", "b", "c", "d"}, .img_mode = fastai::ImageMode::L,
                                                  .bs = 5, .num_workers = 0});
  EXPECT_EQ(d2.c(), 4);
  auto b2 = d2.tfmd(1)->one_batch();
  EXPECT_EQ(b2[0].get<fastai::TensorImage>().data.sizes(), (std::vector<int64_t>{5, 1, 8, 8}));
  EXPECT_TRUE(at::equal(fastai::tensor_of(b2[1]), at::tensor({0, 0, 1, 1, 2}, at::kLong)));
}

TEST(ImageDataLoaders, FromFolderValidPctSplitsAtRandom) {
  TmpDir tmp;
  write_tree(tmp.p);
  auto dls = ImageDataLoaders::from_folder(tmp.p / "train", {.valid_pct = 0.25, .seed = 42, .bs = 9, .num_workers = 0});
  EXPECT_EQ(dls.train().n(), 9);
  EXPECT_EQ(dls.valid().n(), 3);
  EXPECT_EQ(dls.vocab(), kClasses);
  expect_labels_match(dls.tfmd(1)->one_batch(), 3);
  // the whole tree (train and valid folders) when valid_pct is given
  EXPECT_EQ(ImageDataLoaders::from_folder(tmp.p, {.valid_pct = 0.5, .bs = 4, .num_workers = 0}).train().n(), 9);
}

TEST(ImageDataLoaders, FromNameFuncPathFuncAndNameRe) {
  TmpDir tmp;
  std::vector<fs::path> fnames;
  for (size_t c = 0; c < 3; ++c)
    for (int i = 0; i < 5; ++i) {
      fs::path f = fs::path(kClasses[c]) / (kClasses[c] + "_" + std::to_string(i) + ".png");
      fastai::save_image(tmp.p / f, colour_image(c, i));
      fnames.push_back(f);
    }
  auto by_name = ImageDataLoaders::from_name_func(
      tmp.p, fnames, [](const std::string& n) { return n.substr(0, 1); }, {.seed = 1, .bs = 12, .num_workers = 0});
  EXPECT_EQ(by_name.vocab(), kClasses);
  EXPECT_EQ(by_name.train().n(), 12);  // fastai's default valid_pct 0.2
  EXPECT_EQ(by_name.valid().n(), 3);
  expect_labels_match(by_name.tfmd(0)->one_batch(), 12);
  auto by_path = ImageDataLoaders::from_path_func(tmp.p, fnames, fastai::parent_label, {.seed = 1, .bs = 12, .num_workers = 0});
  EXPECT_EQ(by_path.vocab(), kClasses);
  expect_labels_match(by_path.tfmd(1)->one_batch(), 3);
  auto by_re = ImageDataLoaders::from_name_re(tmp.p, fnames, "^([a-z])_\\d+\\.png$", {.seed = 1, .bs = 12, .num_workers = 0});
  EXPECT_EQ(by_re.vocab(), kClasses);
  expect_labels_match(by_re.tfmd(0)->one_batch(), 12);
}

TEST(ImageDataLoaders, FromListsDfAndCsvWithMultiLabel) {
  TmpDir tmp;
  write_tree(tmp.p);
  std::vector<fs::path> fnames;
  std::vector<std::string> labels, multi;
  std::string csv = "name,tags,is_valid\n";
  for (size_t c = 0; c < 3; ++c)
    for (int i = 0; i < 4; ++i) {
      fnames.push_back(fs::path("train") / kClasses[c] / (std::to_string(i) + ".png"));
      labels.push_back(kClasses[c]);
      multi.push_back(i % 2 ? kClasses[c] : kClasses[c] + " x");  // even images also tagged "x"
      csv += fnames.back().string() + "," + multi.back() + "," + (i == 0 ? "1" : "0") + "\n";
    }
  auto dls = ImageDataLoaders::from_lists(tmp.p, fnames, labels, {.valid_pct = 0.25, .seed = 3, .bs = 9, .num_workers = 0});
  EXPECT_EQ(dls.vocab(), kClasses);
  EXPECT_EQ(dls.valid().n(), 3);
  expect_labels_match(dls.tfmd(0)->one_batch(), 9);

  std::ofstream(tmp.p / "labels.csv") << csv;
  auto ml = ImageDataLoaders::from_csv(tmp.p, "labels.csv",
                                       {.label_delim = " ", .valid_col = "is_valid", .bs = 9, .num_workers = 0});
  EXPECT_EQ(ml.vocab(), (std::vector<std::string>{"a", "b", "c", "x"}));
  EXPECT_EQ(ml.train().n(), 9);
  auto vb = ml.tfmd(1)->one_batch();  // the three i == 0 images: "a x", "b x", "c x"
  auto y = fastai::tensor_of(vb[1]);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(at::equal(y.to(at::kFloat), at::tensor({1.f, 0.f, 0.f, 1.f, 0.f, 1.f, 0.f, 1.f, 0.f, 0.f, 1.f, 1.f})
                                              .view({3, 4})));
  // from_df with a folder and other columns
  auto df = fastai::read_csv(tmp.p / "labels.csv");
  auto d2 = ImageDataLoaders::from_df(df.select({"is_valid", "name", "tags"}), tmp.p.parent_path(),
                                      {.fn_col = 1, .label_col = 2, .folder = tmp.p.filename().string(),
                                       .valid_col = "is_valid", .bs = 9, .num_workers = 0});
  EXPECT_EQ(d2.vocab(), (std::vector<std::string>{"a", "a x", "b", "b x", "c", "c x"}));
  EXPECT_EQ(d2.valid().n(), 3);
}

TEST(ImageDataLoaders, ErrorsNameThePath) {
  TmpDir tmp;
  expect_error([&] { ImageDataLoaders::from_folder(tmp.p / "nowhere"); }, {"from_folder", "nowhere", "not a folder"});
  fastai::save_image(tmp.p / "train" / "a" / "0.png", colour_image(0, 0));
  expect_error([&] { ImageDataLoaders::from_folder(tmp.p); }, {"from_folder", (tmp.p / "valid").string()});
  expect_error([&] { ImageDataLoaders::from_lists(tmp.p, {"x.png"}, {}); }, {"from_lists", "1 file names", "0 labels"});
  expect_error([&] { ImageDataLoaders::from_csv(tmp.p, "gone.csv"); }, {"from_csv", "gone.csv", "does not exist"});
}

}  // namespace img_factories_test
