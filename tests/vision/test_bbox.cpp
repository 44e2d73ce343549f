// Points and boxes: PointScaler geometry (fastai's -1..1, x first), clip_remove_empty / bb_pad,
// get_annotations on COCO-style JSON (and its errors), the synthetic box set, a DataBlock
// {ImageBlock, BBoxBlock, BBoxLblBlock} whose batch flip moves boxes exactly, and show_batch
// drawing boxes and masks.
#include "fastai/vision/bbox.h"

#include "data/data_fixtures.h"
#include "test_util.h"

#include "fastai/plot/image_grid.h"
#include "fastai/core/pipeline.h"
#include "fastai/core/transforms.h"
#include "fastai/data/block.h"
#include "fastai/data/splitters.h"
#include "fastai/vision/augment.h"
#include "fastai/vision/batch_augment.h"
#include "fastai/vision/data.h"
#include "fastai/vision/image.h"

#include <ATen/ATen.h>
#include <cairo.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fastai::testing::bbox_tests {

at::Tensor rows(std::vector<float> v, int64_t k) { return at::tensor(v, at::kFloat).view({-1, k}); }

Tuple sample_of(const Item& x) { return x.get<Tuple>(); }

TEST(BBox, PointScalerScalesByTheImageSizeXFirst) {
  PointScaler ps;
  EXPECT_EQ(ps.order, 50);
  // image 40 wide, 20 high: x' = x * 2 / 40 - 1, y' = y * 2 / 20 - 1
  auto img = TensorImage(at::zeros({3, 20, 40}, at::kByte));
  auto pts = TensorPoint(rows({0, 0, 10, 5, 40, 20, 30, 10}, 2));
  Tuple out = ps(Tuple{img, pts});
  const auto& p = out[1].get<TensorPoint>();
  EXPECT_TRUE(at::allclose(p.data, rows({-1, -1, -0.5, -0.5, 1, 1, 0.5, 0}, 2)));
  EXPECT_EQ(p.img_size, (std::vector<int64_t>{40, 20}));
  // decode: back to pixels
  Tuple back = ps.decode(out);
  EXPECT_TRUE(at::allclose(back[1].get<TensorPoint>().data, pts.data, 1e-5, 1e-5));
  // y_first: the points are (y, x), swapped on encode; decoded x first
  PointScaler yf({.y_first = true});
  Tuple o2 = yf(Tuple{img, TensorPoint(rows({5, 10}, 2))});
  EXPECT_TRUE(at::allclose(o2[1].get<TensorPoint>().data, rows({-0.5, -0.5}, 2)));
  EXPECT_TRUE(at::allclose(yf.decode(o2)[1].get<TensorPoint>().data, rows({10, 5}, 2)));
  // without an image, img_size {w, h} is used; without either, an Error
  Item alone = ps(Item(TensorPoint(rows({8, 2}, 2), {16, 4})));
  EXPECT_TRUE(at::allclose(alone.get<TensorPoint>().data, rows({0, 0}, 2)));
  expect_error([&] { ps(Item(TensorPoint(rows({8, 2}, 2)))); }, {"PointScaler", "TensorPoint", "img_size"});
}

TEST(BBox, PointScalerScalesBoxesAndDecodeDropsPadding) {
  PointScaler ps;
  auto img = TensorImage(at::zeros({3, 20, 40}, at::kByte));
  auto box = TensorBBox(rows({10, 5, 30, 15, 0, 0, 40, 20}, 4));
  Tuple out = ps(Tuple{img, box, TensorMultiCategory(at::tensor({2, 1}, at::kLong))});
  ASSERT_TRUE(out[1].is<TensorBBox>());
  EXPECT_TRUE(at::allclose(out[1].get<TensorBBox>().data, rows({-0.5, -0.5, 0.5, 0.5, -1, -1, 1, 1}, 4)));
  // a padded sample (as bb_pad leaves it): the zero rows and their labels go on decode
  Tuple padded{img, TensorBBox(rows({-0.5, -0.5, 0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0}, 4), {40, 20}),
               TensorMultiCategory(at::tensor({2, 0, 0}, at::kLong))};
  Tuple dec = ps.decode(padded);
  ASSERT_EQ(dec.size(), 3u);
  EXPECT_TRUE(at::allclose(dec[1].get<TensorBBox>().data, rows({10, 5, 30, 15}, 4), 1e-5, 1e-5));
  EXPECT_TRUE(at::equal(dec[2].get<TensorMultiCategory>().data, at::tensor({2}, at::kLong)));
  // state round trip through make_transform
  auto t = make_transform("PointScaler", PointScaler({.y_first = true}).state());
  EXPECT_TRUE(std::dynamic_pointer_cast<PointScaler>(t)->options().y_first);
}

TEST(BBox, CreateTransformsReadBoxesAndPoints) {
  BBoxCreate bc;
  Item b = bc(Item(std::vector<std::array<double, 4>>{{1, 2, 3, 4}, {0, 0, 5, 5}}));
  ASSERT_TRUE(b.is<TensorBBox>());
  EXPECT_TRUE(at::equal(b.get<TensorBBox>().data, rows({1, 2, 3, 4, 0, 0, 5, 5}, 4)));
  EXPECT_EQ(bc(Item(at::arange(8))).get<TensorBBox>().data.sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(bc(Item(std::vector<std::array<double, 4>>{})).get<TensorBBox>().data.sizes(), (std::vector<int64_t>{0, 4}));
  expect_error([&] { bc(Item(std::vector<std::array<double, 4>>{{1, 2, 3, 4}, {5, 0, 2, 5}})); },
               {"BBoxCreate", "box 1", "(5, 0, 2, 5)", "x0 <= x1"});
  expect_error([&] { bc(Item(std::vector<double>{1, 2, 3})); }, {"BBoxCreate", "3 values", "rows of 4"});
  expect_error([&] { bc(Item(std::string("a.png"))); }, {"BBoxCreate", "cannot make boxes"});
  PointCreate pc;
  Item p = pc(Item(std::vector<std::pair<double, double>>{{1, 2}, {3, 4}, {5, 6}}));
  EXPECT_TRUE(at::equal(p.get<TensorPoint>().data, rows({1, 2, 3, 4, 5, 6}, 2)));
  pc.setup({Item(std::vector<std::pair<double, double>>{{1, 2}, {3, 4}, {5, 6}})});
  EXPECT_EQ(pc.c(), 6);
  EXPECT_EQ(pc.loss_hint()->name, "MSELossFlat");
}

TEST(BBox, ClipRemoveEmptyClampsAndDropsWithLabels) {
  // fastai's example: boxes outside -1..1 clamped, empty ones dropped with their labels
  auto bb = rows({-2, -0.5, 0.5, 1.5, -0.5, -0.5, 0.5, 0.5, 1, 0.5, 0.5, 0.75, -0.5, -0.5, 0.5, 0.5, -2, -0.5, -1.5, 0.5}, 4);
  auto [b, l] = clip_remove_empty(bb, at::tensor({1, 2, 3, 2, 5}, at::kLong));
  EXPECT_TRUE(at::equal(b, rows({-1, -0.5, 0.5, 1, -0.5, -0.5, 0.5, 0.5, -0.5, -0.5, 0.5, 0.5}, 4)));
  EXPECT_TRUE(at::equal(l, at::tensor({1, 2, 2}, at::kLong)));
  expect_error([&] { clip_remove_empty(bb, at::tensor({1, 2}, at::kLong)); }, {"clip_remove_empty", "[5, 4]", "[2]"});
}

TEST(BBox, BBPadPadsToTheLargestCountWithBackground) {
  auto img = TensorImage(at::zeros({3, 4, 4}));
  auto s = [&](std::vector<float> b, std::vector<int64_t> l) {
    return Tuple{img, TensorBBox(rows(b, 4), {4, 4}), TensorMultiCategory(at::tensor(l, at::kLong))};
  };
  std::vector<Tuple> samples{s({}, {}), s({-0.5, -0.5, 0, 0}, {1}),
                             s({-1, -1, 0, 0, 0, 0, 1, 1, -0.5, 0, 0.5, 0.5}, {2, 1, 2})};
  auto out = bb_pad(samples);
  ASSERT_EQ(out.size(), 3u);
  for (const auto& o : out) {
    EXPECT_EQ(o[1].get<TensorBBox>().data.sizes(), (std::vector<int64_t>{3, 4}));
    EXPECT_EQ(o[1].get<TensorBBox>().img_size, (std::vector<int64_t>{4, 4}));
    EXPECT_EQ(o[2].get<TensorMultiCategory>().data.sizes(), (std::vector<int64_t>{3}));
  }
  EXPECT_TRUE(at::equal(out[0][1].get<TensorBBox>().data, at::zeros({3, 4})));
  EXPECT_TRUE(at::equal(out[0][2].get<TensorMultiCategory>().data, at::zeros({3}, at::kLong)));
  EXPECT_TRUE(at::equal(out[1][1].get<TensorBBox>().data, rows({-0.5, -0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 4)));
  EXPECT_TRUE(at::equal(out[1][2].get<TensorMultiCategory>().data, at::tensor({1, 0, 0}, at::kLong)));
  EXPECT_TRUE(at::equal(out[2][1].get<TensorBBox>().data, samples[2][1].get<TensorBBox>().data));
  // pad_idx, and the transform form the loader calls with the list of samples
  auto t = BBoxPad(7);
  Tuple lst;
  for (const auto& x : samples) lst.push_back(Item::make<Tuple>(x));
  Tuple got = t(Item::make<Tuple>(lst)).get<Tuple>();
  EXPECT_TRUE(at::equal(got[0].get<Tuple>()[2].get<TensorMultiCategory>().data, at::full({3}, 7, at::kLong)));
  // boxes without labels are padded alone
  auto alone = bb_pad({Tuple{img, TensorBBox(rows({0, 0, 1, 1}, 4))}, Tuple{img, TensorBBox(rows({}, 4))}});
  EXPECT_EQ(alone[1][1].get<TensorBBox>().data.sizes(), (std::vector<int64_t>{1, 4}));
  expect_error([&] { bb_pad({s({0, 0, 1, 1}, {1, 2})}); }, {"bb_pad", "sample 0", "1 boxes", "[2]"});
  // a batch without any box collates to [B,0,4] and goes through the batch flip
  auto none = bb_pad({s({}, {}), s({-3, -3, -2, -2}, {1})});
  EXPECT_EQ(none[1][1].get<TensorBBox>().data.sizes(), (std::vector<int64_t>{0, 4}));
  Tuple batch = collate(none);
  batch[0] = TensorImage(at::zeros({2, 3, 4, 4}));
  Tuple flipped = (*Flip(1.0))(batch, 0);
  EXPECT_EQ(flipped[1].get<TensorBBox>().data.sizes(), (std::vector<int64_t>{2, 0, 4}));
}

TEST(BBox, ACroppedAwayBoxLeavesWithItsLabel) {
  // a 40x20 image centre-cropped to 20x20 keeps x in [10, 30): box 0 (x 2..8) falls outside
  Tuple s{TensorImage(at::zeros({3, 20, 40}, at::kByte)), TensorBBox(rows({2, 2, 8, 8, 20, 5, 30, 15}, 4)),
          TensorMultiCategory(at::tensor({1, 2}, at::kLong))};
  Pipeline item({std::make_shared<CropPad>(ImageSize(20)), std::make_shared<PointScaler>()});
  Tuple enc = item(s, 0);
  auto out = bb_pad({enc, enc});
  EXPECT_TRUE(at::allclose(out[0][1].get<TensorBBox>().data, rows({0, -0.5, 1, 0.5}, 4)));  // x 10..20 of 20
  EXPECT_TRUE(at::equal(out[0][2].get<TensorMultiCategory>().data, at::tensor({2}, at::kLong)));
}

// ---- get_annotations ----------------------------------------------------------------------------

std::string coco(const std::string& annotations) {
  std::string s = R"({"images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"},
                                  {"id": 3, "file_name": "c.png"}],
                      "categories": [{"id": 7, "name": "cat"}, {"id": 9, "name": "dog"}],
                      "annotations": )";
  s += annotations;
  s += "}";
  return s;
}

TEST(BBox, GetAnnotationsReadsCocoBoxes) {
  TmpDir d;
  auto f = d.write("train.json", coco(R"([{"image_id": 3, "category_id": 9, "bbox": [1, 2, 10, 20]},
                                           {"image_id": 1, "category_id": 7, "bbox": [0, 0, 4, 4]},
                                           {"image_id": 3, "category_id": 7, "bbox": [5.5, 6, 1, 2]}])"));
  auto [images, lbl_bbox] = get_annotations(f, "imgs/");
  // images without boxes (b.png) are left out; order of "images"; boxes as x0, y0, x0 + w, y0 + h
  EXPECT_EQ(images, (std::vector<std::string>{"imgs/a.png", "imgs/c.png"}));
  ASSERT_EQ(lbl_bbox.size(), 2u);
  EXPECT_EQ(lbl_bbox[0].labels, (std::vector<std::string>{"cat"}));
  EXPECT_EQ(lbl_bbox[1].labels, (std::vector<std::string>{"dog", "cat"}));
  EXPECT_EQ(lbl_bbox[1].boxes[0], (std::array<double, 4>{1, 2, 11, 22}));
  EXPECT_EQ(lbl_bbox[1].boxes[1], (std::array<double, 4>{5.5, 6, 6.5, 8}));
}

TEST(BBox, GetAnnotationsErrorsNameTheFileAndKey) {
  TmpDir d;
  expect_error([&] { get_annotations(d.p / "nope.json"); }, {"get_annotations", "nope.json", "does not exist"});
  auto bad = d.write("bad.json", "{\"images\": [");
  expect_error([&] { get_annotations(bad); }, {"get_annotations", "bad.json", "malformed JSON"});
  auto nokey = d.write("nokey.json", coco(R"([{"image_id": 1, "category_id": 7}])"));
  expect_error([&] { get_annotations(nokey); }, {"nokey.json", "annotations[0]", "'bbox'"});
  auto nocat = d.write("nocat.json", R"({"images": [], "annotations": []})");
  expect_error([&] { get_annotations(nocat); }, {"nocat.json", "'categories'"});
  auto flipped = d.write("flipped.json", coco(R"([{"image_id": 1, "category_id": 7, "bbox": [0, 0, 4, 4]},
                                                  {"image_id": 2, "category_id": 9, "bbox": [10, 2, -3, 5]}])"));
  expect_error([&] { get_annotations(flipped); }, {"flipped.json", "annotations[1]", "'b.png'", "[10,2,-3,5]", "x1 >= x0"});
  auto unknown = d.write("unknown.json", coco(R"([{"image_id": 1, "category_id": 8, "bbox": [0, 0, 4, 4]}])"));
  expect_error([&] { get_annotations(unknown); }, {"unknown.json", "category_id 8"});
}

// ---- the synthetic set ----------------------------------------------------------------------------

TEST(BBox, SyntheticBoxesAreExact) {
  TmpDir d;
  auto set = make_synthetic_boxes(d.p, 5, {.height = 40, .width = 48, .seed = 3});
  auto [images, lbl_bbox] = get_annotations(set.annotations);
  ASSERT_EQ(images.size(), 5u);
  int shapes = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    auto img = load_image(set.images / images[i]).data;  // [3,40,48]
    ASSERT_EQ(img.sizes(), (std::vector<int64_t>{3, 40, 48}));
    auto bright = img.amax(0).ge(130);  // shapes are bright, the noise is below 41
    auto covered = at::zeros_like(bright);
    for (size_t k = 0; k < lbl_bbox[i].boxes.size(); ++k) {
      const auto& b = lbl_bbox[i].boxes[k];
      const int64_t x0 = static_cast<int64_t>(b[0]), y0 = static_cast<int64_t>(b[1]);
      const int64_t x1 = static_cast<int64_t>(b[2]), y1 = static_cast<int64_t>(b[3]);
      auto win = bright.slice(0, y0, y1).slice(1, x0, x1);
      // the shape touches all four sides of its box
      EXPECT_TRUE(win.select(0, 0).any().item<bool>()) << images[i] << " box " << k;
      EXPECT_TRUE(win.select(0, y1 - y0 - 1).any().item<bool>()) << images[i] << " box " << k;
      EXPECT_TRUE(win.select(1, 0).any().item<bool>()) << images[i] << " box " << k;
      EXPECT_TRUE(win.select(1, x1 - x0 - 1).any().item<bool>()) << images[i] << " box " << k;
      if (lbl_bbox[i].labels[k] == "rectangle") EXPECT_TRUE(win.all().item<bool>());
      else EXPECT_FALSE(win.all().item<bool>());  // a circle leaves its box's corners
      covered.slice(0, y0, y1).slice(1, x0, x1).fill_(true);
      ++shapes;
    }
    // nothing bright outside the boxes
    EXPECT_FALSE(bright.logical_and(covered.logical_not()).any().item<bool>()) << images[i];
  }
  EXPECT_GE(shapes, 5);
  expect_error([&] { make_synthetic_boxes(d.p, 1, {.min_side = 30, .max_side = 80}); }, {"make_synthetic_boxes", "max_side"});
}

// ---- the DataBlock --------------------------------------------------------------------------------

struct BoxData {
  TmpDir dir;
  Annotations ann;
  std::map<std::string, BBoxAnnotation> by_name;
  DataLoaders dls;
  explicit BoxData(std::vector<std::shared_ptr<Transform>> batch_tfms, int64_t max_boxes = 3)
      : ann(get_annotations(
            make_synthetic_boxes(dir.p, 6, {.height = 40, .width = 40, .max_boxes = max_boxes, .seed = 11}).annotations)),
        by_name(index(ann)),
        dls(block(batch_tfms).dataloaders(Item(dir.p / "images"), {.bs = 4, .num_workers = 0, .seed = 5})) {}
  static std::map<std::string, BBoxAnnotation> index(const Annotations& a) {
    std::map<std::string, BBoxAnnotation> m;
    for (size_t i = 0; i < a.images.size(); ++i) m[a.images[i]] = a.lbl_bbox[i];
    return m;
  }
  DataBlock block(std::vector<std::shared_ptr<Transform>> batch_tfms) const {
    const auto* m = &by_name;
    return DataBlock({.blocks = {ImageBlock(), BBoxBlock(), BBoxLblBlock()},
                      .get_items = get_image_files,
                      .getters = {nullptr,
                                  [m](const std::filesystem::path& p) { return m->at(p.filename().string()).boxes; },
                                  [m](const std::filesystem::path& p) { return m->at(p.filename().string()).labels; }},
                      .splitter = IndexSplitter({4, 5}),
                      .item_tfms = {std::make_shared<Resize>(ImageSize(20))},
                      .batch_tfms = std::move(batch_tfms),
                      .n_inp = 1});
  }
  const BBoxAnnotation& truth(size_t k) const { return by_name.at(ann.images[k]); }
};

TEST(BBox, DataBlockFlipMovesBoxesExactly) {
  BoxData data({Flip(1.0)});
  EXPECT_EQ(data.dls.vocab(), (std::vector<std::string>{"#na#", "circle", "rectangle"}));
  auto dl = data.dls.tfmd(0);
  Tuple b = dl->one_batch();  // training: flipped; the first items in order
  ASSERT_EQ(b.size(), 3u);
  const auto& boxes = b[1].get<TensorBBox>().data;
  size_t most = 0;
  for (size_t k = 0; k < 4; ++k) most = std::max(most, data.truth(k).boxes.size());
  ASSERT_EQ(boxes.sizes(), (std::vector<int64_t>{4, static_cast<int64_t>(most), 4}));
  EXPECT_EQ(fastai::tensor_of(b[2]).sizes(), (std::vector<int64_t>{4, static_cast<int64_t>(most)}));
  EXPECT_LE(boxes.abs().max().item<float>(), 1.0f);
  auto dec = dl->decode_batch(b, 4);
  ASSERT_EQ(dec.size(), 4u);
  for (size_t k = 0; k < 4; ++k) {
    const auto& t = data.truth(k);
    ASSERT_TRUE(dec[k][1].is<TensorBBox>());
    const auto& got = dec[k][1].get<TensorBBox>().data;
    ASSERT_EQ(got.size(0), static_cast<int64_t>(t.boxes.size())) << "sample " << k;  // padding dropped
    EXPECT_EQ(dec[k][2].get<MultiCategory>().labels, t.labels) << "sample " << k;
    for (size_t i = 0; i < t.boxes.size(); ++i) {
      // Resize 40 -> 20 halves the pixels; the flip maps x to W - x, so x0' = 20 - x1 / 2
      const auto& a = t.boxes[i];
      const auto r = got[static_cast<int64_t>(i)];
      EXPECT_NEAR(r[0].item<double>(), 20 - a[2] / 2, 1e-4) << "sample " << k << " box " << i;
      EXPECT_NEAR(r[1].item<double>(), a[1] / 2, 1e-4) << "sample " << k << " box " << i;
      EXPECT_NEAR(r[2].item<double>(), 20 - a[0] / 2, 1e-4) << "sample " << k << " box " << i;
      EXPECT_NEAR(r[3].item<double>(), a[3] / 2, 1e-4) << "sample " << k << " box " << i;
    }
  }
  // the validation loader is not flipped (batch augmentation is train-only)
  auto vdec = data.dls.tfmd(1)->decode_batch(data.dls.tfmd(1)->one_batch(), 2);
  ASSERT_EQ(vdec.size(), 2u);
  const auto& a = data.truth(4).boxes[0];
  const auto r = vdec[0][1].get<TensorBBox>().data[0];
  EXPECT_NEAR(r[0].item<double>(), a[0] / 2, 1e-4);
  EXPECT_NEAR(r[2].item<double>(), a[2] / 2, 1e-4);
}

TEST(BBox, PointBlockScalesPointsThroughTheLoader) {
  TmpDir d;
  // two 30 (w) x 20 (h) images, each with 3 points (i + 1, 2), (15, 10), (29, 19 - i)
  for (int i = 0; i < 2; ++i) save_image(d.p / (std::to_string(i) + ".png"), at::full({3, 20, 30}, 50, at::kByte));
  auto points = [](const std::filesystem::path& p) {
    const double i = std::stod(p.stem().string());
    return std::vector<std::pair<double, double>>{{i + 1, 2}, {15, 10}, {29, 19 - i}};
  };
  DataBlock block({.blocks = {ImageBlock(), PointBlock()},
                   .get_items = get_image_files,
                   .get_y = points,
                   .splitter = IndexSplitter({1})});
  auto dls = block.dataloaders(Item(d.p), {.bs = 1, .num_workers = 0, .seed = 1});
  EXPECT_EQ(dls.c(), 6);  // 3 points x 2 coordinates: the regression outputs
  EXPECT_EQ(dls.loss_hint()->name, "MSELossFlat");
  auto dl = dls.tfmd(1);
  Tuple b = dl->one_batch();
  ASSERT_TRUE(b[1].is<TensorPoint>());
  // image 1: x' = x * 2 / 30 - 1, y' = y * 2 / 20 - 1
  auto want = rows({2.f * 2 / 30 - 1, 2.f * 2 / 20 - 1, 0, 0, 29.f * 2 / 30 - 1, 18.f * 2 / 20 - 1}, 2).unsqueeze(0);
  EXPECT_TRUE(at::allclose(b[1].get<TensorPoint>().data, want, 1e-5, 1e-6));
  auto dec = dl->decode_batch(b, 1);
  EXPECT_TRUE(at::allclose(dec[0][1].get<TensorPoint>().data, rows({2, 2, 15, 10, 29, 18}, 2), 1e-4, 1e-4));
}

// ---- show_batch -----------------------------------------------------------------------------------

struct Png {
  std::shared_ptr<cairo_surface_t> s;
  int w = 0, h = 0;
  explicit Png(const std::string& path) : s(cairo_image_surface_create_from_png(path.c_str()), cairo_surface_destroy) {
    EXPECT_EQ(cairo_surface_status(s.get()), CAIRO_STATUS_SUCCESS) << path;
    w = cairo_image_surface_get_width(s.get());
    h = cairo_image_surface_get_height(s.get());
  }
  uint32_t at(int x, int y) const {
    const unsigned char* d = cairo_image_surface_get_data(s.get());
    const int stride = cairo_image_surface_get_stride(s.get());
    return reinterpret_cast<const uint32_t*>(d + static_cast<ptrdiff_t>(y) * stride)[x] & 0xffffffu;
  }
  // Top-left of the region that is not white (the one image of a one-cell grid).
  std::pair<int, int> origin() const {
    int x0 = w, y0 = h;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        if (at(x, y) != 0xffffffu) x0 = std::min(x0, x), y0 = std::min(y0, y);
    return {x0, y0};
  }
};

uint32_t hex(const std::string& c) { return static_cast<uint32_t>(std::strtoul(c.c_str() + 1, nullptr, 16)); }

TEST(BBox, ShowBatchOutlinesBoxesInTheirLabelColour) {
  BoxData data({}, 1);  // one box per image: no other box or label tag near its edges
  auto dl = data.dls.tfmd(1);  // unshuffled: show_batch shows one_batch()
  auto dec = dl->decode_batch(dl->one_batch(), 1);
  ASSERT_EQ(dec[0][1].get<TensorBBox>().data.size(0), 1);
  const auto box = dec[0][1].get<TensorBBox>().data[0];
  const std::string label = dec[0][2].get<MultiCategory>().labels[0];
  const auto& vocab = data.dls.vocab();
  const int64_t idx = std::find(vocab.begin(), vocab.end(), label) - vocab.begin();
  ASSERT_GT(idx, 0);
  const std::string path = (data.dir.p / "batch.png").string();
  dl->show_batch({}, {.max_n = 1, .path = path, .ncols = 1});
  Png p(path);
  auto [ix, iy] = p.origin();
  // a 20 px image in a 128 px cell (scale 6.4); the 2 px line of the bottom edge covers the
  // pixel row just above the rounded edge position (and the one on it)
  const double s = 128.0 / 20.0;
  const int by = static_cast<int>(std::round(iy + box[3].item<double>() * s)) - 1;
  const int mx = static_cast<int>(std::round(ix + (box[0].item<double>() + box[2].item<double>()) / 2 * s));
  EXPECT_EQ(p.at(mx, by), hex(overlay_color(idx))) << label << " at " << mx << "," << by;
  EXPECT_EQ(p.at(mx, by - 1), 0u);  // the black rim inside the box
  EXPECT_NE(p.at(mx, by - 3), 0u);  // then the image
}

TEST(BBox, ShowBatchTintsMaskClasses) {
  // samples: a grey 8x8 image and a mask whose right half is class 1
  auto img = std::make_shared<Transform>("GreyImage");
  img->encodes<int64_t>([](int64_t) { return TensorImage(at::full({3, 8, 8}, 100, at::kByte)); });
  auto msk = std::make_shared<Transform>("HalfMask");
  msk->encodes<int64_t>([](int64_t) {
    auto m = at::zeros({8, 8}, at::kLong);
    m.narrow(1, 4, 4).fill_(1);
    return TensorMask(m);
  });
  auto ds = std::make_shared<Datasets>(Datasets(index_items(2), {{img}, {msk}}));
  TfmdDL dl(ds, {.bs = 2, .num_workers = 0, .device = c10::Device(c10::kCPU)});
  TmpDir d;
  const std::string path = (d.p / "mask.png").string();
  dl.show_batch({}, {.max_n = 1, .path = path, .ncols = 1});
  Png p(path);
  auto [ix, iy] = p.origin();
  EXPECT_EQ(p.at(ix + 20, iy + 64), 0x646464u);  // left half: the image (100, 100, 100)
  const uint32_t c = p.at(ix + 100, iy + 64);  // right half tinted towards tab10 orange
  EXPECT_NE(c, 0x646464u);
  EXPECT_GT(static_cast<int>((c >> 16) & 0xff), 150);
  EXPECT_LT(static_cast<int>(c & 0xff), 80);
}

}  // namespace fastai::testing::bbox_tests
