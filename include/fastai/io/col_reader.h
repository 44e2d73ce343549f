// The rows of a Table as items, and fastai's ColReader getter over them (what DataBlock gives
// a Table source, and what from_df / from_csv read file names and labels with).
#pragma once
#include "fastai/core/types.h"
#include "fastai/io/table.h"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fastai {

/// A row of a Table, as getters see it (shares the table, so items outlive the caller's copy).
struct TableRow {
  std::shared_ptr<const Table> table = nullptr;
  std::size_t row = 0;
};
/// One TableRow per row of `t` (the table is copied once and shared by the rows).
std::vector<TableRow> table_rows(const Table& t);

/// ColReader options (fastai ColReader(cols, pref='', suff='', label_delim=None)).
struct ColReaderOptions {
  std::string pref = "";
  std::string suff = "";
  std::optional<std::string> label_delim = std::nullopt;
};

/// Reads column(s) of a row: a String/Category cell as std::string (pref + value + suff), numbers
/// as double / int64_t / bool when no pref/suff, with label_delim a std::vector<std::string> of the
/// split labels (empty for an empty cell); several columns give a Tuple. Error naming the column.
class ColReader {
 public:
  explicit ColReader(std::vector<std::string> cols, ColReaderOptions o = {});
  explicit ColReader(std::string col, ColReaderOptions o = {});
  Item operator()(const TableRow& r) const;

 private:
  Item read_one(const Column& c, std::size_t row) const;
  std::vector<std::string> cols_;
  ColReaderOptions o_;
};

}  // namespace fastai
