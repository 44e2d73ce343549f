#include "fastai/plot/image_grid.h"

#include "cairo_file.h"

#include "fastai/core/error.h"
#include "fastai/core/files.h"

#include <ATen/ATen.h>
#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace fastai {

namespace image_grid_detail {

using SurfacePtr = cairo_file::SurfacePtr;

constexpr const char* kFont = "sans-serif";

struct Rgb {
  double r = 0, g = 0, b = 0;
};

std::string shape_text(const at::Tensor& t) {
  std::ostringstream os;
  os << t.sizes() << " " << t.scalar_type();
  return os.str();
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Rgb parse_color(const std::string& c, const std::string& path, size_t cell, const char* what = "title_color") {
  if (c.empty()) return {};
  const bool long_form = c.size() == 7, short_form = c.size() == 4;
  bool ok = (long_form || short_form) && c[0] == '#';
  for (size_t i = 1; ok && i < c.size(); ++i) ok = hex_digit(c[i]) >= 0;
  FA_CHECK(ok, "save_image_grid ", path, ": cell ", cell, " has ", what, " ", quote_value(c),
           " (expected \"#rrggbb\" or \"#rgb\")");
  if (short_form) return {hex_digit(c[1]) / 15., hex_digit(c[2]) / 15., hex_digit(c[3]) / 15.};
  auto byte = [&](size_t i) { return (hex_digit(c[i]) * 16 + hex_digit(c[i + 1])) / 255.; };
  return {byte(1), byte(3), byte(5)};
}

// The image as contiguous uint8 [H,W,3] on the CPU, after checking its shape and dtype.
at::Tensor to_hwc_u8(const at::Tensor& img, const std::string& path, size_t cell) {
  FA_CHECK(img.defined(), "save_image_grid ", path, ": cell ", cell, " has no image (undefined tensor)");
  const bool shape_ok = (img.dim() == 2) || (img.dim() == 3 && (img.size(0) == 1 || img.size(0) == 3));
  FA_CHECK(shape_ok, "save_image_grid ", path, ": cell ", cell, " has an image of shape ", shape_text(img),
           " (expected [C,H,W] with C 1 or 3, or [H,W])");
  FA_CHECK(img.size(-1) > 0 && img.size(-2) > 0, "save_image_grid ", path, ": cell ", cell,
           " has an empty image of shape ", shape_text(img));
  const bool u8 = img.scalar_type() == at::kByte;
  FA_CHECK(u8 || at::isFloatingType(img.scalar_type()), "save_image_grid ", path, ": cell ", cell,
           " has an image of shape ", shape_text(img), " (expected dtype uint8 0..255, or floating 0..1)");
  at::Tensor t = img.detach().cpu();
  if (t.dim() == 2) t = t.unsqueeze(0);
  if (!u8) t = t.to(at::kFloat).nan_to_num(0.0).clamp(0.0, 1.0).mul(255.0).round().to(at::kByte);
  if (t.size(0) == 1) t = t.expand({3, t.size(1), t.size(2)});
  return t.permute({1, 2, 0}).contiguous();
}

// An opaque cairo image surface holding the pixels of `hwc` (uint8 [H,W,3]).
SurfacePtr image_surface(const at::Tensor& hwc) {
  const int h = static_cast<int>(hwc.size(0)), w = static_cast<int>(hwc.size(1));
  SurfacePtr s(cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h));
  FA_CHECK(cairo_surface_status(s.get()) == CAIRO_STATUS_SUCCESS, "save_image_grid: cannot create a ", w, "x", h,
           " image surface (", cairo_status_to_string(cairo_surface_status(s.get())), ")");
  cairo_surface_flush(s.get());
  unsigned char* data = cairo_image_surface_get_data(s.get());
  const int stride = cairo_image_surface_get_stride(s.get());
  const uint8_t* src = hwc.data_ptr<uint8_t>();
  for (int y = 0; y < h; ++y) {
    auto* row = reinterpret_cast<uint32_t*>(data + static_cast<ptrdiff_t>(y) * stride);
    for (int x = 0; x < w; ++x) {
      const uint8_t* p = src + (static_cast<ptrdiff_t>(y) * w + x) * 3;
      row[x] = 0xff000000u | (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | uint32_t{p[2]};
    }
  }
  cairo_surface_mark_dirty(s.get());
  return s;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::string cur;
  for (char c : s) {
    if (c == '\n') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

double text_width(cairo_t* cr, const std::string& s) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  return e.x_advance;
}

// `s` cut (at a UTF-8 character boundary) and ended with "..." so it fits in `max_w`.
std::string fit_text(cairo_t* cr, std::string s, double max_w) {
  if (text_width(cr, s) <= max_w) return s;
  while (!s.empty()) {
    // Drop the last character: its continuation bytes, then its lead (or ASCII) byte.
    while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
    if (!s.empty()) s.pop_back();
    std::string t = s;
    t += "...";
    if (text_width(cr, t) <= max_w) return t;
  }
  return "...";
}

// A cell's overlays, checked and converted for drawing.
struct Overlay {
  at::Tensor mask;                 // int64 [H,W] on the CPU, or undefined
  double mask_alpha = 0.5;
  at::Tensor boxes;                // float [n,4] on the CPU, or undefined
  std::vector<std::string> labels;  // n or empty
  std::vector<Rgb> box_colors;     // n
  at::Tensor points;               // float [n,2] on the CPU, or undefined
  Rgb point_color;
};

Overlay prepare_overlay(const GridCell& c, const std::string& path, size_t cell) {
  Overlay ov;
  if (c.mask.defined()) {
    const at::Tensor& m = c.mask;
    FA_CHECK(m.dim() == 2 && !at::isFloatingType(m.scalar_type()) && !m.is_complex() && m.numel() > 0,
             "save_image_grid ", path, ": cell ", cell, " has a mask of shape ", shape_text(m),
             " (expected integer class indices [H,W])");
    FA_CHECK(c.mask_alpha >= 0 && c.mask_alpha <= 1, "save_image_grid ", path, ": cell ", cell, " has mask_alpha ",
             c.mask_alpha, " (expected 0..1)");
    ov.mask = m.detach().cpu().to(at::kLong).contiguous();
    ov.mask_alpha = c.mask_alpha;
  }
  if (c.boxes.defined()) {
    const at::Tensor& b = c.boxes;
    FA_CHECK(b.dim() == 2 && b.size(1) == 4 && !b.is_complex() && b.scalar_type() != at::kBool, "save_image_grid ",
             path, ": cell ", cell, " has boxes of shape ", shape_text(b), " (expected [n,4] x0, y0, x1, y1)");
    const auto n = static_cast<size_t>(b.size(0));
    FA_CHECK(c.box_labels.empty() || c.box_labels.size() == n, "save_image_grid ", path, ": cell ", cell, " has ", n,
             " boxes but ", c.box_labels.size(), " box_labels (expected 0 or ", n, ")");
    FA_CHECK(c.box_colors.empty() || c.box_colors.size() == n, "save_image_grid ", path, ": cell ", cell, " has ", n,
             " boxes but ", c.box_colors.size(), " box_colors (expected 0 or ", n, ")");
    ov.boxes = b.detach().cpu().to(at::kFloat).contiguous();
    ov.labels = c.box_labels;
    for (size_t i = 0; i < n; ++i)
      ov.box_colors.push_back(
          parse_color(c.box_colors.empty() ? overlay_color(static_cast<int64_t>(i)) : c.box_colors[i], path, cell, "box_colors"));
  }
  if (c.points.defined()) {
    const at::Tensor& p = c.points;
    FA_CHECK(p.dim() == 2 && p.size(1) == 2 && !p.is_complex() && p.scalar_type() != at::kBool, "save_image_grid ",
             path, ": cell ", cell, " has points of shape ", shape_text(p), " (expected [n,2] x, y)");
    ov.points = p.detach().cpu().to(at::kFloat).contiguous();
    ov.point_color = parse_color(c.point_color.empty() ? std::string("#ff0000") : c.point_color, path, cell, "point_color");
  }
  return ov;
}

// Tints the image rectangle (ix, iy, dw x dh) with the mask's classes (0 transparent).
void draw_mask(cairo_t* cr, const Overlay& ov, double ix, double iy, double dw, double dh) {
  const int mh = static_cast<int>(ov.mask.size(0)), mw = static_cast<int>(ov.mask.size(1));
  SurfacePtr s(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, mw, mh));
  if (cairo_surface_status(s.get()) != CAIRO_STATUS_SUCCESS) return;
  cairo_surface_flush(s.get());
  unsigned char* data = cairo_image_surface_get_data(s.get());
  const int stride = cairo_image_surface_get_stride(s.get());
  const int64_t* m = ov.mask.data_ptr<int64_t>();
  const double a = ov.mask_alpha;
  std::vector<uint32_t> lut;  // premultiplied ARGB per class, built lazily
  auto colour = [&](int64_t k) -> uint32_t {
    if (k <= 0) return 0u;
    const Rgb c = parse_color(overlay_color(k), "", 0);
    auto ch = [&](double v) { return static_cast<uint32_t>(std::lround(v * a * 255.0)); };
    return (static_cast<uint32_t>(std::lround(a * 255.0)) << 24) | (ch(c.r) << 16) | (ch(c.g) << 8) | ch(c.b);
  };
  for (int y = 0; y < mh; ++y) {
    auto* row = reinterpret_cast<uint32_t*>(data + static_cast<ptrdiff_t>(y) * stride);
    for (int x = 0; x < mw; ++x) {
      const int64_t k = m[static_cast<ptrdiff_t>(y) * mw + x];
      if (k > 0 && static_cast<size_t>(k) < 4096) {
        if (lut.size() <= static_cast<size_t>(k)) lut.resize(static_cast<size_t>(k) + 1, 0xffffffffu);
        if (lut[static_cast<size_t>(k)] == 0xffffffffu) lut[static_cast<size_t>(k)] = colour(k);
        row[x] = lut[static_cast<size_t>(k)];
      } else {
        row[x] = k > 0 ? colour(k) : 0u;
      }
    }
  }
  cairo_surface_mark_dirty(s.get());
  cairo_save(cr);
  cairo_translate(cr, ix, iy);
  cairo_scale(cr, dw / mw, dh / mh);
  cairo_set_source_surface(cr, s.get(), 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_rectangle(cr, 0, 0, mw, mh);
  cairo_fill(cr);
  cairo_restore(cr);
}

// Boxes and their label tags, then points, over the image drawn at (ix, iy) with `scale`.
void draw_shapes(cairo_t* cr, const Overlay& ov, double ix, double iy, double scale, double dw, double dh, double font) {
  cairo_save(cr);
  cairo_rectangle(cr, ix, iy, dw, dh);  // overlays stay on their image
  cairo_clip(cr);
  if (ov.boxes.defined()) {
    const float* b = ov.boxes.data_ptr<float>();
    const int64_t n = ov.boxes.size(0);
    // Corners on whole pixels: the 2 px colour line then covers two full pixel rows / columns.
    auto px = [&](float v, double o, double lim) { return std::clamp(std::round(o + v * scale), o, o + lim); };
    std::vector<std::array<double, 4>> r;
    for (int64_t i = 0; i < n; ++i)
      r.push_back({px(b[i * 4], ix, dw), px(b[i * 4 + 1], iy, dh), px(b[i * 4 + 2], ix, dw), px(b[i * 4 + 3], iy, dh)});
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t i = 0; i < n; ++i) {
        const auto& q = r[static_cast<size_t>(i)];
        cairo_rectangle(cr, q[0], q[1], q[2] - q[0], q[3] - q[1]);
        const Rgb& c = ov.box_colors[static_cast<size_t>(i)];
        if (pass == 0) cairo_set_source_rgb(cr, 0, 0, 0);
        else cairo_set_source_rgb(cr, c.r, c.g, c.b);
        cairo_set_line_width(cr, pass == 0 ? 4.0 : 2.0);
        cairo_stroke(cr);
      }
    cairo_set_font_size(cr, font);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    for (int64_t i = 0; i < n; ++i) {
      if (ov.labels.empty() || ov.labels[static_cast<size_t>(i)].empty()) continue;
      const auto& q = r[static_cast<size_t>(i)];
      const Rgb& c = ov.box_colors[static_cast<size_t>(i)];
      const std::string t = fit_text(cr, ov.labels[static_cast<size_t>(i)], std::max(dw - 2.0, 8.0));
      const double tw = text_width(cr, t) + 4, th = std::ceil(fe.ascent + fe.descent) + 1;
      // The tag sits on the box's top edge, outside (so it hides none of the object), or inside
      // the top-left corner when there is no room above; moved left to stay on the image.
      const double tx = std::max(ix, std::min(q[0] - 1, ix + dw - tw));
      const double ty = q[1] - 1 - th >= iy ? q[1] - 1 - th : std::min(q[1] + 1, iy + dh - th);
      cairo_rectangle(cr, tx, ty, tw, th);
      cairo_set_source_rgb(cr, c.r, c.g, c.b);
      cairo_fill(cr);
      const double lum = 0.299 * c.r + 0.587 * c.g + 0.114 * c.b;
      if (lum > 0.55) cairo_set_source_rgb(cr, 0, 0, 0);
      else cairo_set_source_rgb(cr, 1, 1, 1);
      cairo_move_to(cr, tx + 2, ty + fe.ascent + 0.5);
      cairo_show_text(cr, t.c_str());
    }
  }
  if (ov.points.defined()) {
    const float* p = ov.points.data_ptr<float>();
    const double rad = std::max(2.0, std::min(dw, dh) / 40.0);
    for (int64_t i = 0; i < ov.points.size(0); ++i) {
      cairo_new_path(cr);
      cairo_arc(cr, ix + p[i * 2] * scale, iy + p[i * 2 + 1] * scale, rad, 0, 2 * std::acos(-1.0));
      cairo_set_source_rgb(cr, ov.point_color.r, ov.point_color.g, ov.point_color.b);
      cairo_fill_preserve(cr);
      cairo_set_source_rgb(cr, 0, 0, 0);
      cairo_set_line_width(cr, 1.0);
      cairo_stroke(cr);
    }
  }
  cairo_restore(cr);
}

struct Layout {
  int ncols = 1, nrows = 1, cell = 128, pad = 8;
  double font = 12, line_h = 16, band = 0, fig_font = 16, top = 0;
  int width = 0, height = 0;
};

Layout layout(size_t n, const std::vector<std::vector<std::string>>& titles, const GridOptions& o) {
  Layout L;
  L.cell = o.cell_px;
  L.ncols = o.ncols > 0 ? std::min<int>(o.ncols, static_cast<int>(n))
                        : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n)) - 1e-9));
  L.ncols = std::max(1, L.ncols);
  L.nrows = static_cast<int>((n + static_cast<size_t>(L.ncols) - 1) / static_cast<size_t>(L.ncols));
  L.pad = std::max(4, L.cell / 16);
  L.font = std::clamp(L.cell / 10.0, 9.0, 14.0);
  L.line_h = std::ceil(L.font * 1.3);
  size_t lines = 0;
  for (const auto& t : titles) lines = std::max(lines, t.size());
  L.band = lines ? static_cast<double>(lines) * L.line_h + L.pad / 2.0 : 0.0;
  L.fig_font = L.font * 1.35;
  L.top = o.title.empty() ? 0.0 : std::ceil(L.fig_font * 1.6);
  L.width = L.ncols * (L.cell + L.pad) + L.pad;
  L.height = static_cast<int>(std::ceil(L.top + L.nrows * (L.band + L.cell + L.pad) + L.pad));
  return L;
}

void draw_centered(cairo_t* cr, const std::string& s, double cx, double baseline) {
  const double w = text_width(cr, s);
  cairo_move_to(cr, cx - w / 2, baseline);
  cairo_show_text(cr, s.c_str());
}

void render(cairo_t* cr, const Layout& L, const std::vector<at::Tensor>& imgs,
            const std::vector<std::vector<std::string>>& titles, const std::vector<Rgb>& colors,
            const std::vector<Overlay>& overlays, const GridOptions& o) {
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  if (!o.title.empty()) {
    cairo_set_font_size(cr, L.fig_font);
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_centered(cr, fit_text(cr, o.title, L.width - 2.0 * L.pad), L.width / 2.0, L.top - L.fig_font * 0.45);
  }
  cairo_set_font_size(cr, L.font);
  for (size_t i = 0; i < imgs.size(); ++i) {
    const int r = static_cast<int>(i) / L.ncols, c = static_cast<int>(i) % L.ncols;
    const double x0 = L.pad + c * (L.cell + L.pad);
    const double y0 = L.top + L.pad + r * (L.band + L.cell + L.pad);
    // The image, scaled to fit the cell (aspect kept) and centred in it.
    SurfacePtr s = image_surface(imgs[i]);
    const double h = static_cast<double>(imgs[i].size(0)), w = static_cast<double>(imgs[i].size(1));
    const double scale = std::min(L.cell / w, L.cell / h);
    const double dw = w * scale, dh = h * scale;
    const double ix = std::round(x0 + (L.cell - dw) / 2), iy = std::round(y0 + L.band + (L.cell - dh) / 2);
    // Title lines right above the image (as matplotlib titles a wide image's shorter axes).
    const auto& lines = titles[i];
    cairo_set_source_rgb(cr, colors[i].r, colors[i].g, colors[i].b);
    for (size_t k = 0; k < lines.size(); ++k) {
      const double baseline = iy - L.pad / 2.0 - static_cast<double>(lines.size() - 1 - k) * L.line_h - L.line_h * 0.25;
      draw_centered(cr, fit_text(cr, lines[k], L.cell), x0 + L.cell / 2.0, baseline);
    }
    cairo_save(cr);
    cairo_translate(cr, ix, iy);
    cairo_scale(cr, scale, scale);
    cairo_set_source_surface(cr, s.get(), 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), scale >= 1.0 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
    cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
    cairo_rectangle(cr, 0, 0, w, h);
    cairo_fill(cr);
    cairo_restore(cr);
    const Overlay& ov = overlays[i];
    if (ov.mask.defined()) draw_mask(cr, ov, ix, iy, dw, dh);
    if (ov.boxes.defined() || ov.points.defined()) draw_shapes(cr, ov, ix, iy, scale, dw, dh, std::max(8.0, L.font * 0.75));
    cairo_set_font_size(cr, L.font);
  }
}


}  // namespace image_grid_detail

void save_image_grid(const std::string& path, const std::vector<GridCell>& cells, const GridOptions& o) {
  namespace ig = image_grid_detail;
  cairo_file::check_ext(path, "save_image_grid");
  FA_CHECK(!cells.empty(), "save_image_grid ", path, ": no cells (expected at least one image)");
  FA_CHECK(o.ncols >= 0, "save_image_grid ", path, ": ncols = ", o.ncols, " (expected 0 for automatic, or > 0)");
  FA_CHECK(o.cell_px >= 8 && o.cell_px <= 4096, "save_image_grid ", path, ": cell_px = ", o.cell_px,
           " (expected 8..4096)");
  std::vector<at::Tensor> imgs;
  std::vector<std::vector<std::string>> titles;
  std::vector<ig::Rgb> colors;
  std::vector<ig::Overlay> overlays;
  for (size_t i = 0; i < cells.size(); ++i) {
    imgs.push_back(ig::to_hwc_u8(cells[i].image, path, i));
    overlays.push_back(ig::prepare_overlay(cells[i], path, i));
    titles.push_back(ig::split_lines(cells[i].title));
    colors.push_back(ig::parse_color(cells[i].title_color, path, i));
  }
  const ig::Layout L = ig::layout(cells.size(), titles, o);
  FA_CHECK(L.width <= 32767 && L.height <= 32767, "save_image_grid ", path, ": the grid would be ", L.width, "x",
           L.height, " pixels (at most 32767 each); use a smaller cell_px or fewer cells");

  cairo_file::write(path, L.width, L.height, "save_image_grid",
                    [&](cairo_t* cr) { ig::render(cr, L, imgs, titles, colors, overlays, o); });
}

}  // namespace fastai
