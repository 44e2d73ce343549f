// fastai::Error: the one exception type for bad input. Messages say what was expected,
// what was found and where (file, row, column, item index, tensor shape).
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace fastai {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

/// A value as error messages show it: in single quotes, cut to `max` characters ("'abc...'").
inline std::string quote_value(std::string_view s, size_t max = 40) {
  std::string r = "'";
  if (s.size() > max) {
    r += s.substr(0, max > 3 ? max - 3 : 0);
    r += "...";
  } else {
    r += s;
  }
  r += "'";
  return r;
}

/// Throws fastai::Error with the arguments streamed together.
template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(detail::cat("fastai: ", std::forward<Args>(args)...));
}

}  // namespace fastai

/// FA_CHECK(cond, "expected ", x, " got ", y): a user-input check (never compiled out).
#define FA_CHECK(cond, ...)                  \
  do {                                       \
    if (!(cond)) ::fastai::fail(__VA_ARGS__); \
  } while (0)
