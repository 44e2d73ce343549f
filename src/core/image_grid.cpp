#include "fastai/core/image_grid.h"

#include "cairo_file.h"

#include "fastai/core/error.h"
#include "fastai/core/files.h"

#include <ATen/ATen.h>
#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
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

Rgb parse_color(const std::string& c, const std::string& path, size_t cell) {
  if (c.empty()) return {};
  const bool long_form = c.size() == 7, short_form = c.size() == 4;
  bool ok = (long_form || short_form) && c[0] == '#';
  for (size_t i = 1; ok && i < c.size(); ++i) ok = hex_digit(c[i]) >= 0;
  FA_CHECK(ok, "save_image_grid ", path, ": cell ", cell, " has title_color ", quote_value(c),
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
            const std::vector<std::vector<std::string>>& titles, const std::vector<Rgb>& colors, const GridOptions& o) {
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
  }
}


// Display width of UTF-8 text: one column per code point.
size_t columns(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
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
  for (size_t i = 0; i < cells.size(); ++i) {
    imgs.push_back(ig::to_hwc_u8(cells[i].image, path, i));
    titles.push_back(ig::split_lines(cells[i].title));
    colors.push_back(ig::parse_color(cells[i].title_color, path, i));
  }
  const ig::Layout L = ig::layout(cells.size(), titles, o);
  FA_CHECK(L.width <= 32767 && L.height <= 32767, "save_image_grid ", path, ": the grid would be ", L.width, "x",
           L.height, " pixels (at most 32767 each); use a smaller cell_px or fewer cells");

  cairo_file::write(path, L.width, L.height, "save_image_grid",
                    [&](cairo_t* cr) { ig::render(cr, L, imgs, titles, colors, o); });
}

void save_text_table(std::ostream& os, const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows) {
  namespace ig = image_grid_detail;
  auto clean = [](std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
  };
  size_t ncol = header.size();
  for (const auto& r : rows) ncol = std::max(ncol, r.size());
  std::vector<size_t> w(ncol, 0);
  auto cell = [&](const std::vector<std::string>& r, size_t j) { return j < r.size() ? clean(r[j]) : std::string(); };
  for (size_t j = 0; j < ncol; ++j) {
    w[j] = ig::columns(cell(header, j));
    for (const auto& r : rows) w[j] = std::max(w[j], ig::columns(cell(r, j)));
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t j = 0; j < ncol; ++j) {
      const std::string c = cell(r, j);
      s += c;
      if (j + 1 < ncol) s.append(w[j] - ig::columns(c) + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    os << s << '\n';
  };
  line(header);
  size_t total = 0;
  for (size_t j = 0; j < ncol; ++j) total += w[j] + (j + 1 < ncol ? 2 : 0);
  os << std::string(total, '-') << '\n';
  for (const auto& r : rows) line(r);
}

}  // namespace fastai
