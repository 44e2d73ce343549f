// Getters and labellers of fastai.data.transforms: get_files & co, parent_label, RegexLabeller (ColReader is in io/col_reader.h).
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

}  // namespace fastai
