// DataBlock: items from a folder tree, getters, blocks, splitters, merged transforms,
// dataloaders(), and summary() on a working and on deliberately broken blocks.
#include "data/data_fixtures.h"
#include "test_util.h"

#include "fastai/data/block.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace datablock_test {
using namespace fastai;          // NOLINT(google-build-using-namespace)
using namespace fastai::testing; // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;

// {train,valid}/{cat,dog}/<k>.txt, each holding a number: cats small, dogs large.
void make_tree(const fs::path& root, int per_class = 6) {
  for (std::string split : {"train", "valid"})
    for (std::string cls : {"cat", "dog"}) {
      fs::create_directories(root / split / cls);
      for (int k = 0; k < per_class; ++k)
        std::ofstream(root / split / cls / (std::to_string(k) + ".txt")) << (cls == "cat" ? k : 100 + k);
    }
}

// A path -> TensorFloat [v, v / 2] read from the file.
at::Tensor read_number(const fs::path& p) {
  std::ifstream f(p);
  double v = 0;
  FA_CHECK(static_cast<bool>(f >> v), "read_number: no number in ", p.string());
  return at::tensor({static_cast<float>(v), static_cast<float>(v / 2)});
}

DataBlockOptions tree_block() {
  return {.blocks = {TransformBlock{}, CategoryBlock()},
          .get_items = get_text_files,
          .get_x = [](const fs::path& p) { return TensorFloat(read_number(p)); },
          .get_y = parent_label,
          .splitter = GrandparentSplitter()};
}

TEST(DataBlock, FolderTreeToDataLoaders) {
  TmpDir d;
  make_tree(d.p);
  DataBlock block(tree_block());
  EXPECT_EQ(block.n_inp(), 1);
  auto ds = block.datasets(d.p);
  EXPECT_EQ(ds.size(), 24);
  EXPECT_EQ(ds.train().size(), 12);
  EXPECT_EQ(ds.valid().size(), 12);
  ASSERT_NE(ds.vocab(), nullptr);
  EXPECT_EQ(*ds.vocab(), (std::vector<std::string>{"cat", "dog"}));
  Tuple s = ds.valid()[7];  // valid/dog/1.txt (sorted: cat 0..5, dog 0..5)
  EXPECT_TRUE(s[0].is<TensorFloat>());
  EXPECT_EQ(tensor_of(s[0])[0].item<float>(), 101.0f);
  EXPECT_EQ(tensor_of(s[1]).item<int64_t>(), 1);
  EXPECT_EQ(ds.decode(s)[1].get<Category>().label, "dog");
  EXPECT_EQ(ds.loss_hint()->name, "CrossEntropyLossFlat");

  auto dls = block.dataloaders(d.p, {.bs = 4, .device = c10::Device(c10::kCPU), .num_workers = 2, .seed = 3});
  EXPECT_EQ(dls.train().size(), 3);
  EXPECT_EQ(dls.valid().size(), 3);
  EXPECT_EQ(dls.vocab(), (std::vector<std::string>{"cat", "dog"}));
  int64_t n = 0;
  for (Batch& b : dls.valid()) {
    EXPECT_EQ(b.size(), 2u);
    // Each target agrees with its input: cats < 100 <= dogs.
    EXPECT_TRUE(at::equal((b[0].select(1, 0) >= 100).to(at::kLong), b[1]));
    n += b[0].size(0);
  }
  EXPECT_EQ(n, 12);
}

TEST(DataBlock, TransformsMergeByNameAndDefaults) {
  auto mine = std::make_shared<Normalize>(at::zeros({1}), at::ones({1}));
  auto block_norm = std::make_shared<Normalize>(at::ones({1}), at::ones({1}));
  TransformBlock b{.batch_tfms = {std::make_shared<IntToFloatTensor>(), block_norm}, .name = "B"};
  DataBlock block({.blocks = {b, CategoryBlock()}, .batch_tfms = {mine}});
  auto bt = block.batch_tfms();
  ASSERT_EQ(bt.size(), 2u);
  EXPECT_EQ(bt[1], mine);  // the user's Normalize replaced the block's, in its place
  auto it = block.item_tfms();
  ASSERT_EQ(it.size(), 1u);
  EXPECT_EQ(it[0]->name(), "ToTensor");
  DataBlock plain;
  EXPECT_EQ(plain.options().blocks.size(), 2u);
  EXPECT_EQ(plain.n_inp(), 1);
  auto mc = MultiCategoryBlock();
  ASSERT_EQ(mc.type_tfms.size(), 2u);
  EXPECT_EQ(mc.type_tfms[1]->name(), "OneHotEncode");
  EXPECT_EQ(MultiCategoryBlock({.encoded = true, .vocab = {"a", "b"}}).type_tfms[0]->name(), "EncodedMultiCategorize");
  EXPECT_EQ(RegressionBlock().type_tfms[0]->loss_hint()->name, "MSELossFlat");
  expect_error([] { DataBlock({.n_inp = 3}); }, {"n_inp", "[1, 2]"});
}

TEST(DataBlock, ItemsFromListsAndTables) {
  // No get_items: a list of items is the items; the default RandomSplitter keeps 20% for validation.
  set_seed(1);
  std::vector<Item> items = index_items(10);
  DataBlock block({.blocks = {TransformBlock{.type_tfms = {to_x()}}, CategoryBlock()},
                   .get_y = [](int64_t i) { return i < 5 ? std::string("low") : std::string("high"); }});
  auto ds = block.datasets(Item(items));
  EXPECT_EQ(ds.train().size(), 8);
  EXPECT_EQ(ds.valid().size(), 2);
  // A table: one TableRow per row, read with ColReader, split with ColSplitter.
  Table t({Column::from_floats("x", {1, 2, 3, 4}), Column::from_strings("y", {"a", "b", "a", "b"}),
           Column::from_strings("is_valid", {"False", "False", "True", "False"})});
  DataBlock tb({.blocks = {RegressionBlock(), CategoryBlock()},
                .get_x = ColReader("x"),
                .get_y = ColReader("y"),
                .splitter = ColSplitter()});
  auto tds = tb.datasets(Item(t));
  EXPECT_EQ(tds.valid().size(), 1);
  EXPECT_EQ(tensor_of(tds.valid()[0][0]).item<float>(), 3.0f);
  expect_error([&] { DataBlock{}.datasets(Item(3.5)); }, {"no get_items", "float"});
}

TEST(DataBlock, BadInputErrorsNameTheProblem) {
  TmpDir d;
  make_tree(d.p);
  // No valid folder: GrandparentSplitter leaves the validation set empty.
  fs::remove_all(d.p / "valid");
  expect_error([&] { DataBlock(tree_block()).datasets(d.p); }, {"validation set empty", "12 items", "valid 0"});
  // An empty folder: no items.
  TmpDir e;
  expect_error([&] { DataBlock(tree_block()).datasets(e.p); }, {"found no items"});
  // A missing folder: get_items fails, naming the source.
  expect_error([&] { DataBlock(tree_block()).datasets(e.p / "nope"); }, {"nope", "get_items"});
}

TEST(DataBlock, SummaryTracesEachStep) {
  TmpDir d;
  make_tree(d.p, 3);
  std::ostringstream os;
  std::string s = DataBlock(tree_block()).summary(d.p, {.bs = 4, .out = &os});
  EXPECT_EQ(s, os.str());
  for (const char* part : {"Collecting items from", "Found 12 items", "2 datasets of sizes 6,6",
                           "Setting up Pipeline: get_x", "Building one sample", "applying get_x gives",
                           "TensorFloat(", "applying Categorize gives", "TensorCategory(", "Final sample:",
                           "Setting up after_item: Pipeline: ToTensor", "Adding the next 3 samples",
                           "Collating items in a batch"})
    EXPECT_NE(s.find(part), std::string::npos) << "'" << part << "' not in:\n" << s;
}

TEST(DataBlock, SummaryPointsAtTheFailingStep) {
  TmpDir d;
  make_tree(d.p, 3);
  // 1. The first training item's file holds no number: get_x fails on it.
  std::ofstream(d.p / "train" / "cat" / "0.txt") << "oops";
  std::ostringstream os;
  expect_error([&] { DataBlock(tree_block()).summary(d.p, {.out = &os}); },
               {"FAILED at block 0 (TransformBlock), transform 1/1 'get_x'", "item 0", "0.txt", "Path",
                "no number in"});
  EXPECT_NE(os.str().find("Building one sample"), std::string::npos);
  EXPECT_NE(os.str().find("FAILED at"), std::string::npos);
  // 2. Inputs of different shapes: collation fails and names the sample and both shapes.
  std::ofstream(d.p / "train" / "cat" / "0.txt") << 0;
  auto o = tree_block();
  o.get_x = [](const fs::path& p) {
    at::Tensor t = read_number(p);
    return TensorFloat(p.filename() == "1.txt" ? at::cat({t, t}) : t);
  };
  std::ostringstream os2;
  expect_error([&] { DataBlock(o).summary(d.p, {.out = &os2}); },
               {"FAILED at collating the batch", "sample 1", "[4]", "[2]"});
  // 3. A label the target block cannot take: Categorize's setup fails, naming the block.
  auto o3 = tree_block();
  o3.get_y = [](const fs::path&) { return 1.5; };
  std::ostringstream os3;
  expect_error([&] { DataBlock(o3).summary(d.p, {.out = &os3}); }, {"FAILED at the setup of block 1 (CategoryBlock)"});
}

}  // namespace datablock_test
