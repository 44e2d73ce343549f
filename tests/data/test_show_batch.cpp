// show_batch: decoded image batches drawn as a titled grid (read back with cairo), other data
// printed as a text table.
#include "data/data_fixtures.h"
#include "test_util.h"

#include "fastai/core/error.h"
#include "fastai/plot/image_grid.h"
#include "fastai/core/transforms.h"
#include "fastai/data/dataloader.h"
#include "fastai/data/tfmd_dl.h"

#include <ATen/ATen.h>
#include <cairo.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace fastai::testing {
namespace show_batch_tests {

constexpr std::array<std::array<int, 3>, 3> kColours = {{{220, 20, 20}, {20, 180, 20}, {20, 20, 220}}};

// i -> an 8x8 uint8 TensorImage in the colour of class i % 3.
std::shared_ptr<Transform> to_colour_image() {
  auto t = std::make_shared<Transform>("ToColourImage");
  t->encodes<int64_t>([](int64_t i) {
    auto img = at::empty({3, 8, 8}, at::kByte);
    for (int c = 0; c < 3; ++c) img[c].fill_(kColours[static_cast<size_t>(i % 3)][static_cast<size_t>(c)]);
    return TensorImage(img);
  });
  return t;
}

// i -> "c<i % 3>" (built with +=: GCC 12 warns falsely on "lit" + std::string).
std::shared_ptr<Transform> to_class() {
  auto t = std::make_shared<Transform>("ToClass");
  t->encodes<int64_t>([](int64_t i) {
    std::string s = "c";
    s += std::to_string(i % 3);
    return s;
  });
  return t;
}

// Datasets over 0..n-1: a colour image and its label "c<i%3>", all in the training split.
std::shared_ptr<Datasets> colour_datasets(int64_t n) {
  return std::make_shared<Datasets>(Datasets(index_items(n), {{to_colour_image()}, {to_class(), std::make_shared<Categorize>()}}));
}

std::shared_ptr<TfmdDL> colour_dl(int64_t n, int workers = 0) {
  return std::make_shared<TfmdDL>(colour_datasets(n), TfmdDLOptions{.bs = 6,
                                                                    .num_workers = workers,
                                                                    .device = c10::Device(c10::kCPU),
                                                                    .after_batch = {std::make_shared<IntToFloatTensor>()}});
}

struct Box {
  int x0 = -1, y0 = -1, x1 = -1, y1 = -1;
};

// Reads a PNG back and finds the bounding box of the pixels of exactly one colour.
struct Png {
  cairo_surface_t* s = nullptr;
  int w = 0, h = 0;
  explicit Png(const std::string& path) : s(cairo_image_surface_create_from_png(path.c_str())) {
    EXPECT_EQ(cairo_surface_status(s), CAIRO_STATUS_SUCCESS) << path;
    w = cairo_image_surface_get_width(s);
    h = cairo_image_surface_get_height(s);
  }
  ~Png() { cairo_surface_destroy(s); }
  Png(const Png&) = delete;
  Png& operator=(const Png&) = delete;
  std::array<int, 3> at(int x, int y) const {
    const auto* row = reinterpret_cast<const uint32_t*>(cairo_image_surface_get_data(s) +
                                                        static_cast<ptrdiff_t>(y) * cairo_image_surface_get_stride(s));
    const uint32_t p = row[x];
    return {static_cast<int>((p >> 16) & 0xff), static_cast<int>((p >> 8) & 0xff), static_cast<int>(p & 0xff)};
  }
  Box find(const std::array<int, 3>& c) const {
    Box b;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        if (at(x, y) == c) {
          if (b.x0 < 0 || x < b.x0) b.x0 = x;
          if (b.y0 < 0) b.y0 = y;
          b.x1 = std::max(b.x1, x);
          b.y1 = y;
        }
    return b;
  }
  // Dark (text) pixels in [x0, x1) x [y0, y1).
  int dark(int x0, int x1, int y0, int y1) const {
    int n = 0;
    for (int y = std::max(0, y0); y < std::min(h, y1); ++y)
      for (int x = std::max(0, x0); x < std::min(w, x1); ++x) {
        const auto c = at(x, y);
        n += c[0] < 120 && c[1] < 120 && c[2] < 120;
      }
    return n;
  }
};

// The same pixels as `b`.
bool same_pixels(const Png& a, const Png& b) {
  if (a.w != b.w || a.h != b.h) return false;
  for (int y = 0; y < a.h; ++y)
    for (int x = 0; x < a.w; ++x)
      if (a.at(x, y) != b.at(x, y)) return false;
  return true;
}

at::Tensor colour(size_t k) {
  auto img = at::empty({3, 8, 8}, at::kByte);
  for (int c = 0; c < 3; ++c) img[c].fill_(kColours[k][static_cast<size_t>(c)]);
  return img;
}

TEST(ShowBatch, ImagesBecomeAGridTitledWithTheirLabels) {
  TmpDir d;
  auto dl = colour_dl(12);
  const auto path = (d.p / "batch.png").string();
  dl->show_batch({}, {.max_n = 4, .path = path, .ncols = 2});
  Png p(path);
  // Unshuffled cells: 0 red, 1 green / 2 blue, 3 red; each 8x8 image enlarged to 128 pixels.
  const Box red = p.find(kColours[0]), green = p.find(kColours[1]), blue = p.find(kColours[2]);
  ASSERT_GE(red.x0, 0);
  ASSERT_GE(green.x0, 0);
  ASSERT_GE(blue.x0, 0);
  EXPECT_EQ(green.x1 - green.x0 + 1, 128);
  EXPECT_EQ(green.y1 - green.y0 + 1, 128);
  EXPECT_EQ(green.y0, red.y0);      // cell 1: first row, second column
  EXPECT_GT(green.x0, red.x0 + 127);
  EXPECT_EQ(blue.x0, red.x0);       // cell 2: second row, first column
  EXPECT_GT(blue.y0, green.y1);
  EXPECT_EQ(red.x1, green.x1);      // cell 3 (red again): second row, second column
  EXPECT_EQ(red.y1, blue.y1);
  // Titles (dark text) above the images of both rows.
  EXPECT_GT(p.dark(green.x0, green.x1 + 1, 0, green.y0), 5);
  EXPECT_GT(p.dark(blue.x0, blue.x1 + 1, green.y1 + 1, blue.y0), 5);
  // Exactly the grid of the decoded images (uint8 again after IntToFloatTensor's decode) titled
  // with their decoded labels.
  const auto expected = (d.p / "expected.png").string();
  save_image_grid(expected, {{colour(0), "c0"}, {colour(1), "c1"}, {colour(2), "c2"}, {colour(0), "c0"}}, {.ncols = 2});
  Png e(expected);
  EXPECT_TRUE(same_pixels(p, e));
}

TEST(ShowBatch, GivenBatchWorkersAndDataLoaders) {
  TmpDir d;
  // An explicit batch (the second one), built on worker threads.
  auto dl = colour_dl(12, /*workers=*/2);
  Tuple b;
  dl->begin_epoch();
  ASSERT_TRUE(dl->next_batch(b));
  ASSERT_TRUE(dl->next_batch(b));  // items 6..11
  const auto path = (d.p / "second.png").string();
  dl->show_batch(b, {.max_n = 2, .path = path});
  Png p(path);
  EXPECT_GE(p.find(kColours[0]).x0, 0);  // item 6
  EXPECT_GE(p.find(kColours[1]).x0, 0);  // item 7
  EXPECT_LT(p.find(kColours[2]).x0, 0);  // item 8 is beyond max_n

  // DataLoaders: the training loader's batch (shuffled, so any colours), max_n capped at bs.
  auto dls = dataloaders_from(Datasets(index_items(12), {{to_colour_image()}, {to_class(), std::make_shared<Categorize>()}},
                                       {.splits = {{0, 1, 2, 3, 4, 5, 6, 7, 8}, {9, 10, 11}}}),
                              {.bs = 4, .device = c10::Device(c10::kCPU), .num_workers = 0, .seed = 3});
  const auto dpath = (d.p / "sub" / "dls.svg").string();
  dls.show_batch({.max_n = 9, .path = dpath});
  EXPECT_TRUE(std::filesystem::exists(dpath));
  Tuple ob = dls.one_batch();
  ASSERT_EQ(ob.size(), 2u);
  EXPECT_TRUE(ob[0].is<TensorImage>());
  EXPECT_EQ(tensor_of(ob[0]).sizes(), (std::vector<int64_t>{4, 3, 8, 8}));
}

TEST(ShowBatch, ImagesNeedAPath) {
  auto dl = colour_dl(6);
  expect_error([&] { dl->show_batch(); }, {"show_batch", "images", "ShowBatchOptions::path"});
  expect_error([&] { dl->show_batch({}, {.max_n = 0}); }, {"max_n = 0"});
}

TEST(ShowBatch, OtherDataIsATextTable) {
  // x = TensorFloat [i, i / 2], y = Categorize("c<i%3>").
  auto to_pair = std::make_shared<Transform>("ToPair");
  to_pair->encodes<int64_t>([](int64_t i) { return TensorFloat(at::tensor({static_cast<float>(i), i / 2.0f})); });
  auto ds = std::make_shared<Datasets>(
      Datasets(index_items(10), {{to_pair}, {to_class(), std::make_shared<Categorize>()}}));
  auto dl = std::make_shared<TfmdDL>(ds, TfmdDLOptions{.bs = 4, .num_workers = 0, .device = c10::Device(c10::kCPU)});
  std::ostringstream os;
  dl->show_batch({}, {.max_n = 3, .out = &os});
  EXPECT_EQ(os.str(),
            "TensorFloat  Category\n"
            "---------------------\n"
            "0 0          c0\n"
            "1 0.5        c1\n"
            "2 1          c2\n");
  // max_n beyond the batch: the whole batch (4 rows).
  std::ostringstream all;
  dl->show_batch({}, {.max_n = 20, .out = &all});
  const std::string text = all.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2 + 4) << text;
}

TEST(ShowBatch, ShuffledLoaderShowsARandomBatchWithoutMovingTheTrainingOrder) {
  auto to_pair = std::make_shared<Transform>("ToPair");
  to_pair->encodes<int64_t>([](int64_t i) { return TensorFloat(at::tensor({static_cast<float>(i), i / 2.0f})); });
  auto ds = std::make_shared<Datasets>(
      Datasets(index_items(200), {{to_pair}, {to_class(), std::make_shared<Categorize>()}}));
  TfmdDLOptions o{.bs = 8, .shuffle = true, .num_workers = 0, .device = c10::Device(c10::kCPU), .seed = 9};
  auto shown = std::make_shared<TfmdDL>(ds, o), plain = std::make_shared<TfmdDL>(ds, o);
  std::ostringstream a, b;
  shown->show_batch({}, {.max_n = 8, .out = &a});
  shown->show_batch({}, {.max_n = 8, .out = &b});
  EXPECT_EQ(a.str(), b.str());  // the same sample every time
  EXPECT_EQ(a.str().find("\n0 0 "), std::string::npos) << a.str();  // not the first items in order
  auto order = [](TfmdDL& dl) {
    dl.begin_epoch();
    Batch bt;
    std::vector<float> xs;
    while (dl.next(bt)) for (int64_t i = 0; i < bt[0].size(0); ++i) xs.push_back(bt[0][i][0].item<float>());
    return xs;
  };
  EXPECT_EQ(order(*shown), order(*plain));  // showing did not touch the epoch RNG
}

TEST(ShowBatch, TensorLoadersShowRawValues) {
  // Loaders without transforms (tensors, torch::data) show their raw tensors.
  auto x = at::arange(12, at::kFloat).reshape({6, 2});
  auto y = at::arange(6, at::kLong);
  auto dls = DataLoaders::from_tensors({x, y}, {x, y}, {.bs = 3, .device = c10::Device(c10::kCPU), .seed = 1});
  Tuple b = dls.one_batch();
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(tensor_of(b[0]).sizes(), (std::vector<int64_t>{3, 2}));
  std::ostringstream os;
  dls.show_batch({.max_n = 2, .out = &os});
  const std::string s = os.str();
  EXPECT_EQ(s.rfind("Tensor  Tensor\n", 0), 0u) << s;
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 2 + 2) << s;
  // Each row is "<2i> <2i+1>  <i>" for some item i.
  std::istringstream lines(s);
  std::string line;
  std::getline(lines, line);
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    double a = -1, bb = -1;
    int64_t i = -1;
    std::istringstream(line) >> a >> bb >> i;
    EXPECT_EQ(a, 2.0 * i) << line;
    EXPECT_EQ(bb, 2.0 * i + 1) << line;
  }
}

}  // namespace show_batch_tests
}  // namespace fastai::testing
