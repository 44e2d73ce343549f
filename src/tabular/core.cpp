#include "fastai/tabular/core.h"

#include "fastai/core/error.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

namespace fastai {

namespace {

bool is_numeric(DType t) { return t == DType::Float64 || t == DType::Int64 || t == DType::Bool; }

// A continuous column as Float64, text parsed (Error naming the column, row and text).
Column as_float_column(const Column& c) {
  if (c.dtype() == DType::Float64) return c;
  if (is_numeric(c.dtype())) return c.astype(DType::Float64);
  std::vector<double> v(c.size());
  std::vector<uint8_t> na(c.size());
  for (size_t i = 0; i < c.size(); ++i) {
    if (c.is_na(i)) { na[i] = 1; continue; }
    auto x = parse_float64(c.str(i));
    FA_CHECK(x.has_value(), "continuous column '", c.name(), "' row ", i, " holds ", quote_value(c.str(i)),
             ", which is not a number; list it in cat_names, or clean the column");
    v[i] = *x;
  }
  return Column::from_floats(c.name(), std::move(v), std::move(na));
}

std::vector<int64_t> all_rows_of(size_t n) {
  std::vector<int64_t> r(n);
  for (size_t i = 0; i < n; ++i) r[i] = static_cast<int64_t>(i);
  return r;
}

void check_rows(const std::vector<int64_t>& rows, size_t n, const char* what) {
  for (int64_t r : rows)
    FA_CHECK(r >= 0 && static_cast<size_t>(r) < n, "TabularPandas: ", what, " row index ", r,
             " is outside the table's ", n, " rows");
}

}  // namespace

TabularPandas::TabularPandas(const Table& df, TabularOptions o) {
  FA_CHECK(df.n_rows() > 0, "TabularPandas: the table is empty (", df.n_cols(), " columns, no rows)");
  names_.cat_names = o.cat_names;
  input_cats_ = o.cat_names;
  names_.cont_names = o.cont_names;
  y_names_ = o.y_names;
  std::set<std::string> seen;
  for (const auto* group : {&o.cat_names, &o.cont_names, &o.y_names})
    for (const auto& n : *group) {
      (void)df[n];  // Error naming an unknown column, with a "did you mean"
      FA_CHECK(seen.insert(n).second, "TabularPandas: column '", n,
               "' is listed twice among cat_names, cont_names and y_names");
    }
  // Splits.
  if (o.splits.empty()) {
    train_ = all_rows_of(df.n_rows());
  } else {
    FA_CHECK(o.splits.size() == 2, "TabularPandas: splits needs {train rows, valid rows}, got ", o.splits.size(), " lists");
    train_ = o.splits[0];
    valid_ = o.splits[1];
  }
  check_rows(train_, df.n_rows(), "training");
  check_rows(valid_, df.n_rows(), "validation");
  FA_CHECK(!train_.empty(), "TabularPandas: the training split is empty (", valid_.size(), " validation rows of ",
           df.n_rows(), ")");

  // The target's kind (fastai: CategoryBlock if any y column is not numeric).
  y_category_ = false;
  if (o.y_block == YBlock::Category) y_category_ = true;
  else if (o.y_block == YBlock::Auto)
    for (const auto& n : y_names_) y_category_ = y_category_ || !is_numeric(df[n].dtype()) || df[n].dtype() == DType::Bool;
  FA_CHECK(!y_category_ || y_names_.size() == 1, "TabularPandas: a categorical target takes one column, got ",
           y_names_.size());
  if (y_category_) {
    const Column& y = df[y_names_[0]];
    std::set<std::string> labels;
    for (int64_t r : train_) {
      FA_CHECK(!y.is_na(r), "TabularPandas: target column '", y.name(), "' row ", r, " is missing");
      labels.insert(y.str(r));
    }
    // Numbers as labels sort numerically, as pandas would.
    Column u = y.dtype() == DType::String || y.dtype() == DType::Category ? Column() : y.take(train_).unique();
    if (u.size() > 0) for (size_t i = 0; i < u.size(); ++i) y_vocab_.push_back(u.str(i));
    else y_vocab_.assign(labels.begin(), labels.end());
  }

  items_ = prepare(df, !y_names_.empty());
  // Procs in fastai's order; each learns on the training rows as the earlier ones left them.
  for (const auto& p : o.procs) procs_.push_back(p.get());
  std::stable_sort(procs_.begin(), procs_.end(), [](const auto& a, const auto& b) { return a->order() < b->order(); });
  for (auto& p : procs_) {
    p->setup(items_.take(train_), names_);
    p->encode(items_);
  }
  for (const auto& n : names_.cat_names) {
    const Column& c = items_[n];
    FA_CHECK(c.dtype() == DType::Int64 || c.dtype() == DType::Bool, "TabularPandas: categorical column '", n,
             "' holds ", dtype_name(c.dtype()), " values, not integer codes; add Categorify() to the procs");
  }
}

std::vector<int64_t> TabularPandas::all_rows() const { return all_rows_of(items_.n_rows()); }

Table TabularPandas::prepare(const Table& raw, bool with_y) const {
  std::vector<Column> cols;
  for (const auto& n : input_cats_) cols.push_back(raw[n]);  // FillMissing adds its "_na" columns itself
  for (const auto& n : names_.cont_names) cols.push_back(as_float_column(raw[n]));
  Table t(std::move(cols));
  if (with_y) {
    for (const auto& n : y_names_) t.add_column(raw[n]);
    encode_y(t);
  }
  return t;
}

void TabularPandas::encode_y(Table& df) const {
  if (y_category_) {
    const Column& y = df[y_names_[0]];
    std::unordered_map<std::string, int64_t> o2i;
    for (size_t i = 0; i < y_vocab_.size(); ++i) o2i.emplace(y_vocab_[i], i);
    std::vector<int64_t> codes(y.size());
    for (size_t i = 0; i < y.size(); ++i) {
      FA_CHECK(!y.is_na(i), "TabularPandas: target column '", y.name(), "' row ", i, " is missing");
      auto it = o2i.find(y.str(i));
      FA_CHECK(it != o2i.end(), "TabularPandas: target column '", y.name(), "' row ", i, " has label ",
               quote_value(y.str(i)), ", which is not among the ", y_vocab_.size(), " training labels");
      codes[i] = it->second;
    }
    df.set_column(Column::from_ints(y.name(), std::move(codes)));
    return;
  }
  for (const auto& n : y_names_) {
    const Column& y = df[n];
    FA_CHECK(is_numeric(y.dtype()), "TabularPandas: regression target '", n, "' holds ", dtype_name(y.dtype()),
             " values; pass y_block = YBlock::Category for labels");
    Column f = as_float_column(y);
    for (size_t i = 0; i < f.size(); ++i)
      FA_CHECK(!f.is_na(i) && std::isfinite(f.floats()[i]), "TabularPandas: regression target '", n, "' row ", i,
               " is ", f.is_na(i) ? "missing (NaN)" : "not finite", "; drop or fill such rows first");
    df.set_column(std::move(f));
  }
}

TabularTensors TabularPandas::tensors_of(const Table& df, const std::vector<int64_t>& rows, bool with_y) const {
  auto idx = at::tensor(rows, at::kLong);
  TabularTensors t;
  t.cats = names_.cat_names.empty() ? at::zeros({static_cast<int64_t>(rows.size()), 0}, at::kLong)
                                    : df.to_tensor(names_.cat_names, {.dtype = at::kLong, .fill_na = 0}).index_select(0, idx);
  t.conts = names_.cont_names.empty() ? at::zeros({static_cast<int64_t>(rows.size()), 0}, at::kFloat)
                                      : df.to_tensor(names_.cont_names, {.dtype = at::kFloat}).index_select(0, idx);
  if (with_y && !y_names_.empty()) {
    if (y_category_) t.ys = df[y_names_[0]].to_tensor({.dtype = at::kLong}).index_select(0, idx);
    else t.ys = df.to_tensor(y_names_, {.dtype = at::kFloat}).index_select(0, idx);
  }
  return t;
}

TabularTensors TabularPandas::tensors(const std::vector<int64_t>& rows) const {
  check_rows(rows, items_.n_rows(), "requested");
  return tensors_of(items_, rows, true);
}

TabularTensors TabularPandas::process(const Table& raw, bool with_y) const {
  FA_CHECK(raw.n_rows() > 0, "TabularPandas.process: no rows to process");
  Table t = prepare(raw, with_y && !y_names_.empty());
  for (const auto& p : procs_) p->encode(t);
  return tensors_of(t, all_rows_of(t.n_rows()), with_y);
}

std::map<std::string, std::vector<std::string>> TabularPandas::classes() const {
  for (const auto& p : procs_)
    if (auto c = std::dynamic_pointer_cast<Categorify>(p)) return c->classes();
  return {};
}

Table TabularPandas::decode(const at::Tensor& cats, const at::Tensor& conts, const at::Tensor& ys) const {
  auto n_cat = static_cast<int64_t>(names_.cat_names.size()), n_cont = static_cast<int64_t>(names_.cont_names.size());
  FA_CHECK(cats.dim() == 2 && cats.size(1) == n_cat && conts.dim() == 2 && conts.size(1) == n_cont &&
               cats.size(0) == conts.size(0),
           "TabularPandas.decode: expected cats [n, ", n_cat, "] and conts [n, ", n_cont, "], got ", cats.sizes(),
           " and ", conts.sizes());
  auto c = cats.to(at::kCPU, at::kLong).contiguous();
  auto f = conts.to(at::kCPU, at::kDouble).contiguous();
  std::vector<Column> cols;
  for (int64_t j = 0; j < n_cat; ++j) {
    auto col = c.select(1, j).contiguous();
    cols.push_back(Column::from_ints(names_.cat_names[j], {col.data_ptr<int64_t>(), col.data_ptr<int64_t>() + col.numel()}));
  }
  for (int64_t j = 0; j < n_cont; ++j) {
    auto col = f.select(1, j).contiguous();
    cols.push_back(Column::from_floats(names_.cont_names[j], {col.data_ptr<double>(), col.data_ptr<double>() + col.numel()}));
  }
  Table t(std::move(cols));
  for (auto it = procs_.rbegin(); it != procs_.rend(); ++it) (*it)->decode(t);
  if (ys.defined() && !y_names_.empty()) {
    auto y = ys.to(at::kCPU);
    if (y_category_) {
      std::vector<std::string> labels;
      for (int64_t i = 0; i < y.size(0); ++i) labels.push_back(decode_y(y[i]));
      t.add_column(Column::from_strings(y_names_[0], std::move(labels)));
    } else {
      auto yd = y.to(at::kDouble).reshape({y.size(0), -1}).contiguous();
      for (int64_t j = 0; j < yd.size(1) && j < static_cast<int64_t>(y_names_.size()); ++j) {
        auto col = yd.select(1, j).contiguous();
        t.add_column(Column::from_floats(y_names_[j], {col.data_ptr<double>(), col.data_ptr<double>() + col.numel()}));
      }
    }
  }
  return t;
}

std::string TabularPandas::decode_y(const at::Tensor& y) const {
  if (y_category_) {
    auto k = y.item<int64_t>();
    FA_CHECK(k >= 0 && k < static_cast<int64_t>(y_vocab_.size()), "TabularPandas.decode_y: class ", k,
             " is outside the ", y_vocab_.size(), " labels");
    return y_vocab_[k];
  }
  auto v = y.to(at::kDouble).reshape({-1});
  std::string s;
  for (int64_t i = 0; i < v.numel(); ++i) {
    if (i) s += ' ';
    s += Column::from_floats("", {v[i].item<double>()}).str(0);
  }
  return s;
}

nlohmann::json TabularPandas::state() const {
  nlohmann::json procs = nlohmann::json::array();
  for (const auto& p : procs_) procs.push_back({{"name", p->name()}, {"state", p->state()}});
  return {{"input_cats", input_cats_}, {"cat_names", names_.cat_names}, {"cont_names", names_.cont_names}, {"y_names", y_names_},
          {"y_category", y_category_}, {"vocab", y_vocab_}, {"procs", procs}};
}

TabularPandas TabularPandas::from_state(const nlohmann::json& s) {
  TabularPandas t;
  t.input_cats_ = s.at("input_cats").get<std::vector<std::string>>();
  t.names_.cat_names = s.at("cat_names").get<std::vector<std::string>>();
  t.names_.cont_names = s.at("cont_names").get<std::vector<std::string>>();
  t.y_names_ = s.at("y_names").get<std::vector<std::string>>();
  t.y_category_ = s.at("y_category").get<bool>();
  t.y_vocab_ = s.at("vocab").get<std::vector<std::string>>();
  for (const auto& p : s.at("procs")) t.procs_.push_back(TabularProc::from_state(p.at("name"), p.at("state")));
  return t;
}

}  // namespace fastai
