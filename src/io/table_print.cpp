// Printing a Table as pandas does (DataFrame.__repr__): right-aligned columns, an index, floats
// with a common number of decimals, long cells cut, the middle rows elided past max_rows.
#include "fastai/io/table.h"

#include "fastai/core/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace fastai {

namespace table_print_detail {

std::size_t text_width(std::string_view s) {  // UTF-8 code points
  std::size_t w = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++w;
  return w;
}

// A cell as printed: control characters escaped, cut to 50 code points (pandas max_colwidth).
std::string display_cell(std::string_view s) {
  std::string r;
  r.reserve(s.size());
  for (char c : s) {
    if (c == '\n') r += "\\n";
    else if (c == '\r') r += "\\r";
    else if (c == '\t') r += "\\t";
    else r += c;
  }
  if (text_width(r) <= 50) return r;
  std::size_t cps = 0, i = 0;
  for (; i < r.size(); ++i) {
    if ((static_cast<unsigned char>(r[i]) & 0xC0) != 0x80) {
      if (cps == 47) break;
      ++cps;
    }
  }
  r.resize(i);
  r += "...";
  return r;
}

// pandas-like float cells: a common number of decimals (1..6) for the shown rows, or scientific
// notation when a value is tiny or huge.
std::vector<std::string> float_cells(const Column& c, const std::vector<std::size_t>& rows) {
  const auto& v = c.floats();
  bool sci = false;
  int decimals = 1;
  char buf[128];
  for (auto r : rows) {
    double x = v[r];
    if (!std::isfinite(x)) continue;
    double a = std::fabs(x);
    if ((a > 0 && a < 1e-6) || a >= 1e16) sci = true;
  }
  if (!sci) {
    for (auto r : rows) {
      if (!std::isfinite(v[r])) continue;
      int len = std::snprintf(buf, sizeof buf, "%.6f", v[r]);
      int dot = static_cast<int>(std::string_view(buf, static_cast<std::size_t>(len)).find('.'));
      int last = len - 1;
      while (last > dot && buf[last] == '0') --last;
      decimals = std::max(decimals, last - dot);
    }
  }
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (auto r : rows) {
    double x = v[r];
    if (std::isnan(x)) out.emplace_back("NaN");
    else if (std::isinf(x)) out.emplace_back(x > 0 ? "inf" : "-inf");
    else {
      int len = sci ? std::snprintf(buf, sizeof buf, "%.6e", x) : std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
      out.emplace_back(buf, static_cast<std::size_t>(len));
    }
  }
  return out;
}

}  // namespace table_print_detail

std::string Table::to_string(std::size_t max_rows) const {
  using namespace table_print_detail;
  if (columns_.empty() || n_rows_ == 0) {
    std::string s = "Empty Table\nColumns: [";
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      if (i) s += ", ";
      s += columns_[i].name();
    }
    s += "]\nIndex: []";
    return s;
  }
  const bool cut = max_rows > 0 && n_rows_ > max_rows;
  const std::size_t top = cut ? (max_rows + 1) / 2 : n_rows_, bottom = cut ? max_rows / 2 : 0;
  std::vector<std::size_t> rows;
  for (std::size_t r = 0; r < top; ++r) rows.push_back(r);
  for (std::size_t r = n_rows_ - bottom; r < n_rows_; ++r) rows.push_back(r);

  // cells[c][k]: column c's text for the k-th shown row ("..." inserted after the top part).
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> index;
  for (auto r : rows) index.push_back(std::to_string(r));
  for (const auto& col : columns_) {
    std::vector<std::string> cs;
    if (col.dtype() == DType::Float64) cs = float_cells(col, rows);
    else
      for (auto r : rows) cs.push_back(col.is_na(r) ? std::string("NaN") : display_cell(col.str(r)));
    cells.push_back(std::move(cs));
  }
  if (cut) {
    index.insert(index.begin() + static_cast<std::ptrdiff_t>(top), "...");
    for (auto& cs : cells) cs.insert(cs.begin() + static_cast<std::ptrdiff_t>(top), "...");
  }
  std::size_t index_w = 0;
  for (const auto& s : index) index_w = std::max(index_w, text_width(s));
  std::vector<std::string> headers;
  std::vector<std::size_t> widths;
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    headers.push_back(display_cell(columns_[c].name()));
    std::size_t w = text_width(headers.back());
    for (const auto& s : cells[c]) w = std::max(w, text_width(s));
    widths.push_back(w);
  }
  auto pad_left = [](std::string& out, std::string_view s, std::size_t w) {
    out.append(w - std::min(w, text_width(s)), ' ');
    out += s;
  };
  std::string out(index_w, ' ');
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    out += "  ";
    pad_left(out, headers[c], widths[c]);
  }
  for (std::size_t k = 0; k < index.size(); ++k) {
    out += '\n';
    out += index[k];
    out.append(index_w - text_width(index[k]), ' ');
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      out += "  ";
      pad_left(out, cells[c][k], widths[c]);
    }
  }
  if (cut) out += detail::cat("\n\n[", n_rows_, " rows x ", columns_.size(), " columns]");
  return out;
}

std::ostream& operator<<(std::ostream& os, const Table& t) { return os << t.to_string(); }

}  // namespace fastai
