// Transform: a reversible, stateful function with type dispatch (fastcore's Transform).
// encodes/decodes are registered per semantic type; applied to a Tuple, each element goes through
// the overload for its type (the most derived registered one) and unmatched elements pass through
// unchanged. setup learns state from training items; state()/load_state() serialise it, and
// make_transform rebuilds a registered transform by name (what export/load_learner need).
#pragma once
#include "fastai/core/types.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <vector>

namespace fastai {

class Pipeline;
class Transform;

/// Thrown by a transform (or a loader's create_item) to drop one item from its batch
/// (fastai SkipItemException). Pipelines and loaders pass it through unchanged.
struct SkipItemException : std::exception {
  const char* what() const noexcept override { return "SkipItemException"; }
};

/// The loss a target type implies (fastai's `loss_func` attribute of Categorize & co.): the loss's
/// registered name and its parameters. The Learner builds it when no loss_func is given.
struct LossHint {
  std::string name;                                       ///< e.g. "CrossEntropyLossFlat"
  nlohmann::json params = nlohmann::json::object();      ///< e.g. {"axis": 1}
};

namespace transform_detail {
using Fn = std::function<Item(const Transform&, const Item&)>;

// Wraps `f(const T&)` or `f(const Transform&, const T&)` returning any storable type (or an Item).
template <class T, class F>
Fn wrap(F f) {
  return [f = std::move(f)](const Transform& self, const Item& x) -> Item {
    if constexpr (std::is_invocable_v<F&, const Transform&, const T&>) {
      return Item(f(self, x.template get<T>()));
    } else {
      static_assert(std::is_invocable_v<F&, const T&>, "encodes/decodes<T>(f): f must take (const T&) or (const Transform&, const T&)");
      return Item(f(x.template get<T>()));
    }
  };
}
void extend(const std::string& transform_name, bool enc, std::type_index t, Fn f);
}  // namespace transform_detail

/// fastcore's Transform. Not copyable (registered functions may refer to the transform itself):
/// hold it in a std::shared_ptr. Calls are const and may run concurrently on loader threads.
class Transform {
 public:
  /// `name` is what name() returns and what make_transform knows it by.
  explicit Transform(std::string name = "Transform", int order = 0, std::optional<int> split_idx = std::nullopt);
  virtual ~Transform() = default;
  Transform(const Transform&) = delete;
  Transform& operator=(const Transform&) = delete;

  /// Position in a Pipeline (sorted ascending, stable).
  int order = 0;
  /// 0 = applied only when called with split_idx 0 (training), 1 = only with 1 (validation),
  /// nullopt = always. As in fastai, a transform with a split_idx is skipped by a call without one.
  std::optional<int> split_idx;

  virtual std::string name() const { return name_; }

  /// Encodes an item; a Tuple element-wise (recursively), unless this is an ItemTransform.
  Item operator()(const Item& x, std::optional<int> split_idx = std::nullopt) const;
  Tuple operator()(const Tuple& x, std::optional<int> split_idx = std::nullopt) const;
  /// Undoes encodes (for display and prediction); same dispatch and split_idx rules.
  Item decode(const Item& x, std::optional<int> split_idx = std::nullopt) const;
  Tuple decode(const Tuple& x, std::optional<int> split_idx = std::nullopt) const;

  /// Learns state from training items (fastai setups). `before` is the pipeline of the transforms
  /// that ran before this one (for attributes such as its vocab), or nullptr.
  void setup(const std::vector<Item>& items, const Pipeline* before = nullptr);

  /// Registers the encodes overload for type T (and its registered subtypes without their own):
  /// f(const T&) or f(const Transform&, const T&), returning any storable value or an Item.
  template <class T, class F>
  Transform& encodes(F f) {
    enc_[typeid(T)] = transform_detail::wrap<T>(std::move(f));
    return *this;
  }
  /// Registers the decodes overload for type T.
  template <class T, class F>
  Transform& decodes(F f) {
    dec_[typeid(T)] = transform_detail::wrap<T>(std::move(f));
    return *this;
  }
  /// True when an encodes overload (own or class-wide) applies to type t.
  bool has_encodes(std::type_index t) const;

  /// The learned state and parameters, as JSON (fastai pickles the object; we write this).
  virtual nlohmann::json state() const { return nlohmann::json::object(); }
  /// Restores what state() wrote.
  virtual void load_state(const nlohmann::json& /*state*/) {}

  /// The vocabulary this transform holds, if any (fastai's pipeline attribute `vocab`).
  virtual const std::vector<std::string>* vocab() const { return nullptr; }
  /// The number of outputs it implies, if any (fastai's attribute `c`).
  virtual std::optional<int64_t> c() const { return std::nullopt; }
  /// True when setup needs data to learn from (a loader then builds one batch to set it up on;
  /// e.g. Normalize without stats). Transforms whose setups read the items override it.
  virtual bool needs_setup_data() const { return false; }
  /// The loss its outputs imply as targets, if any (fastai's attribute `loss_func`).
  virtual std::optional<LossHint> loss_hint() const { return std::nullopt; }

 protected:
  /// The setup hook (fastai setups): default does nothing.
  virtual void setups(const std::vector<Item>& /*items*/, const Pipeline* /*before*/) {}
  /// One element (or the whole tuple for an ItemTransform): default dispatches on its type.
  virtual Item encodes_item(const Item& x) const;
  virtual Item decodes_item(const Item& x) const;
  /// encodes_item for transforms whose behaviour depends on the split they are called with
  /// (fastai's Resize: a random crop on train, the centre on valid): receives the call's split
  /// (0 train, 1 valid, nullopt none). Default: encodes_item(x).
  virtual Item encodes_split(const Item& x, std::optional<int> /*split*/) const { return encodes_item(x); }
  /// True for ItemTransform: the whole tuple is one item.
  virtual bool whole_tuple() const { return false; }

  void set_name(std::string n) { name_ = std::move(n); }
  /// Dispatches x to the most specific overload in `own` or the class-wide extensions; x if none.
  Item dispatch(const std::unordered_map<std::type_index, transform_detail::Fn>& own, bool enc, const Item& x) const;

 private:
  Item call(const Item& x, std::optional<int> split, bool enc) const;

  std::string name_;
  std::unordered_map<std::type_index, transform_detail::Fn> enc_, dec_;
};

/// A transform that receives the whole tuple (fastai ItemTransform), e.g. encodes<Tuple>(...).
class ItemTransform : public Transform {
 public:
  using Transform::Transform;

 protected:
  bool whole_tuple() const override { return true; }
};

/// Adds an encodes overload for type T to every transform named `transform_name`, including the
/// library's (fastai's `@Categorize def encodes(self, x: MyType)`). f as for Transform::encodes.
/// An overload registered on an instance wins over a class-wide one for the same type.
template <class T, class F>
void extend_encodes(const std::string& transform_name, F f) {
  transform_detail::extend(transform_name, true, typeid(T), transform_detail::wrap<T>(std::move(f)));
}
/// Adds a decodes overload for type T to every transform named `transform_name`.
template <class T, class F>
void extend_decodes(const std::string& transform_name, F f) {
  transform_detail::extend(transform_name, false, typeid(T), transform_detail::wrap<T>(std::move(f)));
}

// ---- rebuilding transforms by name ----------------------------------------------------------

/// Builds a transform from its state() JSON.
using TransformFactory = std::function<std::shared_ptr<Transform>(const nlohmann::json& state)>;
/// Registers a factory under `name` (replacing any previous one). The core transforms are built in.
void register_transform(const std::string& name, TransformFactory f);
/// Registers T (default-constructible) under `name`: built with T() then load_state(state).
template <class T>
void register_transform(const std::string& name) {
  register_transform(name, [](const nlohmann::json& s) -> std::shared_ptr<Transform> {
    auto t = std::make_shared<T>();
    t->load_state(s);
    return t;
  });
}
/// A transform rebuilt from its name and state. Error naming the transform and the registered names.
std::shared_ptr<Transform> make_transform(const std::string& name, const nlohmann::json& state);
/// The registered transform names, sorted.
std::vector<std::string> registered_transforms();

}  // namespace fastai
