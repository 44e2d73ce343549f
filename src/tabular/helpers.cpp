// cont_cat_split and add_datepart (fastai.tabular.core helpers).
#include "fastai/core/error.h"
#include "fastai/tabular/core.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <optional>

namespace fastai {

std::pair<std::vector<std::string>, std::vector<std::string>> cont_cat_split(const Table& df, int64_t max_card,
                                                                            const std::vector<std::string>& dep_var) {
  std::vector<std::string> cont, cat;
  for (const auto& c : df.columns()) {
    if (std::find(dep_var.begin(), dep_var.end(), c.name()) != dep_var.end()) continue;
    // pandas unique() counts NaN as a value
    bool many_ints = c.dtype() == DType::Int64 &&
                     static_cast<int64_t>(c.n_unique() + (c.has_na() ? 1 : 0)) > max_card;
    (c.dtype() == DType::Float64 || many_ints ? cont : cat).push_back(c.name());
  }
  return {cont, cat};
}

namespace {

struct DateTime {
  std::chrono::year_month_day ymd;
  int hour = 0, minute = 0;
  double second = 0;
};

bool read_int(std::string_view s, size_t pos, size_t len, int& out) {
  if (pos + len > s.size()) return false;
  auto r = std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return r.ec == std::errc() && r.ptr == s.data() + pos + len;
}

// "YYYY-MM-DD", optionally followed by ' ' or 'T' and "HH:MM" or "HH:MM:SS[.fff]".
std::optional<DateTime> parse_datetime(std::string_view s) {
  int y, m, d;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !read_int(s, 0, 4, y) || !read_int(s, 5, 2, m) ||
      !read_int(s, 8, 2, d))
    return std::nullopt;
  DateTime t{std::chrono::year{y} / m / d};
  if (!t.ymd.ok()) return std::nullopt;
  if (s.size() == 10) return t;
  if ((s[10] != ' ' && s[10] != 'T') || s.size() < 16 || s[13] != ':' || !read_int(s, 11, 2, t.hour) ||
      !read_int(s, 14, 2, t.minute) || t.hour > 23 || t.minute > 59)
    return std::nullopt;
  if (s.size() == 16) return t;
  if (s[16] != ':' || s.size() < 19) return std::nullopt;
  auto r = std::from_chars(s.data() + 17, s.data() + s.size(), t.second);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || t.second < 0 || t.second >= 61) return std::nullopt;
  return t;
}

}  // namespace

Table add_datepart(const Table& df, const std::string& field, DatepartOptions o) {
  using namespace std::chrono;
  const Column& col = df[field];
  std::string prefix = o.prefix ? *o.prefix : field;
  if (!o.prefix && prefix.size() >= 4) {
    std::string_view tail(prefix.data() + prefix.size() - 4, 4);
    if (tail == "date" || tail == "Date") prefix.resize(prefix.size() - 4);
  }
  const std::vector<std::string> int_attrs{"Year", "Month", "Week", "Day", "Dayofweek", "Dayofyear"};
  const std::vector<std::string> bool_attrs{"Is_month_end",   "Is_month_start", "Is_quarter_end",
                                            "Is_quarter_start", "Is_year_end",  "Is_year_start"};
  const std::vector<std::string> time_attrs{"Hour", "Minute", "Second"};
  size_t n = col.size();
  std::vector<std::vector<int64_t>> ints(int_attrs.size() + time_attrs.size() + 1, std::vector<int64_t>(n));
  std::vector<std::vector<uint8_t>> bools(bool_attrs.size(), std::vector<uint8_t>(n));
  std::vector<uint8_t> na(n);
  for (size_t i = 0; i < n; ++i) {
    if (col.is_na(i)) { na[i] = 1; continue; }
    std::string text = col.str(i);
    auto t = parse_datetime(text);
    FA_CHECK(t.has_value(), "add_datepart: column '", field, "' row ", i, " holds ", quote_value(text),
             ", not a date like 2020-01-31 or 2020-01-31 13:45:00");
    sys_days day{t->ymd};
    year_month_day ymd = t->ymd;
    unsigned dow = weekday{day}.iso_encoding() - 1;  // Monday 0
    int doy = (day - sys_days{ymd.year() / January / 1}).count() + 1;
    // ISO week: the week of this week's Thursday, counted in the Thursday's year.
    sys_days thu = day - days{dow} + days{3};
    year_month_day thu_ymd{thu};
    int week = (thu - sys_days{thu_ymd.year() / January / 1}).count() / 7 + 1;
    unsigned m = static_cast<unsigned>(ymd.month()), d = static_cast<unsigned>(ymd.day());
    unsigned month_end = static_cast<unsigned>(year_month_day_last{ymd.year(), month_day_last{ymd.month()}}.day());
    int64_t vals[] = {static_cast<int>(ymd.year()), m, week, d, dow, doy};
    for (size_t k = 0; k < 6; ++k) ints[k][i] = vals[k];
    bool q_month = (m - 1) % 3 == 0, q_end_month = m % 3 == 0;
    bools[0][i] = d == month_end;
    bools[1][i] = d == 1;
    bools[2][i] = q_end_month && d == month_end;
    bools[3][i] = q_month && d == 1;
    bools[4][i] = m == 12 && d == 31;
    bools[5][i] = m == 1 && d == 1;
    ints[6][i] = t->hour;
    ints[7][i] = t->minute;
    ints[8][i] = static_cast<int64_t>(t->second);
    double secs = static_cast<double>(day.time_since_epoch().count()) * 86400 + t->hour * 3600 + t->minute * 60 + t->second;
    ints[9][i] = static_cast<int64_t>(std::floor(secs));
  }
  Table out = df;
  for (size_t k = 0; k < int_attrs.size(); ++k) out.set_column(Column::from_ints(prefix + int_attrs[k], ints[k], na));
  for (size_t k = 0; k < bool_attrs.size(); ++k) out.set_column(Column::from_bools(prefix + bool_attrs[k], bools[k], na));
  if (o.time)
    for (size_t k = 0; k < time_attrs.size(); ++k)
      out.set_column(Column::from_ints(prefix + time_attrs[k], ints[6 + k], na));
  out.set_column(Column::from_ints(prefix + "Elapsed", ints[9], na));
  return o.drop ? out.drop({field}) : out;
}

}  // namespace fastai
