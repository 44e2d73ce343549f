// save_image_grid overlays: masks tint their classes, boxes are outlined in their colour, points
// are dotted; geometry checked on known pixels of the PNG read back with cairo.
#include "fastai/plot/image_grid.h"

#include "test_util.h"

#include <ATen/ATen.h>
#include <cairo.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace fastai::testing::image_grid_overlay_tests {

struct Rgb {
  int r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

std::ostream& operator<<(std::ostream& os, const Rgb& c) { return os << "(" << c.r << "," << c.g << "," << c.b << ")"; }

struct Png {
  std::shared_ptr<cairo_surface_t> s;
  int w = 0, h = 0;
  explicit Png(const std::string& path) : s(cairo_image_surface_create_from_png(path.c_str()), cairo_surface_destroy) {
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

// Top-left corner and size of the region of pixels that are not white (the one image of a grid).
struct Rect {
  int x0 = -1, y0 = -1, x1 = -1, y1 = -1;
};
Rect non_white(const Png& p) {
  Rect r;
  for (int y = 0; y < p.h; ++y)
    for (int x = 0; x < p.w; ++x)
      if (!(p.at(x, y) == Rgb{255, 255, 255})) {
        if (r.x0 < 0 || x < r.x0) r.x0 = x;
        if (r.y0 < 0) r.y0 = y;
        r.x1 = std::max(r.x1, x);
        r.y1 = y;
      }
  return r;
}

Rgb hex(const std::string& c) {
  auto v = std::strtol(c.c_str() + 1, nullptr, 16);
  return {static_cast<int>((v >> 16) & 0xff), static_cast<int>((v >> 8) & 0xff), static_cast<int>(v & 0xff)};
}

bool near(const Rgb& a, const Rgb& b, int tol) {
  return std::abs(a.r - b.r) <= tol && std::abs(a.g - b.g) <= tol && std::abs(a.b - b.b) <= tol;
}

at::Tensor grey(int64_t h, int64_t w, int v = 100) { return at::full({3, h, w}, v, at::kByte); }

TEST(ImageGridOverlay, OverlayColorIsTab10) {
  EXPECT_EQ(overlay_color(0), "#1f77b4");
  EXPECT_EQ(overlay_color(1), "#ff7f0e");
  EXPECT_EQ(overlay_color(2), "#2ca02c");
  EXPECT_EQ(overlay_color(12), "#2ca02c");
}

TEST(ImageGridOverlay, MaskTintsNonZeroClassesOnly) {
  TmpDir d;
  const auto path = (d.p / "mask.png").string();
  auto mask = at::zeros({32, 32}, at::kLong);
  mask.narrow(1, 16, 16).fill_(1);  // right half: class 1
  GridCell c{grey(32, 32)};
  c.mask = mask;
  save_image_grid(path, {c}, {.cell_px = 64});
  Png p(path);
  const Rect r = non_white(p);
  ASSERT_EQ(r.x1 - r.x0 + 1, 64);  // a 32 px image enlarged twice
  ASSERT_EQ(r.y1 - r.y0 + 1, 64);
  // left half: the image untouched; right half: 0.5 * grey + 0.5 * tab10 orange (255, 127, 14)
  EXPECT_EQ(p.at(r.x0 + 10, r.y0 + 30), (Rgb{100, 100, 100}));
  EXPECT_EQ(p.at(r.x0 + 31, r.y0 + 30), (Rgb{100, 100, 100}));
  const Rgb tinted = p.at(r.x0 + 40, r.y0 + 30);
  EXPECT_TRUE(near(tinted, Rgb{178, 114, 57}, 2)) << tinted;
  EXPECT_TRUE(near(p.at(r.x0 + 32, r.y0 + 5), tinted, 0)) << p.at(r.x0 + 32, r.y0 + 5);
  // a mask of another size is stretched over the image: a 4x4 mask with class 2 in its last column
  auto small = at::zeros({4, 4}, at::kInt);
  small.select(1, 3).fill_(2);
  GridCell c2{grey(32, 32)};
  c2.mask = small;
  c2.mask_alpha = 1.0;
  save_image_grid(path, {c2}, {.cell_px = 64});
  Png q(path);
  const Rect r2 = non_white(q);
  EXPECT_EQ(q.at(r2.x0 + 47, r2.y0 + 10), (Rgb{100, 100, 100}));
  EXPECT_EQ(q.at(r2.x0 + 49, r2.y0 + 10), hex(overlay_color(2)));
}

TEST(ImageGridOverlay, BoxOutlineHasItsColourAndBlackRim) {
  TmpDir d;
  const auto path = (d.p / "box.png").string();
  GridCell c{grey(32, 32)};
  c.boxes = at::tensor({8.f, 8.f, 24.f, 24.f, 2.f, 2.f, 6.f, 30.f}).view({2, 4});
  c.box_labels = {"thing", ""};
  c.box_colors = {"#ff0000", "#00ff00"};
  save_image_grid(path, {c}, {.cell_px = 64});
  Png p(path);
  const Rect r = non_white(p);
  ASSERT_EQ(r.x1 - r.x0 + 1, 64);
  const int ix = r.x0, iy = r.y0;
  // box 0 spans 16..48 in the cell (scale 2): its 2 px line covers columns 15 and 16 (left edge)
  // and 47, 48 (right edge); the black rim one more pixel either side.
  EXPECT_EQ(p.at(ix + 15, iy + 32), (Rgb{255, 0, 0}));
  EXPECT_EQ(p.at(ix + 16, iy + 32), (Rgb{255, 0, 0}));
  EXPECT_EQ(p.at(ix + 48, iy + 32), (Rgb{255, 0, 0}));
  EXPECT_EQ(p.at(ix + 14, iy + 32), (Rgb{0, 0, 0}));
  EXPECT_EQ(p.at(ix + 17, iy + 32), (Rgb{0, 0, 0}));
  EXPECT_EQ(p.at(ix + 32, iy + 48), (Rgb{255, 0, 0}));  // bottom edge
  EXPECT_EQ(p.at(ix + 32, iy + 32), (Rgb{100, 100, 100}));  // inside: the image
  EXPECT_EQ(p.at(ix + 22, iy + 32), (Rgb{100, 100, 100}));  // outside, between the boxes
  // box 1 (x 4..12 in the cell) in green
  EXPECT_EQ(p.at(ix + 4, iy + 30), (Rgb{0, 255, 0}));
  // the label tag of box 0 is filled with its colour just above its top-left corner; none inside
  auto count = [&](int y0, int y1) {
    int n = 0;
    for (int y = y0; y < y1; ++y)
      for (int x = ix + 17; x < ix + 47; ++x) n += p.at(x, y) == Rgb{255, 0, 0};
    return n;
  };
  EXPECT_GT(count(iy + 1, iy + 14), 40);
  EXPECT_EQ(count(iy + 18, iy + 46), 0);
}

TEST(ImageGridOverlay, PointsAreDots) {
  TmpDir d;
  const auto path = (d.p / "pts.png").string();
  GridCell c{grey(32, 32)};
  c.points = at::tensor({8.f, 8.f, 24.f, 16.f}).view({2, 2});
  save_image_grid(path, {c}, {.cell_px = 64});
  Png p(path);
  const Rect r = non_white(p);
  EXPECT_EQ(p.at(r.x0 + 16, r.y0 + 16), (Rgb{255, 0, 0}));
  EXPECT_EQ(p.at(r.x0 + 48, r.y0 + 32), (Rgb{255, 0, 0}));
  EXPECT_EQ(p.at(r.x0 + 32, r.y0 + 32), (Rgb{100, 100, 100}));
}

TEST(ImageGridOverlay, BadOverlaysNameTheCell) {
  TmpDir d;
  const auto path = (d.p / "bad.png").string();
  GridCell ok{grey(8, 8)};
  GridCell m = ok;
  m.mask = at::zeros({8, 8}, at::kFloat);
  expect_error([&] { save_image_grid(path, {ok, m}); }, {"bad.png", "cell 1", "mask", "[8, 8]", "integer"});
  GridCell b = ok;
  b.boxes = at::zeros({2, 3});
  expect_error([&] { save_image_grid(path, {b}); }, {"cell 0", "boxes", "[2, 3]", "[n,4]"});
  GridCell l = ok;
  l.boxes = at::zeros({2, 4});
  l.box_labels = {"a"};
  expect_error([&] { save_image_grid(path, {l}); }, {"cell 0", "2 boxes", "1 box_labels"});
  GridCell col = ok;
  col.boxes = at::zeros({1, 4});
  col.box_colors = {"red"};
  expect_error([&] { save_image_grid(path, {col}); }, {"cell 0", "'red'"});
  GridCell pt = ok;
  pt.points = at::zeros({3});
  expect_error([&] { save_image_grid(path, {pt}); }, {"cell 0", "points", "[3]", "[n,2]"});
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace fastai::testing::image_grid_overlay_tests
