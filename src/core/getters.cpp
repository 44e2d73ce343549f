// Getters and labellers of fastai.data.transforms: get_files & co, parent_label, RegexLabeller, ColReader.
#include "fastai/core/error.h"
#include "fastai/core/transforms.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <system_error>

namespace fastai {
namespace getters_detail {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

bool hidden(const fs::path& p) {
  auto n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

bool wanted(const fs::path& p, const std::vector<std::string>& exts) {
  if (hidden(p)) return false;
  if (exts.empty()) return true;
  return std::find(exts.begin(), exts.end(), lower(p.extension().string())) != exts.end();
}

void walk(const fs::path& dir, const std::vector<std::string>& exts, bool recurse, std::vector<fs::path>& out) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto& p = it->path();
    if (it->is_directory(ec)) {
      if (recurse && !hidden(p)) walk(p, exts, recurse, out);
    } else if (wanted(p, exts)) {
      out.push_back(p);
    }
  }
  FA_CHECK(!ec, "get_files: cannot list folder ", dir, ": ", ec.message());
}

}  // namespace getters_detail

std::vector<std::filesystem::path> get_files(const std::filesystem::path& path, std::vector<std::string> extensions,
                                             bool recurse, std::vector<std::string> folders) {
  namespace fs = std::filesystem;
  std::error_code ec;
  FA_CHECK(fs::exists(path, ec), "get_files: folder ", path, " does not exist");
  FA_CHECK(fs::is_directory(path, ec), "get_files: ", path, " is not a folder");
  for (auto& e : extensions) {
    e = getters_detail::lower(e);
    if (!e.empty() && e[0] != '.') e.insert(e.begin(), '.');
  }
  std::vector<fs::path> out;
  if (folders.empty()) {
    getters_detail::walk(path, extensions, recurse, out);
  } else {
    // fastai: with `folders`, only those top-level subfolders are searched (files at the top are not).
    for (const auto& f : folders) {
      auto d = path / f;
      if (fs::is_directory(d, ec)) getters_detail::walk(d, extensions, recurse, out);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> e{".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                                          ".ppm", ".pgm", ".pbm", ".ico"};
  return e;
}

std::vector<std::filesystem::path> GetImageFiles::operator()(const std::filesystem::path& path, bool recurse,
                                                             std::vector<std::string> folders) const {
  return get_files(path, image_extensions(), recurse, std::move(folders));
}

std::vector<std::filesystem::path> GetTextFiles::operator()(const std::filesystem::path& path, bool recurse,
                                                            std::vector<std::string> folders) const {
  return get_files(path, {".txt"}, recurse, std::move(folders));
}

std::function<std::vector<std::filesystem::path>(const std::filesystem::path&)> FileGetter(
    std::vector<std::string> extensions, bool recurse, std::vector<std::string> folders) {
  return [extensions = std::move(extensions), recurse, folders = std::move(folders)](const std::filesystem::path& p) {
    return get_files(p, extensions, recurse, folders);
  };
}

std::string parent_label(const std::filesystem::path& p) { return p.parent_path().filename().string(); }

RegexLabeller::RegexLabeller(std::string pattern, bool match) : pattern_(std::move(pattern)), match_(match) {
  try {
    re_ = std::make_shared<const std::regex>(pattern_);
  } catch (const std::regex_error& e) {
    fail("RegexLabeller: invalid pattern ", fastai::quote_value(pattern_, 200), ": ", e.what());
  }
}

std::string RegexLabeller::operator()(const std::filesystem::path& p) const {
  const auto& re = *static_cast<const std::regex*>(re_.get());
  const std::string s = p.string();
  std::smatch m;
  bool ok = match_ ? std::regex_search(s, m, re, std::regex_constants::match_continuous) : std::regex_search(s, m, re);
  FA_CHECK(ok, "RegexLabeller: failed to find pattern ", fastai::quote_value(pattern_, 200), " in ", fastai::quote_value(s, 200));
  FA_CHECK(m.size() > 1, "RegexLabeller: pattern ", fastai::quote_value(pattern_, 200), " has no capture group (the label is group 1)");
  return m[1].str();
}

ColReader::ColReader(std::vector<std::string> cols, ColReaderOptions o) : cols_(std::move(cols)), o_(std::move(o)) {
  FA_CHECK(!cols_.empty(), "ColReader: no column given");
}
ColReader::ColReader(std::string col, ColReaderOptions o) : ColReader(std::vector<std::string>{std::move(col)}, std::move(o)) {}

Item ColReader::read_one(const Column& c, std::size_t row) const {
  const bool plain = o_.pref.empty() && o_.suff.empty() && !o_.label_delim;
  if (plain) {
    switch (c.dtype()) {
      case DType::Int64: return c.ints()[row];
      case DType::Float64: return c.floats()[row];
      case DType::Bool: return c.bools()[row] != 0;
      default: return c.str(row);
    }
  }
  std::string v = c.str(row);
  if (!o_.label_delim) {
    std::string r = o_.pref;
    r += v;
    r += o_.suff;
    return r;
  }
  std::vector<std::string> parts;
  if (v.empty()) return parts;
  const std::string& d = *o_.label_delim;
  FA_CHECK(!d.empty(), "ColReader: label_delim is empty");
  std::size_t start = 0;
  for (auto pos = v.find(d); pos != std::string::npos; pos = v.find(d, start)) {
    parts.push_back(v.substr(start, pos - start));
    start = pos + d.size();
  }
  parts.push_back(v.substr(start));
  return parts;
}

namespace getters_detail {
// TableRow items describe themselves in traces and error messages ("row 3 of a 4454-row table").
const bool table_row_registered = [] {
  register_type_info(typeid(TableRow), "TableRow");
  register_describe<TableRow>([](const TableRow& r) {
    std::string s = "row ";
    s += std::to_string(r.row);
    if (r.table) {
      s += " of a ";
      s += std::to_string(r.table->n_rows());
      s += "-row table";
    }
    return s;
  });
  return true;
}();
}  // namespace getters_detail

std::vector<TableRow> table_rows(const Table& t) {
  auto shared = std::make_shared<const Table>(t);
  std::vector<TableRow> rows;
  rows.reserve(t.n_rows());
  for (std::size_t i = 0; i < t.n_rows(); ++i) rows.push_back(TableRow{shared, i});
  return rows;
}

Item ColReader::operator()(const TableRow& r) const {
  FA_CHECK(r.table != nullptr, "ColReader: the row has no table");
  FA_CHECK(r.row < r.table->n_rows(), "ColReader: row ", r.row, " is outside the table of ", r.table->n_rows(), " rows");
  if (cols_.size() == 1) return read_one((*r.table)[cols_[0]], r.row);
  Tuple t;
  for (const auto& c : cols_) t.push_back(read_one((*r.table)[c], r.row));
  return t;
}

}  // namespace fastai
