#include "fastai/plot/plot.h"

#include "cairo_file.h"

#include "fastai/core/error.h"
#include "fastai/core/files.h"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <numbers>
#include <string>
#include <tuple>
#include <vector>

namespace fastai {

namespace plot_detail {

struct Rgb {
  double r = 0, g = 0, b = 0;
};

// matplotlib's default ("tab10") colour cycle, so plots look like fastai's.
constexpr std::array<Rgb, 10> kCycle = {{
    {0x1f / 255., 0x77 / 255., 0xb4 / 255.}, {0xff / 255., 0x7f / 255., 0x0e / 255.},
    {0x2c / 255., 0xa0 / 255., 0x2c / 255.}, {0xd6 / 255., 0x27 / 255., 0x28 / 255.},
    {0x94 / 255., 0x67 / 255., 0xbd / 255.}, {0x8c / 255., 0x56 / 255., 0x4b / 255.},
    {0xe3 / 255., 0x77 / 255., 0xc2 / 255.}, {0x7f / 255., 0x7f / 255., 0x7f / 255.},
    {0xbc / 255., 0xbd / 255., 0x22 / 255.}, {0x17 / 255., 0xbe / 255., 0xcf / 255.},
}};

constexpr const char* kFont = "sans-serif";
constexpr double kTickFont = 12, kLabelFont = 13.5, kTitleFont = 15, kLegendFont = 12;
constexpr double kTickLen = 5, kPad = 6;


std::string series_name(const Series& s, size_t i) {
  // Appended piecewise: GCC 12 warns (-Wrestrict, falsely) on "#" + std::to_string(i).
  std::string out(1, s.label.empty() ? '#' : '\'');
  out += s.label.empty() ? std::to_string(i) : s.label;
  if (!s.label.empty()) out += '\'';
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Rgb parse_color(const std::string& c, const std::string& path, const std::string& series) {
  const bool long_form = c.size() == 7, short_form = c.size() == 4;
  bool ok = (long_form || short_form) && c[0] == '#';
  for (size_t i = 1; ok && i < c.size(); ++i) ok = hex_digit(c[i]) >= 0;
  FA_CHECK(ok, "plot ", path, ": series ", series, " has colour '", c, "' (expected \"#rrggbb\" or \"#rgb\")");
  if (short_form) return {hex_digit(c[1]) / 15., hex_digit(c[2]) / 15., hex_digit(c[3]) / 15.};
  auto byte = [&](size_t i) { return (hex_digit(c[i]) * 16 + hex_digit(c[i + 1])) / 255.; };
  return {byte(1), byte(3), byte(5)};
}


// ---- ticks ----------------------------------------------------------------------------------

struct Tick {
  double v;           // position in axis space (log10 of the value on a log axis)
  std::string label;  // "" = minor tick (mark only)
};

// Drops a trailing ".0", "0" run from a mantissa: "2.50e-04" -> "2.5e-4".
std::string tidy_sci(const char* s) {
  std::string str(s);
  auto e = str.find('e');
  if (e == std::string::npos) return str;
  std::string mant = str.substr(0, e), ex = str.substr(e + 1);
  if (mant.find('.') != std::string::npos) {
    while (!mant.empty() && mant.back() == '0') mant.pop_back();
    if (!mant.empty() && mant.back() == '.') mant.pop_back();
  }
  int exv = std::stoi(ex);
  return mant + "e" + std::to_string(exv);
}

std::string fmt_linear(double v, double step, double maxabs) {
  if (v == 0) return "0";
  const double e_step = std::floor(std::log10(step));
  const double mant_step = step / std::pow(10, e_step);
  const int extra = std::abs(mant_step - 2.5) < 1e-6 ? 1 : 0;  // 0.25-style steps need a digit more
  char buf[64];
  if (maxabs >= 1e5 || maxabs < 1e-2) {
    const int digits = std::max(0, static_cast<int>(std::floor(std::log10(std::abs(v))) - e_step) + extra);
    std::snprintf(buf, sizeof buf, "%.*e", digits, v);
    return tidy_sci(buf);
  }
  const int decimals = std::max(0, static_cast<int>(-e_step) + extra);
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// About `target` ticks at 1, 2, 2.5 or 5 times a power of ten, inside [lo, hi].
std::vector<Tick> linear_ticks(double lo, double hi, double target) {
  target = std::max(target, 2.0);
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  // The nice step nearest the raw one (on a log scale), so the count stays near the target.
  double step = mag;
  for (double m : {2.0, 2.5, 5.0, 10.0})
    if (std::abs(std::log(m * mag / raw)) < std::abs(std::log(step / raw))) step = m * mag;
  const double maxabs = std::max(std::abs(lo), std::abs(hi));
  std::vector<Tick> out;
  const double first = std::ceil(lo / step - 1e-9);
  for (int i = 0; i < 1000; ++i) {
    double v = (first + i) * step;
    if (v > hi + step * 1e-9) break;
    if (std::abs(v) < step * 1e-9) v = 0;
    out.push_back({v, fmt_linear(v, step, maxabs)});
  }
  return out;
}

// "2e-5" style; `plain` writes ordinary decimals instead (0.5, 1, 20) for axes that stay
// within 0.01..1000, where they read more easily.
std::string fmt_log(int mant, int exp10, bool plain) {
  if (!plain) return std::to_string(mant) + "e" + std::to_string(exp10);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", std::max(0, -exp10), mant * std::pow(10.0, exp10));
  return buf;
}

// Axis space is log10(value). Labelled ticks at powers of ten (every k-th decade when there are
// many); unlabelled minor marks at 2..9 times them. Under about a decade, 2x and 5x (or every
// multiple) are labelled too, so an axis never has fewer than two labels.
std::vector<Tick> log_ticks(double lo, double hi, double target) {
  target = std::max(target, 2.0);
  std::vector<Tick> out;
  const int k0 = static_cast<int>(std::floor(lo)), k1 = static_cast<int>(std::ceil(hi));
  const double eps = 1e-9;
  auto inside = [&](double v) { return v >= lo - eps && v <= hi + eps; };
  const bool plain = lo >= -2 - eps && hi <= 3 + eps;
  int n_pow = 0;
  for (int k = k0; k <= k1; ++k) n_pow += inside(k);
  if (n_pow >= 2) {
    const int every = std::max(1, static_cast<int>(std::ceil(n_pow / target)));
    const bool minors = (hi - lo) <= 12;
    for (int k = k0; k <= k1; ++k) {
      if (inside(k) && ((k % every) + every) % every == 0) out.push_back({double(k), fmt_log(1, k, plain)});
      else if (inside(k)) out.push_back({double(k), ""});
      if (minors)
        for (int m = 2; m <= 9; ++m) {
          const double v = k + std::log10(double(m));
          if (inside(v)) out.push_back({v, ""});
        }
    }
    return out;
  }
  for (const auto& mults : {std::vector<int>{1, 2, 5}, std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9}}) {
    out.clear();
    int labelled = 0;
    for (int k = k0 - 1; k <= k1; ++k)
      for (int m = 1; m <= 9; ++m) {
        const double v = k + std::log10(double(m));
        if (!inside(v)) continue;
        const bool lab = std::find(mults.begin(), mults.end(), m) != mults.end();
        out.push_back({v, lab ? fmt_log(m, k, plain) : ""});
        labelled += lab;
      }
    if (labelled >= 2) return out;
  }
  // Less than one step between multiples: plain numbers on the log axis.
  auto lin = linear_ticks(std::pow(10, lo), std::pow(10, hi), target);
  for (auto& t : lin) t.v = std::log10(t.v);
  return lin;
}

// ---- data -----------------------------------------------------------------------------------

struct Pt {
  double x, y;  // axis space
};

// A series in axis space, as runs of consecutive plottable points (a line breaks between runs).
struct Prepared {
  std::vector<std::vector<Pt>> runs;
  Rgb color;
  bool markers;
  std::string label;
};

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) { lo = std::min(lo, v); hi = std::max(hi, v); }
  bool empty() const { return !(lo <= hi); }
};

// Widens a range that is a single value, then adds `margin` of its width on each side.
void pad_range(double& lo, double& hi, double margin, bool log_axis) {
  if (hi - lo <= 0) {
    const double half = log_axis ? 0.5 : (lo == 0 ? 1.0 : std::abs(lo) * 0.1);
    lo -= half;
    hi += half;
    return;
  }
  const double d = (hi - lo) * margin;
  lo -= d;
  hi += d;
}

// ---- drawing --------------------------------------------------------------------------------

struct Axis {
  double lo, hi;    // axis space
  double p0, p1;    // pixels of lo and hi
  double px(double v) const { return p0 + (v - lo) / (hi - lo) * (p1 - p0); }
};

void set_rgb(cairo_t* cr, const Rgb& c, double alpha = 1) { cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha); }

void set_font(cairo_t* cr, double size, bool bold = false) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double text_width(cairo_t* cr, const std::string& s) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  return e.x_advance;
}

// Font ascent / descent of the current font (stable whatever the string, so baselines line up).
std::pair<double, double> font_metrics(cairo_t* cr) {
  cairo_font_extents_t fe;
  cairo_font_extents(cr, &fe);
  return {fe.ascent, fe.descent};
}

// Draws `s` with its horizontal anchor at x (0 left, 0.5 centre, 1 right) and its vertical
// anchor at y (0 top of ascent, 0.5 middle of the capitals, 1 bottom of descent).
void draw_text(cairo_t* cr, const std::string& s, double x, double y, double hx, double vy) {
  if (s.empty()) return;
  auto [asc, desc] = font_metrics(cr);
  const double w = text_width(cr, s);
  double base;
  if (vy == 0.5) base = y + asc * 0.36;  // about half the cap height below the middle
  else base = y + asc - vy * (asc + desc);
  cairo_move_to(cr, x - hx * w, base);
  cairo_show_text(cr, s.c_str());
}

double snap(double v) { return std::floor(v) + 0.5; }  // crisp 1-px lines

void draw_series(cairo_t* cr, const Prepared& s, const Axis& ax, const Axis& ay) {
  set_rgb(cr, s.color);
  if (s.markers) {
    for (auto& run : s.runs)
      for (auto& p : run) {
        cairo_new_sub_path(cr);
        cairo_arc(cr, ax.px(p.x), ay.px(p.y), 3.5, 0, 2 * std::numbers::pi);
      }
    cairo_fill(cr);
    return;
  }
  cairo_set_line_width(cr, 2.0);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  for (auto& run : s.runs) {
    if (run.size() == 1) {  // an isolated point of a line still shows
      cairo_new_sub_path(cr);
      cairo_arc(cr, ax.px(run[0].x), ay.px(run[0].y), 2.5, 0, 2 * std::numbers::pi);
      cairo_fill(cr);
      continue;
    }
    cairo_move_to(cr, ax.px(run[0].x), ay.px(run[0].y));
    for (size_t i = 1; i < run.size(); ++i) cairo_line_to(cr, ax.px(run[i].x), ay.px(run[i].y));
    cairo_stroke(cr);
  }
}

// The legend goes in the plot corner where it hides the fewest data points (matplotlib's "best").
void draw_legend(cairo_t* cr, const std::vector<Prepared>& ps, const Axis& ax, const Axis& ay) {
  std::vector<const Prepared*> items;
  for (auto& p : ps) if (!p.label.empty()) items.push_back(&p);
  if (items.empty()) return;
  set_font(cr, kLegendFont);
  auto [asc, desc] = font_metrics(cr);
  const double row = asc + desc + 5, sample = 26, gap = 8, inner = 8;
  double tw = 0;
  for (auto* p : items) tw = std::max(tw, text_width(cr, p->label));
  const double w = inner + sample + gap + tw + inner, h = inner + row * items.size() - 5 + inner;
  const double left = std::min(ax.p0, ax.p1), right = std::max(ax.p0, ax.p1);
  const double top = std::min(ay.p0, ay.p1), bottom = std::max(ay.p0, ay.p1);
  const double m = 10;
  const std::array<std::pair<double, double>, 4> corners = {{
      {right - m - w, top + m}, {left + m, top + m}, {right - m - w, bottom - m - h}, {left + m, bottom - m - h}}};
  size_t best = 0;
  long best_hits = std::numeric_limits<long>::max();
  for (size_t c = 0; c < corners.size(); ++c) {
    auto [x0, y0] = corners[c];
    long hits = 0;
    for (auto& p : ps)
      for (auto& run : p.runs)
        for (size_t i = 0; i < run.size(); ++i) {
          // Sample along each segment so a line crossing the box counts even between points.
          const Pt a = run[i], b = i + 1 < run.size() ? run[i + 1] : run[i];
          const int steps = (i + 1 < run.size()) ? 4 : 1;
          for (int k = 0; k < steps; ++k) {
            const double t = double(k) / steps;
            const double x = ax.px(a.x + t * (b.x - a.x)), y = ay.px(a.y + t * (b.y - a.y));
            hits += (x >= x0 - 4 && x <= x0 + w + 4 && y >= y0 - 4 && y <= y0 + h + 4);
          }
        }
    if (hits < best_hits) { best_hits = hits; best = c; }
  }
  auto [x0, y0] = corners[best];
  const double r = 4;
  cairo_new_sub_path(cr);
  cairo_arc(cr, x0 + w - r, y0 + r, r, -std::numbers::pi / 2, 0);
  cairo_arc(cr, x0 + w - r, y0 + h - r, r, 0, std::numbers::pi / 2);
  cairo_arc(cr, x0 + r, y0 + h - r, r, std::numbers::pi / 2, std::numbers::pi);
  cairo_arc(cr, x0 + r, y0 + r, r, std::numbers::pi, 3 * std::numbers::pi / 2);
  cairo_close_path(cr);
  cairo_set_source_rgba(cr, 1, 1, 1, 0.88);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
  cairo_set_line_width(cr, 1);
  cairo_stroke(cr);
  for (size_t i = 0; i < items.size(); ++i) {
    const double cy = y0 + inner + row * i + (asc + desc) / 2;
    set_rgb(cr, items[i]->color);
    if (items[i]->markers) {
      cairo_arc(cr, x0 + inner + sample / 2, cy, 3.5, 0, 2 * std::numbers::pi);
      cairo_fill(cr);
    } else {
      cairo_set_line_width(cr, 2.0);
      cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
      cairo_move_to(cr, x0 + inner + 2, cy);
      cairo_line_to(cr, x0 + inner + sample - 2, cy);
      cairo_stroke(cr);
    }
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    draw_text(cr, items[i]->label, x0 + inner + sample + gap, cy, 0, 0.5);
  }
}

struct Layout {
  double left, right, top, bottom;  // plot-area edges in pixels
  std::vector<Tick> xt, yt;
};

// Picks margins and ticks together: the left margin depends on the y labels, whose count
// depends on the plot height; the x tick count on the widest x label.
Layout layout(cairo_t* cr, const PlotOptions& o, double xlo, double xhi, double ylo, double yhi) {
  Layout L;
  const double W = o.width, H = o.height;
  set_font(cr, kTickFont);
  auto [tasc, tdesc] = font_metrics(cr);
  set_font(cr, kLabelFont);
  auto [lasc, ldesc] = font_metrics(cr);
  set_font(cr, kTitleFont, true);
  auto [hasc, hdesc] = font_metrics(cr);

  L.top = o.title.empty() ? 14 : 12 + hasc + hdesc + 10;
  L.bottom = H - (10 + kTickLen + 3 + tasc + tdesc + (o.xlabel.empty() ? 0 : 8 + lasc + ldesc));
  L.right = W - 22;

  auto ticks = [&](bool log_axis, double lo, double hi, double target) {
    return log_axis ? log_ticks(lo, hi, target) : linear_ticks(lo, hi, target);
  };
  set_font(cr, kTickFont);
  L.yt = ticks(o.log_y, ylo, yhi, (L.bottom - L.top) / 50);
  double ylab_w = 0;
  for (auto& t : L.yt) ylab_w = std::max(ylab_w, text_width(cr, t.label));
  L.left = 12 + (o.ylabel.empty() ? 0 : lasc + ldesc + 10) + ylab_w + kTickLen + 4;

  const double pw = L.right - L.left;
  double target = pw / (o.log_x ? 60 : 95);  // decade labels are short and evenly spread
  for (int tries = 0; tries < 8; ++tries) {
    L.xt = ticks(o.log_x, xlo, xhi, target);
    double widest = 0;
    int labelled = 0;
    for (auto& t : L.xt) if (!t.label.empty()) { widest = std::max(widest, text_width(cr, t.label)); ++labelled; }
    // Labels need their width plus a gap between neighbours.
    if (labelled < 3 || pw / std::max(1, labelled) >= widest + 14) break;
    target = std::max(2.0, labelled * 0.7);
  }
  return L;
}

void render(cairo_t* cr, const std::vector<Prepared>& ps, const PlotOptions& o, double xlo, double xhi, double ylo,
            double yhi) {
  const Rgb text{0.15, 0.15, 0.15}, tick_text{0.25, 0.25, 0.25};
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);

  Layout L = layout(cr, o, xlo, xhi, ylo, yhi);
  const Axis ax{xlo, xhi, L.left, L.right}, ay{ylo, yhi, L.bottom, L.top};

  // Grid at labelled ticks (and faintly at a log axis's minor ones).
  cairo_set_line_width(cr, 1);
  // Minor log grid only over a few decades; beyond that it turns into a grey wash.
  const bool minor_x = o.log_x && xhi - xlo <= 3, minor_y = o.log_y && yhi - ylo <= 3;
  for (auto& t : L.xt) {
    if (t.label.empty() && !minor_x) continue;
    cairo_set_source_rgba(cr, 0, 0, 0, t.label.empty() ? 0.04 : 0.11);
    const double x = snap(ax.px(t.v));
    cairo_move_to(cr, x, L.top);
    cairo_line_to(cr, x, L.bottom);
    cairo_stroke(cr);
  }
  for (auto& t : L.yt) {
    if (t.label.empty() && !minor_y) continue;
    cairo_set_source_rgba(cr, 0, 0, 0, t.label.empty() ? 0.04 : 0.11);
    const double y = snap(ay.px(t.v));
    cairo_move_to(cr, L.left, y);
    cairo_line_to(cr, L.right, y);
    cairo_stroke(cr);
  }

  // Data, clipped to the plot area.
  cairo_save(cr);
  cairo_rectangle(cr, L.left, L.top, L.right - L.left, L.bottom - L.top);
  cairo_clip(cr);
  for (auto& p : ps) draw_series(cr, p, ax, ay);
  cairo_restore(cr);

  // Frame, ticks and tick labels.
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, snap(L.left), snap(L.top), std::round(L.right - L.left), std::round(L.bottom - L.top));
  cairo_stroke(cr);
  set_font(cr, kTickFont);
  for (auto& t : L.xt) {
    const double x = snap(ax.px(t.v)), len = t.label.empty() ? kTickLen * 0.6 : kTickLen;
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_move_to(cr, x, snap(L.bottom));
    cairo_line_to(cr, x, snap(L.bottom) + len);
    cairo_stroke(cr);
    set_rgb(cr, tick_text);
    draw_text(cr, t.label, ax.px(t.v), L.bottom + kTickLen + 3, 0.5, 0);
  }
  for (auto& t : L.yt) {
    const double y = snap(ay.px(t.v)), len = t.label.empty() ? kTickLen * 0.6 : kTickLen;
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_move_to(cr, snap(L.left), y);
    cairo_line_to(cr, snap(L.left) - len, y);
    cairo_stroke(cr);
    set_rgb(cr, tick_text);
    draw_text(cr, t.label, L.left - kTickLen - 4, ay.px(t.v), 1, 0.5);
  }

  // Axis labels and title.
  set_rgb(cr, text);
  set_font(cr, kLabelFont);
  if (!o.xlabel.empty()) draw_text(cr, o.xlabel, (L.left + L.right) / 2, o.height - 10.0, 0.5, 1);
  if (!o.ylabel.empty()) {
    cairo_save(cr);
    cairo_translate(cr, 12, (L.top + L.bottom) / 2);
    cairo_rotate(cr, -std::numbers::pi / 2);
    draw_text(cr, o.ylabel, 0, 0, 0.5, 0);
    cairo_restore(cr);
  }
  if (!o.title.empty()) {
    set_font(cr, kTitleFont, true);
    draw_text(cr, o.title, (L.left + L.right) / 2, 12, 0.5, 0);
  }

  draw_legend(cr, ps, ax, ay);
}

}  // namespace plot_detail

void plot_lines(const std::string& path, const std::vector<Series>& series, const PlotOptions& o) {
  namespace pd = plot_detail;
  cairo_file::check_ext(path, "plot");
  FA_CHECK(o.width >= 120 && o.height >= 100 && o.width <= 16384 && o.height <= 16384, "plot ", path, ": size ",
           o.width, "x", o.height, " (expected 120..16384 x 100..16384 pixels)");

  // Axis space: values, or log10 of them on a log axis (non-positive values are skipped there).
  auto tx = [&](double v, bool log_axis, bool& ok) {
    ok = std::isfinite(v) && (!log_axis || v > 0);
    return ok ? (log_axis ? std::log10(v) : v) : 0.0;
  };
  std::vector<pd::Prepared> ps;
  pd::Range xr, yr;
  size_t cycle = 0;
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    FA_CHECK(s.xs.size() == s.ys.size(), "plot ", path, ": series ", pd::series_name(s, i), " has ", s.xs.size(),
             " xs but ", s.ys.size(), " ys (expected the same length)");
    pd::Prepared p;
    p.color = s.color.empty() ? pd::kCycle[cycle++ % pd::kCycle.size()] : pd::parse_color(s.color, path, pd::series_name(s, i));
    p.markers = s.markers;
    p.label = s.label;
    std::vector<pd::Pt> run;
    for (size_t j = 0; j < s.xs.size(); ++j) {
      bool okx, oky;
      const double x = tx(s.xs[j], o.log_x, okx), y = tx(s.ys[j], o.log_y, oky);
      if (!(okx && oky)) {
        if (!run.empty()) p.runs.push_back(std::move(run));
        run.clear();
        continue;
      }
      run.push_back({x, y});
      xr.add(x);
      yr.add(y);
    }
    if (!run.empty()) p.runs.push_back(std::move(run));
    ps.push_back(std::move(p));
  }
  FA_CHECK(!xr.empty(), "plot ", path, ": no plottable point in ", series.size(), " series (every point is non-finite",
           (o.log_x || o.log_y) ? ", or non-positive on a log axis)" : ")");

  double xlo = xr.lo, xhi = xr.hi, ylo = yr.lo, yhi = yr.hi;
  pd::pad_range(xlo, xhi, 0.03, o.log_x);
  pd::pad_range(ylo, yhi, 0.06, o.log_y);
  for (auto [lim, dst, name] : {std::tuple{o.ymin, &ylo, "ymin"}, std::tuple{o.ymax, &yhi, "ymax"}}) {
    if (!lim) continue;
    bool ok;
    const double v = tx(*lim, o.log_y, ok);
    FA_CHECK(ok, "plot ", path, ": ", name, " = ", *lim, " cannot be shown", o.log_y ? " on a log axis" : "");
    *dst = v;
  }
  FA_CHECK(std::isfinite(xhi - xlo) && std::isfinite(yhi - ylo), "plot ", path, ": data range [", xr.lo, ", ", xr.hi,
           "] x [", yr.lo, ", ", yr.hi, "] is too wide to draw");
  FA_CHECK(ylo < yhi, "plot ", path, ": y range [", o.ymin ? *o.ymin : ylo, ", ", o.ymax ? *o.ymax : yhi,
           "] is empty (expected ymin < ymax)");

  cairo_file::write(path, o.width, o.height, "plot",
                    [&](cairo_t* cr) { pd::render(cr, ps, o, xlo, xhi, ylo, yhi); });
}

}  // namespace fastai
