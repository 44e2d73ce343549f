// The vision blocks: ImageCreate / MaskCreate as type transforms, rebuilt by name, in blocks and
// in a DataBlock over an ImageNet-style folder tree.
#include "fastai/vision/data.h"

#include "test_util.h"
#include "vision/image_fixtures.h"

#include <ATen/ATen.h>

namespace fx = fastai::test_image_fixtures;
using fastai::ImageMode;
using fastai::Item;
using fastai::testing::expect_error;
using fastai::testing::TmpDir;

TEST(VisionData, ImageCreateLoadsPathAndStringItems) {
  TmpDir tmp;
  auto rgb = fx::pattern({3, 6, 8}, 3);
  fastai::save_image(tmp.p / "c.png", rgb);
  fastai::ImageCreate create;
  Item a = create(Item(tmp.p / "c.png"));
  ASSERT_TRUE(a.is<fastai::TensorImage>());
  EXPECT_FALSE(a.is<fastai::TensorImageBW>());
  EXPECT_TRUE(at::equal(a.get<fastai::TensorImage>().data, rgb));
  Item b = create(Item((tmp.p / "c.png").string()));  // a std::string path
  EXPECT_TRUE(at::equal(b.get<fastai::TensorImage>().data, rgb));
  Item c = create(Item(fastai::encode_image(rgb, "png")));  // encoded bytes
  EXPECT_TRUE(at::equal(c.get<fastai::TensorImage>().data, rgb));

  fastai::ImageCreate grey(ImageMode::L);
  Item g = grey(Item(tmp.p / "c.png"));
  ASSERT_TRUE(g.is<fastai::TensorImageBW>());
  EXPECT_EQ(g.get<fastai::TensorImage>().data.sizes(), (std::vector<int64_t>{1, 6, 8}));
  EXPECT_EQ(g.type_name(), "TensorImageBW");
  // an already-made image passes unchanged
  Item same = create(a);
  EXPECT_TRUE(same.same(a));
}

TEST(VisionData, ImageCreateErrorsNameTheItem) {
  TmpDir tmp;
  fastai::ImageCreate create;
  expect_error([&] { create(Item(tmp.p / "gone.jpg")); }, {"ImageCreate", "gone.jpg", "does not exist"});
  tmp.write("text.png", "not an image");
  expect_error([&] { create(Item(tmp.p / "text.png")); }, {"ImageCreate", "text.png", "not a supported image"});
  expect_error([&] { create(Item(int64_t{3})); }, {"ImageCreate", "cannot make an image", "get_x"});
  expect_error([&] { create(Item(at::zeros({3, 4, 4}, at::kFloat))); }, {"ImageCreate", "uint8", "[3, 4, 4]"});
  fastai::ImageCreate grey(ImageMode::L);
  expect_error([&] { grey(Item(at::zeros({3, 4, 4}, at::kByte))); }, {"ImageCreate(L)", "1 channel", "[3, 4, 4]"});
  EXPECT_TRUE(grey(Item(at::zeros({4, 4}, at::kByte))).is<fastai::TensorImageBW>());
}

TEST(VisionData, MakeTransformRebuildsImageAndMaskCreate) {
  TmpDir tmp;
  fastai::save_image(tmp.p / "c.png", fx::pattern({3, 5, 5}));
  fastai::ImageCreate grey(ImageMode::L);
  EXPECT_EQ(grey.state(), (nlohmann::json{{"mode", "L"}}));
  auto names = fastai::registered_transforms();
  EXPECT_NE(std::find(names.begin(), names.end(), "ImageCreate"), names.end());
  auto t = fastai::make_transform("ImageCreate", grey.state());
  ASSERT_EQ(t->name(), "ImageCreate");
  EXPECT_EQ(dynamic_cast<fastai::ImageCreate&>(*t).mode(), ImageMode::L);
  Item x = (*t)(Item(tmp.p / "c.png"));
  EXPECT_TRUE(x.is<fastai::TensorImageBW>());
  EXPECT_TRUE(at::equal(x.get<fastai::TensorImage>().data, fastai::load_image(tmp.p / "c.png", ImageMode::L).data));
  expect_error([&] { fastai::make_transform("ImageCreate", {{"mode", "HSV"}}); }, {"'HSV'"});

  fastai::MaskCreate mc({"background", "road", "car"});
  auto m = fastai::make_transform("MaskCreate", mc.state());
  ASSERT_NE(m->vocab(), nullptr);
  EXPECT_EQ(*m->vocab(), (std::vector<std::string>{"background", "road", "car"}));
  EXPECT_EQ(m->c().value_or(-1), 3);
  auto hint = m->loss_hint();
  ASSERT_TRUE(hint.has_value());
  EXPECT_EQ(hint->name, "CrossEntropyLossFlat");
  EXPECT_EQ(hint->params, (nlohmann::json{{"axis", 1}}));
  EXPECT_EQ(fastai::MaskCreate().vocab(), nullptr);
}

TEST(VisionData, MaskCreateLoadsClassIndices) {
  TmpDir tmp;
  auto m = at::tensor(std::vector<uint8_t>{0, 2, 1, 2, 0, 1}, at::kByte).view({2, 3});
  fastai::save_image(tmp.p / "m.png", m);
  fastai::MaskCreate create({"a", "b", "c"});
  Item x = create(Item((tmp.p / "m.png").string()));
  ASSERT_TRUE(x.is<fastai::TensorMask>());
  EXPECT_FALSE(x.is<fastai::TensorImage>());
  EXPECT_TRUE(at::equal(x.get<fastai::TensorMask>().data, m.to(at::kLong)));
  expect_error([&] { create(Item(tmp.p / "nope.png")); }, {"MaskCreate", "nope.png", "does not exist"});
  expect_error([&] { create(Item(2.5)); }, {"MaskCreate", "cannot make a mask"});
}

TEST(VisionData, ImageAndMaskBlockFields) {
  auto ib = fastai::ImageBlock(ImageMode::L);
  EXPECT_EQ(ib.name, "ImageBlock");
  ASSERT_EQ(ib.type_tfms.size(), 1u);
  EXPECT_EQ(ib.type_tfms[0]->name(), "ImageCreate");
  EXPECT_EQ(ib.type_tfms[0]->state(), (nlohmann::json{{"mode", "L"}}));
  ASSERT_EQ(ib.batch_tfms.size(), 1u);
  EXPECT_EQ(ib.batch_tfms[0]->name(), "IntToFloatTensor");
  EXPECT_TRUE(ib.item_tfms.empty());
  EXPECT_EQ(fastai::ImageBlock().type_tfms[0]->state(), (nlohmann::json{{"mode", "RGB"}}));

  auto mb = fastai::MaskBlock({"bg", "fg"});
  EXPECT_EQ(mb.name, "MaskBlock");
  ASSERT_EQ(mb.type_tfms.size(), 1u);
  EXPECT_EQ(mb.type_tfms[0]->name(), "MaskCreate");
  ASSERT_NE(mb.type_tfms[0]->vocab(), nullptr);
  EXPECT_EQ(*mb.type_tfms[0]->vocab(), (std::vector<std::string>{"bg", "fg"}));
  EXPECT_EQ(mb.type_tfms[0]->loss_hint()->params.at("axis"), 1);
  ASSERT_EQ(mb.batch_tfms.size(), 1u);
  // the batch transform makes images float and leaves masks int64
  auto img = (*ib.batch_tfms[0])(Item(fastai::TensorImage(at::full({1, 2, 2}, 51, at::kByte))));
  EXPECT_TRUE(at::allclose(img.get<fastai::TensorImage>().data, at::full({1, 2, 2}, 0.2f)));
  auto mask = (*mb.batch_tfms[0])(Item(fastai::TensorMask(at::ones({2, 2}, at::kLong))));
  EXPECT_EQ(mask.get<fastai::TensorMask>().data.scalar_type(), at::kLong);
}

TEST(VisionData, DataBlockOverAnImageFolderTree) {
  TmpDir tmp;
  // <tmp>/{train,valid}/{bag,coat}/<i>.png, every pixel of an image = 10*class + i (+100 for valid)
  const std::vector<std::string> classes = {"bag", "coat"};
  for (int split = 0; split < 2; ++split)
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < (split ? 2 : 4); ++i)
        fastai::save_image(tmp.p / (split ? "valid" : "train") / classes[static_cast<size_t>(c)] / (std::to_string(i) + ".png"),
                           at::full({1, 6, 5}, 10 * c + i + 100 * split, at::kByte));
  fastai::DataBlock block({.blocks = {fastai::ImageBlock(ImageMode::L), fastai::CategoryBlock()},
                           .get_items = fastai::get_image_files,
                           .get_y = fastai::parent_label,
                           .splitter = fastai::GrandparentSplitter()});
  auto dls = block.dataloaders(Item(tmp.p), {.bs = 4, .num_workers = 0, .seed = 1});
  EXPECT_EQ(dls.vocab(), classes);
  fastai::Tuple b = dls.tfmd(1)->one_batch();  // validation: unshuffled, file order
  ASSERT_EQ(b.size(), 2u);
  ASSERT_TRUE(b[0].is<fastai::TensorImage>());
  auto x = b[0].get<fastai::TensorImage>().data;
  auto y = fastai::tensor_of(b[1]);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{4, 1, 6, 5}));
  EXPECT_EQ(x.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(y, at::tensor({0, 0, 1, 1}, at::kLong)));
  const float want[4] = {100, 101, 110, 111};
  for (int k = 0; k < 4; ++k) EXPECT_TRUE(at::allclose(x[k], at::full({1, 6, 5}, want[k] / 255.0f))) << "sample " << k;
  // the training loader gives whole float batches of the training images
  auto tb = dls.tfmd(0)->one_batch();
  auto tx = tb[0].get<fastai::TensorImage>().data;
  EXPECT_EQ(tx.sizes(), (std::vector<int64_t>{4, 1, 6, 5}));
  EXPECT_LT(tx.max().item<float>(), 14.5f / 255.0f);
}
