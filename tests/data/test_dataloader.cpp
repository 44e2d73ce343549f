// TensorDataLoader / DataLoaders: lengths, coverage, shuffling determinism, drop_last, n_inp,
// devices, errors.
#include "test_util.h"
#include "fastai/data/dataloader.h"

#include "fastai/core/error.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace fastai_test_dl {

using fastai::Batch;
using fastai::DataLoader;
using fastai::DataLoaders;
using fastai::TensorDataLoader;
using fastai::TensorDataLoaderOptions;

// x[i] = [i, 2i] (float), y[i] = i (int64): every item knows its index.
std::vector<at::Tensor> make_data(int64_t n) {
  at::Tensor y = at::arange(n, at::kLong);
  at::Tensor x = at::stack({y.to(at::kFloat), y.to(at::kFloat) * 2}, 1);
  return {x, y};
}

TensorDataLoaderOptions cpu_opts(int64_t bs, bool shuffle, bool drop_last, uint64_t seed = 0) {
  TensorDataLoaderOptions o;
  o.bs = bs;
  o.shuffle = shuffle;
  o.drop_last = drop_last;
  o.seed = seed;
  o.device = c10::Device(c10::kCPU);
  return o;
}

// Item indices (from the y tensor) in the order one epoch served them; also checks x matches y.
std::vector<int64_t> epoch_order(DataLoader& dl, std::vector<int64_t>* batch_sizes = nullptr) {
  std::vector<int64_t> out;
  for (Batch& b : dl) {
    EXPECT_EQ(b.size(), 2u);
    const at::Tensor& x = b[0];
    const at::Tensor& y = b[1];
    EXPECT_EQ(x.size(0), y.size(0));
    EXPECT_TRUE(at::equal(x.select(1, 0), y.to(at::kFloat)));
    EXPECT_TRUE(at::equal(x.select(1, 1), y.to(at::kFloat) * 2));
    if (batch_sizes) batch_sizes->push_back(y.size(0));
    auto yc = y.contiguous();
    out.insert(out.end(), yc.data_ptr<int64_t>(), yc.data_ptr<int64_t>() + yc.numel());
  }
  return out;
}

using fastai::testing::error_of;

TEST(TensorDataLoader, LengthsMatchSpec) {
  auto d = make_data(1000);
  auto dls = DataLoaders::from_tensors(d, d, cpu_opts(64, false, false, 1));
  EXPECT_EQ(dls.train().size(), 15);  // 1000 / 64 = 15 full batches, remainder dropped
  EXPECT_EQ(dls.valid().size(), 16);  // 15 full + 1 of 40
  EXPECT_EQ(dls.train().n(), 1000);
  EXPECT_EQ(dls.train().bs(), 64);
  EXPECT_EQ(dls.valid().bs(), 64);
  EXPECT_TRUE(dls.train().shuffle());
  EXPECT_TRUE(dls.train().drop_last());
  EXPECT_FALSE(dls.valid().shuffle());
  EXPECT_FALSE(dls.valid().drop_last());

  std::vector<int64_t> tb, vb;
  auto to = epoch_order(dls.train(), &tb);
  auto vo = epoch_order(dls.valid(), &vb);
  EXPECT_EQ(tb.size(), 15u);
  EXPECT_EQ(vb.size(), 16u);
  EXPECT_TRUE(std::all_of(tb.begin(), tb.end(), [](int64_t s) { return s == 64; }));
  EXPECT_EQ(vb.back(), 1000 - 15 * 64);
  EXPECT_EQ(to.size(), 960u);
  EXPECT_EQ(vo.size(), 1000u);
}

TEST(TensorDataLoader, SizeFormula) {
  for (int64_t n : {1, 5, 63, 64, 65, 128, 1000}) {
    for (int64_t bs : {1, 7, 64, 2000}) {
      auto d = make_data(n);
      TensorDataLoader keep(d, cpu_opts(bs, false, false, 1));
      TensorDataLoader drop(d, cpu_opts(bs, true, true, 1));
      EXPECT_EQ(keep.size(), n / bs + (n % bs ? 1 : 0)) << "n=" << n << " bs=" << bs;
      EXPECT_EQ(drop.size(), n / bs) << "n=" << n << " bs=" << bs;
      std::vector<int64_t> kb, db;
      EXPECT_EQ(static_cast<int64_t>(epoch_order(keep, &kb).size()), n);
      EXPECT_EQ(static_cast<int64_t>(epoch_order(drop, &db).size()), (n / bs) * bs);
      EXPECT_EQ(static_cast<int64_t>(kb.size()), keep.size());
      EXPECT_EQ(static_cast<int64_t>(db.size()), drop.size());
    }
  }
}

TEST(TensorDataLoader, UnshuffledIsIdentityOrder) {
  auto d = make_data(100);
  TensorDataLoader dl(d, cpu_opts(32, false, false, 1));
  auto o = epoch_order(dl);
  std::vector<int64_t> want(100);
  for (int64_t i = 0; i < 100; ++i) want[i] = i;
  EXPECT_EQ(o, want);
  EXPECT_TRUE(dl.last_order().empty());
  EXPECT_EQ(epoch_order(dl), want);  // again next epoch
}

TEST(TensorDataLoader, EveryItemOncePerEpoch) {
  auto d = make_data(1000);
  TensorDataLoader dl(d, cpu_opts(64, true, false, 42));
  for (int epoch = 0; epoch < 3; ++epoch) {
    auto o = epoch_order(dl);
    ASSERT_EQ(o.size(), 1000u);
    std::vector<int64_t> s = o;
    std::sort(s.begin(), s.end());
    for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(s[i], i) << "epoch " << epoch;
    EXPECT_EQ(dl.last_order(), o) << "last_order() must be the permutation the epoch used";
  }
}

TEST(TensorDataLoader, DropLastShuffledServesDistinctItems) {
  auto d = make_data(1000);
  TensorDataLoader dl(d, cpu_opts(64, true, true, 7));
  auto o = epoch_order(dl);
  ASSERT_EQ(o.size(), 960u);
  std::set<int64_t> s(o.begin(), o.end());
  EXPECT_EQ(s.size(), 960u);
  // The dropped items differ between epochs (the permutation changes).
  auto o2 = epoch_order(dl);
  std::set<int64_t> s2(o2.begin(), o2.end());
  EXPECT_NE(s, s2);
}

TEST(TensorDataLoader, SameSeedSameBatchesDifferentSeedOrEpochDiffers) {
  auto d = make_data(500);
  TensorDataLoader a(d, cpu_opts(50, true, false, 123));
  TensorDataLoader b(d, cpu_opts(50, true, false, 123));
  TensorDataLoader c(d, cpu_opts(50, true, false, 124));
  EXPECT_EQ(a.seed(), 123u);
  auto a1 = epoch_order(a), b1 = epoch_order(b), c1 = epoch_order(c);
  EXPECT_EQ(a1, b1);
  EXPECT_NE(a1, c1);
  auto a2 = epoch_order(a), b2 = epoch_order(b);
  EXPECT_EQ(a2, b2);
  EXPECT_NE(a1, a2) << "each begin_epoch must reshuffle";
  std::vector<int64_t> ident(500);
  for (int64_t i = 0; i < 500; ++i) ident[i] = i;
  EXPECT_NE(a1, ident);

  // Batches (not only orders) identical, x included.
  a.begin_epoch();
  b.begin_epoch();
  Batch ba, bb;
  while (a.next(ba)) {
    ASSERT_TRUE(b.next(bb));
    EXPECT_TRUE(at::equal(ba[0], bb[0]));
    EXPECT_TRUE(at::equal(ba[1], bb[1]));
  }
  EXPECT_FALSE(b.next(bb));
}

TEST(TensorDataLoader, GlobalSeedDrivesUnseededLoaders) {
  auto d = make_data(300);
  fastai::set_seed(99);
  TensorDataLoader a(d, cpu_opts(30, true, false, 0));
  TensorDataLoader a2(d, cpu_opts(30, true, false, 0));
  EXPECT_NE(a.seed(), 0u);
  EXPECT_NE(a.seed(), a2.seed()) << "two loaders in a row draw different seeds";
  fastai::set_seed(99);
  TensorDataLoader b(d, cpu_opts(30, true, false, 0));
  EXPECT_EQ(a.seed(), b.seed());
  EXPECT_EQ(epoch_order(a), epoch_order(b));
  fastai::set_seed(100);
  TensorDataLoader c(d, cpu_opts(30, true, false, 0));
  EXPECT_NE(a.seed(), c.seed());

  // set_seed also seeds LibTorch.
  fastai::set_seed(5);
  at::Tensor r1 = at::rand({4});
  fastai::set_seed(5);
  at::Tensor r2 = at::rand({4});
  EXPECT_TRUE(at::equal(r1, r2));
}

TEST(TensorDataLoader, NextWithoutBeginEpochYieldsNothing) {
  auto d = make_data(10);
  TensorDataLoader dl(d, cpu_opts(4, true, false, 3));
  Batch b;
  EXPECT_FALSE(dl.next(b));
  dl.begin_epoch();
  int count = 0;
  while (dl.next(b)) ++count;
  EXPECT_EQ(count, 3);
  EXPECT_FALSE(dl.next(b)) << "an exhausted epoch stays exhausted until begin_epoch";
}

TEST(TensorDataLoader, NInpSplit) {
  at::Tensor a = at::arange(12, at::kFloat).reshape({6, 2});
  at::Tensor b = at::arange(6, at::kLong) * 10;
  at::Tensor c = at::arange(6, at::kLong);
  auto o = cpu_opts(4, false, false, 1);
  o.n_inp = 2;
  TensorDataLoader dl({a, b, c}, o);
  EXPECT_EQ(dl.n_inp(), 2);
  std::vector<Batch> bs;
  for (Batch& x : dl) bs.push_back(x);
  ASSERT_EQ(bs.size(), 2u);
  ASSERT_EQ(bs[0].size(), 3u);
  EXPECT_TRUE(at::equal(bs[0][0], a.narrow(0, 0, 4)));
  EXPECT_TRUE(at::equal(bs[0][1], b.narrow(0, 0, 4)));
  EXPECT_TRUE(at::equal(bs[0][2], c.narrow(0, 0, 4)));
  EXPECT_TRUE(at::equal(bs[1][0], a.narrow(0, 4, 2)));
  EXPECT_EQ(bs[1][2].size(0), 2);
  auto dls = DataLoaders::from_tensors({a, b, c}, {a, b, c}, o);
  EXPECT_EQ(dls.n_inp(), 2);
  EXPECT_EQ(dls.valid().n_inp(), 2);

  o.n_inp = 4;
  EXPECT_NE(error_of([&] { TensorDataLoader bad({a, b, c}, o); }).find("n_inp"), std::string::npos);
  o.n_inp = 0;
  EXPECT_NE(error_of([&] { TensorDataLoader bad({a, b, c}, o); }).find("n_inp"), std::string::npos);
}

TEST(TensorDataLoader, ShuffledBatchesKeepRowsTogether) {
  at::Tensor x = at::arange(40, at::kFloat).reshape({10, 2, 2});
  at::Tensor y = at::arange(10, at::kLong);
  TensorDataLoader dl({x, y}, cpu_opts(3, true, false, 11));
  for (Batch& b : dl) {
    ASSERT_EQ(b[0].dim(), 3);
    EXPECT_EQ(b[0].size(1), 2);
    EXPECT_TRUE(at::equal(b[0], x.index_select(0, b[1])));
  }
}

TEST(TensorDataLoader, DeviceAndTo) {
  auto d = make_data(20);
  TensorDataLoader dl(d, cpu_opts(8, true, false, 1));
  EXPECT_EQ(dl.device(), c10::Device(c10::kCPU));
  for (Batch& b : dl)
    for (auto& t : b) EXPECT_TRUE(t.device().is_cpu());

  TensorDataLoaderOptions o;  // default device
  o.seed = 1;
  TensorDataLoader def(d, o);
  EXPECT_EQ(def.device(), fastai::default_device());
  EXPECT_EQ(fastai::default_device().is_cuda(), at::hasCUDA());

  if (at::hasCUDA()) {
    dl.to(c10::Device(c10::kCUDA, 0));
    EXPECT_TRUE(dl.device().is_cuda());
    auto o1 = epoch_order(dl);  // batches land on the GPU, contents intact
    EXPECT_EQ(o1.size(), 20u);
    for (Batch& b : dl)
      for (auto& t : b) EXPECT_TRUE(t.device().is_cuda());
    dl.to(c10::Device(c10::kCPU));
  }
  dl.to(c10::Device(c10::kCPU));
  EXPECT_TRUE(dl.device().is_cpu());

  auto dls = DataLoaders::from_tensors(d, d, cpu_opts(4, false, false, 1));
  EXPECT_TRUE(dls.device().is_cpu());
  dls.to(c10::Device(c10::kCPU));
  EXPECT_TRUE(dls.valid().device().is_cpu());
}

TEST(TensorDataLoader, NewWith) {
  auto d = make_data(50);
  TensorDataLoader dl(d, cpu_opts(8, true, true, 5));
  auto n = dl.new_with(false, false);
  EXPECT_FALSE(n->shuffle());
  EXPECT_FALSE(n->drop_last());
  EXPECT_EQ(n->bs(), 8);
  EXPECT_EQ(n->n(), 50);
  EXPECT_EQ(n->size(), 7);
  EXPECT_EQ(n->device(), dl.device());
  std::vector<int64_t> ident(50);
  for (int64_t i = 0; i < 50; ++i) ident[i] = i;
  EXPECT_EQ(epoch_order(*n), ident);
  auto s = dl.new_with(true, true);
  EXPECT_EQ(s->size(), 6);
  // Same explicit seed: the copy replays the original's first epoch.
  TensorDataLoader fresh(d, cpu_opts(8, true, true, 5));
  EXPECT_EQ(epoch_order(*s), epoch_order(fresh));
}

TEST(TensorDataLoader, EmptyAndMismatchErrors) {
  auto o = cpu_opts(4, false, false, 1);
  std::string e = error_of([&] { TensorDataLoader dl({at::zeros({5, 2}), at::zeros({6})}, o); });
  EXPECT_NE(e.find("tensor 1"), std::string::npos) << e;
  EXPECT_NE(e.find("6"), std::string::npos) << e;
  EXPECT_NE(e.find("5"), std::string::npos) << e;

  e = error_of([&] { TensorDataLoader dl({at::zeros({0, 2})}, o); });
  EXPECT_NE(e.find("empty"), std::string::npos) << e;

  e = error_of([&] { TensorDataLoader dl({}, o); });
  EXPECT_NE(e.find("at least one tensor"), std::string::npos) << e;

  e = error_of([&] { TensorDataLoader dl({at::zeros({})}, o); });
  EXPECT_NE(e.find("scalar"), std::string::npos) << e;

  auto bad = o;
  bad.bs = 0;
  e = error_of([&] { TensorDataLoader dl({at::zeros({3})}, bad); });
  EXPECT_NE(e.find("bs"), std::string::npos) << e;

  auto empty_ok = o;
  empty_ok.allow_empty = true;
  TensorDataLoader dl({at::zeros({0, 2})}, empty_ok);
  EXPECT_EQ(dl.size(), 0);
  Batch b;
  dl.begin_epoch();
  EXPECT_FALSE(dl.next(b));
}

TEST(DataLoaders, FromTensorsErrorsSayWhichSet) {
  auto o = cpu_opts(64, false, false, 1);
  std::string e = error_of([&] { DataLoaders::from_tensors(make_data(10), make_data(100), o); });
  EXPECT_NE(e.find("train"), std::string::npos) << e;
  EXPECT_NE(e.find("10 items"), std::string::npos) << e;
  EXPECT_NE(e.find("bs=64"), std::string::npos) << e;

  e = error_of([&] { DataLoaders::from_tensors({at::zeros({0, 3})}, make_data(100), o); });
  EXPECT_NE(e.find("train set"), std::string::npos) << e;
  EXPECT_NE(e.find("empty"), std::string::npos) << e;

  e = error_of([&] { DataLoaders::from_tensors(make_data(100), {at::zeros({5}), at::zeros({6})}, o); });
  EXPECT_NE(e.find("valid set"), std::string::npos) << e;
  EXPECT_NE(e.find("tensor 1"), std::string::npos) << e;

  // An empty validation set is allowed: both as no tensors and as 0 items.
  auto a = DataLoaders::from_tensors(make_data(100), {}, o);
  EXPECT_EQ(a.valid().size(), 0);
  EXPECT_EQ(a.valid().n(), 0);
  EXPECT_TRUE(epoch_order(a.valid()).empty());
  auto b = DataLoaders::from_tensors(make_data(100), {at::zeros({0, 2}), at::zeros({0}, at::kLong)}, o);
  EXPECT_EQ(b.valid().size(), 0);
}

TEST(DataLoaders, IndexingAndPath) {
  auto d = make_data(100);
  auto dls = DataLoaders::from_tensors(d, d, cpu_opts(10, false, false, 1));
  EXPECT_EQ(dls.n_loaders(), 2u);
  EXPECT_EQ(dls[0].get(), &dls.train());
  EXPECT_EQ(dls[1].get(), &dls.valid());
  EXPECT_EQ(dls.path(), ".");
  std::string e = error_of([&] { dls[2]; });
  EXPECT_NE(e.find("index 2"), std::string::npos) << e;
  EXPECT_NE(e.find("2 loaders"), std::string::npos) << e;
  dls.add(dls.valid().new_with(false, false));
  EXPECT_EQ(dls.n_loaders(), 3u);
  EXPECT_EQ(dls[2]->size(), 10);

  DataLoaders empty;
  e = error_of([&] { empty.valid(); });
  EXPECT_NE(e.find("index 1"), std::string::npos) << e;

  auto t = std::make_shared<TensorDataLoader>(d, cpu_opts(10, false, false, 1));
  DataLoaders p(t, t, "/tmp/somewhere");
  EXPECT_EQ(p.path(), "/tmp/somewhere");
}

}  // namespace fastai_test_dl
