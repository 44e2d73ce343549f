// TfmdDL: lengths, coverage, identical batches for any number of worker threads, skipped items,
// errors surfacing from worker threads (no hang), every customization point, collation,
// decode and Normalize set up from one batch.
#include "data/data_fixtures.h"
#include "test_util.h"

#include "fastai/data/tfmd_dl.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>

namespace tfmd_dl_test {
using namespace fastai;          // NOLINT(google-build-using-namespace)
using namespace fastai::testing; // NOLINT(google-build-using-namespace)

const c10::Device cpu(c10::kCPU);

std::shared_ptr<Datasets> train_ds(int64_t n) { return std::make_shared<Datasets>(index_datasets(n).train()); }

std::vector<int64_t> ids(const std::vector<Batch>& bs) {
  std::vector<int64_t> out;
  for (const auto& b : bs)
    for (int64_t k = 0; k < b[0].size(0); ++k) out.push_back(static_cast<int64_t>(b[0][k][0].item<float>()));
  return out;
}

TEST(TfmdDL, LengthsAndCoverageMatchFastai) {
  auto ds = train_ds(1000);
  TfmdDL train(ds, {.bs = 64, .shuffle = true, .drop_last = true, .num_workers = 2, .device = cpu, .seed = 3});
  TfmdDL valid(ds, {.bs = 64, .num_workers = 0, .device = cpu});
  EXPECT_EQ(train.size(), 15);  // spec §7.7: n=1000, bs=64
  EXPECT_EQ(valid.size(), 16);
  auto tb = epoch(train);
  ASSERT_EQ(tb.size(), 15u);
  for (const auto& b : tb) EXPECT_EQ(b[0].size(0), 64);
  auto t = ids(tb);
  EXPECT_EQ(std::set<int64_t>(t.begin(), t.end()).size(), 960u);  // distinct items, 40 dropped
  EXPECT_FALSE(std::is_sorted(t.begin(), t.end()));
  auto v = ids(epoch(valid));
  ASSERT_EQ(v.size(), 1000u);
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(v[static_cast<size_t>(i)], i);
  EXPECT_EQ(epoch(valid).back()[0].size(0), 1000 - 15 * 64);
  // Targets are collated as class indices with the semantic type kept.
  Tuple b = valid.one_batch();
  ASSERT_EQ(b.size(), 2u);
  EXPECT_TRUE(b[1].is<TensorCategory>());
  EXPECT_EQ(tensor_of(b[1]).sizes(), (std::vector<int64_t>{64}));
}

TEST(TfmdDL, SameBatchesForAnyNumberOfWorkers) {
  auto ds = train_ds(300);
  auto run = [&](int nw) {
    TfmdDL dl(ds, {.bs = 32, .shuffle = true, .num_workers = nw, .device = cpu, .seed = 11, .after_item = {jitter()}});
    auto a = epoch(dl);
    auto b = epoch(dl);  // a second epoch: new order, new random draws
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  auto ref = run(0);
  ASSERT_EQ(ref.size(), 20u);
  // The random transform ran: x is no longer exactly [i, 2i].
  EXPECT_GT((ref[0][0].select(1, 1) - 2 * ref[0][0].select(1, 0)).abs().max().item<float>(), 0.0f);
  EXPECT_FALSE(at::equal(ref[0][0], ref[10][0]));
  for (int nw : {1, 2, 3, 5}) {
    auto got = run(nw);
    ASSERT_EQ(got.size(), ref.size()) << nw << " workers";
    for (size_t k = 0; k < ref.size(); ++k) {
      EXPECT_TRUE(at::equal(got[k][0], ref[k][0])) << nw << " workers, batch " << k;
      EXPECT_TRUE(at::equal(got[k][1], ref[k][1])) << nw << " workers, batch " << k;
    }
  }
  // A different seed gives another order.
  TfmdDL other(ds, {.bs = 32, .shuffle = true, .num_workers = 2, .device = cpu, .seed = 12});
  EXPECT_NE(ids(epoch(other)), ids({ref.begin(), ref.begin() + 10}));
}

TEST(TfmdDL, WorkerErrorsSurfaceWithItemAndStopCleanly) {
  auto boom = std::make_shared<Transform>("Boom");
  boom->encodes<TensorFloat>([](const TensorFloat& x) -> TensorFloat {
    if (x.data[0].item<float>() == 37.0f) fail("item thirty-seven is broken");
    return x;
  });
  auto ds = train_ds(200);
  for (int nw : {0, 1, 2, 4}) {
    TfmdDL dl(ds, {.bs = 16, .num_workers = nw, .device = cpu, .after_item = {boom}});
    dl.begin_epoch();
    Batch b;
    ASSERT_TRUE(dl.next(b));  // batch 0 is fine
    ASSERT_TRUE(dl.next(b));  // batch 1 is fine
    expect_error([&] { dl.next(b); }, {"item thirty-seven is broken", "building batch 2", "item 37", "'Boom'"});
    EXPECT_FALSE(dl.next(b)) << "the epoch ends after an error";
    // The loader can start again, and stopping mid-epoch does not hang.
    dl.begin_epoch();
    ASSERT_TRUE(dl.next(b));
    EXPECT_EQ(b[0].size(0), 16);
  }
  // A loader destroyed mid-epoch joins its workers.
  {
    TfmdDL dl(ds, {.bs = 4, .num_workers = 3, .device = cpu});
    dl.begin_epoch();
    Batch b;
    ASSERT_TRUE(dl.next(b));
  }
  // An empty dataset is an error unless allowed.
  auto empty = std::make_shared<Datasets>(index_datasets(4, {{0, 1, 2, 3}, {}}).valid());
  expect_error([&] { TfmdDL(empty, {.device = cpu}); }, {"empty"});
  TfmdDL ok(empty, {.device = cpu, .allow_empty = true});
  EXPECT_EQ(ok.size(), 0);
  EXPECT_TRUE(epoch(ok).empty());
}

TEST(TfmdDL, SkippedItemsAreDropped) {
  auto ds = train_ds(40);
  TfmdDL dl(ds, {.bs = 10, .num_workers = 2, .device = cpu,
                 .hooks = {.create_item = [](const TfmdDL& d, int64_t i) -> Tuple {
                   if (i % 10 == 3 || (i >= 20 && i < 30)) throw SkipItemException();
                   return d.dataset().get(i);
                 }}});
  auto bs = epoch(dl);
  ASSERT_EQ(bs.size(), 3u);  // batch 2 lost every item and is not served
  auto got = ids(bs);
  EXPECT_EQ(got.size(), 27u);
  EXPECT_EQ(std::count(got.begin(), got.end(), 13), 0);
  EXPECT_EQ(got.back(), 39);
}

TEST(TfmdDL, HooksReplaceEveryStep) {
  auto ds = train_ds(20);
  std::atomic<int> wif_calls{0};
  int before = 0, after = 0;
  TfmdDLOptions o{.bs = 4, .num_workers = 2, .device = cpu};
  o.hooks.wif = [&](const TfmdDL&, int) { ++wif_calls; };
  o.hooks.before_iter = [&](TfmdDL&) { ++before; };
  o.hooks.after_iter = [&](TfmdDL&) { ++after; };
  o.hooks.get_idxs = [](const TfmdDL&) { return std::vector<int64_t>{19, 18, 17, 16, 15, 14, 13, 12}; };
  o.hooks.sample = [](const TfmdDL&, std::vector<int64_t> idxs) {
    return std::vector<std::vector<int64_t>>{{idxs[0], idxs[1], idxs[2]}, {idxs[3]}, {idxs[4], idxs[5]}};
  };
  o.hooks.after_item = [](const TfmdDL&, Tuple x) {
    x[0] = Item(tensor_of(x[0]) * 10);
    return x;
  };
  o.hooks.before_batch = [](const TfmdDL&, std::vector<Tuple> b) {
    std::reverse(b.begin(), b.end());
    return b;
  };
  o.hooks.after_batch = [](TfmdDL&, Tuple b) {
    b.push_back(Item(at::ones({1})));
    return b;
  };
  TfmdDL dl(ds, o);
  auto bs = epoch(dl);
  EXPECT_EQ(before, 1);
  EXPECT_EQ(after, 1);
  EXPECT_EQ(wif_calls.load(), 2);
  ASSERT_EQ(bs.size(), 3u);
  EXPECT_EQ(bs[0].size(), 3u);  // after_batch added a tensor
  EXPECT_TRUE(at::equal(bs[0][0].select(1, 0), at::tensor({170.0f, 180.0f, 190.0f})));
  EXPECT_EQ(bs[1][0].size(0), 1);
  EXPECT_EQ(dl.last_order(), (std::vector<int64_t>{19, 18, 17, 16, 15, 14}));
  // new_dl carries the hooks over.
  auto copy = dl.new_dl(dl.options());
  EXPECT_EQ(epoch(*copy).size(), 3u);
  // A subclass overriding a step.
  struct Doubling : TfmdDL {
    using TfmdDL::TfmdDL;
    Tuple create_item(int64_t i) const override { return dataset().get(2 * i % dataset().size()); }
  };
  Doubling dd(ds, {.bs = 5, .num_workers = 1, .device = cpu});
  EXPECT_EQ(ids(epoch(dd)), (std::vector<int64_t>{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18}));
}

TEST(TfmdDL, CollateChecksShapesAndTypes) {
  std::vector<Tuple> ok{{Item(at::zeros({2})), Item(1.5), Item(int64_t{3})}, {Item(at::ones({2})), Item(2.5), Item(int64_t{4})}};
  Tuple b = collate(ok);
  EXPECT_EQ(tensor_of(b[0]).sizes(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(tensor_of(b[1]).scalar_type(), at::kDouble);
  EXPECT_EQ(tensor_of(b[2]).scalar_type(), at::kLong);
  Tuple one = batch_item(b, 1);
  EXPECT_EQ(tensor_of(one[2]).item<int64_t>(), 4);
  expect_error([] { collate({{Item(at::zeros({2}))}, {Item(at::zeros({3}))}}); },
               {"element 0 of sample 1", "[3]", "[2]"});
  expect_error([] { collate({{Item(std::string("a"))}, {Item(std::string("b"))}}); }, {"str", "expected tensors or numbers"});
  expect_error([] { collate({{Item(at::zeros({2}))}, {Item(at::zeros({2})), Item(at::zeros({2}))}}); },
               {"sample 1 has 2 elements"});
}

TEST(TfmdDL, DecodeBatchAndNormalizeSetupFromOneBatch) {
  auto ds = train_ds(30);
  TfmdDL dl(ds, {.bs = 8, .num_workers = 1, .device = cpu});
  auto samples = dl.decode_batch(dl.one_batch(), 5);
  ASSERT_EQ(samples.size(), 5u);
  EXPECT_EQ(samples[4][1].get<Category>().label, "c1");
  // Normalize without stats learns them from one batch of images through the earlier transforms.
  auto img = std::make_shared<Transform>("ToImage");
  img->encodes<TensorFloat>([](const TensorFloat& x) { return TensorImage((x.data.view({2, 1, 1}) + 1).to(at::kByte)); });
  auto n = std::make_shared<Normalize>();
  TfmdDL idl(ds, {.bs = 10, .num_workers = 0, .device = cpu, .after_item = {img},
                  .after_batch = {std::make_shared<IntToFloatTensor>(), n}});
  ASSERT_TRUE(n->mean().defined());
  // The first batch holds items 0..9: channel 0 = (i+1)/255.
  EXPECT_NEAR(n->mean().flatten()[0].item<double>(), 5.5 / 255, 1e-6);
  Tuple nb = idl.one_batch();
  EXPECT_NEAR(tensor_of(nb[0]).select(1, 0).mean().item<double>(), 0.0, 1e-5);
  auto dec = idl.decode_batch(nb, 3);
  EXPECT_EQ(tensor_of(dec[2][0]).scalar_type(), at::kByte);
  EXPECT_EQ(tensor_of(dec[2][0]).flatten()[1].item<int64_t>(), 5);  // 2*2 + 1: decoded back to bytes
}

}  // namespace tfmd_dl_test
