// Adopting existing LibTorch data code: torch::data datasets through TfmdDL, torch::data loaders
// wrapped as fastai DataLoaders, both training a Learner.
#include "fastai/data/torch_data.h"

#include "learner/learner_fixtures.h"
#include "test_util.h"

#include "fastai/core/error.h"
#include "fastai/learner/metrics.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fastai::testing {

namespace torch_data_tests {

// Two Gaussian blobs in 8-D (class 0 around -1.5, class 1 around +1.5); `bad` = an index whose
// get() throws (-1: none).
struct Blobs : torch::data::datasets::Dataset<Blobs> {
  at::Tensor x, y;
  int64_t bad = -1;
  Blobs(int64_t n, uint64_t seed, int64_t bad_index = -1) : bad(bad_index) {
    torch::manual_seed(seed);
    y = torch::randint(0, 2, {n}, torch::kLong);
    x = torch::randn({n, 8}) + (y.to(torch::kFloat) * 3.0 - 1.5).unsqueeze(1);
  }
  torch::data::Example<> get(size_t i) override {
    if (static_cast<int64_t>(i) == bad) throw std::runtime_error("bad example " + std::to_string(i));
    return {x[static_cast<int64_t>(i)], y[static_cast<int64_t>(i)]};
  }
  torch::optional<size_t> size() const override { return static_cast<size_t>(x.size(0)); }
};

// Inputs only (no target).
struct Unlabelled : torch::data::datasets::Dataset<Unlabelled, torch::data::TensorExample> {
  torch::data::TensorExample get(size_t i) override { return {torch::full({3}, static_cast<double>(i))}; }
  torch::optional<size_t> size() const override { return 10; }
};

// Not copyable: TorchDataset calls it under a lock instead of copying it per thread.
struct NoCopy : torch::data::datasets::Dataset<NoCopy> {
  std::unique_ptr<int> calls = std::make_unique<int>(0);
  torch::data::Example<> get(size_t i) override {
    ++*calls;
    return {torch::full({2}, static_cast<double>(i)), torch::tensor(static_cast<int64_t>(i % 2))};
  }
  torch::optional<size_t> size() const override { return 20; }
};

double valid_accuracy(Learner& l) { return l.validate().at(1); }

std::vector<int64_t> batch_sizes(DataLoader& dl) {
  std::vector<int64_t> out;
  for (Batch& b : dl) out.push_back(b.at(0).size(0));
  return out;
}

TEST(TorchData, DatasetThroughTfmdDLTrainsALearner) {
  auto dls = dataloaders_from_torch(Blobs(512, 1), Blobs(256, 2),
                                    {.bs = 32, .num_workers = 2, .device = torch::Device(torch::kCPU), .seed = 7});
  EXPECT_EQ(dls.train().size(), 16);  // 512 / 32, drop_last
  EXPECT_TRUE(dls.train().shuffle());
  EXPECT_EQ(dls.valid().size(), 8);
  EXPECT_FALSE(dls.valid().shuffle());
  auto learn = quiet_learner(dls, Mlp(8, 16, 2), {.metrics = {accuracy}});
  learn->fit_one_cycle(3, 1e-2);
  EXPECT_GT(valid_accuracy(*learn), 0.9);
  // get_preds works on the TfmdDL copy, in dataset order.
  auto p = learn->get_preds();
  ASSERT_EQ(p.preds.size(0), 256);
  EXPECT_TRUE(p.targs.equal(Blobs(256, 2).y));
}

TEST(TorchData, DatasetSamplesAreTuplesAndWorkersMatchSerial) {
  TorchDataset<Blobs> ds(Blobs(50, 3));
  EXPECT_EQ(ds.size(), 50);
  Tuple s = ds.get(4);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_TRUE(tensor_of(s[0]).equal(ds.dataset().x[4]));
  EXPECT_EQ(tensor_of(s[1]).item<int64_t>(), ds.dataset().y[4].item<int64_t>());
  expect_error([&] { ds.get(50); }, {"TorchDataset", "index 50", "50 items"});

  auto serial = from_torch_dataset(Blobs(50, 3), {.bs = 8, .num_workers = 0, .device = torch::Device(torch::kCPU)});
  auto threaded = from_torch_dataset(Blobs(50, 3), {.bs = 8, .num_workers = 2, .device = torch::Device(torch::kCPU)});
  EXPECT_EQ(serial->size(), 7);
  std::vector<at::Tensor> a, b;
  for (Batch& x : *serial) a.push_back(x[0]);
  for (Batch& x : *threaded) b.push_back(x[0]);
  ASSERT_EQ(a.size(), 7u);
  ASSERT_EQ(b.size(), 7u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].equal(b[i])) << "batch " << i;
  EXPECT_TRUE(torch::cat(a).equal(Blobs(50, 3).x));
}

TEST(TorchData, UnlabelledAndNonCopyableDatasets) {
  auto dl = from_torch_dataset(Unlabelled(), {.bs = 4, .num_workers = 0, .device = torch::Device(torch::kCPU)});
  Batch b;
  dl->begin_epoch();
  ASSERT_TRUE(dl->next(b));
  ASSERT_EQ(b.size(), 1u);  // no target
  EXPECT_EQ(b[0].sizes(), (std::vector<int64_t>{4, 3}));

  auto nc = std::make_shared<TorchDataset<NoCopy>>(NoCopy());
  TfmdDL tdl(nc, {.bs = 5, .num_workers = 2, .device = torch::Device(torch::kCPU)});
  int64_t total = 0;
  for (Batch& x : tdl) total += x[0].size(0);
  EXPECT_EQ(total, 20);
  EXPECT_EQ(*nc->dataset().calls, 20);  // every call went to the one instance
}

TEST(TorchData, WrappedLoadersTrainALearnerAndGetPreds) {
  namespace td = torch::data;
  auto tl = td::make_data_loader(Blobs(512, 1).map(td::transforms::Stack<>()),
                                 td::DataLoaderOptions().batch_size(32).drop_last(true));
  auto vl = td::make_data_loader<td::samplers::SequentialSampler>(Blobs(256, 2).map(td::transforms::Stack<>()),
                                                                  td::DataLoaderOptions().batch_size(64));
  DataLoaders dls(wrap_torch_loader(std::move(tl), {.device = torch::Device(torch::kCPU)}),
                  wrap_torch_loader(std::move(vl), {.device = torch::Device(torch::kCPU)}));
  EXPECT_EQ(dls.train().size(), 16);
  EXPECT_EQ(dls.train().n(), 512);
  EXPECT_TRUE(dls.train().shuffle());  // RandomSampler
  EXPECT_TRUE(dls.train().drop_last());
  EXPECT_EQ(dls.valid().size(), 4);
  EXPECT_FALSE(dls.valid().shuffle());  // SequentialSampler
  auto learn = quiet_learner(dls, Mlp(8, 16, 2), {.metrics = {accuracy}});
  learn->fit_one_cycle(3, 1e-2);
  EXPECT_GT(valid_accuracy(*learn), 0.9);
  // The valid loader is unshuffled: get_preds gets a second handle on it, in dataset order.
  auto p = learn->get_preds();
  ASSERT_EQ(p.preds.size(0), 256);
  EXPECT_TRUE(p.targs.equal(Blobs(256, 2).y));
  EXPECT_GT(p.preds.argmax(1).eq(p.targs).to(torch::kFloat).mean().item<double>(), 0.9);
  // The shuffled train loader cannot become an unshuffled copy: the error says why and what to do.
  expect_error([&] { learn->get_preds({.ds_idx = 0}); },
               {"cannot be copied", "shuffle=true", "SequentialSampler", "wrap_torch_loader"});
}

TEST(TorchData, WrappedLoaderBatchCountsAndShapes) {
  namespace td = torch::data;
  // Stacked batches, not drop_last: ceil(100 / 32) = 4 batches, the last one short.
  auto stacked = wrap_torch_loader(td::make_data_loader<td::samplers::SequentialSampler>(
      Blobs(100, 4).map(td::transforms::Stack<>()), td::DataLoaderOptions().batch_size(32)));
  EXPECT_EQ(stacked->size(), 4);
  EXPECT_EQ(stacked->bs(), 32);
  EXPECT_EQ(batch_sizes(*stacked), (std::vector<int64_t>{32, 32, 32, 4}));
  EXPECT_EQ(batch_sizes(*stacked), (std::vector<int64_t>{32, 32, 32, 4}));  // a second epoch
  // Unstacked batches (vectors of examples) are stacked by the adapter; drop_last: 3 batches.
  auto raw = wrap_torch_loader(td::make_data_loader<td::samplers::SequentialSampler>(
      Blobs(100, 4), td::DataLoaderOptions().batch_size(32).drop_last(true)));
  EXPECT_EQ(raw->size(), 3);
  Batch b;
  raw->begin_epoch();
  ASSERT_TRUE(raw->next(b));
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].sizes(), (std::vector<int64_t>{32, 8}));
  EXPECT_EQ(b[1].sizes(), (std::vector<int64_t>{32}));
  EXPECT_TRUE(b[0].equal(Blobs(100, 4).x.slice(0, 0, 32)));
  EXPECT_EQ(batch_sizes(*raw), (std::vector<int64_t>{32, 32, 32}));  // an interrupted epoch restarts cleanly

  // Worker threads: the size cannot be read from the loader, so it must be given.
  auto opts = td::DataLoaderOptions().batch_size(10).workers(2);
  expect_error([&] { wrap_torch_loader(td::make_data_loader(Blobs(95, 5).map(td::transforms::Stack<>()), opts)); },
               {"wrap_torch_loader", "2 worker thread(s)", ".n ="});
  auto threaded = wrap_torch_loader(td::make_data_loader(Blobs(95, 5).map(td::transforms::Stack<>()), opts), {.n = 95});
  EXPECT_EQ(threaded->size(), 10);
  int64_t total = 0;
  for (Batch& x : *threaded) total += x[0].size(0);
  EXPECT_EQ(total, 95);
  // Leave an epoch half read (jobs in flight), then start a new one.
  threaded->begin_epoch();
  ASSERT_TRUE(threaded->next(b));
  EXPECT_EQ(batch_sizes(*threaded).size(), 10u);
  // new_with with the loader's own settings: a handle on the same loader.
  auto same = threaded->new_with(true, false);
  EXPECT_EQ(same->size(), 10);
  EXPECT_EQ(batch_sizes(*same).size(), 10u);
  expect_error([&] { wrap_torch_loader(std::unique_ptr<td::StatelessDataLoader<Blobs, td::samplers::RandomSampler>>()); },
               {"wrap_torch_loader", "null"});
}

TEST(TorchData, ErrorsFromADatasetSurfaceWithTheirMessage) {
  namespace td = torch::data;
  for (size_t workers : {0, 2}) {
    SCOPED_TRACE(workers);
    auto dl = wrap_torch_loader(
        td::make_data_loader<td::samplers::SequentialSampler>(Blobs(64, 6, /*bad=*/37).map(td::transforms::Stack<>()),
                                                              td::DataLoaderOptions().batch_size(16).workers(workers)),
        {.n = 64});
    expect_error([&] { batch_sizes(*dl); }, {"torch::data loader", "batch 2", "bad example 37"});
    // The loader is usable again afterwards (the failed epoch is drained first).
    expect_error([&] { batch_sizes(*dl); }, {"bad example 37"});
  }
  // Through TfmdDL: the loader's own error names the batch and the item.
  auto tdl = from_torch_dataset(Blobs(64, 6, 37), {.bs = 16, .num_workers = 2, .device = torch::Device(torch::kCPU)});
  expect_error([&] { batch_sizes(*tdl); }, {"bad example 37"});
}

}  // namespace torch_data_tests
}  // namespace fastai::testing
