#include "fastai/io/csv.h"

#include "fastai/core/error.h"
#include "fastai/core/files.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <fstream>
#include <limits>
#include <optional>
#include <unordered_map>

namespace fastai {

namespace csv_detail {

// One field of the text: where it is, whether it was quoted, and whether it holds doubled quotes
// (then its text needs unescaping). Kept small: diamonds.csv has 540k of them.
struct Field {
  std::size_t off = 0;
  uint32_t len = 0;
  uint8_t quoted = 0;
  uint8_t escaped = 0;
};

inline std::string shown(std::string_view s) { return quote_value(s); }

std::string unescape(std::string_view raw) {
  std::string r;
  r.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    r += raw[i];
    if (raw[i] == '"' && i + 1 < raw.size() && raw[i + 1] == '"') ++i;
  }
  return r;
}

// Splits the text into records of fields (RFC 4180). Line numbers are 1-based physical lines.
class Tokenizer {
 public:
  Tokenizer(std::string_view text, char sep, std::string_view src) : s_(text), sep_(sep), src_(src) {
    if (s_.size() >= 3 && std::memcmp(s_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;  // UTF-8 BOM
  }

  // With a single column an empty line is a record (one empty field), except at the end of the
  // text; otherwise blank lines are skipped.
  void set_blank_lines_are_records(bool b) { blank_records_ = b; }
  void set_names(const std::vector<std::string>* names) { names_ = names; }

  // Appends the next record's fields to `out`; false at the end of the text.
  bool next(std::vector<Field>& out, std::size_t& record_line) {
    const std::size_t n = s_.size();
    while (pos_ < n && is_eol(s_[pos_])) {
      if (blank_records_ && !only_blank_lines_left()) break;
      eat_eol();
    }
    if (pos_ >= n) return false;
    record_line = line_;
    std::size_t k = 0;  // field number in this record
    while (true) {
      Field f;
      if (s_[pos_] == '"') {
        const std::size_t open_line = line_;
        f.quoted = 1;
        std::size_t p = pos_ + 1;
        const std::size_t start = p;
        while (true) {
          const void* hit = std::memchr(s_.data() + p, '"', n - p);
          if (!hit)
            fail("read_csv: ", src_, ": line ", open_line, where(k),
                 ": unterminated quoted field (the quote opened on line ", open_line, " never closes)");
          const std::size_t q = static_cast<std::size_t>(static_cast<const char*>(hit) - s_.data());
          line_ += static_cast<std::size_t>(std::count(s_.data() + p, s_.data() + q, '\n'));
          if (q + 1 < n && s_[q + 1] == '"') {
            f.escaped = 1;
            p = q + 2;
            continue;
          }
          set_span(f, start, q, record_line);
          pos_ = q + 1;
          break;
        }
        if (pos_ < n && s_[pos_] != sep_ && !is_eol(s_[pos_]))
          fail("read_csv: ", src_, ": line ", line_, where(k), ": unexpected ", shown(std::string_view(&s_[pos_], 1)),
               " after the closing quote (a quote inside a quoted field must be doubled: \"\")");
      } else {
        const std::size_t start = pos_;
        while (pos_ < n && s_[pos_] != sep_ && s_[pos_] != '\n' && s_[pos_] != '\r') ++pos_;
        set_span(f, start, pos_, record_line);
      }
      out.push_back(f);
      ++k;
      if (pos_ >= n) return true;
      if (s_[pos_] == sep_) {
        ++pos_;
        continue;
      }
      eat_eol();
      return true;
    }
  }

 private:
  static bool is_eol(char c) { return c == '\n' || c == '\r'; }

  void eat_eol() {  // \n, \r\n or \r
    if (s_[pos_] == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  bool only_blank_lines_left() const {
    return std::all_of(s_.begin() + static_cast<std::ptrdiff_t>(pos_), s_.end(), [](char c) { return is_eol(c); });
  }

  std::string where(std::size_t k) const {
    std::string r;
    if (names_ && k < names_->size()) {
      r += ", column ";
      r += shown((*names_)[k]);
    } else {
      r += detail::cat(", field ", k + 1);
    }
    return r;
  }

  void set_span(Field& f, std::size_t start, std::size_t stop, std::size_t record_line) const {
    FA_CHECK(stop - start <= std::numeric_limits<uint32_t>::max(), "read_csv: ", src_, ": line ", record_line,
             ": a field longer than 4 GiB");
    f.off = start;
    f.len = static_cast<uint32_t>(stop - start);
  }

  std::string_view s_;
  char sep_;
  std::string_view src_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  bool blank_records_ = false;
  const std::vector<std::string>* names_ = nullptr;
};

// The parsed text: n_rows x n_fields fields (row-major) and each record's first line.
struct Parsed {
  std::string_view text;
  std::string_view src;
  std::size_t n_fields = 0;
  std::vector<Field> fields;
  std::vector<std::size_t> lines;
  const CsvOptions* o = nullptr;

  std::size_t n_rows() const { return lines.size(); }
  const Field& at(std::size_t row, std::size_t col) const { return fields[row * n_fields + col]; }
  std::string_view raw(const Field& f) const { return text.substr(f.off, f.len); }
  std::string value(const Field& f) const { return f.escaped ? unescape(raw(f)) : std::string(raw(f)); }

  bool is_na(const Field& f) const {
    if (f.quoted && !o->quoted_na) return false;
    std::string owned;
    std::string_view v = raw(f);
    if (f.escaped) v = owned = unescape(v);
    for (const auto& na : o->na_values)
      if (na == v) return true;
    return false;
  }
};

[[noreturn]] void bad_field(const Parsed& p, const std::string& name, std::size_t row, const Field& f,
                            const char* expected) {
  fail("read_csv: ", p.src, ": column ", shown(name), ", line ", p.lines[row], ": expected ", expected, ", got ",
       shown(p.value(f)));
}

Column category_column(const Parsed& p, std::size_t c, const std::string& name, std::vector<uint8_t>& na) {
  const std::size_t n = p.n_rows();
  std::deque<std::string> owned;  // unescaped texts (stable addresses for the views below)
  std::unordered_map<std::string_view, int32_t> index;
  std::vector<std::string_view> first_seen;
  std::vector<int32_t> codes(n, -1);
  for (std::size_t r = 0; r < n; ++r) {
    if (na[r]) continue;
    const Field& f = p.at(r, c);
    std::string_view v = p.raw(f);
    if (f.escaped) v = owned.emplace_back(unescape(v));
    auto [it, fresh] = index.emplace(v, static_cast<int32_t>(first_seen.size()));
    if (fresh) first_seen.push_back(v);
    codes[r] = it->second;
  }
  return Column::from_first_seen(name, std::move(codes), first_seen);
}

Column string_column(const Parsed& p, std::size_t c, const std::string& name, std::vector<uint8_t>& na) {
  std::vector<std::string> v(p.n_rows());
  for (std::size_t r = 0; r < v.size(); ++r)
    if (!na[r]) v[r] = p.value(p.at(r, c));
  return Column::from_strings(name, std::move(v), std::move(na));
}

// A column of dtype `t` (forced through CsvOptions::dtypes): every value must parse.
Column forced_column(const Parsed& p, std::size_t c, const std::string& name, DType t, std::vector<uint8_t>& na) {
  const std::size_t n = p.n_rows();
  switch (t) {
    case DType::Int64: {
      std::vector<int64_t> v(n, 0);
      for (std::size_t r = 0; r < n; ++r) {
        if (na[r]) continue;
        const Field& f = p.at(r, c);
        auto x = f.escaped ? std::nullopt : parse_int64(p.raw(f));
        if (!x) bad_field(p, name, r, f, "an integer");
        v[r] = *x;
      }
      return Column::from_ints(name, std::move(v), std::move(na));
    }
    case DType::Float64: {
      std::vector<double> v(n, 0.0);
      for (std::size_t r = 0; r < n; ++r) {
        if (na[r]) continue;
        const Field& f = p.at(r, c);
        auto x = f.escaped ? std::nullopt : parse_float64(p.raw(f));
        if (!x) bad_field(p, name, r, f, "a number");
        v[r] = *x;
      }
      return Column::from_floats(name, std::move(v), std::move(na));
    }
    case DType::Bool: {
      std::vector<uint8_t> v(n, 0);
      for (std::size_t r = 0; r < n; ++r) {
        if (na[r]) continue;
        const Field& f = p.at(r, c);
        auto x = f.escaped ? std::nullopt : parse_bool(p.raw(f));
        if (!x) bad_field(p, name, r, f, "TRUE or FALSE");
        v[r] = *x;
      }
      return Column::from_bools(name, std::move(v), std::move(na));
    }
    case DType::String: return string_column(p, c, name, na);
    case DType::Category: return category_column(p, c, name, na);
  }
  return Column();
}

// Inference over all rows: Int64 while every value is an integer, then Float64 while every value
// is a number; Bool while every value is a boolean word; else String.
Column inferred_column(const Parsed& p, std::size_t c, const std::string& name, std::vector<uint8_t>& na) {
  enum class State { Unknown, Int, Float, Bool, Str };
  const std::size_t n = p.n_rows();
  State st = State::Unknown;
  std::vector<int64_t> iv;
  std::vector<double> dv;
  std::vector<uint8_t> bv;
  for (std::size_t r = 0; r < n && st != State::Str; ++r) {
    if (na[r]) continue;
    const Field& f = p.at(r, c);
    if (f.escaped) {  // holds a quote: not a number or boolean
      st = State::Str;
      break;
    }
    const std::string_view v = p.raw(f);
    switch (st) {
      case State::Unknown:
        if (auto x = parse_int64(v)) {
          st = State::Int;
          iv.assign(n, 0);
          iv[r] = *x;
        } else if (auto d = parse_float64(v)) {
          st = State::Float;
          dv.assign(n, 0.0);
          dv[r] = *d;
        } else if (auto b = parse_bool(v)) {
          st = State::Bool;
          bv.assign(n, 0);
          bv[r] = *b;
        } else {
          st = State::Str;
        }
        break;
      case State::Int:
        if (auto x = parse_int64(v)) {
          iv[r] = *x;
        } else if (auto d = parse_float64(v)) {
          st = State::Float;
          dv.assign(n, 0.0);
          for (std::size_t k = 0; k < r; ++k) dv[k] = static_cast<double>(iv[k]);  // exact rounding, as from text
          dv[r] = *d;
          std::vector<int64_t>().swap(iv);
        } else {
          st = State::Str;
        }
        break;
      case State::Float:
        if (auto d = parse_float64(v)) dv[r] = *d;
        else st = State::Str;
        break;
      case State::Bool:
        if (auto b = parse_bool(v)) bv[r] = *b;
        else st = State::Str;
        break;
      case State::Str: break;
    }
  }
  switch (st) {
    case State::Int: return Column::from_ints(name, std::move(iv), std::move(na));
    case State::Float: return Column::from_floats(name, std::move(dv), std::move(na));
    case State::Bool: return Column::from_bools(name, std::move(bv), std::move(na));
    case State::Unknown:  // no value: all missing (float NaN, as pandas), or no rows at all
      if (n > 0) return Column::from_floats(name, std::vector<double>(n, 0.0), std::move(na));
      return Column::from_strings(name, {});
    case State::Str: break;
  }
  return string_column(p, c, name, na);
}

std::string list_names(const std::vector<std::string>& names) {
  std::string r;
  for (std::size_t i = 0; i < names.size() && i < 30; ++i) {
    if (i) r += ", ";
    r += shown(names[i]);
  }
  if (names.size() > 30) r += detail::cat(", ... (", names.size(), " in all)");
  return r;
}

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
}

}  // namespace csv_detail

Table read_csv_string(std::string_view text, CsvOptions o, std::string_view source_name) {
  using csv_detail::shown;
  const std::string src(source_name);
  FA_CHECK(o.sep != '"' && o.sep != '\n' && o.sep != '\r', "read_csv: ", src, ": sep ", shown(std::string(1, o.sep)),
           " cannot be a quote or a line end");
  csv_detail::Tokenizer tok(text, o.sep, src);
  csv_detail::Parsed p;
  p.text = text;
  p.src = src;
  p.o = &o;

  // Header (or first record, which fixes the number of fields).
  std::size_t first_line = 0;
  if (!tok.next(p.fields, first_line))
    fail("read_csv: ", src, ": the file is empty (expected ", o.header ? "a header row" : "at least one record", ")");
  p.n_fields = p.fields.size();
  std::vector<std::string> names;
  if (o.header) {
    for (std::size_t k = 0; k < p.n_fields; ++k) {
      std::string nm = p.value(p.fields[k]);
      if (nm.empty()) nm = detail::cat("Unnamed: ", k);
      for (std::size_t j = 0; j < names.size(); ++j)
        FA_CHECK(names[j] != nm, "read_csv: ", src, ": line ", first_line, ": duplicate column name ", shown(nm),
                 " (fields ", j + 1, " and ", k + 1, ")");
      names.push_back(std::move(nm));
    }
    p.fields.clear();
  } else {
    for (std::size_t k = 0; k < p.n_fields; ++k) names.push_back(std::to_string(k));
    p.lines.push_back(first_line);
  }
  tok.set_names(&names);
  tok.set_blank_lines_are_records(p.n_fields == 1);

  // Options naming columns must name existing ones.
  auto find = [&](const std::string& nm) { return std::find(names.begin(), names.end(), nm); };
  for (const auto& nm : o.usecols)
    if (find(nm) == names.end())
      fail("read_csv: ", src, ": usecols names column ", shown(nm), ", which the file does not have; columns: ",
           csv_detail::list_names(names));
  for (const auto& [nm, t] : o.dtypes)
    if (find(nm) == names.end())
      fail("read_csv: ", src, ": dtypes names column ", shown(nm), ", which the file does not have; columns: ",
           csv_detail::list_names(names));

  // Records.
  p.fields.reserve(std::max<std::size_t>(p.fields.size(), text.size() / 6));
  std::size_t line = 0;
  while (o.max_rows == 0 || p.lines.size() < o.max_rows) {
    const std::size_t before = p.fields.size();
    if (!tok.next(p.fields, line)) break;
    const std::size_t got = p.fields.size() - before;
    if (got != p.n_fields)
      fail("read_csv: ", src, ": line ", line, ": expected ", p.n_fields, " fields, got ", got);
    p.lines.push_back(line);
  }

  // Columns.
  std::vector<Column> cols;
  for (std::size_t c = 0; c < p.n_fields; ++c) {
    if (!o.usecols.empty() && std::find(o.usecols.begin(), o.usecols.end(), names[c]) == o.usecols.end()) continue;
    std::vector<uint8_t> na(p.n_rows(), 0);
    for (std::size_t r = 0; r < na.size(); ++r) na[r] = p.is_na(p.at(r, c));
    auto forced = o.dtypes.find(names[c]);
    cols.push_back(forced != o.dtypes.end() ? csv_detail::forced_column(p, c, names[c], forced->second, na)
                                            : csv_detail::inferred_column(p, c, names[c], na));
  }
  return Table(std::move(cols));
}

Table read_csv(const std::filesystem::path& file, CsvOptions o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string src = file.string();
  FA_CHECK(fs::exists(file, ec), "read_csv: no such file: ", src);
  FA_CHECK(!fs::is_directory(file, ec), "read_csv: ", src, " is a folder, not a CSV file");
  std::ifstream in(file, std::ios::binary);
  FA_CHECK(in, "read_csv: cannot open ", src);
  std::string text;
  const auto size = fs::file_size(file, ec);
  if (!ec) text.reserve(static_cast<std::size_t>(size));
  text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  FA_CHECK(!in.bad(), "read_csv: error while reading ", src);
  return read_csv_string(text, std::move(o), src);
}

std::string to_csv_string(const Table& t, WriteCsvOptions o) {
  std::string out;
  const auto& cols = t.columns();
  out.reserve(t.n_rows() * cols.size() * 8 + 64);
  if (o.header && !cols.empty()) {
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (c) out += o.sep;
      csv_detail::append_quoted(out, cols[c].name());
    }
    out += '\n';
  }
  char buf[64];
  for (std::size_t r = 0; r < t.n_rows(); ++r) {
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (c) out += o.sep;
      const Column& col = cols[c];
      if (col.is_na(r)) continue;  // missing = empty field
      switch (col.dtype()) {
        case DType::Int64: {
          auto res = std::to_chars(buf, buf + sizeof buf, col.ints()[r]);
          out.append(buf, res.ptr);
          break;
        }
        case DType::Float64: out += col.str(r); break;  // shortest exact form, ".0" on whole numbers
        case DType::Bool: out += col.bools()[r] ? "TRUE" : "FALSE"; break;
        case DType::String: csv_detail::append_quoted(out, col.strings()[r]); break;
        case DType::Category:
          csv_detail::append_quoted(out, col.categories()[static_cast<std::size_t>(col.codes()[r])]);
          break;
      }
    }
    out += '\n';
  }
  return out;
}

void write_csv(const Table& t, const std::filesystem::path& file, WriteCsvOptions o) {
  const std::string text = to_csv_string(t, o);
  atomic_write(file, [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    FA_CHECK(out, "write_csv: cannot create ", tmp.string());
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    FA_CHECK(out, "write_csv: error while writing ", tmp.string());
  });
}

}  // namespace fastai
