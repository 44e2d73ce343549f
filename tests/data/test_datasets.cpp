// TfmdLists / Datasets: lazy transforms, setup on the training split only and in pipeline order,
// subsets and split_idx, decode(encode(x)) == x, errors that name the item and the step.
#include "data/data_fixtures.h"
#include "test_util.h"

#include "fastai/data/datasets.h"

#include <gtest/gtest.h>

namespace datasets_test {
using namespace fastai;          // NOLINT(google-build-using-namespace)
using namespace fastai::testing; // NOLINT(google-build-using-namespace)

// Records what its setup saw (to check order and training-only setup).
class Recorder : public Transform {
 public:
  Recorder() : Transform("Recorder", 5) {}
  std::vector<std::string> seen;

 protected:
  void setups(const std::vector<Item>& items, const Pipeline*) override {
    for (const auto& x : items) seen.push_back(describe(x));
  }
};

TEST(TfmdLists, LazyTransformSubsetsAndSetupOnTrainOnly) {
  auto rec = std::make_shared<Recorder>();
  TfmdLists tl(index_items(6), {rec, to_label(2)}, {.splits = {{0, 1, 2}, {3, 4, 5}}});
  // to_label (order 0) runs before Recorder (order 5): setup saw labels of the 3 training items.
  EXPECT_EQ(rec->seen, (std::vector<std::string>{"c0", "c1", "c0"}));
  EXPECT_EQ(tl.size(), 6);
  EXPECT_EQ(tl[5].get<std::string>(), "c1");
  EXPECT_EQ(tl.raw(5).get<int64_t>(), 5);
  auto v = tl.valid();
  ASSERT_EQ(v.size(), 3);
  EXPECT_EQ(v.raw(0).get<int64_t>(), 3);
  EXPECT_EQ(v.split_idx(), 1);
  EXPECT_EQ(tl.train().split_idx(), 0);
  expect_error([&] { v[3]; }, {"index 3", "3 items"});
  expect_error([&] { tl.subset(2); }, {"subset 2"});
}

TEST(TfmdLists, SplitIdxSelectsTrainOnlyTransforms) {
  auto train_only = std::make_shared<Transform>("TrainOnly", 0, 0);
  train_only->encodes<int64_t>([](int64_t i) { return i + 100; });
  TfmdLists tl(index_items(4), {train_only}, {.splits = {{0, 1}, {2, 3}}});
  EXPECT_EQ(tl.train()[0].get<int64_t>(), 100);
  EXPECT_EQ(tl.valid()[0].get<int64_t>(), 2);
  EXPECT_EQ(tl[1].get<int64_t>(), 1);  // no split_idx: split-only transforms skipped, as in fastai
}

TEST(TfmdLists, BadSplitsAndFailingTransformsNameTheItem) {
  expect_error([] { TfmdLists(index_items(3), std::vector<std::shared_ptr<Transform>>{}, {.splits = {{0, 7}, {}}}); },
               {"index 7", "position 1", "3 items"});
  auto boom = std::make_shared<Transform>("Boom");
  boom->encodes<int64_t>([](int64_t i) -> int64_t {
    if (i == 2) fail("cannot handle two");
    return i;
  });
  TfmdLists tl(index_items(4), {boom});
  EXPECT_EQ(tl[1].get<int64_t>(), 1);
  expect_error([&] { tl[2]; }, {"cannot handle two", "transform 1/1 'Boom'", "for item 2", "(2)"});
}

TEST(Datasets, TuplesDecodeVocabAndLossHint) {
  auto ds = index_datasets(9, {{0, 1, 2, 3, 4, 5}, {6, 7, 8}});
  EXPECT_EQ(ds.n_inp(), 1);
  ASSERT_NE(ds.vocab(), nullptr);
  EXPECT_EQ(*ds.vocab(), (std::vector<std::string>{"c0", "c1", "c2"}));
  EXPECT_EQ(ds.c(), 3);
  ASSERT_TRUE(ds.loss_hint().has_value());
  EXPECT_EQ(ds.loss_hint()->name, "CrossEntropyLossFlat");
  Tuple s = ds[4];
  ASSERT_EQ(s.size(), 2u);
  EXPECT_TRUE(at::equal(tensor_of(s[0]), at::tensor({4.0f, 8.0f})));
  EXPECT_TRUE(s[1].is<TensorCategory>());
  EXPECT_EQ(tensor_of(s[1]).item<int64_t>(), 1);
  // decode(encode(x)): the label comes back as a Category.
  Tuple d = ds.decode(s);
  EXPECT_EQ(d[1].get<Category>().label, "c1");
  auto v = ds.valid();
  EXPECT_EQ(v.size(), 3);
  EXPECT_EQ(tensor_of(v[0][0])[0].item<float>(), 6.0f);
  // A label that only appears in validation is an error naming it (vocab learned from training).
  auto ds2 = Datasets(index_items(4), {{to_x()}, {to_label(4), std::make_shared<Categorize>()}},
                      {.splits = {{0, 1, 2}, {3}}});
  expect_error([&] { ds2.valid()[0]; }, {"c3", "for item 0", "pipeline 2/2 (a target)"});
}

TEST(Datasets, WithItemsSharesPipelinesAndNInpChecks) {
  auto ds = index_datasets(6);
  auto t = ds.with_items({Item(int64_t{40}), Item(int64_t{41})}, 1, 1);
  ASSERT_EQ(t.tls().size(), 1u);
  EXPECT_EQ(t.size(), 2);
  EXPECT_TRUE(at::equal(tensor_of(t[1][0]), at::tensor({41.0f, 82.0f})));
  expect_error([] { Datasets(index_items(2), {{to_x()}}, {.n_inp = 2}); }, {"n_inp", "[1, 1]"});
  expect_error([] { Datasets(index_items(2), {}); }, {"at least one"});
}

}  // namespace datasets_test
