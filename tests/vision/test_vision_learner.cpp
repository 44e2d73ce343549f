// vision_learner: fastai's parameter counts and groups, freezing, n_in, and a short fit.
#include "test_util.h"

#include "fastai/core/random.h"
#include "fastai/learner/interpret.h"
#include "fastai/learner/losses.h"
#include "fastai/learner/metrics.h"
#include "fastai/vision/factories.h"
#include "fastai/vision/image.h"
#include "fastai/vision/learner.h"

#include <ATen/ATen.h>
#include <fstream>
#include <gtest/gtest.h>
#include <torch/nn/modules/batchnorm.h>

namespace vision_learner_test {

namespace fs = std::filesystem;
using fastai::testing::TmpDir;
using fastai::testing::expect_error;
using fastai::Learner;
using fastai::vision_learner;

int64_t numel(const std::vector<at::Tensor>& ps, bool only_trainable = false) {
  int64_t n = 0;
  for (const auto& p : ps)
    if (!only_trainable || p.requires_grad()) n += p.numel();
  return n;
}

fastai::DataLoaders tensor_dls(int64_t c_in = 3) {
  auto x = at::randn({4, c_in, 32, 32});
  auto y = at::randint(0, 2, {4}, at::kLong);
  return fastai::DataLoaders::from_tensors({x, y}, {x, y}, {.bs = 2});
}

int64_t n_params(const Learner& l) { return numel(l.model.module->parameters()); }

TEST(VisionLearner, ParameterCountsAndGroupsAreFastais) {
  auto dls = tensor_dls();
  {
    auto l = vision_learner(dls, fastai::resnet34, {.n_out = 37, .loss_func = fastai::CrossEntropyLossFlat(), .default_cbs = false});
    EXPECT_EQ(n_params(l), 21830976);
    auto groups = l.splitter(*l.model.module);
    ASSERT_EQ(groups.size(), 3u);
    EXPECT_EQ(numel(groups[0]), 1347904);
    EXPECT_EQ(numel(groups[1]), 19936768);
    EXPECT_EQ(numel(groups[2]), 21830976 - 1347904 - 19936768);
    auto names = l.model.module->named_parameters();
    EXPECT_TRUE(names.contains("0.0.weight"));   // body conv1
    EXPECT_TRUE(names.contains("1.8.weight"));   // the head's last Linear
    auto out = l.model({at::randn({2, 3, 64, 64})});
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 37}));
  }
  EXPECT_EQ(n_params(vision_learner(dls, fastai::resnet18, {.n_out = 37, .loss_func = fastai::CrossEntropyLossFlat(), .default_cbs = false})), 11722816);
  EXPECT_EQ(n_params(fastai::cnn_learner(dls, fastai::resnet50, {.n_out = 37, .loss_func = fastai::CrossEntropyLossFlat(), .default_cbs = false})), 25633344);
  // xresnet: cut -4 keeps stem, max pool and the four stages; groups [body[:3], body[3:], head]
  auto xl = vision_learner(dls, fastai::xresnet18, {.n_out = 5, .concat_pool = false, .loss_func = fastai::CrossEntropyLossFlat(), .default_cbs = false});
  auto xg = xl.splitter(*xl.model.module);
  ASSERT_EQ(xg.size(), 3u);
  EXPECT_EQ(numel(xg[0]) + numel(xg[1]), 11708744 - (512 * 1000 + 1000));
  EXPECT_EQ(numel(xg[2]), 1024 + 512 * 512 + 1024 + 512 * 5);  // BN(512), Linear(512,512), BN(512), Linear(512,5)
}

TEST(VisionLearner, FreezeTrainsOnlyTheHeadAndBatchNorms) {
  auto dls = tensor_dls();
  auto l = vision_learner(dls, fastai::resnet18, {.n_out = 4, .loss_func = fastai::CrossEntropyLossFlat(), .default_cbs = false});
  auto& vm = dynamic_cast<fastai::VisionModelImpl&>(*l.model.module);
  int64_t bn = 0;
  for (const auto& m : vm.body->modules())
    if (dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get()) != nullptr) bn += numel(m->parameters(false));
  l.freeze();
  EXPECT_EQ(numel(vm.body->parameters(), true), bn);
  EXPECT_EQ(numel(vm.head->parameters(), true), numel(vm.head->parameters()));
  l.unfreeze();
  EXPECT_EQ(numel(vm.body->parameters(), true), numel(vm.body->parameters()));
}

TEST(VisionLearner, NInAdaptsTheFirstConvAndOptionsAreChecked) {
  TmpDir tmp;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 4; ++i)
      fastai::save_image(tmp.p / (c ? "b" : "a") / (std::to_string(i) + ".png"), at::full({1, 8, 8}, 40 + 100 * c + i, at::kByte));
  auto dls = fastai::ImageDataLoaders::from_folder(tmp.p, {.valid_pct = 0.25, .seed = 0,
                                                           .img_mode = fastai::ImageMode::L, .bs = 6, .num_workers = 0});
  auto x = dls.tfmd(0)->one_batch()[0].get<fastai::TensorImage>().data;
  ASSERT_EQ(x.size(1), 1);
  for (bool xres : {false, true}) {
    auto l = xres ? vision_learner(dls, fastai::xresnet18, {.n_in = 1, .default_cbs = false})
                  : vision_learner(dls, fastai::resnet18, {.n_in = 1, .default_cbs = false});
    l.model.module->eval();
    EXPECT_EQ(l.model({x}).sizes(), (std::vector<int64_t>{x.size(0), 2})) << "xresnet " << xres;  // n_out = dls.c()
  }
  expect_error([&] { vision_learner(dls, fastai::resnet18, {.pretrained = true}); }, {"pretrained", "weights"});
  expect_error([&] { vision_learner(tensor_dls(), fastai::resnet18); }, {"vision_learner", "n_out"});
  expect_error([&] { vision_learner(dls, fastai::resnet18, {.cut = 9}); }, {"cut", "9"});
}

TEST(VisionLearner, FitsAnImageFolder) {
  TmpDir tmp;
  // 3 colour classes, 32x32 with per-pixel noise: 32 training and 10 validation images each
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  for (int split = 0; split < 2; ++split)
    for (int64_t c = 0; c < 3; ++c)
      for (int i = 0; i < (split ? 10 : 32); ++i) {
        auto img = at::randint(0, 120, {3, 32, 32}, gen, at::kLong);
        img[c] += 100;
        fastai::save_image(tmp.p / (split ? "valid" : "train") / std::to_string(c) / (std::to_string(i) + ".png"),
                           img.to(at::kByte));
      }
  fastai::set_seed(42);
  auto dls = fastai::ImageDataLoaders::from_folder(tmp.p, {.bs = 8, .num_workers = 0});
  auto l = vision_learner(dls, fastai::resnet18, {.metrics = {fastai::accuracy}});
  l.fit_one_cycle(4, 1e-3);
  auto res = l.validate();
  ASSERT_EQ(res.size(), 2u);
  EXPECT_GT(res[1], 0.75) << "accuracy " << res[1] << " (chance 1/3)";
  // show_results: the first validation batch as a grid titled target / prediction.
  fastai::show_results(l, {.max_n = 6, .path = (tmp.p / "results.png").string()});
  std::ifstream png(tmp.p / "results.png", std::ios::binary);
  std::string magic(4, '\0');
  png.read(magic.data(), 4);
  EXPECT_EQ(magic, "\x89PNG");
  using fastai::testing::expect_error;
  expect_error([&] { fastai::show_results(l, {.max_n = 6}); }, {"show_results", "path"});
}

}  // namespace vision_learner_test
