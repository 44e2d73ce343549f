// DataLoaders from Datasets (fastai dataloaders()): a Learner trained from threaded TfmdDL loaders
// with the loss inferred from the targets; test_dl; errors for loaders that cannot do it.
#include "data/data_fixtures.h"
#include "learner/learner_fixtures.h"
#include "test_util.h"

#include "fastai/data/tfmd_dl.h"
#include "fastai/learner/interpret.h"
#include "fastai/learner/metrics.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <sstream>

namespace learner_tfmd_test {
using namespace fastai;          // NOLINT(google-build-using-namespace)
using namespace fastai::testing; // NOLINT(google-build-using-namespace)

const c10::Device cpu(c10::kCPU);

std::vector<Batch> all_batches(DataLoader& dl) {
  std::vector<Batch> out;
  for (Batch& b : dl) out.push_back(b);
  return out;
}

TEST(DataLoaders, FromDatasetsTestDlAndLearnerInfersTheLoss) {
  // Blobs: x = 8-D point near a class centre, y = its label "c<k>".
  auto make = [](int64_t i) {
    const int64_t k = i % 4;
    at::Tensor x = at::randn({8}, at::detail::createCPUGenerator(static_cast<uint64_t>(i) + 1));
    x[k] += 3.0f;
    return x;
  };
  auto xt = std::make_shared<Transform>("Blob");
  xt->encodes<int64_t>(make);
  std::vector<int64_t> tr, va;
  for (int64_t i = 0; i < 640; ++i) (i % 5 == 0 ? va : tr).push_back(i);
  Datasets ds(index_items(640), {{xt}, {to_label(4), std::make_shared<Categorize>()}}, {.splits = {tr, va}});
  auto dls = dataloaders_from(ds, {.bs = 32, .device = cpu, .num_workers = 2, .seed = 5});
  EXPECT_EQ(dls.train().size(), 16);  // 512 / 32, drop_last
  EXPECT_TRUE(dls.train().shuffle());
  EXPECT_EQ(dls.valid().size(), 4);
  EXPECT_FALSE(dls.valid().shuffle());
  EXPECT_EQ(dls.vocab(), (std::vector<std::string>{"c0", "c1", "c2", "c3"}));
  EXPECT_EQ(dls.c(), 4);
  Learner learn(dls, Mlp(8, 16, 4), {.metrics = {accuracy}, .path = temp_dir("tfmd_dl_learner").string()});
  EXPECT_EQ(learn.loss_func.name, "CrossEntropyLossFlat");
  static std::FILE* devnull = std::fopen("/dev/null", "w");
  if (learn.progress) learn.progress->opts.out = devnull;
  if (learn.recorder) learn.recorder->logger = [](const LogRow&) {};
  learn.fit_one_cycle(8, 1e-2);  // 4 epochs ended at 0.875-0.92 (flaky at the 0.9 bar)
  EXPECT_GT(learn.validate()[1], 0.9);
  // show_results as a table: the first 4 validation items (0, 5, 10, 15: labels c0 c1 c2 c3),
  // their targets and the predictions (right for at least 3 of them after this fit).
  std::ostringstream res;
  show_results(learn, {.max_n = 4, .out = &res});
  std::istringstream lines(res.str());
  std::string header, rule, row;
  std::getline(lines, header);
  std::getline(lines, rule);
  EXPECT_NE(header.find("target"), std::string::npos);
  EXPECT_NE(header.find("prediction"), std::string::npos);
  int n_rows = 0, right = 0;
  while (std::getline(lines, row)) {
    const std::string want = "c" + std::to_string(n_rows);
    std::istringstream cells(row);  // the last two cells: target, prediction
    std::vector<std::string> tok;
    for (std::string c; cells >> c;) tok.push_back(c);
    ASSERT_GE(tok.size(), 2u) << row;
    const std::string target = tok[tok.size() - 2], pred = tok.back();
    EXPECT_EQ(target, want) << row;
    right += pred == target;
    ++n_rows;
  }
  EXPECT_EQ(n_rows, 4);
  EXPECT_GE(right, 3);
  // test_dl: validation transforms on new raw items, inputs only.
  auto tdl = dls.test_dl({Item(int64_t{1}), Item(int64_t{2}), Item(int64_t{3})});
  auto tb = all_batches(*tdl);
  ASSERT_EQ(tb.size(), 1u);
  ASSERT_EQ(tb[0].size(), 1u);
  EXPECT_TRUE(at::allclose(tb[0][0][1], make(2)));
  auto with = dls.test_dl({Item(int64_t{1})}, true);
  EXPECT_EQ(all_batches(*with)[0].size(), 2u);
  // Too few training items for one batch with drop_last.
  expect_error([&] { dataloaders_from(ds, {.bs = 1000, .device = cpu}); }, {"512 items", "fewer than bs=1000"});
  // Tensor loaders have no Datasets behind them.
  auto tensors = blobs();
  expect_error([&] { tensors.test_dl({Item(int64_t{1})}); }, {"not a TfmdDL"});
  EXPECT_FALSE(tensors.c().has_value());
}

}  // namespace learner_tfmd_test
