// The Table type: typed Columns (int64 / float64 / bool / string / category, each with a missing
// mask), their conversions and selections; printing is in table_print.cpp.
#include "fastai/io/table.h"

#include "fastai/core/compat.h"
#include "fastai/core/error.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/stack.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <ostream>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

namespace fastai {

namespace table_detail {

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A leading '+' (which from_chars refuses) is dropped when a digit, '.' or letter follows.
std::string_view strip_plus(std::string_view s) {
  if (s.size() > 1 && s.front() == '+' && s[1] != '+' && s[1] != '-') s.remove_prefix(1);
  return s;
}

// Shortest text that reads back to the same double; whole numbers get ".0" so that they read
// back as Float64, not Int64.
std::string format_double(double v) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  if (std::isfinite(v) && s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

inline std::string shown(std::string_view s) { return quote_value(s); }

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  std::iota(prev.begin(), prev.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "no column 'x' (did you mean 'y'?); columns: 'a', 'b', ..." (at most 30 listed).
std::string missing_column_message(std::string_view want, const std::vector<Column>& cols) {
  std::string msg = "no column ";
  msg += shown(want);
  const std::string lw = lower(want);
  std::size_t best = std::numeric_limits<std::size_t>::max();
  const std::string* best_name = nullptr;
  for (const auto& c : cols) {
    std::size_t d = edit_distance(lw, lower(c.name()));
    if (d < best) {
      best = d;
      best_name = &c.name();
    }
  }
  if (best_name && best <= std::max<std::size_t>(1, (want.size() + 2) / 3)) {
    msg += " (did you mean ";
    msg += shown(*best_name);
    msg += "?)";
  }
  if (cols.empty()) {
    msg += "; the table has no columns";
    return msg;
  }
  msg += "; columns: ";
  for (std::size_t i = 0; i < cols.size() && i < 30; ++i) {
    if (i) msg += ", ";
    msg += shown(cols[i].name());
  }
  if (cols.size() > 30) msg += detail::cat(", ... (", cols.size(), " in all)");
  return msg;
}

std::vector<uint8_t> normalised_mask(const std::string& name, std::vector<uint8_t> na, std::size_t n) {
  FA_CHECK(na.empty() || na.size() == n, "column ", shown(name), ": the missing mask has ", na.size(),
           " flags for ", n, " values");
  bool any = false;
  for (auto& f : na) {
    f = f ? 1 : 0;
    any = any || f;
  }
  if (!any) na.clear();
  return na;
}

}  // namespace table_detail

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Int64: return "int64";
    case DType::Float64: return "float64";
    case DType::Bool: return "bool";
    case DType::String: return "string";
    case DType::Category: return "category";
  }
  return "?";
}

std::optional<int64_t> parse_int64(std::string_view text) {
  text = table_detail::strip_plus(table_detail::trim_blanks(text));
  if (text.empty()) return std::nullopt;
  int64_t v = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), v);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_float64(std::string_view text) {
  text = table_detail::strip_plus(table_detail::trim_blanks(text));
  if (text.empty()) return std::nullopt;
  double v = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), v);
  // Out of range (1e400, 1e-400): from_chars gives no value; take strtod's +-inf / 0 (rare path).
  if (res.ec == std::errc::result_out_of_range && res.ptr == text.data() + text.size())
    return std::strtod(std::string(text).c_str(), nullptr);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(std::string_view text) {
  text = table_detail::trim_blanks(text);
  if (text == "TRUE" || text == "True" || text == "true") return true;
  if (text == "FALSE" || text == "False" || text == "false") return false;
  return std::nullopt;
}

// ---- Column ------------------------------------------------------------------------------------

Column::Column() = default;

Column Column::from_ints(std::string name, std::vector<int64_t> values, std::vector<uint8_t> na) {
  Column c;
  c.na_ = table_detail::normalised_mask(name, std::move(na), values.size());
  for (std::size_t i = 0; i < c.na_.size(); ++i)
    if (c.na_[i]) values[i] = 0;
  c.name_ = std::move(name);
  c.dtype_ = DType::Int64;
  c.size_ = values.size();
  c.ints_ = std::move(values);
  return c;
}

Column Column::from_floats(std::string name, std::vector<double> values, std::vector<uint8_t> na) {
  Column c;
  na = table_detail::normalised_mask(name, std::move(na), values.size());
  for (std::size_t i = 0; i < na.size(); ++i)
    if (na[i]) values[i] = std::numeric_limits<double>::quiet_NaN();
  std::vector<uint8_t> mask(values.size());
  bool any = false;
  for (std::size_t i = 0; i < values.size(); ++i)
    if (std::isnan(values[i])) mask[i] = 1, any = true;
  if (any) c.na_ = std::move(mask);
  c.name_ = std::move(name);
  c.dtype_ = DType::Float64;
  c.size_ = values.size();
  c.floats_ = std::move(values);
  return c;
}

Column Column::from_bools(std::string name, std::vector<uint8_t> values, std::vector<uint8_t> na) {
  Column c;
  c.na_ = table_detail::normalised_mask(name, std::move(na), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = (values[i] && !c.is_na(i)) ? 1 : 0;
  c.name_ = std::move(name);
  c.dtype_ = DType::Bool;
  c.size_ = values.size();
  c.bools_ = std::move(values);
  return c;
}

Column Column::from_strings(std::string name, std::vector<std::string> values, std::vector<uint8_t> na) {
  Column c;
  c.na_ = table_detail::normalised_mask(name, std::move(na), values.size());
  for (std::size_t i = 0; i < c.na_.size(); ++i)
    if (c.na_[i]) values[i].clear();
  c.name_ = std::move(name);
  c.dtype_ = DType::String;
  c.size_ = values.size();
  c.strings_ = std::move(values);
  return c;
}

Column Column::from_codes(std::string name, std::vector<int32_t> codes, std::vector<std::string> categories) {
  using table_detail::shown;
  FA_CHECK(categories.size() < static_cast<std::size_t>(std::numeric_limits<int32_t>::max()), "column ",
           shown(name), ": too many categories (", categories.size(), ")");
  std::unordered_set<std::string_view> seen;
  for (const auto& s : categories)
    FA_CHECK(seen.insert(s).second, "column ", shown(name), ": category ", shown(s), " is listed twice");
  const auto k = static_cast<int32_t>(categories.size());
  std::vector<uint8_t> na(codes.size());
  bool any = false;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    FA_CHECK(codes[i] >= -1 && codes[i] < k, "column ", shown(name), ", row ", i, ": code ", codes[i],
             " is outside [-1, ", k, ") (", k, " categories)");
    if (codes[i] == -1) na[i] = 1, any = true;
  }
  Column c;
  if (any) c.na_ = std::move(na);
  c.name_ = std::move(name);
  c.dtype_ = DType::Category;
  c.size_ = codes.size();
  c.codes_ = std::move(codes);
  c.categories_ = std::move(categories);
  return c;
}

std::size_t Column::na_count() const {
  return static_cast<std::size_t>(std::count(na_.begin(), na_.end(), uint8_t{1}));
}

std::vector<uint8_t> Column::na_mask() const { return na_.empty() ? std::vector<uint8_t>(size_, 0) : na_; }

void Column::check_dtype(DType want, const char* accessor) const {
  if (dtype_ != want)
    fail("column ", table_detail::shown(name_), " is ", dtype_name(dtype_), ", not ", dtype_name(want), " (",
         accessor, "())");
}

const std::vector<int64_t>& Column::ints() const { return check_dtype(DType::Int64, "ints"), ints_; }
const std::vector<double>& Column::floats() const { return check_dtype(DType::Float64, "floats"), floats_; }
const std::vector<uint8_t>& Column::bools() const { return check_dtype(DType::Bool, "bools"), bools_; }
const std::vector<std::string>& Column::strings() const {
  return check_dtype(DType::String, "strings"), strings_;
}
const std::vector<int32_t>& Column::codes() const { return check_dtype(DType::Category, "codes"), codes_; }
const std::vector<std::string>& Column::categories() const {
  return check_dtype(DType::Category, "categories"), categories_;
}

double Column::as_double(std::size_t i) const {
  FA_CHECK(i < size_, "column ", table_detail::shown(name_), ": row ", i, " is outside [0, ", size_, ")");
  if (is_na(i)) return std::numeric_limits<double>::quiet_NaN();
  switch (dtype_) {
    case DType::Int64: return static_cast<double>(ints_[i]);
    case DType::Float64: return floats_[i];
    case DType::Bool: return bools_[i];
    default: break;
  }
  fail("column ", table_detail::shown(name_), " is ", dtype_name(dtype_), ", not a number (as_double())");
}

std::string Column::str(std::size_t i) const {
  FA_CHECK(i < size_, "column ", table_detail::shown(name_), ": row ", i, " is outside [0, ", size_, ")");
  if (is_na(i)) return "";
  switch (dtype_) {
    case DType::Int64: return std::to_string(ints_[i]);
    case DType::Float64: return table_detail::format_double(floats_[i]);
    case DType::Bool: return bools_[i] ? "True" : "False";
    case DType::String: return strings_[i];
    case DType::Category: return categories_[static_cast<std::size_t>(codes_[i])];
  }
  return "";
}

Column Column::renamed(std::string name) const {
  Column c = *this;
  c.name_ = std::move(name);
  return c;
}

Column Column::take(const std::vector<int64_t>& idx) const {
  const auto n = static_cast<int64_t>(size_);
  for (std::size_t k = 0; k < idx.size(); ++k)
    FA_CHECK(idx[k] >= 0 && idx[k] < n, "column ", table_detail::shown(name_), ": row index ", idx[k],
             " (at position ", k, " of the indices) is outside [0, ", n, ")");
  Column r;
  r.name_ = name_;
  r.dtype_ = dtype_;
  r.size_ = idx.size();
  r.categories_ = categories_;
  auto gather = [&idx](const auto& src, auto& dst) {
    if (src.empty()) return;
    dst.reserve(idx.size());
    for (auto i : idx) dst.push_back(src[static_cast<std::size_t>(i)]);
  };
  gather(ints_, r.ints_);
  gather(floats_, r.floats_);
  gather(bools_, r.bools_);
  gather(strings_, r.strings_);
  gather(codes_, r.codes_);
  gather(na_, r.na_);
  if (std::find(r.na_.begin(), r.na_.end(), uint8_t{1}) == r.na_.end()) r.na_.clear();
  return r;
}

Column Column::slice(std::size_t start, std::size_t stop) const {
  stop = std::min(stop, size_);
  start = std::min(start, stop);
  std::vector<int64_t> idx(stop - start);
  std::iota(idx.begin(), idx.end(), static_cast<int64_t>(start));
  return take(idx);
}

Column Column::unique() const {
  switch (dtype_) {
    case DType::Int64: {
      std::vector<int64_t> v;
      for (std::size_t i = 0; i < size_; ++i)
        if (!is_na(i)) v.push_back(ints_[i]);
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
      return from_ints(name_, std::move(v));
    }
    case DType::Float64: {
      std::vector<double> v;
      for (double x : floats_)
        if (!std::isnan(x)) v.push_back(x);
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
      return from_floats(name_, std::move(v));
    }
    case DType::Bool: {
      bool seen[2] = {false, false};
      for (std::size_t i = 0; i < size_; ++i)
        if (!is_na(i)) seen[bools_[i]] = true;
      std::vector<uint8_t> v;
      if (seen[0]) v.push_back(0);
      if (seen[1]) v.push_back(1);
      return from_bools(name_, std::move(v));
    }
    case DType::String: {
      std::vector<std::string_view> v;
      for (std::size_t i = 0; i < size_; ++i)
        if (!is_na(i)) v.push_back(strings_[i]);
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
      return from_strings(name_, std::vector<std::string>(v.begin(), v.end()));
    }
    case DType::Category: {
      std::vector<uint8_t> seen(categories_.size(), 0);
      for (auto code : codes_)
        if (code >= 0) seen[static_cast<std::size_t>(code)] = 1;
      std::vector<int32_t> v;
      for (std::size_t k = 0; k < seen.size(); ++k)
        if (seen[k]) v.push_back(static_cast<int32_t>(k));
      return from_codes(name_, std::move(v), categories_);
    }
  }
  return *this;
}

Column Column::from_first_seen(std::string name, std::vector<int32_t> codes,
                               const std::vector<std::string_view>& first_seen) {
  std::vector<int32_t> order(first_seen.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return first_seen[static_cast<std::size_t>(a)] < first_seen[static_cast<std::size_t>(b)];
  });
  std::vector<int32_t> remap(order.size());
  std::vector<std::string> cats;
  cats.reserve(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    remap[static_cast<std::size_t>(order[k])] = static_cast<int32_t>(k);
    cats.emplace_back(first_seen[static_cast<std::size_t>(order[k])]);
  }
  for (auto& code : codes)
    if (code >= 0) code = remap[static_cast<std::size_t>(code)];
  return from_codes(std::move(name), std::move(codes), std::move(cats));
}

Column Column::to_category(std::vector<std::string> categories) const {
  using table_detail::shown;
  if (categories.empty()) {
    if (dtype_ == DType::Category) return *this;
    if (dtype_ == DType::String) {  // fast path: no copy per row
      std::unordered_map<std::string_view, int32_t> index;
      std::vector<int32_t> codes(size_, -1);
      std::vector<std::string_view> first_seen;
      for (std::size_t i = 0; i < size_; ++i) {
        if (is_na(i)) continue;
        auto [it, fresh] = index.emplace(strings_[i], static_cast<int32_t>(first_seen.size()));
        if (fresh) first_seen.push_back(strings_[i]);
        codes[i] = it->second;
      }
      return from_first_seen(name_, std::move(codes), first_seen);
    }
    Column u = unique();  // numbers in numeric order, false before true
    for (std::size_t k = 0; k < u.size(); ++k) categories.push_back(u.str(k));
  }
  std::unordered_map<std::string_view, int32_t> index;
  for (std::size_t k = 0; k < categories.size(); ++k)
    FA_CHECK(index.emplace(categories[k], static_cast<int32_t>(k)).second, "column ", shown(name_),
             ": category ", shown(categories[k]), " is listed twice");
  std::vector<int32_t> codes(size_, -1);
  for (std::size_t i = 0; i < size_; ++i) {
    if (is_na(i)) continue;
    std::string text = str(i);
    auto it = index.find(text);
    if (it == index.end()) {
      std::string list;
      for (std::size_t k = 0; k < categories.size() && k < 20; ++k) {
        if (k) list += ", ";
        list += shown(categories[k]);
      }
      if (categories.size() > 20) list += ", ...";
      fail("column ", shown(name_), ", row ", i, ": value ", shown(text), " is not one of the ", categories.size(),
           " categories [", list, "]");
    }
    codes[i] = it->second;
  }
  return from_codes(name_, std::move(codes), std::move(categories));
}

Column to_category(const Column& c, std::vector<std::string> categories) {
  return c.to_category(std::move(categories));
}

Column Column::astype(DType t) const {
  using table_detail::shown;
  if (t == dtype_) return *this;
  if (t == DType::Category) return to_category();
  std::vector<uint8_t> na = na_mask();
  auto bad = [&](std::size_t i, const char* expected) {
    fail("column ", shown(name_), ", row ", i, ": cannot convert ", dtype_name(dtype_), " to ", dtype_name(t),
         ": expected ", expected, ", got ", shown(str(i)));
  };
  switch (t) {
    case DType::String: {
      std::vector<std::string> v(size_);
      for (std::size_t i = 0; i < size_; ++i)
        if (!is_na(i)) v[i] = str(i);
      return from_strings(name_, std::move(v), std::move(na));
    }
    case DType::Int64: {
      std::vector<int64_t> v(size_, 0);
      for (std::size_t i = 0; i < size_; ++i) {
        if (is_na(i)) continue;
        if (dtype_ == DType::Float64) {
          double d = floats_[i];
          if (!(d == std::trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0))
            bad(i, "a whole number in int64 range");
          v[i] = static_cast<int64_t>(d);
        } else if (dtype_ == DType::Bool) {
          v[i] = bools_[i];
        } else {
          auto p = parse_int64(str(i));
          if (!p) bad(i, "an integer");
          v[i] = *p;
        }
      }
      return from_ints(name_, std::move(v), std::move(na));
    }
    case DType::Float64: {
      std::vector<double> v(size_, 0.0);
      for (std::size_t i = 0; i < size_; ++i) {
        if (is_na(i)) continue;
        if (dtype_ == DType::Int64) v[i] = static_cast<double>(ints_[i]);
        else if (dtype_ == DType::Bool) v[i] = bools_[i];
        else {
          auto p = parse_float64(str(i));
          if (!p) bad(i, "a number");
          v[i] = *p;
        }
      }
      return from_floats(name_, std::move(v), std::move(na));
    }
    case DType::Bool: {
      std::vector<uint8_t> v(size_, 0);
      for (std::size_t i = 0; i < size_; ++i) {
        if (is_na(i)) continue;
        if (dtype_ == DType::Int64 || dtype_ == DType::Float64) {
          double d = as_double(i);
          if (d != 0 && d != 1) bad(i, "0 or 1");
          v[i] = d == 1;
        } else {
          auto p = parse_bool(str(i));
          if (!p) bad(i, "TRUE or FALSE");
          v[i] = *p;
        }
      }
      return from_bools(name_, std::move(v), std::move(na));
    }
    default: break;
  }
  return *this;
}

at::Tensor Column::to_tensor(ToTensorOptions o) const {
  using table_detail::shown;
  FA_CHECK(o.dtype == at::kFloat || o.dtype == at::kDouble || o.dtype == at::kLong, "column ", shown(name_),
           ": to_tensor makes float32, float64 or int64 tensors, not ", o.dtype);
  FA_CHECK(dtype_ != DType::String, "column ", shown(name_),
           " is string: convert it to a category or a number first (to_category / astype)");
  const auto n = static_cast<int64_t>(size_);
  if (o.dtype == at::kLong) {
    int64_t fill = 0;
    if (o.fill_na) {
      FA_CHECK(*o.fill_na == std::trunc(*o.fill_na) && std::fabs(*o.fill_na) < 9e18, "column ", shown(name_),
               ": fill_na ", *o.fill_na, " is not a whole number for an int64 tensor");
      fill = static_cast<int64_t>(*o.fill_na);
    } else if (!na_.empty()) {
      auto first = std::find(na_.begin(), na_.end(), uint8_t{1}) - na_.begin();
      fail("column ", shown(name_), " has ", na_count(), " missing values (first at row ", first,
           "): an int64 tensor needs fill_na, or use a float dtype (missing -> NaN)");
    }
    at::Tensor t = at::empty({n}, at::kLong);
    int64_t* p = compat::data_ptr<int64_t>(t);
    for (std::size_t i = 0; i < size_; ++i) {
      if (is_na(i)) {
        p[i] = fill;
        continue;
      }
      switch (dtype_) {
        case DType::Int64: p[i] = ints_[i]; break;
        case DType::Bool: p[i] = bools_[i]; break;
        case DType::Category: p[i] = codes_[i]; break;
        default: {
          double d = floats_[i];
          FA_CHECK(d == std::trunc(d) && std::fabs(d) < 9e18, "column ", shown(name_), ", row ", i, ": ", d,
                   " is not a whole number for an int64 tensor");
          p[i] = static_cast<int64_t>(d);
        }
      }
    }
    return t;
  }
  auto fill_floats = [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    const T fill = o.fill_na ? static_cast<T>(*o.fill_na) : std::numeric_limits<T>::quiet_NaN();
    for (std::size_t i = 0; i < size_; ++i) {
      if (is_na(i)) p[i] = fill;
      else if (dtype_ == DType::Int64) p[i] = static_cast<T>(ints_[i]);
      else if (dtype_ == DType::Float64) p[i] = static_cast<T>(floats_[i]);
      else if (dtype_ == DType::Bool) p[i] = static_cast<T>(bools_[i]);
      else p[i] = static_cast<T>(codes_[i]);
    }
  };
  at::Tensor t = at::empty({n}, o.dtype);
  if (o.dtype == at::kFloat) fill_floats(compat::data_ptr<float>(t));
  else fill_floats(compat::data_ptr<double>(t));
  return t;
}

bool operator==(const Column& a, const Column& b) {
  if (a.name_ != b.name_ || a.dtype_ != b.dtype_ || a.size_ != b.size_ || a.categories_ != b.categories_)
    return false;
  for (std::size_t i = 0; i < a.size_; ++i) {
    if (a.is_na(i) != b.is_na(i)) return false;
    if (a.is_na(i)) continue;
    switch (a.dtype_) {
      case DType::Int64: if (a.ints_[i] != b.ints_[i]) return false; break;
      case DType::Float64: if (a.floats_[i] != b.floats_[i]) return false; break;
      case DType::Bool: if (a.bools_[i] != b.bools_[i]) return false; break;
      case DType::String: if (a.strings_[i] != b.strings_[i]) return false; break;
      case DType::Category: if (a.codes_[i] != b.codes_[i]) return false; break;
    }
  }
  return true;
}

// ---- Table -------------------------------------------------------------------------------------

Table::Table(std::vector<Column> columns) {
  columns_.reserve(columns.size());
  for (auto& c : columns) add_column(std::move(c));
}

std::vector<std::string> Table::column_names() const {
  std::vector<std::string> r;
  r.reserve(columns_.size());
  for (const auto& c : columns_) r.push_back(c.name());
  return r;
}

const Column& Table::column(std::size_t i) const {
  FA_CHECK(i < columns_.size(), "column number ", i, " is outside [0, ", columns_.size(), ")");
  return columns_[i];
}

bool Table::has_column(std::string_view name) const {
  return std::any_of(columns_.begin(), columns_.end(), [&](const Column& c) { return c.name() == name; });
}

std::size_t Table::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < columns_.size(); ++i)
    if (columns_[i].name() == name) return i;
  fail(table_detail::missing_column_message(name, columns_));
}

const Column& Table::operator[](std::string_view name) const { return columns_[index_of(name)]; }

Table& Table::add_column(Column c) {
  using table_detail::shown;
  FA_CHECK(!has_column(c.name()), "add_column: the table already has a column ", shown(c.name()));
  if (columns_.empty()) n_rows_ = c.size();
  else
    FA_CHECK(c.size() == n_rows_, "add_column: column ", shown(c.name()), " has ", c.size(), " rows, the table has ",
             n_rows_, " (column ", shown(columns_.front().name()), ")");
  columns_.push_back(std::move(c));
  return *this;
}

Table& Table::set_column(Column c) {
  for (auto& old : columns_) {
    if (old.name() != c.name()) continue;
    if (columns_.size() == 1) n_rows_ = c.size();
    FA_CHECK(c.size() == n_rows_, "set_column: column ", table_detail::shown(c.name()), " has ", c.size(),
             " rows, the table has ", n_rows_);
    old = std::move(c);
    return *this;
  }
  return add_column(std::move(c));
}

Table Table::drop(const std::vector<std::string>& names) const {
  std::vector<uint8_t> gone(columns_.size(), 0);
  for (const auto& n : names) gone[index_of(n)] = 1;
  std::vector<Column> keep;
  for (std::size_t i = 0; i < columns_.size(); ++i)
    if (!gone[i]) keep.push_back(columns_[i]);
  return Table(std::move(keep));
}

Table Table::select(const std::vector<std::string>& names) const {
  std::vector<Column> cols;
  cols.reserve(names.size());
  for (const auto& n : names) cols.push_back(columns_[index_of(n)]);
  return Table(std::move(cols));
}

Table Table::take(const std::vector<int64_t>& idx) const {
  const auto n = static_cast<int64_t>(n_rows_);
  for (std::size_t k = 0; k < idx.size(); ++k)
    FA_CHECK(idx[k] >= 0 && idx[k] < n, "take: row index ", idx[k], " (at position ", k,
             " of the indices) is outside [0, ", n, ")");
  Table r;
  r.columns_.reserve(columns_.size());
  for (const auto& c : columns_) r.columns_.push_back(c.take(idx));
  r.n_rows_ = columns_.empty() ? 0 : idx.size();
  return r;
}

Table Table::take(const at::Tensor& idx) const {
  FA_CHECK(idx.defined() && idx.dim() == 1 && c10::isIntegralType(idx.scalar_type(), /*includeBool=*/false),
           "take: expected a 1-D integer tensor of row indices, got ",
           idx.defined() ? detail::cat(idx.scalar_type(), " of shape ", idx.sizes())
                         : std::string("an undefined tensor"));
  at::Tensor l = idx.to(at::kCPU, at::kLong).contiguous();
  const int64_t* p = compat::data_ptr<int64_t>(l);
  return take(std::vector<int64_t>(p, p + l.numel()));
}

Table Table::slice(std::size_t start, std::size_t stop) const {
  stop = std::min(stop, n_rows_);
  start = std::min(start, stop);
  std::vector<int64_t> idx(stop - start);
  std::iota(idx.begin(), idx.end(), static_cast<int64_t>(start));
  return take(idx);
}

Table Table::tail(std::size_t n) const { return slice(n_rows_ - std::min(n, n_rows_), n_rows_); }

Table Table::astype(const std::map<std::string, DType>& dtypes) const {
  for (const auto& [name, t] : dtypes) (void)index_of(name);
  Table r = *this;
  for (auto& c : r.columns_)
    if (auto it = dtypes.find(c.name()); it != dtypes.end()) c = c.astype(it->second);
  return r;
}

at::Tensor Table::to_tensor(const std::vector<std::string>& names, ToTensorOptions o) const {
  if (names.empty()) return at::empty({static_cast<int64_t>(n_rows_), 0}, o.dtype);
  std::vector<at::Tensor> parts;
  parts.reserve(names.size());
  for (const auto& n : names) parts.push_back((*this)[n].to_tensor(o));
  return at::stack(parts, 1);
}

bool operator==(const Table& a, const Table& b) { return a.n_rows_ == b.n_rows_ && a.columns_ == b.columns_; }

}  // namespace fastai
