// plot_lines: PNG/SVG output that cairo reads back, skipped points, errors, atomic writes.
#include "test_util.h"
#include "fastai/core/error.h"
#include "fastai/plot/plot.h"

#include <cairo.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace plot_test {

namespace fs = std::filesystem;

using fastai::testing::TmpDir;

std::string slurp(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> names_in(const fs::path& d) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(d)) out.push_back(e.path().filename().string());
  return out;
}

struct PngInfo {
  int width = 0, height = 0;
  long non_white = 0;  // pixels that are not (nearly) white
  long reddish = 0;    // pixels close to pure red (#ff0000 series)
};

// Reads a PNG back with cairo; fails the test when cairo cannot.
PngInfo read_png(const fs::path& f) {
  PngInfo info;
  cairo_surface_t* s = cairo_image_surface_create_from_png(f.string().c_str());
  EXPECT_EQ(cairo_surface_status(s), CAIRO_STATUS_SUCCESS) << f;
  if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
    cairo_surface_flush(s);
    info.width = cairo_image_surface_get_width(s);
    info.height = cairo_image_surface_get_height(s);
    const int stride = cairo_image_surface_get_stride(s);
    const unsigned char* data = cairo_image_surface_get_data(s);
    for (int y = 0; y < info.height; ++y)
      for (int x = 0; x < info.width; ++x) {
        const auto px = *reinterpret_cast<const uint32_t*>(data + y * stride + 4 * x);  // native-endian ARGB
        const int r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;
        if (r < 245 || g < 245 || b < 245) ++info.non_white;
        if (r > 200 && g < 60 && b < 60) ++info.reddish;
      }
  }
  cairo_surface_destroy(s);
  return info;
}

std::vector<double> iota(size_t n) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i);
  return v;
}

std::string what_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const fastai::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected fastai::Error";
  return "";
}

}  // namespace plot_test

TEST(Plot, PngIsValidAndNotBlank) {
  plot_test::TmpDir d;
  auto xs = plot_test::iota(200);
  std::vector<double> train(200), valid(200);
  for (size_t i = 0; i < 200; ++i) {
    train[i] = 2.3 * std::exp(-0.02 * i) + 0.1;
    valid[i] = 2.0 * std::exp(-0.015 * i) + 0.3;
  }
  auto f = d.p / "sub" / "dir" / "loss.png";  // parent folders are created
  fastai::plot_lines(f.string(),
                     {{"train", xs, train, "#ff0000"}, {"valid", xs, valid}},
                     {.title = "Loss", .xlabel = "iteration", .ylabel = "loss", .width = 640, .height = 400});
  ASSERT_TRUE(std::filesystem::exists(f));
  const std::string bytes = plot_test::slurp(f);
  ASSERT_GE(bytes.size(), 8u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto info = plot_test::read_png(f);
  EXPECT_EQ(info.width, 640);
  EXPECT_EQ(info.height, 400);
  EXPECT_GT(info.non_white, 640 * 400 / 100);  // axes, text and two curves
  EXPECT_LT(info.non_white, 640 * 400 / 2);    // but mostly background
  EXPECT_GT(info.reddish, 300);                // the red curve (about 600 px long, 2 px wide)
}

TEST(Plot, SvgWritten) {
  plot_test::TmpDir d;
  auto f = d.p / "sched.SVG";  // extension in any case
  fastai::plot_lines(f.string(), {{"lr", {0, 1, 2, 3}, {1e-4, 1e-3, 5e-4, 1e-8}}}, {.title = "lr"});
  const std::string text = plot_test::slurp(f);
  EXPECT_NE(text.find("<svg"), std::string::npos);
  EXPECT_NE(text.find("800"), std::string::npos);  // the width
  EXPECT_NE(text.find("</svg>"), std::string::npos);
}

TEST(Plot, MarkersLogAxesAndDefaultsRender) {
  plot_test::TmpDir d;
  // lr_find-like: log x over 8 decades, plus marker suggestions.
  std::vector<double> lrs, losses;
  for (int i = 0; i < 100; ++i) {
    double lr = 1e-7 * std::pow(1e8, i / 100.0);
    lrs.push_back(lr);
    losses.push_back(2.3 - 1.5 / (1 + std::exp(-2.5 * (std::log10(lr) + 2.5))) + 0.02 * std::exp(2 * (std::log10(lr) + 1)));
  }
  auto f = d.p / "lr_find.png";
  fastai::plot_lines(f.string(), {{"", lrs, losses}, {"valley", {2.29e-4}, {1.2}, "#ff0000", true}},
                     {.title = "Learning rate finder", .xlabel = "learning rate", .ylabel = "loss", .log_x = true});
  auto info = plot_test::read_png(f);
  EXPECT_EQ(info.width, 800);
  EXPECT_EQ(info.height, 500);
  EXPECT_GT(info.reddish, 20);  // the marker (and its legend sample)
  // One point only, and a constant series: degenerate ranges still plot.
  fastai::plot_lines((d.p / "one.png").string(), {{"", {3}, {7}}});
  fastai::plot_lines((d.p / "flat.png").string(), {{"", {0, 1, 2}, {0, 0, 0}}}, {.log_x = false});
  EXPECT_GT(plot_test::read_png(d.p / "one.png").non_white, 1000);
}

TEST(Plot, NonFiniteAndNonPositiveOnLogAxesAreSkipped) {
  plot_test::TmpDir d;
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  // Non-finite points are skipped (the line breaks there).
  fastai::plot_lines((d.p / "gaps.png").string(), {{"", {0, 1, 2, 3, 4}, {1, nan, 3, inf, 2}}});
  EXPECT_TRUE(std::filesystem::exists(d.p / "gaps.png"));
  // On a log axis, values <= 0 are skipped like non-finite ones (not an error).
  fastai::plot_lines((d.p / "logy.png").string(), {{"", {0, 1, 2, 3, 4}, {1, 0, -1, 10, 100}}}, {.log_y = true});
  fastai::plot_lines((d.p / "logx.png").string(), {{"", {-1, 0, 1e-3, 1e-2}, {1, 2, 3, 4}}}, {.log_x = true});
  EXPECT_GT(plot_test::read_png(d.p / "logy.png").non_white, 1000);
  // ...but nothing plottable at all is an error naming the path, and writes nothing.
  auto none = d.p / "none.png";
  auto msg = plot_test::what_of([&] { fastai::plot_lines(none.string(), {{"", {1, 2}, {0, -3}}}, {.log_y = true}); });
  EXPECT_NE(msg.find(none.string()), std::string::npos) << msg;
  msg = plot_test::what_of([&] { fastai::plot_lines(none.string(), {{"", {1, 2}, {nan, inf}}}); });
  EXPECT_NE(msg.find(none.string()), std::string::npos) << msg;
  EXPECT_THROW(fastai::plot_lines(none.string(), {}), fastai::Error);
  EXPECT_FALSE(std::filesystem::exists(none));
}

TEST(Plot, BadInputErrors) {
  plot_test::TmpDir d;
  auto f = (d.p / "x.png").string();
  // Lengths differ: names the series.
  auto msg = plot_test::what_of([&] { fastai::plot_lines(f, {{"ok", {1}, {1}}, {"valid", {1, 2, 3}, {1, 2}}}); });
  EXPECT_NE(msg.find("valid"), std::string::npos) << msg;
  EXPECT_NE(msg.find(f), std::string::npos) << msg;
  // Extension neither .png nor .svg: names the path.
  auto jpg = (d.p / "x.jpg").string();
  msg = plot_test::what_of([&] { fastai::plot_lines(jpg, {{"", {1, 2}, {1, 2}}}); });
  EXPECT_NE(msg.find(jpg), std::string::npos) << msg;
  EXPECT_THROW(fastai::plot_lines((d.p / "noext").string(), {{"", {1, 2}, {1, 2}}}), fastai::Error);
  // Bad colour, bad y range, bad size.
  EXPECT_THROW(fastai::plot_lines(f, {{"c", {1, 2}, {1, 2}, "red"}}), fastai::Error);
  EXPECT_THROW(fastai::plot_lines(f, {{"", {1, 2}, {1, 2}}}, {.ymin = 3, .ymax = 1}), fastai::Error);
  EXPECT_THROW(fastai::plot_lines(f, {{"", {1, 2}, {1, 2}}}, {.log_y = true, .ymin = 0}), fastai::Error);
  EXPECT_THROW(fastai::plot_lines(f, {{"", {1, 2}, {1, 2}}}, {.width = 0}), fastai::Error);
  EXPECT_TRUE(plot_test::names_in(d.p).empty());
  // A fixed y range is accepted.
  fastai::plot_lines(f, {{"", {1, 2}, {1, 2}}, {"", {1, 2}, {2, 1}, "#0a0"}}, {.ymin = 0, .ymax = 3});
  EXPECT_TRUE(std::filesystem::exists(f));
}

TEST(Plot, UnwritablePathErrors) {
  plot_test::TmpDir d;
  // A regular file where a parent folder should be.
  std::ofstream(d.p / "file") << "x";
  auto bad = (d.p / "file" / "plot.png").string();
  auto msg = plot_test::what_of([&] { fastai::plot_lines(bad, {{"", {1, 2}, {1, 2}}}); });
  EXPECT_NE(msg.find(bad), std::string::npos) << msg;
  auto bad_svg = (d.p / "file" / "plot.svg").string();
  msg = plot_test::what_of([&] { fastai::plot_lines(bad_svg, {{"", {1, 2}, {1, 2}}}); });
  EXPECT_NE(msg.find(bad_svg), std::string::npos) << msg;
}

TEST(Plot, AtomicWriteLeavesNoTemporary) {
  plot_test::TmpDir d;
  auto f = d.p / "loss.png";
  fastai::plot_lines(f.string(), {{"a", {0, 1, 2}, {3, 1, 2}}});
  EXPECT_EQ(plot_test::names_in(d.p), std::vector<std::string>{"loss.png"});
  // Overwriting replaces the file in place, still without a leftover.
  fastai::plot_lines(f.string(), {{"a", {0, 1, 2}, {1, 2, 3}}}, {.width = 300, .height = 200});
  EXPECT_EQ(plot_test::names_in(d.p), std::vector<std::string>{"loss.png"});
  EXPECT_EQ(plot_test::read_png(f).width, 300);
  // A failed write keeps the old file and leaves no temporary: here the destination is a folder,
  // so the final rename fails after the temporary was drawn.
  const std::string before = plot_test::slurp(f);
  EXPECT_THROW(fastai::plot_lines(f.string(), {{"", {1}, {std::nan("")}}}), fastai::Error);
  EXPECT_EQ(plot_test::slurp(f), before);
  std::filesystem::create_directories(d.p / "dir.png" / "inside");
  auto msg = plot_test::what_of([&] { fastai::plot_lines((d.p / "dir.png").string(), {{"", {1, 2}, {1, 2}}}); });
  EXPECT_NE(msg.find("dir.png"), std::string::npos) << msg;
  auto names = plot_test::names_in(d.p);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"dir.png", "loss.png"}));
}
