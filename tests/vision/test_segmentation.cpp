// Segmentation: the synthetic set, SegmentationDataLoaders.from_label_func, the segmentation
// metrics on hand-computed cases, and unet_learner (groups, a short fit).
#include "test_util.h"

#include "fastai/core/random.h"
#include "fastai/learner/metrics.h"
#include "fastai/vision/image.h"
#include "fastai/vision/seg_metrics.h"
#include "fastai/vision/segmentation.h"
#include "fastai/vision/unet.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace segmentation_test {

namespace fs = std::filesystem;
using fastai::testing::TmpDir;
using fastai::testing::expect_error;

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(SyntheticSegmentation, WritesImagesMasksAndCodes) {
  TmpDir tmp;
  auto s = fastai::make_synthetic_segmentation(tmp.p / "a", 6, {.size = 48, .seed = 3});
  ASSERT_EQ(s.images.size(), 6u);
  EXPECT_EQ(s.codes, (std::vector<std::string>{"background", "circle", "rectangle", "triangle"}));
  EXPECT_EQ(read_text(tmp.p / "a" / "codes.txt"), "background\ncircle\nrectangle\ntriangle\n");
  EXPECT_EQ(s.images[0], tmp.p / "a" / "images" / "img_0000.png");
  for (const auto& f : s.images) {
    auto lbl = fastai::synthetic_label_func(f);
    EXPECT_EQ(lbl.parent_path(), tmp.p / "a" / "labels");
    auto img = fastai::load_image(f).data.to(at::kFloat);
    auto m = fastai::load_mask(lbl).data;
    ASSERT_EQ(img.sizes(), (std::vector<int64_t>{3, 48, 48}));
    ASSERT_EQ(m.sizes(), (std::vector<int64_t>{48, 48}));
    EXPECT_GE(m.min().item<int64_t>(), 0);
    EXPECT_LE(m.max().item<int64_t>(), 3);
    auto fg = m > 0;
    ASSERT_GT(fg.sum().item<int64_t>(), 0) << f;            // at least one item
    ASSERT_GT((~fg).sum().item<int64_t>(), 0) << f;         // and some background
    // items are at least 60 grey levels from the background in every channel (noise std 25)
    auto bg_mean = img.masked_select((~fg).unsqueeze(0).expand_as(img)).reshape({3, -1}).mean(1);
    auto diff = (img - bg_mean.view({3, 1, 1})).abs().mean(0);
    EXPECT_GT(diff.masked_select(fg).mean().item<double>(), 40.0) << f;
    EXPECT_LT(diff.masked_select(~fg).mean().item<double>(), 30.0) << f;
  }
  // deterministic for a seed, different for another
  auto again = fastai::make_synthetic_segmentation(tmp.p / "b", 2, {.size = 48, .seed = 3});
  auto other = fastai::make_synthetic_segmentation(tmp.p / "c", 2, {.size = 48, .seed = 4});
  EXPECT_EQ(read_text(again.images[1]), read_text(s.images[1]));
  EXPECT_NE(read_text(other.images[1]), read_text(s.images[1]));
  expect_error([&] { fastai::make_synthetic_segmentation(tmp.p / "d", 0); }, {"n >= 1", "0"});
  expect_error([&] { fastai::make_synthetic_segmentation(tmp.p / "d", 1, {.size = 8}); }, {"size", "8"});
}

TEST(SyntheticSegmentation, CircleMasksAreDiscs) {
  // one item per image: a circle mask's area is pi r² where r is read off its width
  TmpDir tmp;
  auto s = fastai::make_synthetic_segmentation(tmp.p, 12, {.size = 64, .seed = 11, .min_items = 1, .max_items = 1});
  int n_circles = 0;
  for (const auto& f : s.images) {
    auto m = fastai::load_mask(fastai::synthetic_label_func(f)).data;
    auto vals = std::get<0>(at::_unique(m.masked_select(m > 0)));
    ASSERT_EQ(vals.numel(), 1);
    if (vals.item<int64_t>() != 1) continue;
    ++n_circles;
    auto cols = (m == 1).any(0).nonzero();
    double width = static_cast<double>(cols.max().item<int64_t>() - cols.min().item<int64_t>() + 1);
    double area = static_cast<double>((m == 1).sum().item<int64_t>());
    EXPECT_NEAR(area / (M_PI * width * width / 4), 1.0, 0.15) << f;
  }
  EXPECT_GT(n_circles, 0);
}

TEST(SyntheticSegmentation, ClassColoursAreFixed) {
  TmpDir tmp;
  auto s = fastai::make_synthetic_segmentation(tmp.p, 8, {.size = 48, .seed = 1, .class_colours = true});
  const double palette[3][3] = {{220, 40, 40}, {40, 200, 60}, {50, 60, 230}};
  std::vector<at::Tensor> imgs, masks;
  for (const auto& f : s.images) {
    imgs.push_back(fastai::load_image(f).data.to(at::kFloat));
    masks.push_back(fastai::load_mask(fastai::synthetic_label_func(f)).data);
  }
  auto img = at::stack(imgs, 1).reshape({3, -1}), m = at::stack(masks).reshape({-1});
  for (int64_t k = 1; k <= 3; ++k) {
    auto sel = m == k;
    ASSERT_GT(sel.sum().item<int64_t>(), 50) << "class " << k;
    for (int64_t c = 0; c < 3; ++c)  // noise std 25, clamped to 0..255: the mean stays within a few levels
      EXPECT_NEAR(img[c].masked_select(sel).mean().item<double>(), palette[k - 1][c], 6.0) << "class " << k << " channel " << c;
  }
}

TEST(SegmentationDataLoaders, FromLabelFunc) {
  TmpDir tmp;
  auto s = fastai::make_synthetic_segmentation(tmp.p, 10, {.size = 32, .seed = 5});
  auto dls = fastai::SegmentationDataLoaders::from_label_func(tmp.p, s.images, fastai::synthetic_label_func,
                                                              {.codes = s.codes, .valid_pct = 0.2, .seed = 1, .bs = 4,
                                                               .shuffle = false, .num_workers = 0});
  EXPECT_EQ(dls.train().n(), 8);
  EXPECT_EQ(dls.valid().n(), 2);
  EXPECT_EQ(dls.vocab(), s.codes);
  EXPECT_EQ(dls.c(), 4);
  auto hint = dls.loss_hint();
  ASSERT_TRUE(hint.has_value());
  EXPECT_EQ(hint->name, "CrossEntropyLossFlat");
  auto b = dls.tfmd(1)->one_batch();
  ASSERT_EQ(b.size(), 2u);
  auto x = fastai::tensor_of(b[0]);
  ASSERT_TRUE(b[1].is<fastai::TensorMask>());
  auto y = b[1].get<fastai::TensorMask>().data;
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_EQ(x.scalar_type(), at::kFloat);
  EXPECT_LE(x.max().item<double>(), 1.0);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 32, 32}));
  EXPECT_EQ(y.scalar_type(), at::kLong);
  // the validation masks are the label files of the two validation images (in some order)
  int matched = 0;
  for (int64_t i = 0; i < 2; ++i)
    for (const auto& f : s.images)
      if (at::equal(fastai::load_mask(fastai::synthetic_label_func(f)).data, y[i])) {
        ++matched;
        break;
      }
  EXPECT_EQ(matched, 2);
}

TEST(SegmentationDataLoaders, BadInputsNameTheFile) {
  TmpDir tmp;
  auto s = fastai::make_synthetic_segmentation(tmp.p, 6, {.size = 32, .seed = 2});
  // label_func pointing nowhere
  auto missing = [](const fs::path& p) { return p.parent_path() / ("no_" + p.filename().string()); };
  expect_error(
      [&] {
        auto dls = fastai::SegmentationDataLoaders::from_label_func(tmp.p, s.images, missing,
                                                                    {.codes = s.codes, .valid_pct = 0.5, .bs = 2, .num_workers = 0});
        dls.tfmd(0)->one_batch();
      },
      {"label_func", "no_img_000", "not an existing file"});
  // a mask value outside the codes
  auto bad = tmp.p / "labels" / "bad_P.png";
  auto m = at::zeros({32, 32}, at::kByte);
  m[3][4] = 7;
  fastai::save_image(bad, m);
  auto to_bad = [bad](const fs::path&) { return bad; };
  expect_error(
      [&] {
        auto dls = fastai::SegmentationDataLoaders::from_label_func(tmp.p, s.images, to_bad,
                                                                    {.codes = s.codes, .valid_pct = 0.5, .bs = 2, .num_workers = 0});
        dls.tfmd(0)->one_batch();
      },
      {"bad_P.png", "value 7", "4 codes"});
  expect_error([&] { fastai::SegmentationDataLoaders::from_label_func(tmp.p, {}, fastai::synthetic_label_func); },
               {"no file names"});
}

// argmax p = [[0,1,2],[1,1,0]], targets t = [[0,1,1],[2,1,0]] (one image, 3 classes)
at::Tensor hand_logits(int64_t n_classes = 3) {
  auto p = at::tensor({0, 1, 2, 1, 1, 0}, at::kLong).view({1, 2, 3});
  return at::one_hot(p, n_classes).permute({0, 3, 1, 2}).to(at::kFloat) * 3.0 - 1.0;
}
at::Tensor hand_targets() { return at::tensor({0, 1, 1, 2, 1, 0}, at::kLong).view({1, 2, 3}); }

TEST(SegmentationMetrics, HandComputedValues) {
  // foreground pixels (t != 0): (0,1) right, (0,2) wrong, (1,0) wrong, (1,1) right
  EXPECT_NEAR(fastai::foreground_acc(hand_logits(), hand_targets()).item<double>(), 0.5, 1e-6);
  // with background class 1: (0,0) right, (1,0) wrong, (1,2) right
  EXPECT_NEAR(fastai::ForegroundAcc(1)(hand_logits(), hand_targets()).item<double>(), 2.0 / 3.0, 1e-6);
  // per class: c0 inter 2, |p|+|t| 4 -> dice 1, iou 1; c1 inter 2, 6 -> 2/3, 1/2; c2 inter 0, 2 -> 0, 0
  fastai::DiceMulti dm;
  dm.accumulate(hand_logits(), hand_targets());
  EXPECT_NEAR(dm.value(), (1.0 + 2.0 / 3.0 + 0.0) / 3.0, 1e-9);
  fastai::JaccardCoeffMulti jm;
  jm.accumulate(hand_logits(), hand_targets());
  EXPECT_NEAR(jm.value(), (1.0 + 0.5 + 0.0) / 3.0, 1e-9);
  // the same pixels in two batches accumulate to the same value; an absent 4th class is ignored
  fastai::DiceMulti dm2;
  auto l4 = hand_logits(4);
  dm2.accumulate(l4.narrow(2, 0, 1), hand_targets().narrow(1, 0, 1));
  dm2.accumulate(l4.narrow(2, 1, 1), hand_targets().narrow(1, 1, 1));
  EXPECT_NEAR(dm2.value(), dm.value(), 1e-9);
  dm2.reset();
  EXPECT_TRUE(std::isnan(dm2.value()));
  // binary Dice / JaccardCoeff (fastai/learner/metrics.h) on 2 classes: p = [1,1,0,0], t = [1,0,1,0]
  auto pb = at::one_hot(at::tensor({1, 1, 0, 0}, at::kLong).view({1, 2, 2}), 2).permute({0, 3, 1, 2}).to(at::kFloat);
  auto tb = at::tensor({1, 0, 1, 0}, at::kLong).view({1, 2, 2});
  fastai::Dice d;
  d.accumulate(pb, tb);
  EXPECT_NEAR(d.value(), 2.0 * 1 / 4, 1e-9);
  fastai::JaccardCoeff j;
  j.accumulate(pb, tb);
  EXPECT_NEAR(j.value(), 1.0 / 3, 1e-9);
  expect_error([] { fastai::DiceMulti().accumulate(hand_logits(), at::zeros({1, 5}, at::kLong)); },
               {"dice_multi", "different numbers"});
}

// A narrow XResNet (stage widths 16..128, one block each), so that the fit test is quick.
fastai::XResNet xresnet_tiny(fastai::XResNetOptions o) {
  o.stem_szs = {16, 16, 64};
  o.widen = 0.25;
  return fastai::XResNet(1, {1, 1, 1, 1}, o);
}

int64_t numel(const std::vector<at::Tensor>& ps) {
  int64_t n = 0;
  for (const auto& p : ps) n += p.numel();
  return n;
}

TEST(UnetLearner, ModelFromTheDataAndFastaisGroups) {
  TmpDir tmp;
  auto s = fastai::make_synthetic_segmentation(tmp.p, 10, {.size = 48, .seed = 9});
  auto dls = fastai::SegmentationDataLoaders::from_label_func(tmp.p, s.images, fastai::synthetic_label_func,
                                                              {.codes = s.codes, .seed = 0, .bs = 4, .num_workers = 0});
  auto learn = fastai::unet_learner(dls, fastai::resnet18, {.default_cbs = false});
  auto& u = dynamic_cast<fastai::DynamicUnetImpl&>(*learn.model.module);
  EXPECT_EQ(u.n_out, 4);  // dls.c()
  EXPECT_EQ(u.img_size, std::make_pair(int64_t{48}, int64_t{48}));
  auto groups = learn.splitter(*learn.model.module);
  ASSERT_EQ(groups.size(), 3u);
  // resnet groups: encoder[:6] = conv1, bn1, relu, maxpool, layer1, layer2 (torchvision counts)
  EXPECT_EQ(numel(groups[0]), 9408 + 128 + 147968 + 525568);
  EXPECT_EQ(numel(groups[0]) + numel(groups[1]), 11176512);
  EXPECT_EQ(numel(groups[0]) + numel(groups[1]) + numel(groups[2]), numel(learn.model.module->parameters()));
  // the loss is CrossEntropyLossFlat(axis=1) from the MaskBlock: a mean over the pixels
  at::NoGradGuard ng;
  learn.model.module->eval();
  auto b = dls.tfmd(1)->one_batch();
  auto x = fastai::tensor_of(b[0]), y = fastai::tensor_of(b[1]);
  auto out = learn.model({x});
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{x.size(0), 4, 48, 48}));
  auto expected = at::cross_entropy_loss(out, y);
  EXPECT_NEAR(learn.loss_func(out, y).item<double>(), expected.item<double>(), 1e-5);
  // xresnet: groups [encoder[:3], encoder[3:], decoder]
  auto xl = fastai::unet_learner(dls, xresnet_tiny, {.n_out = 2, .img_size = std::make_pair(int64_t{32}, int64_t{32}),
                                                     .default_cbs = false});
  auto& xu = dynamic_cast<fastai::DynamicUnetImpl&>(*xl.model.module);
  EXPECT_EQ(xu.n_out, 2);
  auto xg = xl.splitter(*xl.model.module);
  int64_t stem = 0;
  for (size_t i = 0; i < 3; ++i) stem += numel(xu.encoder->children()[i]->parameters());
  EXPECT_EQ(numel(xg[0]), stem);
  EXPECT_EQ(numel(xg[1]), numel(xu.encoder->parameters()) - stem);
  expect_error([&] { fastai::unet_learner(dls, fastai::resnet18, {.pretrained = true}); }, {"pretrained"});
  auto no_codes = fastai::SegmentationDataLoaders::from_label_func(tmp.p, s.images, fastai::synthetic_label_func,
                                                                   {.bs = 4, .num_workers = 0});
  expect_error([&] { fastai::unet_learner(no_codes, fastai::resnet18); }, {"unet_learner", "n_out"});
}

TEST(UnetLearner, ShortFitBeatsTheAllBackgroundBaseline) {
  TmpDir tmp;
  auto s = fastai::make_synthetic_segmentation(tmp.p, 64, {.size = 48, .seed = 9, .min_items = 2, .max_items = 3,
                                                            .class_colours = true});
  fastai::set_seed(0);
  auto dls = fastai::SegmentationDataLoaders::from_label_func(tmp.p, s.images, fastai::synthetic_label_func,
                                                              {.codes = s.codes, .seed = 0, .bs = 8, .num_workers = 0});
  auto learn = fastai::unet_learner(dls, xresnet_tiny, {.metrics = {fastai::Accuracy(1), fastai::foreground_acc}});
  int64_t bg = 0, total = 0;
  for (auto& b : dls.valid()) {
    auto y = fastai::tensor_of(b[1]);
    bg += (y == 0).sum().item<int64_t>();
    total += y.numel();
  }
  const double baseline = static_cast<double>(bg) / static_cast<double>(total);
  const double loss0 = learn.validate()[0];
  learn.fit_one_cycle(8, 5e-3);
  auto res = learn.validate();
  ASSERT_EQ(res.size(), 3u);
  EXPECT_LT(res[0], 0.5 * loss0) << "valid loss " << loss0 << " -> " << res[0];
  // at least a third of the background baseline's errors fixed
  EXPECT_GT(res[1], baseline + (1 - baseline) / 3) << "pixel accuracy " << res[1] << ", all-background " << baseline;
}

}  // namespace segmentation_test
