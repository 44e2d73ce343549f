#include "fastai/plot/heatmap.h"

#include "cairo_file.h"
#include "fastai/core/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace fastai {

namespace heatmap_detail {

double width_of(cairo_t* cr, const std::string& s) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  return e.x_advance;
}

// Cuts `s` with "..." until it fits in `max_w` pixels.
std::string fit(cairo_t* cr, std::string s, double max_w) {
  if (width_of(cr, s) <= max_w) return s;
  while (!s.empty() && width_of(cr, s + "...") > max_w) s.pop_back();
  return s + "...";
}

// Text with its anchor at (x, y): hx 0 left / 0.5 centre / 1 right; y is the baseline.
void text(cairo_t* cr, const std::string& s, double x, double y, double hx) {
  cairo_move_to(cr, x - hx * width_of(cr, s), y);
  cairo_show_text(cr, s.c_str());
}

std::string format(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace heatmap_detail

void plot_heatmap(const std::string& path, const std::vector<std::vector<double>>& m,
                  const std::vector<std::string>& row_labels, const std::vector<std::string>& col_labels,
                  const HeatmapOptions& o) {
  namespace hd = heatmap_detail;
  cairo_file::check_ext(path, "plot_heatmap");
  FA_CHECK(!m.empty() && !m[0].empty(), "plot_heatmap ", path, ": the matrix is empty");
  const size_t rows = m.size(), cols = m[0].size();
  double lo = m[0][0], hi = m[0][0];
  bool whole = true;
  for (size_t i = 0; i < rows; ++i) {
    FA_CHECK(m[i].size() == cols, "plot_heatmap ", path, ": row ", i, " has ", m[i].size(), " values, row 0 has ", cols);
    for (size_t j = 0; j < cols; ++j) {
      FA_CHECK(std::isfinite(m[i][j]), "plot_heatmap ", path, ": value [", i, "][", j, "] is not finite");
      lo = std::min(lo, m[i][j]);
      hi = std::max(hi, m[i][j]);
      whole = whole && m[i][j] == std::round(m[i][j]);
    }
  }
  FA_CHECK(row_labels.size() == rows && col_labels.size() == cols, "plot_heatmap ", path, ": ", row_labels.size(),
           " row labels and ", col_labels.size(), " column labels for a ", rows, "x", cols, " matrix");
  const int decimals = o.decimals >= 0 ? o.decimals : (whole ? 0 : 2);
  const double cell = o.cell_px > 0 ? o.cell_px : std::clamp(560.0 / std::max(rows, cols), 24.0, 80.0);
  const double font = std::clamp(cell * 0.32, 9.0, 16.0), label_w = 130, pad = 12;
  // Column labels wider than a cell are written vertically (matplotlib's rotation=90), up to label_w long.
  double col_w = 0;
  {
    cairo_file::SurfacePtr probe(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1));
    cairo_file::CairoPtr cr(cairo_create(probe.get()));
    cairo_select_font_face(cr.get(), "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr.get(), font);
    for (const auto& l : col_labels) col_w = std::max(col_w, hd::width_of(cr.get(), l));
  }
  const bool vertical = col_w > cell - 2;
  const double col_band = vertical ? std::min(col_w, label_w) + font * 0.8 : font * 2.0;
  const double top = pad + (o.title.empty() ? 0 : font * 2.2);
  const double left = pad + (o.ylabel.empty() ? 0 : font * 1.8) + label_w;
  const double width = left + cols * cell + pad;
  const double height = top + rows * cell + col_band + (o.xlabel.empty() ? 0 : font * 2.0) + pad;
  FA_CHECK(width <= 16384 && height <= 16384, "plot_heatmap ", path, ": the figure would be ", width, "x", height,
           " pixels; use a smaller cell_px");

  cairo_file::write(path, static_cast<int>(std::ceil(width)), static_cast<int>(std::ceil(height)), "plot_heatmap",
                    [&](cairo_t* cr) {
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, font);
    for (size_t i = 0; i < rows; ++i)
      for (size_t j = 0; j < cols; ++j) {
        const double t = hi > lo ? (m[i][j] - lo) / (hi - lo) : 0;  // 0 white .. 1 dark blue (#08306b)
        const double r = 1 - t * (1 - 0.031), g = 1 - t * (1 - 0.188), b = 1 - t * (1 - 0.420);
        const double x = left + j * cell, y = top + i * cell;
        cairo_set_source_rgb(cr, r, g, b);
        cairo_rectangle(cr, x, y, cell, cell);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, t > 0.5 ? 1 : 0, t > 0.5 ? 1 : 0, t > 0.5 ? 1 : 0);
        hd::text(cr, hd::fit(cr, hd::format(m[i][j], decimals), cell - 2), x + cell / 2, y + cell / 2 + font * 0.35, 0.5);
      }
    cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, left + 0.5, top + 0.5, cols * cell - 1, rows * cell - 1);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (size_t i = 0; i < rows; ++i)
      hd::text(cr, hd::fit(cr, row_labels[i], label_w - 6), left - 6, top + i * cell + cell / 2 + font * 0.35, 1);
    for (size_t j = 0; j < cols; ++j) {
      const double cx = left + j * cell + cell / 2, y0 = top + rows * cell;
      if (!vertical) {
        hd::text(cr, hd::fit(cr, col_labels[j], cell - 2), cx, y0 + font * 1.3, 0.5);
        continue;
      }
      cairo_save(cr);  // read bottom to top, ending just below the matrix
      cairo_translate(cr, cx + font * 0.35, y0 + font * 0.4);
      cairo_rotate(cr, -M_PI / 2);
      hd::text(cr, hd::fit(cr, col_labels[j], label_w), 0, 0, 1);
      cairo_restore(cr);
    }
    if (!o.xlabel.empty()) hd::text(cr, o.xlabel, left + cols * cell / 2, top + rows * cell + col_band + font * 1.2, 0.5);
    if (!o.ylabel.empty()) {
      cairo_save(cr);
      cairo_translate(cr, pad + font, top + rows * cell / 2);
      cairo_rotate(cr, -M_PI / 2);
      hd::text(cr, o.ylabel, 0, 0, 0.5);
      cairo_restore(cr);
    }
    if (!o.title.empty()) {
      cairo_set_font_size(cr, font * 1.2);
      hd::text(cr, hd::fit(cr, o.title, width - 2 * pad), width / 2, pad + font * 1.2, 0.5);
    }
  });
}

}  // namespace fastai
