// Scheduled fits at fastai's reference points (spec §7.1-7.3), freezing, persistence,
// predictions and bad input.
#include "learner/learner_fixtures.h"
#include "test_util.h"

#include "fastai/learner/core_callbacks.h"
#include "fastai/core/error.h"
#include "fastai/learner/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

namespace fastai::testing {

namespace train_tests {

// Records every group's lr and the last group's mom before each training batch (after the scheduler).
struct GroupLrs : Callback {
  std::vector<std::vector<double>> lrs;
  std::vector<double> moms;
  void before_batch(Learner& l) override {
    if (!l.training) return;
    std::vector<double> v;
    for (size_t g = 0; g < l.opt->n_groups(); ++g) v.push_back(l.opt->hyper("lr", static_cast<int>(g)));
    lrs.push_back(v);
    moms.push_back(l.opt->hyper("mom"));
  }
  int order() const override { return 70; }  // after ParamScheduler (60)
};

int64_t trainable_count(Learner& l) {
  int64_t n = 0;
  for (auto& p : l.model.module->parameters())
    if (p.requires_grad()) n += p.numel();
  return n;
}

using fastai::testing::error_of;

}  // namespace train_tests

TEST(LearnerSchedules, OneCycleMatchesSpecTable) {
  // 40 training batches in all: batch i has pos i/40, so the spec's points fall on batches.
  auto lr_cb = std::make_shared<train_tests::GroupLrs>();
  auto l = quiet_learner(blobs(160, 32, 8), Mlp(), {.cbs = {lr_cb}});
  l->fit_one_cycle(2, 1e-3);
  ASSERT_EQ(lr_cb->lrs.size(), 40u);
  struct P { int i; double lr, mom; };
  for (P p : {P{0, 4.000000e-05, 0.95}, P{2, 1.316718e-04, 0.940451}, P{5, 5.2e-04, 0.9}, P{10, 1e-3, 0.85},
              P{12, 9.890739e-04, 0.851093}, P{20, 7.500025e-04, 0.875}, P{25, 5.000050e-04, 0.9},
              P{30, 2.500075e-04, 0.925}, P{36, 4.323684e-05, 0.945677}}) {
    EXPECT_NEAR(lr_cb->lrs[p.i][0], p.lr, p.lr * 1e-5) << "batch " << p.i;
    EXPECT_NEAR(lr_cb->moms[p.i], p.mom, 1e-6) << "batch " << p.i;
  }
  // The Recorder saw the same lrs.
  ASSERT_EQ(l->recorder->lrs.size(), 40u);
  EXPECT_NEAR(l->recorder->lrs[20], 7.500025e-04, 1e-9);
}

TEST(LearnerSchedules, FineTunePhasesPerGroup) {
  auto lr_cb = std::make_shared<train_tests::GroupLrs>();
  auto l = quiet_learner(blobs(160, 32, 8), Mlp(), {.splitter = mlp_splitter, .cbs = {lr_cb}});
  l->fine_tune(1, 2e-3);
  // 20 batches frozen (pct_start .99, div 25, slice(2e-3) -> [2e-4, 2e-3]), then 20 unfrozen
  // (pct_start .3, div 5, slice(1e-5, 1e-3) -> [1e-5, 1e-3] for two groups).
  ASSERT_EQ(lr_cb->lrs.size(), 40u);
  EXPECT_NEAR(lr_cb->lrs[0][0], 8e-6, 1e-12);
  EXPECT_NEAR(lr_cb->lrs[0][1], 8e-5, 1e-11);
  EXPECT_NEAR(lr_cb->lrs[10][0], 1.0552e-4, 1e-8);  // pos 0.5 of the frozen phase
  EXPECT_NEAR(lr_cb->moms[10], 0.89921, 1e-5);
  EXPECT_NEAR(lr_cb->lrs[20][0], 2e-6, 1e-12);
  EXPECT_NEAR(lr_cb->lrs[20][1], 2e-4, 1e-10);
  EXPECT_NEAR(lr_cb->lrs[23][1], 6e-4, 1e-9);   // pos 0.15
  EXPECT_NEAR(lr_cb->lrs[33][0], 5e-6, 5e-6 * 1e-4);  // pos 0.65 (spec rounds 5.00005e-6)
  EXPECT_EQ(l->opt->frozen_idx(), 0);
}

TEST(LearnerSchedules, FlatCosAndSgdr) {
  auto lr_cb = std::make_shared<train_tests::GroupLrs>();
  auto l = quiet_learner(blobs(80, 16, 8), Mlp(), {.cbs = {lr_cb}});
  l->fit_flat_cos(2, 1e-2);  // 20 batches: flat for 75%, then cosine to 1e-7
  ASSERT_EQ(lr_cb->lrs.size(), 20u);
  EXPECT_DOUBLE_EQ(lr_cb->lrs[0][0], 1e-2);
  EXPECT_DOUBLE_EQ(lr_cb->lrs[14][0], 1e-2);
  EXPECT_NEAR(lr_cb->lrs[17][0], 1e-7 + (1e-2 - 1e-7) * (1 + std::cos(M_PI * 0.4)) / 2, 1e-12);

  lr_cb->lrs.clear();
  l->fit_sgdr(2, 1, 1e-2);  // cycles of 1 and 2 epochs = 3 epochs, 30 batches
  ASSERT_EQ(lr_cb->lrs.size(), 30u);
  EXPECT_DOUBLE_EQ(lr_cb->lrs[0][0], 1e-2);
  EXPECT_DOUBLE_EQ(lr_cb->lrs[10][0], 1e-2);  // restart
  EXPECT_NEAR(lr_cb->lrs[20][0], 5e-3, 1e-12);  // middle of the second cycle
}

TEST(LearnerSuggestions, SpecSyntheticCurve) {
  std::vector<double> lrs, losses;
  for (int i = 0; i < 100; ++i) {
    double lr = 1e-7 * std::pow(1e8, i / 100.0);
    double x = std::log10(lr);
    lrs.push_back(lr);
    losses.push_back(2.3 - 1.5 / (1 + std::exp(-2.5 * (x + 2.5))) + 0.02 * std::exp(2 * (x + 1)));
  }
  auto s = suggest_lrs(lrs, losses, 100);
  EXPECT_NEAR(s.valley, 2.2909e-04, 2.2909e-04 * 1e-4);
  EXPECT_NEAR(s.slide, 1e-3, 1e-3 * 1e-4);
  EXPECT_NEAR(s.minimum, 1.4454e-02, 1.4454e-02 * 1e-4);
  EXPECT_NEAR(s.steep, 3.0200e-03, 3.0200e-03 * 1e-4);
}

TEST(LearnerLrFind, SweepsRestoresAndPlots) {
  auto dir = temp_dir("lr_find");
  auto l = quiet_learner(blobs(512, 64, 16), Mlp());
  l->create_opt();
  std::vector<at::Tensor> before;
  for (auto& p : l->model.module->parameters()) before.push_back(p.detach().clone());
  auto s = l->lr_find({.plot_path = (dir / "lr_find.png").string()});
  const auto& lrs = l->recorder->lrs;
  ASSERT_GE(lrs.size(), 10u);
  EXPECT_LE(lrs.size(), 100u);
  for (size_t i = 0; i < lrs.size(); ++i) EXPECT_NEAR(lrs[i], 1e-7 * std::pow(1e8, i / 100.0), lrs[i] * 1e-9);
  if (lrs.size() > 50) {
    EXPECT_NEAR(lrs[50], 1e-3, 1e-12);
  }
  EXPECT_GT(s.valley, 1e-7);
  EXPECT_LT(s.valley, 10);
  EXPECT_TRUE(std::filesystem::exists(dir / "lr_find.png"));
  size_t i = 0;
  for (auto& p : l->model.module->parameters()) EXPECT_TRUE(torch::equal(p, before[i++])) << "lr_find restores the model";
  std::filesystem::remove_all(dir);
}

TEST(LearnerFreeze, CountsWithTrainBn) {
  auto l = quiet_learner(blobs(), Mlp(), {.splitter = mlp_splitter});
  auto& m = dynamic_cast<MlpImpl&>(*l->model.module);
  const int64_t bn = m.bn->weight.numel() + m.bn->bias.numel();
  const int64_t head = m.l2->weight.numel() + m.l2->bias.numel();
  const int64_t total = train_tests::trainable_count(*l);
  l->freeze();
  EXPECT_EQ(train_tests::trainable_count(*l), head + bn);
  l->unfreeze();
  EXPECT_EQ(train_tests::trainable_count(*l), total);

  auto l2 = quiet_learner(blobs(), Mlp(), {.splitter = mlp_splitter, .train_bn = false});
  l2->freeze();
  EXPECT_EQ(train_tests::trainable_count(*l2), head);
}

TEST(LearnerFreeze, FrozenPhaseTrainsOnlyHeadAndBn) {
  auto l = quiet_learner(blobs(), Mlp(), {.splitter = mlp_splitter});
  auto& m = dynamic_cast<MlpImpl&>(*l->model.module);
  auto w1 = m.l1->weight.detach().clone(), bnw = m.bn->weight.detach().clone(), w2 = m.l2->weight.detach().clone();
  l->freeze();
  l->fit(1, 1e-2);
  EXPECT_TRUE(torch::equal(m.l1->weight, w1));
  EXPECT_FALSE(torch::equal(m.bn->weight, bnw));
  EXPECT_FALSE(torch::equal(m.l2->weight, w2));
}

TEST(LearnerFreeze, NoWeightDecayOnNormAndBias) {
  auto l = quiet_learner(blobs(), Mlp());
  l->create_opt();
  auto& m = dynamic_cast<MlpImpl&>(*l->model.module);
  EXPECT_TRUE(l->opt->state(m.l1->weight).do_wd);
  EXPECT_FALSE(l->opt->state(m.l1->bias).do_wd);
  EXPECT_FALSE(l->opt->state(m.bn->weight).do_wd);
  EXPECT_TRUE(l->opt->state(m.bn->weight).force_train);
  EXPECT_FALSE(l->opt->state(m.l2->weight).force_train);
  auto l2 = quiet_learner(blobs(), Mlp(), {.wd_bn_bias = true});
  l2->create_opt();
  auto& m2 = dynamic_cast<MlpImpl&>(*l2->model.module);
  EXPECT_TRUE(l2->opt->state(m2.bn->weight).do_wd);
  EXPECT_TRUE(l2->opt->state(m2.l1->bias).do_wd);
}

TEST(LearnerPersist, SaveLoadRoundTripWithOptimizerState) {
  auto dir = temp_dir("save");
  auto fixed = [] {  // unshuffled train loader: the same batches every epoch
    auto d = blobs(128, 32, 16);
    auto& t = dynamic_cast<TensorDataLoader&>(d.train());
    return DataLoaders(std::make_shared<TensorDataLoader>(t.tensors(), TensorDataLoaderOptions{.bs = 16, .device = torch::Device(torch::kCPU)}),
                       d[1]);
  };
  torch::manual_seed(0);
  auto a = quiet_learner(fixed(), Mlp(), {.path = dir.string()});
  a->fit(1, 1e-2);
  auto file = a->save("ckpt");
  EXPECT_EQ(file, dir / "models" / "ckpt.pth");
  a->fit(1, 1e-2);

  auto b = quiet_learner(fixed(), Mlp(), {.path = dir.string()});
  b->load("ckpt");
  b->fit(1, 1e-2);
  auto pa = a->model.module->parameters(), pb = b->model.module->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::allclose(pa[i], pb[i], 0, 1e-7)) << "param " << i;

  // Without the optimizer state (fresh Adam moments) the continuation differs.
  auto c = quiet_learner(fixed(), Mlp(), {.path = dir.string()});
  c->load("ckpt", false);
  c->fit(1, 1e-2);
  bool differs = false;
  auto pc = c->model.module->parameters();
  for (size_t i = 0; i < pa.size(); ++i) differs |= !torch::allclose(pa[i], pc[i], 0, 1e-7);
  EXPECT_TRUE(differs);
  for (auto& e : std::filesystem::directory_iterator(dir / "models"))
    EXPECT_EQ(e.path().extension(), ".pth") << "no temporary file is left: " << e.path();
  std::filesystem::remove_all(dir);
}

TEST(LearnerPersist, LoadErrorsNameFileAndEntry) {
  auto dir = temp_dir("load_bad");
  auto l = quiet_learner(blobs(), Mlp(), {.path = dir.string()});
  auto msg = train_tests::error_of([&] { l->load("nope"); });
  EXPECT_NE(msg.find("nope.pth"), std::string::npos) << msg;

  l->save("small");
  auto big = quiet_learner(blobs(), Mlp(8, 32, 4), {.path = dir.string()});
  msg = train_tests::error_of([&] { big->load("small"); });
  EXPECT_NE(msg.find("model.l1.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("shape"), std::string::npos) << msg;

  std::ofstream(dir / "models" / "garbage.pth") << "not a checkpoint";
  msg = train_tests::error_of([&] { l->load("garbage"); });
  EXPECT_NE(msg.find("garbage.pth"), std::string::npos) << msg;
  std::filesystem::remove_all(dir);
}

TEST(LearnerPreds, GetPredsValidateAndPredict) {
  auto l = quiet_learner(blobs(), Mlp(), {.metrics = {accuracy}});
  l->fit_one_cycle(2, 1e-2);
  auto p = l->get_preds({.with_input = true, .with_decoded = true, .with_loss = true});
  auto& v = dynamic_cast<TensorDataLoader&>(l->dls.valid());
  ASSERT_EQ(p.preds.sizes(), (at::IntArrayRef{128, 4}));
  EXPECT_TRUE(torch::allclose(p.preds.sum(1), torch::ones({128}), 1e-5, 1e-6)) << "softmax applied";
  EXPECT_TRUE(torch::equal(p.targs, v.tensors()[1]));
  EXPECT_TRUE(torch::equal(p.decoded, p.preds.argmax(1)));
  ASSERT_EQ(p.inputs.size(), 1u);
  EXPECT_TRUE(torch::equal(p.inputs[0], v.tensors()[0]));
  auto manual = torch::nll_loss(torch::log(p.preds), p.targs, {}, at::Reduction::None);
  EXPECT_TRUE(torch::allclose(p.losses, manual, 1e-4, 1e-5));
  auto val = l->validate();
  EXPECT_NEAR(val[0], p.losses.mean().item<double>(), 1e-5);
  EXPECT_NEAR(val[1], (p.decoded == p.targs).to(torch::kFloat).mean().item<double>(), 1e-6);

  auto one = l->predict(v.tensors()[0][3]);
  EXPECT_EQ(one.probs.sizes(), (at::IntArrayRef{4}));
  EXPECT_TRUE(torch::allclose(one.probs, p.preds[3], 1e-5, 1e-6));
  EXPECT_EQ(one.decoded.item<int64_t>(), p.decoded[3].item<int64_t>());
}

TEST(LearnerBadInput, ErrorsSayWhatAndWhere) {
  // Inputs with 5 features for a model that takes 8.
  auto x = torch::randn({32, 5});
  auto y = torch::randint(0, 4, {32}, torch::kLong);
  auto dls = DataLoaders::from_tensors({x, y}, {x, y}, {.bs = 8, .device = torch::Device(torch::kCPU)});
  auto l = quiet_learner(dls, Mlp());
  auto msg = train_tests::error_of([&] { l->fit(1); });
  EXPECT_NE(msg.find("forward"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[8, 5]"), std::string::npos) << msg;

  // Targets that do not match the predictions.
  auto x8 = torch::randn({32, 8});
  auto y2 = torch::randint(0, 4, {32, 3}, torch::kLong);
  auto l2 = quiet_learner(DataLoaders::from_tensors({x8, y2}, {x8, y2}, {.bs = 8, .device = torch::Device(torch::kCPU)}), Mlp());
  msg = train_tests::error_of([&] { l2->fit(1); });
  EXPECT_NE(msg.find("CrossEntropyLossFlat"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[8, 3]"), std::string::npos) << msg;

  // NaN in the inputs: the loss becomes NaN and fit says so instead of reporting garbage.
  auto xn = torch::randn({32, 8});
  xn[3][2] = std::nan("");
  auto l3 = quiet_learner(DataLoaders::from_tensors({xn, y}, {x8, y}, {.bs = 8, .device = torch::Device(torch::kCPU)}), Mlp());
  msg = train_tests::error_of([&] { l3->fit(1); });
  EXPECT_NE(msg.find("nan"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Lower the learning rate"), std::string::npos) << msg;

  // TerminateOnNaN stops at the first bad batch instead.
  auto l4 = quiet_learner(DataLoaders::from_tensors({xn, y}, {x8, y}, {.bs = 8, .device = torch::Device(torch::kCPU)}), Mlp(),
                          {.cbs = {TerminateOnNaNCallback()}});
  EXPECT_NO_THROW(l4->fit(2));
  EXPECT_TRUE(l4->recorder->values.empty());

  // No loss function, bad per-group lrs.
  msg = train_tests::error_of([&] { Learner bad(blobs(), Mlp(), {}); });
  EXPECT_NE(msg.find("loss"), std::string::npos) << msg;
  auto l5 = quiet_learner(blobs(), Mlp());
  msg = train_tests::error_of([&] { l5->fit(1, Lr{1e-3, 1e-2, 1e-1}); });
  EXPECT_NE(msg.find("3 values for 1 parameter group"), std::string::npos) << msg;
}

TEST(LearnerProgress, MetricsTableLayout) {
  auto l = quiet_learner(blobs(64, 32, 16), Mlp(), {.metrics = {accuracy, error_rate}});
  std::FILE* f = std::tmpfile();
  l->progress->opts.out = f;
  l->progress->opts.tty = 0;
  l->recorder->logger = [](const LogRow&) {};  // any non-empty logger is replaced by the table
  l->fit(2);
  std::rewind(f);
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  std::fclose(f);
  std::vector<std::string> lines;
  std::stringstream ss(out);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 3u) << out;
  EXPECT_EQ(lines[0].substr(0, 5), "epoch");
  for (auto col : {"train_loss", "valid_loss", "accuracy", "error_rate", "time"})
    EXPECT_NE(lines[0].find(col), std::string::npos) << lines[0];
  // Rows: epoch number, then %.6f floats; columns line up with the header.
  auto row0 = std::find_if(lines.begin(), lines.end(), [](auto& s) { return s.rfind("0 ", 0) == 0; });
  ASSERT_NE(row0, lines.end()) << out;
  EXPECT_EQ(row0->find(std::to_string(l->recorder->values[0][0]).substr(0, 6)), lines[0].find("train_loss")) << out;
}

}  // namespace fastai::testing
