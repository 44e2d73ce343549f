// Splitters of fastai.data.transforms. RandomSplitter / RandomSubsetSplitter draw their permutation
// from a LibTorch CPU generator so that a seed gives torch.randperm's permutation (fastai's split);
// TrainTestSplitter follows sklearn's sizes and stratified allocation with our own RNG.
#include "fastai/data/splitters.h"

#include "fastai/core/error.h"
#include "fastai/io/col_reader.h"
#include "fastai/core/random.h"
#include "fastai/io/table.h"
#include "fastai/core/transforms.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/randperm.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <unordered_set>
#include <utility>

namespace fastai {
namespace splitters_detail {

using Idx = std::vector<int64_t>;

int64_t count(const std::vector<Item>& items) { return static_cast<int64_t>(items.size()); }

// Python's int(frac * n): the product in double, truncated.
int64_t frac_of(double frac, int64_t n) { return static_cast<int64_t>(frac * static_cast<double>(n)); }

// torch.manual_seed(seed); torch.randperm(n) -- the same mt19937 stream as Python's default generator.
Idx randperm(int64_t n, std::optional<uint64_t> seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed ? *seed : next_global_seed());
  at::Tensor p = at::randperm(n, gen);  // int64
  const int64_t* d = p.data_ptr<int64_t>();
  return Idx(d, d + n);
}

// fastai IndexSplitter's core: train = the sorted indices not in `valid`, valid as given.
Splits complement(int64_t n, Idx valid) {
  std::vector<uint8_t> in_valid(static_cast<size_t>(n), 0);
  for (int64_t v : valid) in_valid[static_cast<size_t>(v)] = 1;
  Idx train;
  train.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    if (!in_valid[static_cast<size_t>(i)]) train.push_back(i);
  return {std::move(train), std::move(valid)};
}

void check_fraction(const char* who, const char* what, double v) {
  FA_CHECK(v >= 0.0 && v <= 1.0, who, ": ", what, " must be in [0, 1], got ", v);
}

// The path an item holds: a std::filesystem::path, or a std::string naming one.
std::filesystem::path path_of(const Item& x, const char* who, size_t i) {
  if (x.is<std::filesystem::path>()) return x.get<std::filesystem::path>();
  if (x.is<std::string>()) return x.get<std::string>();
  fail(who, ": item ", i, " must be a path (std::filesystem::path or std::string), got ", x.type_name());
}

// ---- sklearn (model_selection._split) ------------------------------------------------------

// sklearn's _validate_shuffle_split for a float test_size and no train_size.
std::pair<int64_t, int64_t> train_test_sizes(int64_t n, double test_size) {
  const auto n_test = static_cast<int64_t>(std::ceil(test_size * static_cast<double>(n)));
  const int64_t n_train = n - n_test;
  FA_CHECK(n_train > 0, "TrainTestSplitter: with ", n, " items and test_size=", test_size,
           " the training set would be empty; use a smaller test_size or more items");
  return {n_train, n_test};
}

// sklearn's _approximate_mode: per-class draws closest to the class proportions, summing to n_draws.
// The floors come first; the remaining draws go to the largest fractional parts, and a tie among
// classes with an equal fractional part is broken at random (by `rng`, as sklearn does by its RNG).
Idx approximate_mode(const Idx& class_counts, int64_t n_draws, Rng& rng) {
  int64_t total = 0;
  for (int64_t c : class_counts) total += c;
  const size_t k = class_counts.size();
  std::vector<double> cont(k), rem(k);
  Idx floored(k);
  int64_t have = 0;
  for (size_t i = 0; i < k; ++i) {
    cont[i] = static_cast<double>(class_counts[i]) / static_cast<double>(total) * static_cast<double>(n_draws);
    const double f = std::floor(cont[i]);
    floored[i] = static_cast<int64_t>(f);
    rem[i] = cont[i] - f;
    have += floored[i];
  }
  int64_t need = n_draws - have;
  std::vector<double> values(rem);
  std::sort(values.begin(), values.end(), std::greater<>());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  for (double v : values) {
    if (need <= 0) break;
    Idx tied;
    for (size_t i = 0; i < k; ++i)
      if (rem[i] == v) tied.push_back(static_cast<int64_t>(i));
    rng.shuffle(tied);
    const auto add = std::min<int64_t>(need, static_cast<int64_t>(tied.size()));
    for (int64_t j = 0; j < add; ++j) ++floored[static_cast<size_t>(tied[static_cast<size_t>(j)])];
    need -= add;
  }
  return floored;
}

Splits stratified_split(const std::vector<std::string>& labels, int64_t n_train, int64_t n_test, Rng& rng) {
  // Classes in sorted order (numpy.unique), members of each in item order.
  std::map<std::string, Idx> members;
  for (size_t i = 0; i < labels.size(); ++i) members[labels[i]].push_back(static_cast<int64_t>(i));
  Idx counts;
  for (const auto& [label, m] : members) {
    FA_CHECK(m.size() >= 2, "TrainTestSplitter: class ", quote_value(label), " has only 1 item (item ", m[0],
             "); stratifying needs at least 2 items per class");
    counts.push_back(static_cast<int64_t>(m.size()));
  }
  const auto n_classes = static_cast<int64_t>(counts.size());
  FA_CHECK(n_train >= n_classes && n_test >= n_classes, "TrainTestSplitter: the training set (", n_train,
           " items) and the validation set (", n_test, " items) must each hold at least one item of each of the ",
           n_classes, " classes; change test_size");
  const Idx n_i = approximate_mode(counts, n_train, rng);
  Idx left(counts.size());
  for (size_t c = 0; c < counts.size(); ++c) left[c] = counts[c] - n_i[c];
  const Idx t_i = approximate_mode(left, n_test, rng);
  Splits s(2);
  size_t c = 0;
  for (auto& [label, m] : members) {
    rng.shuffle(m);
    const auto a = static_cast<ptrdiff_t>(n_i[c]), b = static_cast<ptrdiff_t>(n_i[c] + t_i[c]);
    s[0].insert(s[0].end(), m.begin(), m.begin() + a);
    s[1].insert(s[1].end(), m.begin() + a, m.begin() + b);
    ++c;
  }
  rng.shuffle(s[0]);
  rng.shuffle(s[1]);
  return s;
}

// ---- ColSplitter ----------------------------------------------------------------------------

// Whether row `r` of `c` marks a validation item; missing counts as false.
bool col_true(const Column& c, size_t r) {
  if (c.is_na(r)) return false;
  switch (c.dtype()) {
    case DType::Bool: return c.bools()[r] != 0;
    case DType::Int64: return c.ints()[r] != 0;
    case DType::Float64: return c.floats()[r] != 0.0;
    case DType::String:
    case DType::Category: {
      const std::string s = c.str(r);
      if (s == "1") return true;
      if (s == "0" || s.empty()) return false;
      if (auto b = parse_bool(s)) return *b;
      fail("ColSplitter: column '", c.name(), "' row ", r, " holds ", quote_value(s),
           "; expected a bool (True/False, true/false, 1/0) marking validation rows");
    }
  }
  return false;
}

}  // namespace splitters_detail

Splitter RandomSplitter(double valid_pct, std::optional<uint64_t> seed) {
  splitters_detail::check_fraction("RandomSplitter", "valid_pct", valid_pct);
  return [valid_pct, seed](const std::vector<Item>& items) -> Splits {
    const int64_t n = splitters_detail::count(items);
    auto p = splitters_detail::randperm(n, seed);
    const auto cut = static_cast<ptrdiff_t>(splitters_detail::frac_of(valid_pct, n));
    return {splitters_detail::Idx(p.begin() + cut, p.end()), splitters_detail::Idx(p.begin(), p.begin() + cut)};
  };
}

Splitter TrainTestSplitter(TrainTestSplitterOptions o) {
  FA_CHECK(o.test_size > 0.0 && o.test_size < 1.0, "TrainTestSplitter: test_size must be in (0, 1), got ",
           o.test_size);
  FA_CHECK(o.shuffle || o.stratify.empty(), "TrainTestSplitter: stratify needs shuffle=true (as in sklearn)");
  return [o](const std::vector<Item>& items) -> Splits {
    const int64_t n = splitters_detail::count(items);
    if (!o.stratify.empty())
      FA_CHECK(static_cast<int64_t>(o.stratify.size()) == n, "TrainTestSplitter: stratify has ", o.stratify.size(),
               " labels for ", n, " items; expected one label per item");
    const auto [n_train, n_test] = splitters_detail::train_test_sizes(n, o.test_size);
    if (!o.shuffle) {
      // sklearn: train = the first n_train items, test the n_test after them.
      Splits s(2);
      for (int64_t i = 0; i < n_train; ++i) s[0].push_back(i);
      for (int64_t i = n_train; i < n_train + n_test; ++i) s[1].push_back(i);
      return s;
    }
    Rng rng(o.random_state ? *o.random_state : next_global_seed());
    if (!o.stratify.empty()) return splitters_detail::stratified_split(o.stratify, n_train, n_test, rng);
    auto p = rng.permutation(n);  // sklearn ShuffleSplit: test first, then train
    return {splitters_detail::Idx(p.begin() + n_test, p.begin() + n_test + n_train),
            splitters_detail::Idx(p.begin(), p.begin() + n_test)};
  };
}

Splitter IndexSplitter(std::vector<int64_t> valid_idx) {
  return [valid_idx = std::move(valid_idx)](const std::vector<Item>& items) -> Splits {
    const int64_t n = splitters_detail::count(items);
    for (size_t j = 0; j < valid_idx.size(); ++j)
      FA_CHECK(valid_idx[j] >= 0 && valid_idx[j] < n, "IndexSplitter: index ", valid_idx[j], " (valid_idx[", j,
               "]) out of range for ", n, " items");
    return splitters_detail::complement(n, valid_idx);
  };
}

Splitter EndSplitter(double valid_pct, bool valid_last) {
  splitters_detail::check_fraction("EndSplitter", "valid_pct", valid_pct);
  return [valid_pct, valid_last](const std::vector<Item>& items) -> Splits {
    const int64_t n = splitters_detail::count(items);
    const int64_t cut = splitters_detail::frac_of(valid_pct, n);
    // valid_last: the last `cut` items; else the first `cut`.
    const int64_t v0 = valid_last ? n - cut : 0, v1 = valid_last ? n : cut;
    Splits s(2);
    for (int64_t i = 0; i < n; ++i) s[(i >= v0 && i < v1) ? 1 : 0].push_back(i);
    return s;
  };
}

Splitter GrandparentSplitter(std::string train_name, std::string valid_name) {
  return [train_name = std::move(train_name), valid_name = std::move(valid_name)](const std::vector<Item>& items) {
    Splits s(2);
    for (size_t i = 0; i < items.size(); ++i) {
      const auto gp = splitters_detail::path_of(items[i], "GrandparentSplitter", i).parent_path().parent_path();
      const std::string name = gp.filename().string();
      if (name == train_name) s[0].push_back(static_cast<int64_t>(i));
      else if (name == valid_name) s[1].push_back(static_cast<int64_t>(i));
    }
    return s;
  };
}

Splitter FuncSplitter(std::function<bool(const Item&)> f) {
  FA_CHECK(f != nullptr, "FuncSplitter: no function given");
  return [f = std::move(f)](const std::vector<Item>& items) -> Splits {
    splitters_detail::Idx valid;
    for (size_t i = 0; i < items.size(); ++i) {
      bool v = false;
      try {
        v = f(items[i]);
      } catch (const std::exception& e) {
        fail("FuncSplitter: the function failed on item ", i, " (", describe(items[i]), "): ", e.what());
      }
      if (v) valid.push_back(static_cast<int64_t>(i));
    }
    return splitters_detail::complement(splitters_detail::count(items), std::move(valid));
  };
}

Splitter MaskSplitter(std::vector<bool> mask) {
  return [mask = std::move(mask)](const std::vector<Item>& items) -> Splits {
    FA_CHECK(mask.size() == items.size(), "MaskSplitter: the mask has ", mask.size(), " entries for ", items.size(),
             " items; expected one per item");
    splitters_detail::Idx valid;
    for (size_t i = 0; i < mask.size(); ++i)
      if (mask[i]) valid.push_back(static_cast<int64_t>(i));
    return splitters_detail::complement(splitters_detail::count(items), std::move(valid));
  };
}

Splitter FileSplitter(std::filesystem::path fname) {
  // Read when the splitter is made (as fastai does), so a missing file fails early.
  std::ifstream in(fname, std::ios::binary);
  FA_CHECK(in.good(), "FileSplitter: cannot read ", fname, "; expected a text file listing validation file names",
           " one per line");
  std::unordered_set<std::string> names;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) names.insert(line);
  }
  FA_CHECK(!in.bad(), "FileSplitter: error reading ", fname);
  return [names = std::move(names)](const std::vector<Item>& items) -> Splits {
    splitters_detail::Idx valid;
    for (size_t i = 0; i < items.size(); ++i)
      if (names.count(splitters_detail::path_of(items[i], "FileSplitter", i).filename().string()))
        valid.push_back(static_cast<int64_t>(i));
    return splitters_detail::complement(splitters_detail::count(items), std::move(valid));
  };
}

Splitter ColSplitter(std::string col) {
  return [col = std::move(col)](const std::vector<Item>& items) -> Splits {
    splitters_detail::Idx valid;
    const Table* last = nullptr;
    const Column* c = nullptr;
    for (size_t i = 0; i < items.size(); ++i) {
      FA_CHECK(items[i].is<TableRow>(), "ColSplitter: item ", i, " must be a table row (TableRow), got ",
               items[i].type_name());
      const TableRow& r = items[i].get<TableRow>();
      FA_CHECK(r.table != nullptr, "ColSplitter: item ", i, " is a TableRow without a table");
      if (r.table.get() != last) {  // rows usually share one table: look the column up once
        if (!r.table->has_column(col)) {
          std::string names;
          for (const auto& nm : r.table->column_names()) {
            if (!names.empty()) names += ", ";
            names += nm;
          }
          fail("ColSplitter: the table of item ", i, " has no column '", col, "' (columns: ", names, ")");
        }
        last = r.table.get();
        c = &(*r.table)[col];
      }
      FA_CHECK(r.row < c->size(), "ColSplitter: item ", i, " is row ", r.row, " of a ", c->size(), "-row table");
      if (splitters_detail::col_true(*c, r.row)) valid.push_back(static_cast<int64_t>(i));
    }
    return splitters_detail::complement(splitters_detail::count(items), std::move(valid));
  };
}

Splitter RandomSubsetSplitter(double train_sz, double valid_sz, std::optional<uint64_t> seed) {
  splitters_detail::check_fraction("RandomSubsetSplitter", "train_sz", train_sz);
  splitters_detail::check_fraction("RandomSubsetSplitter", "valid_sz", valid_sz);
  FA_CHECK(train_sz + valid_sz <= 1.0, "RandomSubsetSplitter: train_sz + valid_sz must be at most 1, got ", train_sz,
           " + ", valid_sz);
  return [train_sz, valid_sz, seed](const std::vector<Item>& items) -> Splits {
    const int64_t n = splitters_detail::count(items);
    const auto nt = static_cast<ptrdiff_t>(splitters_detail::frac_of(train_sz, n));
    const auto nv = static_cast<ptrdiff_t>(splitters_detail::frac_of(valid_sz, n));
    auto p = splitters_detail::randperm(n, seed);
    return {splitters_detail::Idx(p.begin(), p.begin() + nt),
            splitters_detail::Idx(p.begin() + nt, p.begin() + nt + nv)};
  };
}

}  // namespace fastai
