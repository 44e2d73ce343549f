// Semantic types and the type-erased Item that carries them through transforms (fastai's typed
// tuples, TensorBase subclasses and retain_type). A sample is a Tuple of Items; each transform
// dispatches on an Item's semantic type, walking registered subtype relations (most derived first).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <typeindex>
#include <typeinfo>
#include <utility>
#include <vector>

namespace fastai {

class Item;
/// A sample or a batch: a tuple of typed items (fastai's tuple; nested tuples are allowed).
using Tuple = std::vector<Item>;

namespace types_detail {
[[noreturn]] void bad_get(std::type_index have, std::type_index want);
const void* upcast(std::type_index have, std::type_index want, const void* p);  // nullptr if unrelated
/// type_mro(t) from this thread's cache (valid until the next type registration).
const std::vector<std::type_index>& mro_cached(std::type_index t);
}  // namespace types_detail

/// A value of any copyable type with its semantic type. Copies share the (immutable) value.
/// `const char*` is stored as std::string.
class Item {
 public:
  /// An empty item (type_name() "None").
  Item() = default;
  /// Wraps a value (implicit, so `Tuple{TensorImage(t), Category{"cat"}}` works).
  template <class T>
    requires(!std::is_same_v<std::decay_t<T>, Item>)
  Item(T&& v) {  // NOLINT(google-explicit-constructor)
    using D = std::decay_t<T>;
    if constexpr (std::is_same_v<D, const char*> || std::is_same_v<D, char*>) {
      *this = make<std::string>(std::string(v));
    } else {
      *this = make<D>(std::forward<T>(v));
    }
  }
  /// Wraps a value of type T.
  template <class T>
  static Item make(T v) {
    Item r;
    r.p_ = std::make_shared<const T>(std::move(v));
    r.type_ = typeid(T);
    return r;
  }

  bool empty() const { return !p_; }
  /// The stored (most derived) type.
  std::type_index type() const { return type_; }
  /// The registered name of the stored type ("TensorImage", "Tuple", ...; "None" when empty).
  std::string type_name() const;
  /// True when the value is a T or a registered subtype of T (register_type).
  template <class T>
  bool is() const {
    return p_ && (type_ == typeid(T) || types_detail::upcast(type_, typeid(T), p_.get()) != nullptr);
  }
  /// The value as a T (a registered subtype is upcast). Error naming both types otherwise.
  template <class T>
  const T& get() const {
    if (p_ && type_ == typeid(T)) return *static_cast<const T*>(p_.get());
    const void* q = p_ ? types_detail::upcast(type_, typeid(T), p_.get()) : nullptr;
    if (!q) types_detail::bad_get(type_, typeid(T));
    return *static_cast<const T*>(q);
  }
  /// The raw pointer to the stored value (of type type()).
  const void* raw() const { return p_.get(); }
  /// The same object (not just an equal value).
  bool same(const Item& o) const { return p_ == o.p_; }

 private:
  std::shared_ptr<const void> p_;
  std::type_index type_ = typeid(void);
};

// ---- semantic types (fastai torch_core / data.transforms) ----------------------------------------

/// Any tensor with a semantic type (fastai TensorBase); registered as a subtype of at::Tensor.
struct TensorBase {
  at::Tensor data;
  TensorBase() = default;
  explicit TensorBase(at::Tensor t) : data(std::move(t)) {}
};
struct TensorImageBase : TensorBase { using TensorBase::TensorBase; };
/// An image [C,H,W] (or a batch [B,C,H,W]), uint8 0..255 or float.
struct TensorImage : TensorImageBase { using TensorImageBase::TensorImageBase; };
/// A one-channel image.
struct TensorImageBW : TensorImage { using TensorImage::TensorImage; };
/// A segmentation mask [H,W] (or [B,H,W]) of class indices, int64. Not a TensorImage: Normalize skips it.
struct TensorMask : TensorImageBase { using TensorImageBase::TensorImageBase; };
/// A class index (0-d int64, or [B] in a batch).
struct TensorCategory : TensorBase { using TensorBase::TensorBase; };
/// Class indices [k] (int64), or a one-hot float vector [c] after OneHotEncode.
struct TensorMultiCategory : TensorCategory { using TensorCategory::TensorCategory; };
/// Points [n,2] as (x, y); img_size = {w, h} when known (empty otherwise).
struct TensorPoint : TensorBase {
  std::vector<int64_t> img_size;
  TensorPoint() = default;
  explicit TensorPoint(at::Tensor t, std::vector<int64_t> sz = {}) : TensorBase(std::move(t)), img_size(std::move(sz)) {}
};
/// Boxes [n,4] as (x1, y1, x2, y2); img_size = {w, h} when known.
struct TensorBBox : TensorPoint { using TensorPoint::TensorPoint; };
/// Token ids [n] (int64).
struct TensorText : TensorBase { using TensorBase::TensorBase; };
/// A float target for regression (0-d or [c]).
struct TensorFloat : TensorBase { using TensorBase::TensorBase; };

/// A decoded class label (fastai Category).
struct Category {
  std::string label;
  friend bool operator==(const Category&, const Category&) = default;
};
/// Decoded labels of a multi-label target (fastai MultiCategory).
struct MultiCategory {
  std::vector<std::string> labels;
  friend bool operator==(const MultiCategory&, const MultiCategory&) = default;
};
/// Boxes with one label each (fastai LabeledBBox).
struct LabeledBBox {
  TensorBBox bbox;
  std::vector<std::string> labels;
};
/// Raw text (fastai TitledStr for a text sample).
struct Text {
  std::string text;
  friend bool operator==(const Text&, const Text&) = default;
};

// ---- the type registry --------------------------------------------------------------------------

/// How a registered type relates to one direct base (for types that are not C++ subclasses,
/// e.g. TensorBase "is an" at::Tensor through its `data` member).
struct TypeRelation {
  std::type_index base;
  /// Pointer to the value viewed as a base (argument: pointer to the derived value).
  std::function<const void*(const void*)> upcast;
  /// A derived value like `orig` whose base part is replaced by `base_value` (fastai retain_type).
  std::function<Item(const void* orig, const Item& base_value)> retain;
};

/// Registers a type under `name` with its direct base relations (replacing a previous entry).
void register_type_info(std::type_index t, std::string name, std::vector<TypeRelation> bases = {});

namespace types_detail {
template <class T, class... Bases>
std::vector<TypeRelation> relations() {
  static_assert((std::is_base_of_v<Bases, T> && ...), "register_type<T, Bases...>: each Base must be a base class of T");
  std::vector<TypeRelation> rels;
  (rels.push_back(TypeRelation{
       typeid(Bases), [](const void* p) -> const void* { return static_cast<const Bases*>(static_cast<const T*>(p)); },
       [](const void* orig, const Item& b) -> Item {
         T r = *static_cast<const T*>(orig);
         static_cast<Bases&>(r) = b.get<Bases>();
         return Item::make<T>(std::move(r));
       }}),
   ...);
  return rels;
}
}  // namespace types_detail

/// Registers T under `name` as a subtype of each of Bases (which must be C++ base classes of T).
/// Dispatch then applies a Bases overload to a T (the most derived overload wins), and a result of
/// a base type is converted back to T keeping T's other fields. Call once, e.g. at startup.
template <class T, class... Bases>
void register_type(std::string name) {
  register_type_info(typeid(T), std::move(name), types_detail::relations<T, Bases...>());
}

/// The registered name of a type (a demangled C++ name when unregistered).
std::string type_name(std::type_index t);
/// `t` followed by all its registered bases, nearest first (breadth-first): the dispatch order.
std::vector<std::type_index> type_mro(std::type_index t);
/// True when `t` is `base` or a registered subtype of it.
bool is_subtype(std::type_index t, std::type_index base);
/// `value` (of a base type of `orig`'s type) converted back to `orig`'s type (fastai retain_type);
/// `value` itself when its type is not a strict base of `orig`'s type.
Item retain_type(const Item& value, const Item& orig);

// ---- showing items as text ----------------------------------------------------------------------

/// Registers how values of T are described as text (the most derived printer is used).
void register_describe_info(std::type_index t, std::function<std::string(const Item&)> f);
template <class T, class F>
void register_describe(F f) {
  register_describe_info(typeid(T), [f = std::move(f)](const Item& x) -> std::string { return f(x.get<T>()); });
}
/// A short text for an item (fastai's show, as text): e.g. "TensorImage(shape=[3, 28, 28], dtype=Byte)",
/// "Category(cat)", a Tuple as "(a, b)". Unknown types: "<TypeName>".
std::string describe(const Item& x);

/// Tensor helpers for semantic items: the tensor of any TensorBase or at::Tensor item (Error otherwise).
at::Tensor tensor_of(const Item& x);

}  // namespace fastai
