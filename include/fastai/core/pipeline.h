// Pipeline: transforms composed in `order` (fastcore's Pipeline). Calling encodes through each
// transform; decode runs the decodes in reverse; setup sets each transform up on the items as
// transformed by the ones before it; state()/from_state() write and rebuild it by name.
#pragma once
#include "fastai/core/transform.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fastai {

class Pipeline {
 public:
  Pipeline() = default;
  /// Transforms sorted by `order` (stable: equal orders keep their list order). Error for a null one.
  explicit Pipeline(std::vector<std::shared_ptr<Transform>> tfms, std::optional<int> split_idx = std::nullopt);

  /// The split the pipeline runs for when called without one (the data layer sets it: 0 train, 1 valid).
  std::optional<int> split_idx;

  /// Encodes through every transform, with this pipeline's split_idx.
  Item operator()(const Item& x) const { return (*this)(x, split_idx); }
  Tuple operator()(const Tuple& x) const { return (*this)(x, split_idx); }
  /// Encodes with an explicit split_idx (0 train, 1 valid, nullopt: only transforms without one).
  Item operator()(const Item& x, std::optional<int> split) const;
  Tuple operator()(const Tuple& x, std::optional<int> split) const;
  /// Decodes through every transform in reverse order (fastai decode(full=True)).
  Item decode(const Item& x) const { return decode(x, split_idx); }
  Tuple decode(const Tuple& x) const { return decode(x, split_idx); }
  /// Decodes with an explicit split_idx.
  Item decode(const Item& x, std::optional<int> split) const;
  Tuple decode(const Tuple& x, std::optional<int> split) const;

  /// Sets the transforms up one at a time on the training `items`: transform k sees the items
  /// encoded by transforms 0..k-1 (with split_idx 0), as fastai's Pipeline.setup / TfmdLists do.
  void setup(const std::vector<Item>& items);
  /// Adds a transform (set up first on `items`, encoded by the current pipeline, when given), re-sorting.
  void add(std::shared_ptr<Transform> t, const std::vector<Item>* items = nullptr);

  const std::vector<std::shared_ptr<Transform>>& transforms() const { return tfms_; }
  std::size_t size() const { return tfms_.size(); }
  bool empty() const { return tfms_.empty(); }
  /// The first transform of C++ type T, or nullptr.
  template <class T>
  std::shared_ptr<T> get() const {
    for (const auto& t : tfms_)
      if (auto p = std::dynamic_pointer_cast<T>(t)) return p;
    return nullptr;
  }
  /// The vocab of the last transform that has one (fastai's pipeline.vocab), or nullptr.
  const std::vector<std::string>* vocab() const;
  /// The `c` of the last transform that has one.
  std::optional<int64_t> c() const;
  /// The loss hint of the last transform that has one.
  std::optional<LossHint> loss_hint() const;
  /// "Pipeline: Categorize -> OneHotEncode" (fastai's repr).
  std::string to_string() const;

  /// {"split_idx": .., "transforms": [{"name", "order", "split_idx", "state"}, ...]}.
  nlohmann::json state() const;
  /// Rebuilds a pipeline from state() by transform name (make_transform); Error naming the
  /// transform index and what is missing or unknown.
  static Pipeline from_state(const nlohmann::json& state);

 private:
  void sort();
  [[noreturn]] void rethrow_step(std::size_t k, const Item& input, const char* what, bool decoding) const;
  std::vector<std::shared_ptr<Transform>> tfms_;
};

}  // namespace fastai
