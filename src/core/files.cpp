#include "fastai/core/files.h"

#include "fastai/core/error.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <system_error>

namespace fastai {

void atomic_write(const std::filesystem::path& dst, const std::function<void(const std::filesystem::path&)>& write) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (dst.has_parent_path()) {
    fs::create_directories(dst.parent_path(), ec);
    FA_CHECK(!ec, "cannot create folder ", dst.parent_path(), " for ", dst, ": ", ec.message());
  }
  std::random_device rd;
  fs::path tmp = dst;
  tmp += ".tmp" + std::to_string(rd() % 1000000);
  try {
    write(tmp);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  FA_CHECK(fs::exists(tmp), "writing ", dst, " produced no file");
  fs::rename(tmp, dst, ec);
  if (ec) {
    std::error_code ec2;
    fs::remove(tmp, ec2);
    fail("cannot move the new file into place at ", dst, ": ", ec.message());
  }
}

std::string format_time(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  long t = std::lround(seconds);
  long h = t / 3600, m = (t % 3600) / 60, s = t % 60;
  char buf[32];
  if (h > 0) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", h, m, s);
  else std::snprintf(buf, sizeof buf, "%02ld:%02ld", m, s);
  return buf;
}

std::filesystem::path fastai_home() {
  if (const char* h = std::getenv("FASTAI_HOME"); h && *h) return h;
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".fastai-cpp";
  return std::filesystem::current_path() / ".fastai-cpp";
}

}  // namespace fastai
