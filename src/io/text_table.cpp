// Plain-text tables (show_batch / show_results for data that is not an image).
#include "fastai/io/text_table.h"

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

namespace fastai {
namespace text_table_detail {
// Display width of UTF-8 text: one column per code point.
size_t columns(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace text_table_detail

void save_text_table(std::ostream& os, const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows) {
  auto clean = [](std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
  };
  size_t ncol = header.size();
  for (const auto& r : rows) ncol = std::max(ncol, r.size());
  std::vector<size_t> w(ncol, 0);
  auto cell = [&](const std::vector<std::string>& r, size_t j) { return j < r.size() ? clean(r[j]) : std::string(); };
  for (size_t j = 0; j < ncol; ++j) {
    w[j] = text_table_detail::columns(cell(header, j));
    for (const auto& r : rows) w[j] = std::max(w[j], text_table_detail::columns(cell(r, j)));
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t j = 0; j < ncol; ++j) {
      const std::string c = cell(r, j);
      s += c;
      if (j + 1 < ncol) s.append(w[j] - text_table_detail::columns(c) + 2, ' ');
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
