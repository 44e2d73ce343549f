#include "fastai/tabular/procs.h"

#include "fastai/core/error.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace fastai {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The non-missing values of a numeric column.
std::vector<double> present_values(const Column& c) {
  std::vector<double> v;
  v.reserve(c.size());
  for (size_t i = 0; i < c.size(); ++i)
    if (!c.is_na(i)) v.push_back(c.as_double(i));
  return v;
}

// pandas Series.median(): the middle value, or the mean of the two middle ones.
double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// pandas Series.mode()[0]: the most frequent value, the smallest one on a tie.
double mode_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double best = v[0];
  size_t best_n = 0;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j < v.size() && v[j] == v[i]) ++j;
    if (j - i > best_n) best = v[i], best_n = j - i;
    i = j;
  }
  return best;
}

const Column& numeric_column(const Table& df, const std::string& name, const char* proc) {
  const Column& c = df[name];
  FA_CHECK(c.dtype() == DType::Float64 || c.dtype() == DType::Int64 || c.dtype() == DType::Bool, proc,
           ": continuous column '", name, "' must hold numbers, found dtype ", dtype_name(c.dtype()));
  return c;
}

}  // namespace

std::shared_ptr<TabularProc> TabularProc::from_state(const std::string& name, const nlohmann::json& s) {
  std::shared_ptr<TabularProc> p;
  if (name == "Categorify") p = std::make_shared<Categorify>();
  else if (name == "FillMissing") p = std::make_shared<FillMissing>();
  else if (name == "Normalize") p = std::make_shared<NormalizeTab>();
  else fail("unknown tabular proc '", name, "' (known: Categorify, FillMissing, Normalize)");
  p->load_state(s);
  return p;
}

// ---- Categorify ------------------------------------------------------------------------------

void Categorify::setup(const Table& train, TabularNames& names) {
  cols_ = names.cat_names;
  classes_.clear();
  o2i_.clear();
  for (const auto& name : cols_) {
    const Column& c = train[name];
    std::vector<std::string> cls{"#na#"};
    if (auto it = o_.classes.find(name); it != o_.classes.end()) {
      cls.insert(cls.end(), it->second.begin(), it->second.end());
    } else if (c.dtype() == DType::Category) {
      cls.insert(cls.end(), c.categories().begin(), c.categories().end());  // pandas category order
    } else {
      Column u = c.unique();
      for (size_t i = 0; i < u.size(); ++i) cls.push_back(u.str(i));
    }
    auto& m = o2i_[name];
    for (size_t i = 0; i < cls.size(); ++i) m.emplace(cls[i], static_cast<int64_t>(i));
    classes_[name] = std::move(cls);
  }
}

int64_t Categorify::code(const std::string& col, const std::string& value) const {
  auto it = o2i_.find(col);
  FA_CHECK(it != o2i_.end(), "Categorify: no categories for column '", col, "' (not a categorical column of setup)");
  auto v = it->second.find(value);
  return v == it->second.end() || v->second == 0 ? 0 : v->second;
}

void Categorify::encode(Table& df) const {
  for (const auto& name : cols_) {
    const Column& c = df[name];
    const auto& m = o2i_.at(name);
    std::vector<int64_t> codes(c.size(), 0);
    for (size_t i = 0; i < c.size(); ++i) {
      if (c.is_na(i)) continue;
      auto it = m.find(c.str(i));
      if (it != m.end() && it->second != 0) codes[i] = it->second;
    }
    df.set_column(Column::from_ints(name, std::move(codes)));
  }
}

void Categorify::decode(Table& df) const {
  for (const auto& name : cols_) {
    if (!df.has_column(name)) continue;
    const Column& c = df[name];
    FA_CHECK(c.dtype() == DType::Int64, "Categorify.decode: column '", name, "' should hold int64 codes, found ",
             dtype_name(c.dtype()));
    const auto& cls = classes_.at(name);
    std::vector<std::string> labels(c.size());
    for (size_t i = 0; i < c.size(); ++i) {
      int64_t k = c.ints()[i];
      FA_CHECK(k >= 0 && k < static_cast<int64_t>(cls.size()), "Categorify.decode: code ", k, " in column '", name,
               "' row ", i, " is outside the ", cls.size(), " categories");
      labels[i] = cls[k];
    }
    df.set_column(Column::from_strings(name, std::move(labels)));
  }
}

nlohmann::json Categorify::state() const { return {{"cols", cols_}, {"classes", classes_}}; }

void Categorify::load_state(const nlohmann::json& s) {
  cols_ = s.at("cols").get<std::vector<std::string>>();
  classes_ = s.at("classes").get<std::map<std::string, std::vector<std::string>>>();
  o2i_.clear();
  for (const auto& [name, cls] : classes_) {
    auto& m = o2i_[name];
    for (size_t i = 0; i < cls.size(); ++i) m.emplace(cls[i], static_cast<int64_t>(i));
  }
}

// ---- FillMissing -----------------------------------------------------------------------------

void FillMissing::setup(const Table& train, TabularNames& names) {
  conts_ = names.cont_names;
  na_dict_.clear();
  for (const auto& name : conts_) {
    const Column& c = numeric_column(train, name, "FillMissing");
    if (!c.has_na()) continue;
    std::vector<double> v = present_values(c);
    FA_CHECK(!v.empty() || o_.fill_strategy == FillStrategy::Constant, "FillMissing: continuous column '", name,
             "' has no value at all in the ", train.n_rows(), " training rows: nothing to compute a fill value from");
    double fill = 0;
    switch (o_.fill_strategy) {
      case FillStrategy::Median: fill = median_of(std::move(v)); break;
      case FillStrategy::Mode: fill = mode_of(std::move(v)); break;
      case FillStrategy::Constant: {
        auto it = o_.fill_vals.find(name);
        fill = it == o_.fill_vals.end() ? 0.0 : it->second;
        break;
      }
    }
    na_dict_[name] = fill;
    if (o_.add_col && !contains(names.cat_names, name + "_na")) names.cat_names.push_back(name + "_na");
  }
}

void FillMissing::encode(Table& df) const {
  for (const auto& name : conts_) {
    const Column& c = df[name];
    auto it = na_dict_.find(name);
    if (it == na_dict_.end()) {
      for (size_t i = 0; i < c.size(); ++i)
        FA_CHECK(!c.is_na(i), "FillMissing: continuous column '", name, "' row ", i,
                 " is missing, but the column had no missing value in the training rows, so no fill value was "
                 "learned for it (fastai asserts the same); fill it before, or make sure the training rows have one");
      continue;
    }
    std::vector<double> v(c.size());
    std::vector<uint8_t> na(c.size());
    for (size_t i = 0; i < c.size(); ++i) {
      na[i] = c.is_na(i);
      v[i] = na[i] ? it->second : c.as_double(i);
    }
    if (o_.add_col) df.set_column(Column::from_bools(name + "_na", std::move(na)));
    df.set_column(Column::from_floats(name, std::move(v)));
  }
}

nlohmann::json FillMissing::state() const {
  return {{"conts", conts_}, {"na_dict", na_dict_}, {"add_col", o_.add_col},
          {"fill_strategy", static_cast<int>(o_.fill_strategy)}};
}

void FillMissing::load_state(const nlohmann::json& s) {
  conts_ = s.at("conts").get<std::vector<std::string>>();
  na_dict_ = s.at("na_dict").get<std::map<std::string, double>>();
  o_.add_col = s.at("add_col").get<bool>();
  o_.fill_strategy = static_cast<FillStrategy>(s.value("fill_strategy", 0));
}

// ---- Normalize -------------------------------------------------------------------------------

void NormalizeTab::setup(const Table& train, TabularNames& names) {
  conts_ = names.cont_names;
  means_.clear();
  stds_.clear();
  for (const auto& name : conts_) {
    const Column& c = numeric_column(train, name, "Normalize");
    FA_CHECK(c.size() > 0, "Normalize: no training rows to compute the statistics of '", name, "' from");
    double sum = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      FA_CHECK(!c.is_na(i), "Normalize: continuous column '", name, "' training row ", i,
               " is missing; add FillMissing() to the procs");
      sum += c.as_double(i);
    }
    double mean = sum / c.size(), ss = 0;
    for (size_t i = 0; i < c.size(); ++i) ss += (c.as_double(i) - mean) * (c.as_double(i) - mean);
    means_[name] = mean;
    stds_[name] = std::sqrt(ss / c.size()) + 1e-7;  // ddof 0, as fastai (pandas .std(ddof=0))
  }
}

void NormalizeTab::encode(Table& df) const {
  for (const auto& name : conts_) {
    const Column& c = numeric_column(df, name, "Normalize");
    double m = means_.at(name), s = stds_.at(name);
    std::vector<double> v(c.size());
    for (size_t i = 0; i < c.size(); ++i) v[i] = (c.as_double(i) - m) / s;
    df.set_column(Column::from_floats(name, std::move(v)));
  }
}

void NormalizeTab::decode(Table& df) const {
  for (const auto& name : conts_) {
    if (!df.has_column(name)) continue;
    const Column& c = numeric_column(df, name, "Normalize.decode");
    double m = means_.at(name), s = stds_.at(name);
    std::vector<double> v(c.size());
    for (size_t i = 0; i < c.size(); ++i) v[i] = c.as_double(i) * s + m;
    df.set_column(Column::from_floats(name, std::move(v)));
  }
}

nlohmann::json NormalizeTab::state() const { return {{"conts", conts_}, {"means", means_}, {"stds", stds_}}; }

void NormalizeTab::load_state(const nlohmann::json& s) {
  conts_ = s.at("conts").get<std::vector<std::string>>();
  means_ = s.at("means").get<std::map<std::string, double>>();
  stds_ = s.at("stds").get<std::map<std::string, double>>();
}

}  // namespace fastai
