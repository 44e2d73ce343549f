// CSV reading and writing for Table (pandas read_csv / to_csv, the subset fastai uses).
#pragma once
#include "fastai/io/table.h"

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fastai {

/// read_csv options (pandas names). Dialect: RFC 4180 — fields separated by `sep`, optionally in
/// double quotes with embedded quotes doubled ("" inside quotes), quoted fields may span lines;
/// \n, \r\n or \r line ends; a UTF-8 BOM is skipped; blank lines are skipped.
struct CsvOptions {
  char sep = ',';
  /// First record holds the column names; else columns are named "0", "1", ...
  /// An empty name becomes "Unnamed: <i>" (pandas).
  bool header = true;
  /// Field texts read as missing. As in pandas, a quoted field is compared too, so "" (quoted
  /// empty) is missing by default, like an empty field; see quoted_na.
  std::vector<std::string> na_values = {""};
  /// false: only unquoted fields can be missing (a quoted "" is then an empty string, which makes
  /// write_csv -> read_csv keep empty strings).
  bool quoted_na = true;
  /// Column -> dtype, skipping inference; a field that does not parse is an Error naming the
  /// file, column, line and text. Category: categories are the sorted distinct values.
  std::map<std::string, DType> dtypes = {};
  /// Columns to keep (file order is kept, as in pandas); empty = all.
  std::vector<std::string> usecols = {};
  /// Data rows to read (pandas nrows); 0 = all.
  std::size_t max_rows = 0;
};

/// Reads a CSV file into a Table (pandas read_csv). Type inference per column over all rows
/// (missing fields ignored; quotes do not matter, as in pandas): all integers -> Int64, all
/// numbers -> Float64 (from_chars: also inf/nan; a leading '+' and surrounding blanks are
/// accepted), all TRUE/FALSE/True/False/true/false -> Bool, else String; a column with no value
/// at all -> Float64 (all NaN), or String when there are no rows. Category only through dtypes.
/// Errors (fastai::Error naming the file and the 1-based line in the file): missing/unreadable
/// file, no header (empty file), a record with the wrong number of fields, an unterminated quote
/// (the line where it opened), text after a closing quote, duplicate header names, an unknown
/// column in dtypes/usecols, a field that does not fit a dtype forced by `dtypes`.
Table read_csv(const std::filesystem::path& file, CsvOptions o = {});

/// Same from text in memory; errors name `source_name` in place of a file.
Table read_csv_string(std::string_view text, CsvOptions o = {}, std::string_view source_name = "<string>");

/// write_csv options.
struct WriteCsvOptions {
  char sep = ',';
  bool header = true;
};

/// Writes `t` as CSV (the dialect above): names and String/Category cells in double quotes
/// (embedded quotes doubled), numbers and TRUE/FALSE bare, missing = empty field, doubles in the
/// shortest form that reads back exactly (with ".0" added to whole numbers so they stay Float64),
/// \n line ends. Atomic (fastai::atomic_write): a failed write leaves an old file intact.
void write_csv(const Table& t, const std::filesystem::path& file, WriteCsvOptions o = {});

/// The text write_csv writes.
std::string to_csv_string(const Table& t, WriteCsvOptions o = {});

}  // namespace fastai
