// The common transforms: Categorize, MultiCategorize + OneHotEncode, EncodedMultiCategorize,
// RegressionSetup, IntToFloatTensor, Normalize (spec §7.7 numbers), a whole-pipeline state round
// trip, and the getters / labellers (get_files on a temp tree, RegexLabeller).
#include "test_util.h"
#include "fastai/core/pipeline.h"
#include "fastai/core/transforms.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <string>
#include <vector>

namespace transforms_test {

using namespace fastai;  // NOLINT: test file
using fastai::testing::expect_error;
namespace fs = std::filesystem;

std::vector<Item> labels(std::initializer_list<const char*> ls) {
  std::vector<Item> r;
  for (auto l : ls) r.emplace_back(std::string(l));
  return r;
}

TEST(Transforms, CategorizeLearnsASortedVocabAndRoundTrips) {
  auto cat = std::make_shared<Categorize>();
  cat->setup(labels({"dog", "cat", "dog", "bird"}));
  EXPECT_EQ(*cat->vocab(), (std::vector<std::string>{"bird", "cat", "dog"}));
  EXPECT_EQ(cat->c(), std::optional<int64_t>(3));
  Item e = (*cat)(Item(std::string("dog")));
  ASSERT_TRUE(e.is<TensorCategory>());
  EXPECT_EQ(e.get<TensorCategory>().data.item<int64_t>(), 2);
  EXPECT_EQ(e.get<TensorCategory>().data.scalar_type(), at::kLong);
  EXPECT_EQ(cat->decode(e).get<Category>(), Category{"dog"});
  EXPECT_EQ((*cat)(Item(Category{"bird"})).get<TensorCategory>().data.item<int64_t>(), 0);
  // add_na: "#na#" first, unknown labels map to it
  auto na = std::make_shared<Categorize>(CategorizeOptions{.add_na = true});
  na->setup(labels({"b", "a"}));
  EXPECT_EQ(*na->vocab(), (std::vector<std::string>{"#na#", "a", "b"}));
  EXPECT_EQ((*na)(Item(std::string("zzz"))).get<TensorCategory>().data.item<int64_t>(), 0);
  // a given vocab is used (deduplicated and sorted, as fastai's CategoryMap), setup keeps it
  auto given = std::make_shared<Categorize>(CategorizeOptions{.vocab = {"z", "y", "z"}});
  given->setup(labels({"q"}));
  EXPECT_EQ(*given->vocab(), (std::vector<std::string>{"y", "z"}));
}

TEST(Transforms, CategorizeErrorsNameTheLabel) {
  auto cat = std::make_shared<Categorize>();
  expect_error([&] { (*cat)(Item(std::string("x"))); }, {"Categorize has no vocab", "setup"});
  cat->setup(labels({"cat", "dog"}));
  expect_error([&] { (*cat)(Item(std::string("cow"))); }, {"label 'cow' is not in the vocab", "2 classes", "'cat', 'dog'"});
  expect_error([&] { cat->decode(Item(TensorCategory(at::scalar_tensor(5, at::kLong)))); }, {"index 5", "2 classes"});
  auto empty = std::make_shared<Categorize>();
  expect_error([&] { empty->setup({Item(3.5)}); }, {"no labels", "1 items", "float"});
}

TEST(Transforms, MultiCategorizeAndOneHotEncodeRoundTrip) {
  auto mc = std::make_shared<MultiCategorize>();
  auto oh = std::make_shared<OneHotEncode>();
  Pipeline p({oh, mc});  // sorted: MultiCategorize (1) then OneHotEncode (2)
  std::vector<Item> items{Item(MultiCategory{{"sun", "sea"}}), Item(std::vector<std::string>{"snow"}),
                          Item(MultiCategory{})};
  p.setup(items);
  EXPECT_EQ(*p.vocab(), (std::vector<std::string>{"sea", "snow", "sun"}));
  EXPECT_EQ(oh->c(), std::optional<int64_t>(3));  // from MultiCategorize's vocab
  Item e = p(Item(MultiCategory{{"sun", "sea"}}));
  ASSERT_TRUE(e.is<TensorMultiCategory>());
  EXPECT_TRUE(e.get<TensorMultiCategory>().data.equal(at::tensor({1.0f, 0.0f, 1.0f})));
  EXPECT_EQ(p.decode(e).get<MultiCategory>(), (MultiCategory{{"sea", "sun"}}));
  EXPECT_EQ(p.decode(p(Item(MultiCategory{}))).get<MultiCategory>(), MultiCategory{});
  expect_error([&] { p(Item(MultiCategory{{"sun", "rain", "hail"}})); },
               {"labels 'rain', 'hail' were not in the training labels", "'sea'"});
  auto lone = std::make_shared<OneHotEncode>();
  expect_error([&] { Pipeline({lone}).setup(items); }, {"OneHotEncode", "no c given"});
  OneHotEncode small(2);
  expect_error([&] { small(Item(TensorMultiCategory(at::tensor({0, 5})))); }, {"index 5 is outside [0, 2)"});
}

TEST(Transforms, EncodedMultiCategorizeAndRegressionSetup) {
  EncodedMultiCategorize emc({"a", "b", "c"});
  Item e = emc(Item(std::vector<double>{0, 1, 1}));
  ASSERT_TRUE(e.is<TensorMultiCategory>());
  EXPECT_EQ(emc.decode(e).get<MultiCategory>(), (MultiCategory{{"b", "c"}}));
  EXPECT_TRUE(emc(Item(Category{"x"})).is<Category>());  // other types pass
  expect_error([&] { emc.decode(Item(TensorMultiCategory(at::ones({2})))); }, {"3 entries", "got 2"});
  RegressionSetup reg;
  reg.setup({Item(std::vector<double>{1.0, 2.0})});
  EXPECT_EQ(reg.c(), std::optional<int64_t>(2));
  Item r = reg(Item(2.5));
  ASSERT_TRUE(r.is<TensorFloat>());
  EXPECT_FLOAT_EQ(r.get<TensorFloat>().data.item<float>(), 2.5f);
}

TEST(Transforms, IntToFloatTensorRoundTripsAndLeavesMasks) {
  IntToFloatTensor t;
  auto img = at::randint(0, 256, {3, 4, 5}, at::kByte);
  Tuple out = t(Tuple{TensorImage(img), TensorMask(at::full({4, 5}, 3, at::kByte)), Category{"c"}});
  EXPECT_EQ(out[0].get<TensorImage>().data.scalar_type(), at::kFloat);
  EXPECT_TRUE(out[0].get<TensorImage>().data.allclose(img.to(at::kFloat) / 255));
  EXPECT_EQ(out[1].get<TensorMask>().data.scalar_type(), at::kLong);
  EXPECT_EQ(out[1].get<TensorMask>().data.max().item<int64_t>(), 3);
  Tuple back = t.decode(out);
  EXPECT_TRUE(back[0].get<TensorImage>().data.equal(img));  // exact: rounded, uint8
  IntToFloatTensor halves({.div = 255, .div_mask = 2});
  EXPECT_EQ(halves(Item(TensorMask(at::full({2}, 7, at::kLong)))).get<TensorMask>().data[0].item<int64_t>(), 3);
}

TEST(Transforms, NormalizeImagenetNumbersAndDecode) {
  Pipeline p({Normalize::from_stats(imagenet_stats), std::make_shared<IntToFloatTensor>()});
  auto batch = at::stack({at::full({3, 2, 2}, 128, at::kByte), at::zeros({3, 2, 2}, at::kByte),
                          at::full({3, 2, 2}, 255, at::kByte)});
  Item e = p(Item(TensorImage(batch)));
  auto x = e.get<TensorImage>().data;
  const double want[3][3] = {{0.07406, 0.20518, 0.42649}, {-2.11790, -2.03571, -1.80444}, {2.24891, 2.42857, 2.64000}};
  for (int b = 0; b < 3; ++b)
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(x[b][c][1][1].item<double>(), want[b][c], 1e-4) << b << "," << c;
  EXPECT_TRUE(p.decode(e).get<TensorImage>().data.equal(batch));
  // a single [C,H,W] image works too; masks and labels pass through untouched
  Tuple one = p(Tuple{TensorImage(at::full({3, 1, 1}, 128, at::kByte)), TensorMask(at::ones({1, 1}, at::kLong))});
  EXPECT_EQ(one[0].get<TensorImage>().data.dim(), 3);
  EXPECT_NEAR(one[0].get<TensorImage>().data[2][0][0].item<double>(), 0.42649, 1e-4);
  EXPECT_EQ(one[1].get<TensorMask>().data.scalar_type(), at::kLong);
}

TEST(Transforms, NormalizeSetupAndErrors) {
  auto n = std::make_shared<Normalize>();
  auto b = at::rand({8, 3, 4, 4}) * 2 + 1;
  n->setup({Item(Tuple{TensorImage(b), TensorCategory(at::zeros({8}, at::kLong))})});
  ASSERT_TRUE(n->mean().defined());
  EXPECT_EQ(n->mean().sizes(), (std::vector<int64_t>{1, 3, 1, 1}));
  auto y = (*n)(Item(TensorImage(b))).get<TensorImage>().data;
  EXPECT_NEAR(y.mean().item<double>(), 0.0, 1e-4);
  EXPECT_NEAR(y.select(1, 0).std().item<double>(), 1.0, 1e-3);
  expect_error([&] { (*n)(Item(TensorImage(at::zeros({3, 2, 2}, at::kByte)))); },
               {"Normalize expects a float TensorImage", "IntToFloatTensor", "Byte"});
  expect_error([&] { (*n)(Item(TensorImage(at::zeros({1, 2, 2})))); }, {"stats of shape [1, 3, 1, 1]", "[1, 2, 2]"});
  expect_error([] { Normalize().setup({Item(Category{"a"})}); }, {"no TensorImage among 1 items", "Category", "from_stats"});
  expect_error([] { Normalize()(Item(TensorImage(at::zeros({3, 1, 1})))); }, {"Normalize has no stats"});
  expect_error([] { Normalize::from_stats({0.5, 0.5}, {0.2}); }, {"same non-zero length", "2 and 1"});
}

TEST(Transforms, PipelineStateRoundTripOfBuiltins) {
  Pipeline p({std::make_shared<Categorize>(), std::make_shared<IntToFloatTensor>(), std::make_shared<Normalize>(),
              std::make_shared<MultiCategorize>(), std::make_shared<OneHotEncode>()});
  auto img = at::randint(0, 256, {4, 3, 2, 2}, at::kByte);
  std::vector<Item> items{Item(Tuple{TensorImage(img), std::string("cat"), MultiCategory{{"x", "y"}}}),
                          Item(Tuple{TensorImage(img.flip(0)), std::string("dog"), MultiCategory{{"z"}}})};
  p.setup(items);
  Pipeline q = Pipeline::from_state(nlohmann::json::parse(p.state().dump()));
  EXPECT_EQ(q.to_string(), p.to_string());
  Item a = p(items[1]), b = q(items[1]);
  const auto& ta = a.get<Tuple>();
  const auto& tb = b.get<Tuple>();
  EXPECT_TRUE(ta[0].get<TensorImage>().data.allclose(tb[0].get<TensorImage>().data));
  EXPECT_EQ(tb[1].get<TensorCategory>().data.item<int64_t>(), 1);
  EXPECT_TRUE(ta[2].get<TensorMultiCategory>().data.equal(tb[2].get<TensorMultiCategory>().data));
  Tuple back = q.decode(b.get<Tuple>());
  EXPECT_TRUE(back[0].get<TensorImage>().data.equal(img.flip(0)));
  EXPECT_EQ(back[1].get<Category>().label, "dog");
  EXPECT_EQ(back[2].get<MultiCategory>(), (MultiCategory{{"z"}}));
  EXPECT_EQ(q.state(), p.state());
}

TEST(Transforms, GetFilesFiltersSortsAndNamesMissingFolders) {
  auto root = fs::temp_directory_path() / ("fastai_getfiles_" + std::to_string(::getpid()));
  fs::remove_all(root);
  for (auto d : {"train/cat", "train/dog", "valid/cat", ".hidden", "train/.cache"}) fs::create_directories(root / d);
  for (auto f : {"train/cat/b.JPG", "train/cat/a.png", "train/dog/c.jpeg", "train/dog/notes.txt", "valid/cat/d.jpg",
                 ".hidden/e.jpg", "train/.cache/f.jpg", "top.png", "train/cat/.g.jpg", "readme.md"})
    std::ofstream(root / f) << "x";
  auto rel = [&](const std::vector<fs::path>& ps) {
    std::vector<std::string> r;
    for (const auto& p : ps) r.push_back(fs::relative(p, root).generic_string());
    return r;
  };
  EXPECT_EQ(rel(get_image_files(root)), (std::vector<std::string>{"top.png", "train/cat/a.png", "train/cat/b.JPG",
                                                                  "train/dog/c.jpeg", "valid/cat/d.jpg"}));
  EXPECT_EQ(rel(get_image_files(root, true, {"valid"})), (std::vector<std::string>{"valid/cat/d.jpg"}));
  EXPECT_EQ(rel(get_image_files(root, false)), (std::vector<std::string>{"top.png"}));
  EXPECT_EQ(rel(get_text_files(root)), (std::vector<std::string>{"train/dog/notes.txt"}));
  EXPECT_EQ(rel(get_files(root, {"md", ".TXT"})), (std::vector<std::string>{"readme.md", "train/dog/notes.txt"}));
  EXPECT_EQ(get_files(root).size(), 7u);
  EXPECT_EQ(parent_label(root / "train/cat/a.png"), "cat");
  expect_error([&] { get_files(root / "nope"); }, {"get_files: folder", "nope", "does not exist"});
  expect_error([&] { get_files(root / "top.png"); }, {"top.png", "is not a folder"});
  fs::remove_all(root);
}

TEST(Transforms, RegexLabeller) {
  RegexLabeller pets(R"(([^/]+)_\d+\.jpg$)");
  EXPECT_EQ(pets("images/great_pyrenees_17.jpg"), "great_pyrenees");
  expect_error([&] { pets("images/readme.txt"); }, {"failed to find pattern", "readme.txt"});
  EXPECT_EQ(RegexLabeller("^([a-z]+)", true)("abc/def"), "abc");
  expect_error([] { RegexLabeller("^[0-9]+", true)("12"); }, {"no capture group"});
  expect_error([] { RegexLabeller("(["); }, {"invalid pattern"});
}

}  // namespace transforms_test
