// fastai's ColReader over the rows of a Table (fastai.data.transforms.ColReader).
#include "fastai/io/col_reader.h"

#include "fastai/core/error.h"

namespace fastai {

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

namespace col_reader_detail {
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
}  // namespace col_reader_detail

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
