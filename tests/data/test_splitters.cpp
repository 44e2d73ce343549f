// Splitters against fastai's definitions and scikit-learn: the expected permutations, sizes and
// stratified allocations come from tests/data/splitters_expected.json (gen_splitters_expected.py).
#include "fastai/core/random.h"
#include "fastai/io/col_reader.h"
#include "fastai/core/transforms.h"
#include "fastai/data/splitters.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>

namespace {

namespace fs = std::filesystem;
using fastai::Item;
using fastai::Splits;
using fastai::testing::expect_error;
using Idx = std::vector<int64_t>;

const nlohmann::json& expected() {
  static const nlohmann::json j = [] {
    std::ifstream f(FASTAI_TEST_SOURCE_DIR "/data/splitters_expected.json");
    if (!f) throw std::runtime_error("cannot open " FASTAI_TEST_SOURCE_DIR "/data/splitters_expected.json");
    return nlohmann::json::parse(f);
  }();
  return j;
}

std::vector<Item> n_items(int64_t n) { return std::vector<Item>(static_cast<size_t>(n)); }

// A list of the JSON ("full" or "digest") equals `got`.
void expect_list(const nlohmann::json& want, const Idx& got, const std::string& what) {
  if (want.contains("full")) {
    EXPECT_EQ(got, want["full"].get<Idx>()) << what;
    return;
  }
  const auto& d = want["digest"];
  ASSERT_EQ(static_cast<int64_t>(got.size()), d["len"].get<int64_t>()) << what;
  const Idx head = d["head"].get<Idx>(), tail = d["tail"].get<Idx>();
  EXPECT_EQ(Idx(got.begin(), got.begin() + static_cast<ptrdiff_t>(head.size())), head) << what;
  EXPECT_EQ(Idx(got.end() - static_cast<ptrdiff_t>(tail.size()), got.end()), tail) << what;
  int64_t wsum = 0;
  for (size_t i = 0; i < got.size(); ++i) wsum += static_cast<int64_t>(i + 1) * got[i];
  EXPECT_EQ(wsum, d["wsum"].get<int64_t>()) << what;
}

// Train and valid are disjoint and together hold each of 0..n-1 exactly once.
void expect_partition(const Splits& s, int64_t n) {
  ASSERT_EQ(s.size(), 2u);
  Idx all = s[0];
  all.insert(all.end(), s[1].begin(), s[1].end());
  std::sort(all.begin(), all.end());
  Idx want(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) want[static_cast<size_t>(i)] = i;
  EXPECT_EQ(all, want);
}

// The scalar fields of a JSON case ("n=100 seed=7 valid_pct=0.29"), for failure messages.
std::string case_name(const nlohmann::json& c) {
  std::string s;
  for (const auto& [k, v] : c.items()) {
    if (!v.is_primitive()) continue;
    if (!s.empty()) s += ' ';
    s += k;
    s += '=';
    s += v.dump();
  }
  return s;
}

// ---- RandomSplitter / RandomSubsetSplitter ------------------------------------------------------

TEST(Splitters, RandomSplitterMatchesTorchRandperm) {
  for (const auto& c : expected()["random_splitter"]) {
    const auto n = c["n"].get<int64_t>();
    auto s = fastai::RandomSplitter(c["valid_pct"].get<double>(), c["seed"].get<uint64_t>())(n_items(n));
    ASSERT_EQ(s.size(), 2u);
    expect_list(c["train"], s[0], case_name(c));
    expect_list(c["valid"], s[1], case_name(c));
    expect_partition(s, n);
  }
}

TEST(Splitters, RandomSplitterSeededIsDeterministic) {
  const auto items = n_items(500);
  auto a = fastai::RandomSplitter(0.2, 11)(items), b = fastai::RandomSplitter(0.2, 11)(items);
  EXPECT_EQ(a, b);
  auto f = fastai::RandomSplitter(0.2, 11);
  EXPECT_EQ(f(items), f(items));  // a seeded splitter reseeds on every call, as fastai's does
  EXPECT_NE(fastai::RandomSplitter(0.2, 12)(items), a);
  EXPECT_EQ(a[1].size(), 100u);
}

TEST(Splitters, RandomSplitterUnseededIsReproducibleAfterSetSeed) {
  const auto items = n_items(300);
  auto f = fastai::RandomSplitter(0.3);
  fastai::set_seed(2024);
  auto a1 = f(items), a2 = f(items);
  fastai::set_seed(2024);
  auto b1 = f(items), b2 = f(items);
  EXPECT_EQ(a1, b1);
  EXPECT_EQ(a2, b2);
  EXPECT_NE(a1, a2);  // each unseeded call draws a new seed
  expect_partition(a1, 300);
  EXPECT_EQ(a1[1].size(), 90u);
}

TEST(Splitters, RandomSubsetSplitterMatchesTorchRandperm) {
  for (const auto& c : expected()["random_subset_splitter"]) {
    const auto n = c["n"].get<int64_t>();
    auto s = fastai::RandomSubsetSplitter(c["train_sz"].get<double>(), c["valid_sz"].get<double>(),
                                          c["seed"].get<uint64_t>())(n_items(n));
    ASSERT_EQ(s.size(), 2u);
    expect_list(c["train"], s[0], case_name(c));
    expect_list(c["valid"], s[1], case_name(c));
    std::set<int64_t> both(s[0].begin(), s[0].end());
    both.insert(s[1].begin(), s[1].end());
    EXPECT_EQ(both.size(), s[0].size() + s[1].size()) << "train and valid overlap";
  }
}

TEST(Splitters, RandomSplittersRejectBadFractions) {
  expect_error([] { fastai::RandomSplitter(1.5); }, {"RandomSplitter", "valid_pct", "[0, 1]", "1.5"});
  expect_error([] { fastai::RandomSplitter(-0.1); }, {"RandomSplitter", "valid_pct"});
  expect_error([] { fastai::RandomSplitter(std::nan("")); }, {"RandomSplitter", "valid_pct"});
  expect_error([] { fastai::RandomSubsetSplitter(0.7, 0.5); }, {"RandomSubsetSplitter", "at most 1", "0.7", "0.5"});
  expect_error([] { fastai::RandomSubsetSplitter(2, 0.1); }, {"RandomSubsetSplitter", "train_sz"});
  expect_error([] { fastai::EndSplitter(1.01); }, {"EndSplitter", "valid_pct"});
}

// ---- TrainTestSplitter ----------------------------------------------------------------------------

TEST(Splitters, TrainTestSplitterSizesMatchSklearn) {
  for (const auto& c : expected()["train_test_sizes"]) {
    const auto n = c["n"].get<int64_t>();
    auto f = fastai::TrainTestSplitter({.test_size = c["test_size"].get<double>(), .random_state = 3});
    if (c.contains("error")) {
      expect_error([&] { f(n_items(n)); }, {"TrainTestSplitter", "training set would be empty"});
      continue;
    }
    auto s = f(n_items(n));
    EXPECT_EQ(static_cast<int64_t>(s[0].size()), c["n_train"].get<int64_t>()) << case_name(c);
    EXPECT_EQ(static_cast<int64_t>(s[1].size()), c["n_test"].get<int64_t>()) << case_name(c);
    expect_partition(s, n);
  }
}

TEST(Splitters, TrainTestSplitterWithoutShuffleMatchesSklearn) {
  for (const auto& c : expected()["train_test_noshuffle"]) {
    auto s = fastai::TrainTestSplitter({.test_size = c["test_size"].get<double>(), .shuffle = false})(
        n_items(c["n"].get<int64_t>()));
    EXPECT_EQ(s[0], c["train"].get<Idx>()) << case_name(c);
    EXPECT_EQ(s[1], c["valid"].get<Idx>()) << case_name(c);
  }
}

// Per-class counts of each set, classes in sorted order.
std::pair<Idx, Idx> class_counts(const Splits& s, const std::vector<std::string>& labels) {
  std::map<std::string, std::pair<int64_t, int64_t>> m;
  for (const auto& l : labels) m[l];
  for (auto i : s[0]) ++m[labels[static_cast<size_t>(i)]].first;
  for (auto i : s[1]) ++m[labels[static_cast<size_t>(i)]].second;
  Idx tr, te;
  for (const auto& [l, c] : m) {
    tr.push_back(c.first);
    te.push_back(c.second);
  }
  return {tr, te};
}

TEST(Splitters, TrainTestSplitterStratifiedCountsMatchSklearn) {
  for (const auto& c : expected()["stratified"]) {
    const auto labels = c["labels"].get<std::vector<std::string>>();
    const auto n = static_cast<int64_t>(labels.size());
    std::set<std::pair<Idx, Idx>> allowed;
    for (const auto& a : c["allowed"]) allowed.insert({a["train"].get<Idx>(), a["valid"].get<Idx>()});
    std::set<std::pair<Idx, Idx>> seen;
    for (uint64_t rs = 0; rs < 40; ++rs) {
      auto s = fastai::TrainTestSplitter({.test_size = c["test_size"].get<double>(), .random_state = rs,
                                          .stratify = labels})(n_items(n));
      expect_partition(s, n);
      auto counts = class_counts(s, labels);
      EXPECT_TRUE(allowed.count(counts)) << c["name"] << " random_state " << rs
                                         << ": an allocation sklearn never makes";
      seen.insert(counts);
    }
    if (allowed.size() > 1) {
      EXPECT_GT(seen.size(), 1u) << c["name"] << ": ties should be broken at random";
    }
  }
}

TEST(Splitters, TrainTestSplitterSeededAndUnseeded) {
  const auto items = n_items(200);
  auto a = fastai::TrainTestSplitter({.random_state = 5})(items);
  EXPECT_EQ(a, fastai::TrainTestSplitter({.random_state = 5})(items));
  EXPECT_NE(a, fastai::TrainTestSplitter({.random_state = 6})(items));
  auto f = fastai::TrainTestSplitter();
  fastai::set_seed(99);
  auto b1 = f(items);
  fastai::set_seed(99);
  EXPECT_EQ(f(items), b1);
  EXPECT_NE(f(items), b1);
}

TEST(Splitters, TrainTestSplitterRefusesWhatSklearnRefuses) {
  const auto& errs = expected()["stratified_errors"];
  const auto labels0 = errs[0]["labels"].get<std::vector<std::string>>();
  expect_error([&] { fastai::TrainTestSplitter({.test_size = errs[0]["test_size"].get<double>(), .stratify = labels0})(
                         n_items(static_cast<int64_t>(labels0.size()))); },
               {"TrainTestSplitter", "class 'b'", "only 1 item", "item 5"});
  const auto labels1 = errs[1]["labels"].get<std::vector<std::string>>();
  expect_error([&] { fastai::TrainTestSplitter({.test_size = errs[1]["test_size"].get<double>(), .stratify = labels1})(
                         n_items(static_cast<int64_t>(labels1.size()))); },
               {"TrainTestSplitter", "3 classes", "validation set (2 items)"});
  expect_error([] { fastai::TrainTestSplitter({.stratify = {"a", "b", "a"}})(n_items(4)); },
               {"TrainTestSplitter", "3 labels for 4 items"});
  expect_error([] { fastai::TrainTestSplitter({.test_size = 0}); }, {"TrainTestSplitter", "test_size", "(0, 1)"});
  expect_error([] { fastai::TrainTestSplitter({.stratify = {"a", "b"}, .shuffle = false}); },
               {"TrainTestSplitter", "stratify", "shuffle"});
}

// ---- index-, function- and mask-based ------------------------------------------------------------

TEST(Splitters, IndexSplitter) {
  auto s = fastai::IndexSplitter({7, 2, 5})(n_items(8));
  EXPECT_EQ(s[0], (Idx{0, 1, 3, 4, 6}));  // sorted complement (numpy setdiff1d)
  EXPECT_EQ(s[1], (Idx{7, 2, 5}));        // as given
  EXPECT_EQ(fastai::IndexSplitter({})(n_items(3))[0], (Idx{0, 1, 2}));
  expect_error([] { fastai::IndexSplitter({1, 12})(n_items(10)); },
               {"IndexSplitter", "index 12", "valid_idx[1]", "out of range for 10 items"});
  expect_error([] { fastai::IndexSplitter({-1})(n_items(10)); }, {"IndexSplitter", "index -1"});
}

TEST(Splitters, EndSplitter) {
  auto s = fastai::EndSplitter(0.3)(n_items(10));
  EXPECT_EQ(s[0], (Idx{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(s[1], (Idx{7, 8, 9}));
  s = fastai::EndSplitter(0.3, false)(n_items(10));
  EXPECT_EQ(s[0], (Idx{3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(s[1], (Idx{0, 1, 2}));
  s = fastai::EndSplitter(0.05)(n_items(10));  // int(0.5) = 0: nothing in validation
  EXPECT_EQ(s[0].size(), 10u);
  EXPECT_TRUE(s[1].empty());
}

TEST(Splitters, FuncSplitter) {
  std::vector<Item> items;
  for (int i = 0; i < 6; ++i) items.emplace_back(static_cast<int64_t>(i * 10));
  auto s = fastai::FuncSplitter([](const Item& x) { return x.get<int64_t>() % 20 == 0; })(items);
  EXPECT_EQ(s[0], (Idx{1, 3, 5}));
  EXPECT_EQ(s[1], (Idx{0, 2, 4}));
  items.emplace_back(std::string("oops"));
  expect_error([&] { fastai::FuncSplitter([](const Item& x) { return x.get<int64_t>() > 0; })(items); },
               {"FuncSplitter", "item 6", "oops"});
}

TEST(Splitters, MaskSplitter) {
  auto s = fastai::MaskSplitter({false, true, true, false})(n_items(4));
  EXPECT_EQ(s[0], (Idx{0, 3}));
  EXPECT_EQ(s[1], (Idx{1, 2}));
  expect_error([] { fastai::MaskSplitter({true, false})(n_items(3)); },
               {"MaskSplitter", "2 entries for 3 items"});
}

// ---- path-based ------------------------------------------------------------------------------------

TEST(Splitters, GrandparentSplitterOnPathsAndStrings) {
  std::vector<Item> items{fs::path("/data/train/cat/1.png"), std::string("/data/valid/dog/2.png"),
                          fs::path("data/test/cat/3.png"), std::string("train/dog/4.png"),
                          fs::path("valid/cat/5.png"), fs::path("6.png")};
  auto s = fastai::GrandparentSplitter()(items);
  EXPECT_EQ(s[0], (Idx{0, 3}));
  EXPECT_EQ(s[1], (Idx{1, 4}));  // "test" and the bare file are in neither set
  s = fastai::GrandparentSplitter("test", "train")(items);
  EXPECT_EQ(s[0], (Idx{2}));
  EXPECT_EQ(s[1], (Idx{0, 3}));
  items.emplace_back(static_cast<int64_t>(3));
  expect_error([&] { fastai::GrandparentSplitter()(items); },
               {"GrandparentSplitter", "item 6", "must be a path", "got int"});
}

TEST(Splitters, FileSplitter) {
  fastai::testing::TmpDir tmp;
  auto list = tmp.write("valid.txt", "b.png\r\nd.png\n\n");
  std::vector<Item> items{fs::path("x/a.png"), fs::path("x/b.png"), std::string("y/c.png"), std::string("y/d.png")};
  auto s = fastai::FileSplitter(list)(items);
  EXPECT_EQ(s[0], (Idx{0, 2}));
  EXPECT_EQ(s[1], (Idx{1, 3}));
  expect_error([&] { fastai::FileSplitter(tmp.p / "nope.txt"); }, {"FileSplitter", "nope.txt", "cannot read"});
  expect_error([&] { fastai::FileSplitter(list)({fs::path("a.png"), Item(1.5)}); },
               {"FileSplitter", "item 1", "must be a path"});
}

// ---- ColSplitter -------------------------------------------------------------------------------------

std::vector<Item> rows_of(const fastai::Table& t) {
  std::vector<Item> items;
  for (const auto& r : fastai::table_rows(t)) items.emplace_back(r);
  return items;
}

TEST(Splitters, ColSplitterOnBoolNumberAndTextColumns) {
  using fastai::Column;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  fastai::Table t({Column::from_bools("is_valid", {0, 1, 1, 0, 1}, {0, 0, 0, 0, 1}),
                   Column::from_ints("flag", {0, 3, 0, -1, 0}),
                   Column::from_floats("f", {0.0, nan, 0.5, 0.0, 1.0}),
                   Column::from_strings("txt", {"True", "false", "1", "", "true"}, {0, 0, 0, 1, 0}),
                   Column::from_strings("bad", {"True", "maybe", "1", "0", "False"})});
  const auto items = rows_of(t);
  auto s = fastai::ColSplitter()(items);  // a missing bool counts as false
  EXPECT_EQ(s[0], (Idx{0, 3, 4}));
  EXPECT_EQ(s[1], (Idx{1, 2}));
  EXPECT_EQ(fastai::ColSplitter("flag")(items)[1], (Idx{1, 3}));
  EXPECT_EQ(fastai::ColSplitter("f")(items)[1], (Idx{2, 4}));  // NaN is missing: false
  EXPECT_EQ(fastai::ColSplitter("txt")(items)[1], (Idx{0, 2, 4}));
  EXPECT_EQ(fastai::ColSplitter("txt")(std::vector<Item>(items.begin() + 2, items.end()))[1], (Idx{0, 2}));
  expect_error([&] { fastai::ColSplitter("bad")(items); }, {"ColSplitter", "column 'bad'", "row 1", "'maybe'"});
  expect_error([&] { fastai::ColSplitter("valid")(items); }, {"ColSplitter", "no column 'valid'", "is_valid, flag"});
  expect_error([] { fastai::ColSplitter()({Item(std::string("a"))}); }, {"ColSplitter", "item 0", "TableRow", "str"});
}

}  // namespace
