// Table and Column: a small columnar data frame, what fastai gets from pandas for the `from_df`
// factories and the tabular application. Columns are typed and contiguous, with a missing mask.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fastai {

/// Column types (pandas: int64, float64, bool, object, category).
enum class DType { Int64, Float64, Bool, String, Category };

/// "int64", "float64", "bool", "string", "category".
const char* dtype_name(DType t);

// The cell rules read_csv and Column::astype share: the whole text must be the value, except
// for blanks (space, tab) around it and a leading '+'.
/// An integer in int64 range (std::from_chars), else nullopt.
std::optional<int64_t> parse_int64(std::string_view text);
/// A double, read exactly (std::from_chars: decimal or exponent form, also inf / nan), else nullopt.
std::optional<double> parse_float64(std::string_view text);
/// TRUE / True / true or FALSE / False / false, else nullopt.
std::optional<bool> parse_bool(std::string_view text);

/// Column::to_tensor options.
struct ToTensorOptions {
  at::ScalarType dtype = at::kFloat;       ///< kFloat, kDouble or kLong
  std::optional<double> fill_na = std::nullopt;  ///< value for missing entries (floats default to NaN; kLong needs it)
};

/// One named, typed column. Values are stored contiguously in the vector of its dtype; missing
/// entries have a placeholder value (0, NaN, "", code -1) and are flagged in the missing mask.
/// Invariants: Float64 entries are missing exactly when they are NaN (as in pandas); Category
/// entries exactly when their code is -1.
class Column {
 public:
  /// An empty Float64 column with no name.
  Column();

  // ---- construction (`na`: empty = nothing missing, else one flag per value) -----------------
  static Column from_ints(std::string name, std::vector<int64_t> values, std::vector<uint8_t> na = {});
  /// NaN values count as missing; an entry flagged in `na` is set to NaN.
  static Column from_floats(std::string name, std::vector<double> values, std::vector<uint8_t> na = {});
  /// values: 0 = false, anything else = true (stored as 0/1).
  static Column from_bools(std::string name, std::vector<uint8_t> values, std::vector<uint8_t> na = {});
  static Column from_strings(std::string name, std::vector<std::string> values, std::vector<uint8_t> na = {});
  /// pandas Categorical.from_codes: codes index `categories` (which must be distinct); -1 = missing.
  static Column from_codes(std::string name, std::vector<int32_t> codes, std::vector<std::string> categories);
  /// Category column from codes into `first_seen` (categories in order of appearance): the
  /// categories are sorted and the codes remapped to match.
  static Column from_first_seen(std::string name, std::vector<int32_t> codes,
                                const std::vector<std::string_view>& first_seen);

  // ---- shape and missing values --------------------------------------------------------------
  const std::string& name() const { return name_; }
  DType dtype() const { return dtype_; }
  std::size_t size() const { return size_; }
  bool is_na(std::size_t i) const { return !na_.empty() && na_[i] != 0; }
  std::size_t na_count() const;
  bool has_na() const { return na_count() > 0; }
  /// One flag per row (1 = missing).
  std::vector<uint8_t> na_mask() const;

  // ---- typed access: Error naming the column and its dtype when the dtype differs ------------
  const std::vector<int64_t>& ints() const;               ///< Int64
  const std::vector<double>& floats() const;              ///< Float64
  const std::vector<uint8_t>& bools() const;              ///< Bool (0/1)
  const std::vector<std::string>& strings() const;        ///< String
  const std::vector<int32_t>& codes() const;              ///< Category (-1 = missing)
  const std::vector<std::string>& categories() const;     ///< Category

  /// Entry i as a number (Int64, Float64, Bool; NaN when missing). Error for String/Category.
  double as_double(std::size_t i) const;
  /// Entry i as text, as it is printed ("True"/"False" for bools, shortest exact form for
  /// doubles); "" when missing (check is_na to tell an empty string apart).
  std::string str(std::size_t i) const;

  // ---- derived columns -------------------------------------------------------------------------
  /// The same values under another name.
  Column renamed(std::string name) const;
  /// Rows `idx` in that order (Error naming the column for an index outside [0, size)).
  Column take(const std::vector<int64_t>& idx) const;
  /// Rows [start, stop), clamped to the column like a Python slice of non-negative bounds.
  Column slice(std::size_t start, std::size_t stop) const;
  /// Distinct non-missing values, sorted (numbers numerically, strings bytewise, false < true;
  /// categories in category order), as a column of the same dtype (pandas sorted(unique()) minus NaN).
  Column unique() const;
  /// Number of distinct non-missing values (pandas nunique).
  std::size_t n_unique() const { return unique().size(); }
  /// Converts to another dtype (pandas astype). Missing stays missing. Number -> String uses str();
  /// String -> number/bool parses and gives an Error naming the column, row and text that does not
  /// fit; Float64 -> Int64 needs whole numbers; any -> Category as to_category().
  Column astype(DType t) const;
  /// Category column (pandas astype('category')). With `categories` empty they are the sorted
  /// distinct values (numbers sorted numerically); else they are used as given, in that order, and
  /// a value outside them is an Error naming the column, row and value.
  Column to_category(std::vector<std::string> categories = {}) const;
  /// A numeric tensor of shape [size()]: Int64/Float64/Bool values, Category codes. Missing
  /// entries get o.fill_na, else NaN for floating dtypes; kLong with missing entries and no
  /// fill_na is an Error naming the column and the first missing row. String: Error.
  at::Tensor to_tensor(ToTensorOptions o = {}) const;

  friend bool operator==(const Column& a, const Column& b);

 private:
  void check_dtype(DType want, const char* accessor) const;

  std::string name_;
  DType dtype_ = DType::Float64;
  std::size_t size_ = 0;
  std::vector<int64_t> ints_;
  std::vector<double> floats_;
  std::vector<uint8_t> bools_;
  std::vector<std::string> strings_;
  std::vector<int32_t> codes_;
  std::vector<std::string> categories_;
  std::vector<uint8_t> na_;  // empty when nothing is missing
};

/// Category column from any column (helper form of Column::to_category).
Column to_category(const Column& c, std::vector<std::string> categories = {});

/// An ordered set of equally long, uniquely named columns (pandas DataFrame without an index:
/// rows are numbered 0..n_rows()-1, and take/slice renumber them).
class Table {
 public:
  Table() = default;
  /// Error when names repeat or lengths differ (naming the columns).
  explicit Table(std::vector<Column> columns);

  std::size_t n_rows() const { return n_rows_; }
  std::size_t n_cols() const { return columns_.size(); }
  std::vector<std::string> column_names() const;
  const std::vector<Column>& columns() const { return columns_; }
  const Column& column(std::size_t i) const;
  bool has_column(std::string_view name) const;
  /// Error naming the missing column, listing the available ones, with a "did you mean" for a
  /// close name (edit distance or case).
  const Column& operator[](std::string_view name) const;

  /// Appends a column (Error for a repeated name or a length other than n_rows()).
  Table& add_column(Column c);
  /// Replaces the column of that name, or appends it (pandas df[name] = col).
  Table& set_column(Column c);
  /// A copy without these columns (pandas drop(columns=...)); Error for an unknown name.
  Table drop(const std::vector<std::string>& names) const;
  /// A copy with only these columns, in this order (pandas df[[...]]).
  Table select(const std::vector<std::string>& names) const;
  /// Rows `idx` in that order (pandas iloc[idx]); Error for an index outside [0, n_rows()).
  Table take(const std::vector<int64_t>& idx) const;
  /// Same, from a 1-D integer tensor (e.g. a split from randperm).
  Table take(const at::Tensor& idx) const;
  /// Rows [start, stop), clamped (pandas iloc[start:stop]).
  Table slice(std::size_t start, std::size_t stop) const;
  Table head(std::size_t n = 5) const { return slice(0, n); }
  Table tail(std::size_t n = 5) const;
  /// Converts the named columns (pandas astype({col: dtype})); Error for an unknown name.
  Table astype(const std::map<std::string, DType>& dtypes) const;
  /// Float/long tensor [n_rows, names.size()] of these columns (Column::to_tensor per column).
  at::Tensor to_tensor(const std::vector<std::string>& names, ToTensorOptions o = {}) const;

  /// pandas-like aligned text: row numbers on the left, right-aligned cells, NaN for missing,
  /// floats with the decimals the column needs (at most 6), cells cut at 50 characters. With more
  /// than max_rows rows: the first and last max_rows/2 rows around a "..." line, then
  /// "[N rows x M columns]".
  std::string to_string(std::size_t max_rows = 10) const;

  friend bool operator==(const Table& a, const Table& b);

 private:
  std::size_t index_of(std::string_view name) const;  // Error when absent

  std::vector<Column> columns_;
  std::size_t n_rows_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Table& t);

}  // namespace fastai
