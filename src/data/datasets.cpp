#include "fastai/data/datasets.h"

#include "fastai/core/error.h"

#include <algorithm>
#include <numeric>
#include <utility>

namespace fastai {
namespace datasets_detail {

Splits checked_splits(Splits splits, int64_t n) {
  if (splits.empty()) {
    std::vector<int64_t> all(static_cast<size_t>(n));
    std::iota(all.begin(), all.end(), int64_t{0});
    return {std::move(all), {}};
  }
  for (size_t s = 0; s < splits.size(); ++s)
    for (size_t k = 0; k < splits[s].size(); ++k) {
      const int64_t i = splits[s][k];
      FA_CHECK(i >= 0 && i < n, "TfmdLists: split ", s, (s == 0 ? " (train)" : s == 1 ? " (valid)" : ""),
               " has index ", i, " at position ", k, ", outside the ", n, " items");
    }
  if (splits.size() == 1) splits.emplace_back();
  return splits;
}

// e's message with the item it happened on.
[[noreturn]] void rethrow_for_item(const std::exception& e, int64_t i, const std::string& raw) {
  std::string m = e.what();
  m += "\n  for item ";
  m += std::to_string(i);
  m += " (";
  m += raw;
  m += ")";
  throw Error(m);
}

}  // namespace datasets_detail

std::string ItemDataset::describe_raw(int64_t i) const { return "index " + std::to_string(i); }

// ---- TfmdLists --------------------------------------------------------------------------------

TfmdLists::TfmdLists(std::vector<Item> items, std::vector<std::shared_ptr<Transform>> tfms, TfmdListsOptions o)
    : TfmdLists(std::move(items), Pipeline(std::move(tfms)), std::move(o)) {}

TfmdLists::TfmdLists(std::vector<Item> items, Pipeline tfms, TfmdListsOptions o)
    : TfmdLists(std::make_shared<const std::vector<Item>>(std::move(items)), std::make_shared<Pipeline>(std::move(tfms)),
                std::move(o)) {}

TfmdLists::TfmdLists(std::shared_ptr<const std::vector<Item>> items, std::shared_ptr<Pipeline> tfms, TfmdListsOptions o)
    : items_(std::move(items)), tfms_(std::move(tfms)), split_idx_(o.split_idx) {
  splits_ = datasets_detail::checked_splits(std::move(o.splits), static_cast<int64_t>(items_->size()));
  if (o.do_setup) setup();
}

int64_t TfmdLists::global(int64_t i) const {
  const int64_t n = size();
  FA_CHECK(i >= 0 && i < n, "TfmdLists: index ", i, " is out of range for ", n, " items");
  return idx_ ? (*idx_)[static_cast<size_t>(i)] : i;
}

const Item& TfmdLists::raw(int64_t i) const { return (*items_)[static_cast<size_t>(global(i))]; }

Item TfmdLists::operator[](int64_t i) const {
  const Item& x = raw(i);
  try {
    return (*tfms_)(x, split_idx_);
  } catch (const SkipItemException&) {
    throw;
  } catch (const std::exception& e) {
    datasets_detail::rethrow_for_item(e, i, describe(x));
  }
}

Tuple TfmdLists::get(int64_t i) const {
  Item r = (*this)[i];
  if (r.is<Tuple>()) return r.get<Tuple>();
  return Tuple{std::move(r)};
}

Tuple TfmdLists::decode(const Tuple& x) const {
  if (x.size() == 1) return Tuple{tfms_->decode(x[0], split_idx_)};
  return tfms_->decode(x, split_idx_);
}

std::optional<LossHint> TfmdLists::loss_hint() const { return tfms_->loss_hint(); }

std::string TfmdLists::describe_raw(int64_t i) const { return describe(raw(i)); }

TfmdLists TfmdLists::subset(size_t i) const {
  FA_CHECK(i < splits_.size(), "TfmdLists::subset: subset ", i, " does not exist (", splits_.size(),
           " splits: 0 train, 1 valid)");
  TfmdLists r = *this;
  r.idx_ = std::make_shared<const std::vector<int64_t>>(splits_[i]);
  r.split_idx_ = static_cast<int>(i);
  return r;
}

TfmdLists TfmdLists::with_items(std::vector<Item> items, std::optional<int> split_idx) const {
  return TfmdLists(std::make_shared<const std::vector<Item>>(std::move(items)), tfms_,
                   {.splits = {}, .do_setup = false, .split_idx = split_idx});
}

void TfmdLists::setup() {
  std::vector<Item> train;
  train.reserve(splits_[0].size());
  for (int64_t g : splits_[0]) train.push_back((*items_)[static_cast<size_t>(g)]);
  try {
    tfms_->setup(train);
  } catch (const std::exception& e) {
    std::string m = e.what();
    m += "\n  while setting up ";
    m += tfms_->to_string();
    m += " on the ";
    m += std::to_string(train.size());
    m += " training items";
    throw Error(m);
  }
}

// ---- Datasets ---------------------------------------------------------------------------------

Datasets::Datasets(std::vector<Item> items, std::vector<std::vector<std::shared_ptr<Transform>>> tfms, DatasetsOptions o) {
  FA_CHECK(!tfms.empty(), "Datasets: needs at least one list of transforms (one pipeline per element of a sample)");
  auto shared = std::make_shared<const std::vector<Item>>(std::move(items));
  const auto splits = datasets_detail::checked_splits(std::move(o.splits), static_cast<int64_t>(shared->size()));
  for (auto& t : tfms)
    tls_.push_back(TfmdLists(shared, std::make_shared<Pipeline>(std::move(t)),
                             {.splits = splits, .do_setup = o.do_setup, .split_idx = o.split_idx}));
  *this = Datasets(std::move(tls_), o.n_inp);
}

Datasets::Datasets(std::vector<TfmdLists> tls, std::optional<int> n_inp) : tls_(std::move(tls)) {
  FA_CHECK(!tls_.empty(), "Datasets: needs at least one TfmdLists");
  const auto nt = static_cast<int>(tls_.size());
  n_inp_ = n_inp.value_or(std::max(1, nt - 1));
  FA_CHECK(n_inp_ >= 1 && n_inp_ <= nt, "Datasets: n_inp must be in [1, ", nt, "] (the number of pipelines), got ",
           n_inp_);
  for (size_t k = 1; k < tls_.size(); ++k) {
    FA_CHECK(tls_[k].size() == tls_[0].size(), "Datasets: TfmdLists ", k, " has ", tls_[k].size(),
             " items but TfmdLists 0 has ", tls_[0].size());
    FA_CHECK(tls_[k].n_subsets() == tls_[0].n_subsets(), "Datasets: TfmdLists ", k, " has ", tls_[k].n_subsets(),
             " splits but TfmdLists 0 has ", tls_[0].n_subsets());
  }
}

Tuple Datasets::get(int64_t i) const {
  Tuple out;
  out.reserve(tls_.size());
  for (size_t k = 0; k < tls_.size(); ++k) {
    try {
      out.push_back(tls_[k][i]);
    } catch (const SkipItemException&) {
      throw;
    } catch (const std::exception& e) {
      std::string m = e.what();
      m += ", in pipeline ";
      m += std::to_string(k + 1);
      m += "/";
      m += std::to_string(tls_.size());
      m += static_cast<int>(k) < n_inp_ ? " (an input)" : " (a target)";
      throw Error(m);
    }
  }
  return out;
}

Tuple Datasets::decode(const Tuple& x) const {
  Tuple out;
  out.reserve(x.size());
  for (size_t k = 0; k < x.size(); ++k) out.push_back(k < tls_.size() ? tls_[k].decode(x[k]) : x[k]);
  return out;
}

const std::vector<std::string>* Datasets::vocab() const {
  for (auto it = tls_.rbegin(); it != tls_.rend(); ++it)
    if (auto v = it->vocab()) return v;
  return nullptr;
}

std::optional<int64_t> Datasets::c() const {
  for (auto it = tls_.rbegin(); it != tls_.rend(); ++it)
    if (auto v = it->c()) return v;
  return std::nullopt;
}

std::optional<LossHint> Datasets::loss_hint() const { return tls_.empty() ? std::nullopt : tls_.back().loss_hint(); }

Datasets Datasets::subset(size_t i) const {
  std::vector<TfmdLists> tls;
  tls.reserve(tls_.size());
  for (const auto& t : tls_) tls.push_back(t.subset(i));
  return Datasets(std::move(tls), n_inp_);
}

Datasets Datasets::with_items(std::vector<Item> items, std::optional<int> split_idx,
                              std::optional<size_t> n_pipelines) const {
  const size_t n = std::min(n_pipelines.value_or(tls_.size()), tls_.size());
  FA_CHECK(n >= 1, "Datasets::with_items: needs at least one pipeline");
  auto shared = std::make_shared<const std::vector<Item>>(std::move(items));
  std::vector<TfmdLists> tls;
  for (size_t k = 0; k < n; ++k)
    tls.push_back(TfmdLists(shared, tls_[k].tfms_ptr(), {.splits = {}, .do_setup = false, .split_idx = split_idx}));
  return Datasets(std::move(tls), std::min(n_inp_, static_cast<int>(n)));
}

}  // namespace fastai
