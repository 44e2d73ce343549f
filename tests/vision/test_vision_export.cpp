// export_to / load_learner / predict on image files, pretrained weights, and transfer learning
// end to end: pretrain on one image set, save, fine-tune on another with the body frozen first.
#include "test_util.h"

#include "fastai/learner/export.h"
#include "fastai/core/random.h"
#include "fastai/io/state_dict_io.h"
#include "fastai/data/tfmd_dl.h"
#include "fastai/learner/callback.h"
#include "fastai/learner/interpret.h"
#include "fastai/learner/losses.h"
#include "fastai/learner/metrics.h"
#include "fastai/vision/factories.h"
#include "fastai/vision/image.h"
#include "fastai/vision/learner.h"
#include "fastai/vision/segmentation.h"
#include "fastai/vision/unet.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/batchnorm.h>

#include <fstream>
#include <map>

namespace vision_export_test {

namespace fs = std::filesystem;
using fastai::Learner;
using fastai::testing::expect_error;
using fastai::testing::TmpDir;

// Folder `root`/{train,valid}/<class>/<i>.png of 24x24 images: class c of `kind` "colour" has
// channel c raised; of kind "bright" class 0 is dark, 1 bright. Noise from a fixed seed.
void write_set(const fs::path& root, const std::string& kind, int n_train, int n_valid, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int n_cls = kind == "colour" ? 3 : 2;
  for (int split = 0; split < 2; ++split)
    for (int c = 0; c < n_cls; ++c)
      for (int i = 0; i < (split ? n_valid : n_train); ++i) {
        auto img = at::randint(0, 100, {3, 24, 24}, gen, at::kLong);
        if (kind == "colour") img[c] += 120;
        else img += c * 120;
        std::string cls = "c";
        cls += std::to_string(c);
        fastai::save_image(root / (split ? "valid" : "train") / cls / (std::to_string(i) + ".png"),
                           img.clamp(0, 255).to(at::kByte));
      }
}

std::map<std::string, at::Tensor> params_of(torch::nn::Module& m) {
  std::map<std::string, at::Tensor> out;
  for (const auto& kv : m.named_parameters()) out[kv.key()] = kv.value().detach().clone();
  return out;
}

bool is_bn_param(torch::nn::Module& model, const std::string& name) {
  for (const auto& kv : model.named_modules())
    if (dynamic_cast<torch::nn::BatchNorm2dImpl*>(kv.value().get()) || dynamic_cast<torch::nn::BatchNorm1dImpl*>(kv.value().get()))
      if (name.rfind(kv.key() + ".", 0) == 0 && name.find('.', kv.key().size() + 1) == std::string::npos) return true;
  return false;
}

TEST(VisionExport, ExportLoadLearnerPredictsTheSameOnAnImageFile) {
  TmpDir tmp;
  write_set(tmp.p, "colour", 24, 4, 3);
  fastai::set_seed(1);
  auto dls = fastai::ImageDataLoaders::from_folder(tmp.p, {.bs = 8, .num_workers = 0});
  auto learn = fastai::vision_learner(dls, fastai::xresnet18, {.metrics = {fastai::accuracy}, .default_cbs = false});
  learn.fit_one_cycle(4, 1e-2);
  ASSERT_GT(learn.validate()[1], 0.9) << "the raised channel is obvious";
  const fs::path file = tmp.p / "valid" / "c2" / "0.png";
  auto [label, pred, probs] = learn.predict(fastai::Item(file));
  EXPECT_EQ(label, "c2");  // the raised channel is obvious after 3 epochs
  EXPECT_EQ(pred.item<int64_t>(), 2);
  ASSERT_EQ(probs.sizes(), (std::vector<int64_t>{3}));
  EXPECT_NEAR(probs.sum().item<double>(), 1.0, 1e-5);

  const auto exported = learn.export_to("model.fai");
  EXPECT_EQ(exported, tmp.p / "model.fai");
  auto inf = fastai::load_learner(exported);
  EXPECT_EQ(inf.dls.vocab(), (std::vector<std::string>{"c0", "c1", "c2"}));
  for (const auto& f : {file, tmp.p / "valid" / "c0" / "1.png", tmp.p / "train" / "c1" / "5.png"}) {
    auto a = learn.predict(fastai::Item(f));
    auto b = inf.predict(fastai::Item(f.string()));  // a path given as text works too
    EXPECT_EQ(a.label, b.label) << f;
    EXPECT_TRUE(at::allclose(a.probs, b.probs, 1e-5, 1e-6)) << f;
  }
  // The loaded learner batches new files through the exported pipelines (test_dl + get_preds).
  auto tdl = inf.dls.test_dl({fastai::Item(file), fastai::Item(tmp.p / "valid" / "c1" / "0.png")});
  auto preds = inf.get_preds({.dl = tdl}).preds;
  EXPECT_TRUE(at::allclose(preds[0], probs, 1e-5, 1e-6));
  // plot_top_losses: the worst validation items as a titled image grid.
  auto interp = fastai::ClassificationInterpretation::from_learner(learn);
  interp.plot_top_losses(4, (tmp.p / "top.png").string());
  EXPECT_EQ(fastai::image_size(tmp.p / "top.png").first > 200, true);
  expect_error([&] { interp.plot_top_losses(0, (tmp.p / "t0.png").string()); }, {"plot_top_losses", "k = 0"});
  fastai::ClassificationInterpretation bare(interp.preds(), interp.targs(), interp.losses(), interp.vocab());
  expect_error([&] { bare.plot_top_losses(2, (tmp.p / "t1.png").string()); }, {"plot_top_losses", "from_learner"});
  // An image that is not there: the error names the file.
  expect_error([&] { inf.predict(fastai::Item(tmp.p / "nope.png")); }, {"nope.png"});
}

TEST(VisionExport, ExportAndLoadErrorsNameTheProblem) {
  TmpDir tmp;
  // A learner on tensors has no model spec and no transforms to export.
  auto x = at::randn({4, 3, 32, 32});
  auto y = at::randint(0, 2, {4}, at::kLong);
  Learner plain(fastai::DataLoaders::from_tensors({x, y}, {x, y}, {.bs = 2}), torch::nn::Sequential(torch::nn::Flatten()),
                {.loss_func = fastai::CrossEntropyLossFlat(), .default_cbs = false});
  expect_error([&] { plain.export_to(tmp.p / "x.fai"); }, {"export_to", "model_spec"});
  EXPECT_FALSE(fs::exists(tmp.p / "x.fai"));
  expect_error([&] { fastai::load_learner(tmp.p / "missing.fai"); }, {"load_learner", "missing.fai"});
  std::ofstream(tmp.p / "garbage.fai") << "not an archive";
  expect_error([&] { fastai::load_learner(tmp.p / "garbage.fai"); }, {"load_learner", "garbage.fai"});
  // An unknown model kind names the kind.
  expect_error([&] { fastai::build_model({{"kind", "NoSuchModel"}}); }, {"NoSuchModel", "VisionModel"});
  expect_error([&] { fastai::build_model({{"kind", "VisionModel"}, {"arch", "resnet18"}}); }, {"VisionModel", "malformed"});

  // An export whose rewrite fails leaves the previous file intact (the write is atomic, and the
  // check of the pipelines runs before anything is written).
  write_set(tmp.p / "data", "bright", 4, 2, 5);
  auto dls = fastai::ImageDataLoaders::from_folder(tmp.p / "data", {.bs = 4, .num_workers = 0});
  auto learn = fastai::vision_learner(dls, fastai::xresnet18, {.default_cbs = false});
  const auto good = learn.export_to(tmp.p / "good.fai");
  const auto size = fs::file_size(good);
  struct Unregistered : fastai::Transform {
    Unregistered() : Transform("NotRegisteredAnywhere") {}
  };
  dls.tfmd(1)->after_batch().add(std::make_shared<Unregistered>());
  expect_error([&] { learn.export_to(good); }, {"NotRegisteredAnywhere", "after_batch"});
  EXPECT_EQ(fs::file_size(good), size);
  EXPECT_NO_THROW(fastai::load_learner(good));
}

TEST(VisionExport, PretrainedWeightsLoadIntoTheBodyNormalizeAndFreeze) {
  TmpDir tmp;
  // torchvision-named weights, as Python's torch.save(resnet18().state_dict()) has them.
  auto arch = fastai::resnet18(1000);
  {
    torch::NoGradGuard ng;
    for (auto& p : arch->parameters()) p.uniform_(-1, 1);
  }
  fastai::save_safetensors(fastai::state_dict(*arch), tmp.p / "r18.safetensors");
  write_set(tmp.p / "data", "bright", 4, 2, 9);
  for (int64_t n_in : {3, 1, 4}) {
    auto dls = fastai::ImageDataLoaders::from_folder(
        tmp.p / "data", {.img_mode = n_in == 1 ? fastai::ImageMode::L : fastai::ImageMode::RGB, .bs = 4, .num_workers = 0});
    if (n_in == 4) dls = fastai::ImageDataLoaders::from_folder(tmp.p / "data", {.bs = 4, .num_workers = 0});
    auto learn = fastai::vision_learner(dls, fastai::resnet18,
                                        {.pretrained = true, .weights = (tmp.p / "r18.safetensors").string(), .n_in = n_in,
                                         .default_cbs = false});
    auto& vm = dynamic_cast<fastai::VisionModelImpl&>(*learn.model.module);
    auto body = params_of(*vm.body);
    at::Tensor w = arch->conv1->weight.detach();
    at::Tensor want = n_in == 3 ? w : n_in == 1 ? w.sum(1, true) : at::cat({w, w.narrow(1, 0, 1)}, 1) * 0.75;
    EXPECT_TRUE(at::allclose(body.at("0.weight"), want, 1e-5, 1e-6)) << "n_in " << n_in;
    EXPECT_TRUE(at::equal(body.at("7.1.conv2.weight"), arch->layer4[1]->as<fastai::BasicBlockImpl>()->conv2->weight))
        << "layer4 -> body child 7";
    EXPECT_TRUE(at::equal(vm.body->named_buffers()["1.running_mean"], arch->bn1->running_mean));
    // Frozen: in the body only BatchNorm parameters train.
    for (const auto& kv : vm.body->named_parameters())
      EXPECT_EQ(kv.value().requires_grad(), is_bn_param(*vm.body, kv.key())) << kv.key();
    for (const auto& p : vm.head->parameters()) EXPECT_TRUE(p.requires_grad());
    // fastai's _add_norm: ImageNet stats appended to both loaders' batch transforms, once.
    for (size_t i = 0; i < 2; ++i) {
      int n_norm = 0;
      for (const auto& t : dls.tfmd(i)->after_batch().transforms()) n_norm += t->name() == "Normalize";
      EXPECT_EQ(n_norm, 1) << "loader " << i;
    }
  }
  // Weights of another architecture: the missing / mismatched one is named.
  fastai::save_safetensors(fastai::state_dict(*fastai::resnet34(1000)), tmp.p / "r34.safetensors");
  auto dls = fastai::ImageDataLoaders::from_folder(tmp.p / "data", {.bs = 4, .num_workers = 0});
  expect_error([&] { fastai::vision_learner(dls, fastai::resnet18, {.pretrained = true, .weights = (tmp.p / "r34.safetensors").string()}); },
               {"r34.safetensors", "layer"});
  fastai::save_safetensors({{"conv1.weight", at::zeros({64, 3, 7, 7})}}, tmp.p / "partial.safetensors");
  expect_error([&] { fastai::vision_learner(dls, fastai::resnet18, {.pretrained = true, .weights = (tmp.p / "partial.safetensors").string()}); },
               {"partial.safetensors", "lacks", "bn1"});
  expect_error([&] { fastai::vision_learner(dls, fastai::resnet18, {.weights = "w.pth"}); }, {"pretrained"});
}

TEST(VisionExport, TransferLearningPretrainSaveFineTuneFrozenThenDiscriminative) {
  TmpDir tmp;
  write_set(tmp.p / "colour", "colour", 16, 4, 11);
  write_set(tmp.p / "bright", "bright", 16, 6, 12);
  fastai::set_seed(3);
  // 1. Pretrain on the colour set.
  auto dls1 = fastai::ImageDataLoaders::from_folder(tmp.p / "colour", {.bs = 8, .num_workers = 0});
  auto pre = fastai::vision_learner(dls1, fastai::xresnet18, {.default_cbs = false});
  pre.fit_one_cycle(2, 3e-3);
  fastai::save_safetensors(fastai::state_dict(*pre.model.module), tmp.p / "pre.safetensors");
  // 2. A new learner on the other set (2 classes, a new head) starts from the pretrained body.
  auto dls2 = fastai::ImageDataLoaders::from_folder(tmp.p / "bright", {.bs = 8, .num_workers = 0});
  auto learn = fastai::vision_learner(dls2, fastai::xresnet18,
                                      {.pretrained = true, .weights = (tmp.p / "pre.safetensors").string(),
                                       .metrics = {fastai::accuracy}, .default_cbs = false});
  auto& vm = dynamic_cast<fastai::VisionModelImpl&>(*learn.model.module);
  auto& pvm = dynamic_cast<fastai::VisionModelImpl&>(*pre.model.module);
  auto start = params_of(*learn.model.module);
  for (const auto& [k, v] : params_of(*pvm.body)) EXPECT_TRUE(at::equal(start.at("0." + k), v)) << k;
  EXPECT_EQ(vm.head->parameters().back().size(0), 2);
  // 3. The frozen phase trains only the head and the BatchNorms.
  learn.fit_one_cycle(1, 2e-3);
  auto after_frozen = params_of(*learn.model.module);
  int changed_bn = 0, changed_head = 0;
  for (const auto& [k, v] : after_frozen) {
    const bool moved = !at::equal(v, start.at(k));
    if (k.rfind("1.", 0) == 0) changed_head += moved;
    else if (is_bn_param(*learn.model.module, k)) changed_bn += moved;
    else EXPECT_FALSE(moved) << k << " is a frozen body weight";
  }
  EXPECT_GT(changed_head, 0);
  EXPECT_GT(changed_bn, 0);
  // 4. Unfrozen with discriminative learning rates: groups get base/lr_mult .. base (fastai's slice).
  struct GroupLrs : fastai::Callback {
    std::vector<double> lrs;
    void after_batch(Learner& l) override {
      if (!l.training || !lrs.empty()) return;
      for (size_t g = 0; g < l.opt->n_groups(); ++g) lrs.push_back(l.opt->hyper("lr", static_cast<int>(g)));
    }
  };
  auto g = std::make_shared<GroupLrs>();
  learn.unfreeze();
  learn.fit_one_cycle(2, fastai::Lr::slice(1e-5, 1e-3), {.cbs = {g}});
  ASSERT_EQ(g->lrs.size(), 3u);
  EXPECT_NEAR(g->lrs[1] / g->lrs[0], 10.0, 1e-6);  // even steps on a log scale between 1e-5 and 1e-3
  EXPECT_NEAR(g->lrs[2] / g->lrs[1], 10.0, 1e-6);
  auto after_all = params_of(*learn.model.module);
  EXPECT_FALSE(at::equal(after_all.at("0.0.0.weight"), after_frozen.at("0.0.0.weight"))) << "the stem trains once unfrozen";
  EXPECT_GE(learn.validate()[1], 0.9) << "dark vs bright after transfer";
}

TEST(VisionExport, UnetExportsLoadsAndPredictsAMaskFromAPretrainedEncoder) {
  TmpDir tmp;
  auto set = fastai::make_synthetic_segmentation(tmp.p / "seg", 8, {.size = 32, .seed = 5});
  auto dls = fastai::SegmentationDataLoaders::from_label_func(tmp.p / "seg", set.images, fastai::synthetic_label_func,
                                                               {.codes = set.codes, .valid_pct = 0.25, .seed = 1,
                                                                .bs = 4, .num_workers = 0});
  // The encoder from a vision model's weights (what a classifier trained here saves).
  auto cls = fastai::vision_learner(dls, fastai::resnet18, {.n_out = 3, .loss_func = fastai::CrossEntropyLossFlat(),
                                                            .default_cbs = false});
  fastai::save_safetensors(fastai::state_dict(*cls.model.module), tmp.p / "cls.safetensors");
  auto learn = fastai::unet_learner(dls, fastai::resnet18, {.pretrained = true,
                                                            .weights = (tmp.p / "cls.safetensors").string(),
                                                            .default_cbs = false});
  auto& u = dynamic_cast<fastai::DynamicUnetImpl&>(*learn.model.module);
  auto& cvm = dynamic_cast<fastai::VisionModelImpl&>(*cls.model.module);
  auto enc = params_of(*u.encoder);
  for (const auto& [k, v] : params_of(*cvm.body)) EXPECT_TRUE(at::equal(enc.at(k), v)) << k;
  for (const auto& kv : u.encoder->named_parameters())
    EXPECT_EQ(kv.value().requires_grad(), is_bn_param(*u.encoder, kv.key())) << "frozen encoder: " << kv.key();
  learn.fit(1, 1e-3);
  const auto file = learn.export_to(tmp.p / "unet.fai");
  auto inf = fastai::load_learner(file);
  auto a = learn.predict(fastai::Item(set.images[0]));
  auto b = inf.predict(fastai::Item(set.images[0]));
  ASSERT_EQ(b.pred.sizes(), (std::vector<int64_t>{32, 32})) << "a mask of the image's size";
  EXPECT_TRUE(at::equal(a.pred, b.pred));
  EXPECT_TRUE(at::allclose(a.probs, b.probs, 1e-5, 1e-6));
  EXPECT_EQ(b.probs.size(0), static_cast<int64_t>(set.codes.size()));
}

}  // namespace vision_export_test
