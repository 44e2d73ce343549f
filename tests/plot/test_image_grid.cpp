#include "fastai/plot/image_grid.h"

#include "test_util.h"

#include <ATen/ATen.h>
#include <cairo.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace fastai::testing::image_grid_tests {

struct Rgb {
  int r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

// A PNG read back with cairo, with pixel access.
struct Png {
  std::shared_ptr<cairo_surface_t> s;
  int w = 0, h = 0;
  explicit Png(const std::string& path)
      : s(cairo_image_surface_create_from_png(path.c_str()), cairo_surface_destroy) {
    EXPECT_EQ(cairo_surface_status(s.get()), CAIRO_STATUS_SUCCESS) << path;
    w = cairo_image_surface_get_width(s.get());
    h = cairo_image_surface_get_height(s.get());
  }
  Rgb at(int x, int y) const {
    const unsigned char* d = cairo_image_surface_get_data(s.get());
    const int stride = cairo_image_surface_get_stride(s.get());
    const uint32_t p = reinterpret_cast<const uint32_t*>(d + static_cast<ptrdiff_t>(y) * stride)[x];
    return {static_cast<int>((p >> 16) & 0xff), static_cast<int>((p >> 8) & 0xff), static_cast<int>(p & 0xff)};
  }
};

// Bounding box (x0, y0, x1, y1 inclusive) of the pixels exactly equal to c; x0 = -1 when none.
struct Box {
  int x0 = -1, y0 = -1, x1 = -1, y1 = -1;
  int w() const { return x1 - x0 + 1; }
  int h() const { return y1 - y0 + 1; }
};
Box find(const Png& p, Rgb c) {
  Box b;
  for (int y = 0; y < p.h; ++y)
    for (int x = 0; x < p.w; ++x)
      if (p.at(x, y) == c) {
        if (b.x0 < 0 || x < b.x0) b.x0 = x;
        if (b.y0 < 0) b.y0 = y;
        b.x1 = std::max(b.x1, x);
        b.y1 = y;
      }
  return b;
}

at::Tensor solid(int r, int g, int b, int64_t h = 8, int64_t w = 8) {
  auto t = at::empty({3, h, w}, at::kByte);
  t[0].fill_(r);
  t[1].fill_(g);
  t[2].fill_(b);
  return t;
}

TEST(ImageGrid, ColoursLandInTheirCellsScaledToCellPx) {
  TmpDir d;
  const auto path = (d.p / "grid.png").string();
  save_image_grid(path, {{solid(255, 0, 0), "red"}, {solid(128, 128, 128), "gray"}, {solid(0, 0, 255)}},
                  {.ncols = 2, .cell_px = 64});
  Png p(path);
  ASSERT_GT(p.w, 2 * 64);
  ASSERT_GT(p.h, 2 * 64);
  const Box red = find(p, {255, 0, 0}), gray = find(p, {128, 128, 128}), blue = find(p, {0, 0, 255});
  ASSERT_GE(red.x0, 0);
  ASSERT_GE(gray.x0, 0);
  ASSERT_GE(blue.x0, 0);
  // 8x8 images enlarged 8 times: exactly a 64-pixel square each (nearest neighbour, no blur).
  EXPECT_EQ(red.w(), 64);
  EXPECT_EQ(red.h(), 64);
  EXPECT_EQ(gray.w(), 64);
  EXPECT_EQ(gray.h(), 64);
  EXPECT_EQ(blue.w(), 64);
  // Cell 1 is right of cell 0 on the same row; cell 2 starts the second row under cell 0.
  EXPECT_EQ(gray.y0, red.y0);
  EXPECT_GT(gray.x0, red.x1);
  EXPECT_EQ(blue.x0, red.x0);
  EXPECT_GT(blue.y0, red.y1);
  // Every pixel inside the red square is red; the corner outside is the white background.
  EXPECT_EQ(p.at(red.x0 + 32, red.y0 + 32), (Rgb{255, 0, 0}));
  EXPECT_EQ(p.at(0, 0), (Rgb{255, 255, 255}));
  EXPECT_EQ(p.at(p.w - 1, p.h - 1), (Rgb{255, 255, 255}));
}

TEST(ImageGrid, TitlesAreDrawnAboveTheImageInTheirColour) {
  TmpDir d;
  const auto path = (d.p / "titled.png").string();
  save_image_grid(path, {{solid(255, 0, 0), "label", "#00c000"}, {solid(0, 0, 255), ""}}, {.ncols = 2, .cell_px = 64});
  Png p(path);
  const Box red = find(p, {255, 0, 0}), blue = find(p, {0, 0, 255});
  ASSERT_GE(red.x0, 0);
  ASSERT_GE(blue.x0, 0);
  auto greenish = [&](int x0, int x1, int y0, int y1) {
    int n = 0;
    for (int y = std::max(0, y0); y < y1; ++y)
      for (int x = std::max(0, x0); x < x1; ++x) {
        const Rgb c = p.at(x, y);
        n += c.g > 100 && c.r < c.g - 60 && c.b < c.g - 60;
      }
    return n;
  };
  // Green text pixels above image 0, none above image 1 (no title) and none below the images.
  EXPECT_GT(greenish(red.x0, red.x1 + 1, 0, red.y0), 5);
  EXPECT_EQ(greenish(blue.x0, blue.x1 + 1, 0, blue.y0), 0);
  EXPECT_EQ(greenish(0, p.w, red.y1 + 1, p.h), 0);
}

TEST(ImageGrid, SmallImagesStaySharpAndAspectIsKept) {
  TmpDir d;
  const auto path = (d.p / "sharp.png").string();
  // 2x2 checkerboard (grey [H,W], uint8) and a wide 4x8 float image.
  auto check = at::tensor({0, 255, 255, 0}, at::kByte).reshape({2, 2});
  auto wide = at::full({3, 4, 8}, 0.5, at::kFloat);
  wide[1].fill_(0.0);
  save_image_grid(path, {{check}, {wide}}, {.ncols = 2, .cell_px = 100});
  Png p(path);
  const Box black = find(p, {0, 0, 0});
  ASSERT_GE(black.x0, 0);
  // Top-left quadrant black: 50x50 exactly, and the pixel just right of it pure white (no blending).
  EXPECT_EQ(black.w(), 100);  // the two black quadrants span the whole cell diagonally
  EXPECT_EQ(p.at(black.x0 + 49, black.y0 + 10), (Rgb{0, 0, 0}));
  EXPECT_EQ(p.at(black.x0 + 50, black.y0 + 10), (Rgb{255, 255, 255}));
  EXPECT_EQ(p.at(black.x0 + 50, black.y0 + 60), (Rgb{0, 0, 0}));
  // 0.5 -> 128 (rounded); the wide image is 100x50, centred vertically in its cell.
  const Box purple = find(p, {128, 0, 128});
  ASSERT_GE(purple.x0, 0);
  EXPECT_EQ(purple.w(), 100);
  EXPECT_EQ(purple.h(), 50);
  EXPECT_EQ(purple.y0, black.y0 + 25);
}

TEST(ImageGrid, LargeImagesAreReducedToTheCell) {
  TmpDir d;
  const auto path = (d.p / "big.png").string();
  save_image_grid(path, {{solid(0, 200, 0, 300, 150)}}, {.cell_px = 60});
  Png p(path);
  const Box g = find(p, {0, 200, 0});
  ASSERT_GE(g.x0, 0);
  EXPECT_NEAR(g.h(), 60, 1);
  EXPECT_NEAR(g.w(), 30, 1);
}

TEST(ImageGrid, AutomaticColumnsAndFigureTitle) {
  TmpDir d;
  const auto path = (d.p / "auto.png").string();
  std::vector<GridCell> cells;
  for (int i = 0; i < 5; ++i) cells.push_back({solid(10 * i, 100, 200)});
  save_image_grid(path, cells, {.cell_px = 32, .title = "batch"});
  Png p(path);
  // ceil(sqrt(5)) = 3 columns, 2 rows: cells 0..2 on one row, 3 under 0.
  const Box c0 = find(p, {0, 100, 200}), c2 = find(p, {20, 100, 200}), c3 = find(p, {30, 100, 200});
  ASSERT_GE(c0.x0, 0);
  ASSERT_GE(c2.x0, 0);
  ASSERT_GE(c3.x0, 0);
  EXPECT_EQ(c2.y0, c0.y0);
  EXPECT_EQ(c3.x0, c0.x0);
  EXPECT_GT(c3.y0, c0.y1);
  // The figure title takes room above the first row: dark text pixels there.
  int dark = 0;
  for (int y = 0; y < c0.y0; ++y)
    for (int x = 0; x < p.w; ++x) dark += p.at(x, y).r < 100;
  EXPECT_GT(dark, 5);
}

TEST(ImageGrid, SvgByExtensionAndAtomicWrite) {
  TmpDir d;
  const auto path = d.p / "sub" / "grid.SVG";
  save_image_grid(path.string(), {{solid(255, 0, 0), "a & <b>"}});
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_NE(ss.str().find("<svg"), std::string::npos);
  // Nothing else left beside it (no temporary).
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(path.parent_path())) ++n;
  EXPECT_EQ(n, 1);
}

TEST(ImageGrid, ErrorsNameTheCellShapeAndPath) {
  TmpDir d;
  const auto path = (d.p / "bad.png").string();
  expect_error([&] { save_image_grid(path, {}); }, {"bad.png", "no cells"});
  expect_error([&] { save_image_grid((d.p / "x.jpg").string(), {{solid(1, 2, 3)}}); }, {"x.jpg", "'.jpg'", ".png or .svg"});
  expect_error([&] { save_image_grid(path, {{solid(1, 2, 3)}, {at::zeros({4, 8, 8}, at::kByte)}}); },
               {"bad.png", "cell 1", "[4, 8, 8]", "C 1 or 3"});
  expect_error([&] { save_image_grid(path, {{at::zeros({2, 3, 8, 8}, at::kByte)}}); }, {"cell 0", "[2, 3, 8, 8]"});
  expect_error([&] { save_image_grid(path, {{at::zeros({3, 8, 8}, at::kLong)}}); }, {"cell 0", "Long", "uint8"});
  expect_error([&] { save_image_grid(path, {{at::Tensor()}}); }, {"cell 0", "undefined"});
  expect_error([&] { save_image_grid(path, {{at::zeros({3, 0, 8}, at::kByte)}}); }, {"cell 0", "empty"});
  expect_error([&] { save_image_grid(path, {{solid(1, 2, 3), "t", "red"}}); }, {"cell 0", "'red'", "#rrggbb"});
  expect_error([&] { save_image_grid(path, {{solid(1, 2, 3)}}, {.cell_px = 2}); }, {"cell_px = 2", "8..4096"});
  expect_error([&] { save_image_grid(path, {{solid(1, 2, 3)}}, {.ncols = -1}); }, {"ncols = -1"});
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(ImageGrid, LongTitlesAreCutToTheCell) {
  TmpDir d;
  const auto path = (d.p / "long.png").string();
  save_image_grid(path, {{solid(255, 0, 0), std::string(200, 'W'), "#0000ff"}, {solid(0, 255, 0)}},
                  {.ncols = 2, .cell_px = 40});
  Png p(path);
  const Box red = find(p, {255, 0, 0}), green = find(p, {0, 255, 0});
  ASSERT_GE(green.x0, 0);
  // No blue text spills over the second cell's column.
  int spill = 0;
  for (int y = 0; y < green.y0; ++y)
    for (int x = green.x0; x <= green.x1; ++x) {
      const Rgb c = p.at(x, y);
      spill += c.b > 150 && c.r < 100;
    }
  EXPECT_EQ(spill, 0);
  EXPECT_GE(red.x0, 0);
}

}  // namespace fastai::testing::image_grid_tests
