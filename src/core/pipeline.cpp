#include "fastai/core/pipeline.h"

#include "fastai/core/error.h"

#include <algorithm>

namespace fastai {
namespace pipeline_detail {

nlohmann::json opt_json(const std::optional<int>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

std::optional<int> opt_int(const nlohmann::json& j, const char* key, std::size_t idx) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  FA_CHECK(j.at(key).is_number_integer(), "Pipeline::from_state: transform ", idx, ": '", key,
           "' must be an integer or null, got ", j.at(key).dump());
  return j.at(key).get<int>();
}

}  // namespace pipeline_detail

Pipeline::Pipeline(std::vector<std::shared_ptr<Transform>> tfms, std::optional<int> split)
    : split_idx(split), tfms_(std::move(tfms)) {
  for (std::size_t i = 0; i < tfms_.size(); ++i)
    FA_CHECK(tfms_[i] != nullptr, "Pipeline: transform ", i, " of ", tfms_.size(), " is null");
  sort();
}

void Pipeline::sort() {
  std::stable_sort(tfms_.begin(), tfms_.end(), [](const auto& a, const auto& b) { return a->order < b->order; });
}

// An exception from transform k re-thrown as an Error that says which step failed on what.
[[noreturn]] void Pipeline::rethrow_step(std::size_t k, const Item& input, const char* what, bool decoding) const {
  std::string m = what;
  m += "\n  in ";
  m += decoding ? "decoding by " : "";
  m += "transform ";
  m += std::to_string(k + 1);
  m += "/";
  m += std::to_string(tfms_.size());
  m += " '";
  m += tfms_[k]->name();
  m += "' of ";
  m += to_string();
  m += ", on ";
  m += describe(input);
  throw Error(m);
}

Item Pipeline::operator()(const Item& x, std::optional<int> split) const {
  Item r = x;
  for (std::size_t k = 0; k < tfms_.size(); ++k) {
    try {
      r = (*tfms_[k])(r, split);
    } catch (const SkipItemException&) {
      throw;
    } catch (const std::exception& e) {
      rethrow_step(k, r, e.what(), false);
    }
  }
  return r;
}

Tuple Pipeline::operator()(const Tuple& x, std::optional<int> split) const {
  return (*this)(Item::make<Tuple>(x), split).get<Tuple>();
}

Item Pipeline::decode(const Item& x, std::optional<int> split) const {
  Item r = x;
  for (std::size_t k = tfms_.size(); k-- > 0;) {
    try {
      r = tfms_[k]->decode(r, split);
    } catch (const std::exception& e) {
      rethrow_step(k, r, e.what(), true);
    }
  }
  return r;
}

Tuple Pipeline::decode(const Tuple& x, std::optional<int> split) const {
  return decode(Item::make<Tuple>(x), split).get<Tuple>();
}

void Pipeline::setup(const std::vector<Item>& items) {
  auto all = std::move(tfms_);
  tfms_.clear();
  std::vector<Item> cur = items;
  try {
    for (std::size_t k = 0; k < all.size(); ++k) {
      all[k]->setup(cur, this);
      tfms_.push_back(all[k]);
      if (k + 1 < all.size())
        for (auto& x : cur) x = (*all[k])(x, 0);
    }
  } catch (...) {
    tfms_ = std::move(all);  // keep the pipeline whole when a setup fails
    throw;
  }
}

void Pipeline::add(std::shared_ptr<Transform> t, const std::vector<Item>* items) {
  FA_CHECK(t != nullptr, "Pipeline::add: the transform is null");
  if (items) {
    std::vector<Item> cur;
    cur.reserve(items->size());
    for (const auto& x : *items) cur.push_back((*this)(x, 0));
    t->setup(cur, this);
  }
  tfms_.push_back(std::move(t));
  sort();
}

const std::vector<std::string>* Pipeline::vocab() const {
  for (auto it = tfms_.rbegin(); it != tfms_.rend(); ++it)
    if (auto v = (*it)->vocab()) return v;
  return nullptr;
}

std::optional<int64_t> Pipeline::c() const {
  for (auto it = tfms_.rbegin(); it != tfms_.rend(); ++it)
    if (auto v = (*it)->c()) return v;
  return std::nullopt;
}

std::optional<LossHint> Pipeline::loss_hint() const {
  for (auto it = tfms_.rbegin(); it != tfms_.rend(); ++it)
    if (auto v = (*it)->loss_hint()) return v;
  return std::nullopt;
}

std::string Pipeline::to_string() const {
  std::string s = "Pipeline: ";
  for (std::size_t i = 0; i < tfms_.size(); ++i) {
    if (i) s += " -> ";
    s += tfms_[i]->name();
  }
  return s;
}

nlohmann::json Pipeline::state() const {
  nlohmann::json ts = nlohmann::json::array();
  for (const auto& t : tfms_)
    ts.push_back({{"name", t->name()},
                  {"order", t->order},
                  {"split_idx", pipeline_detail::opt_json(t->split_idx)},
                  {"state", t->state()}});
  return {{"split_idx", pipeline_detail::opt_json(split_idx)}, {"transforms", ts}};
}

Pipeline Pipeline::from_state(const nlohmann::json& s) {
  FA_CHECK(s.is_object() && s.contains("transforms") && s.at("transforms").is_array(),
           "Pipeline::from_state: expected an object with a 'transforms' array, got ", s.dump().substr(0, 200));
  std::vector<std::shared_ptr<Transform>> tfms;
  const auto& ts = s.at("transforms");
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const auto& j = ts[i];
    FA_CHECK(j.is_object() && j.contains("name") && j.at("name").is_string(), "Pipeline::from_state: transform ",
             i, " has no 'name' string: ", j.dump().substr(0, 200));
    auto t = make_transform(j.at("name").get<std::string>(), j.value("state", nlohmann::json::object()));
    if (j.contains("order")) {
      FA_CHECK(j.at("order").is_number_integer(), "Pipeline::from_state: transform ", i,
               ": 'order' must be an integer, got ", j.at("order").dump());
      t->order = j.at("order").get<int>();
    }
    t->split_idx = pipeline_detail::opt_int(j, "split_idx", i);
    tfms.push_back(std::move(t));
  }
  std::optional<int> split;
  if (s.contains("split_idx") && !s.at("split_idx").is_null()) {
    FA_CHECK(s.at("split_idx").is_number_integer(), "Pipeline::from_state: 'split_idx' must be an integer or null, got ",
             s.at("split_idx").dump());
    split = s.at("split_idx").get<int>();
  }
  return Pipeline(std::move(tfms), split);
}

}  // namespace fastai
