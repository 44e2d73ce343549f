#include "fastai/core/transform.h"

#include "fastai/core/error.h"

#include <map>
#include <mutex>
#include <shared_mutex>

namespace fastai {
namespace transforms_detail {
// Defined in transforms.cpp: adds the core transforms (Categorize, Normalize, ...) to `m`.
void register_core_transforms(std::map<std::string, TransformFactory>& m);
}  // namespace transforms_detail

namespace transform_detail {

// Class-wide overloads, keyed by transform name then type.
struct Extensions {
  std::shared_mutex mu;
  std::map<std::string, std::unordered_map<std::type_index, Fn>> enc, dec;
};
Extensions& extensions() {
  static Extensions e;
  return e;
}

void extend(const std::string& transform_name, bool enc, std::type_index t, Fn f) {
  auto& e = extensions();
  std::unique_lock lock(e.mu);
  (enc ? e.enc : e.dec)[transform_name][t] = std::move(f);
}

struct Factories {
  std::shared_mutex mu;
  std::map<std::string, TransformFactory> m;
  Factories() { transforms_detail::register_core_transforms(m); }
};
Factories& factories() {
  static Factories f;
  return f;
}

}  // namespace transform_detail

Transform::Transform(std::string name, int order_, std::optional<int> split_idx_)
    : order(order_), split_idx(split_idx_), name_(std::move(name)) {}

Item Transform::dispatch(const std::unordered_map<std::type_index, transform_detail::Fn>& own, bool enc,
                         const Item& x) const {
  if (x.empty()) return x;
  auto& ext = transform_detail::extensions();
  const std::unordered_map<std::type_index, transform_detail::Fn>* cls = nullptr;
  {
    std::shared_lock lock(ext.mu);
    auto& m = enc ? ext.enc : ext.dec;
    if (!m.empty()) {
      auto it = m.find(name());
      if (it != m.end()) cls = &it->second;  // entries are never erased, so the pointer stays valid
    }
  }
  for (auto t : types_detail::mro_cached(x.type())) {
    auto it = own.find(t);
    if (it != own.end()) return it->second(*this, x);
    if (cls) {
      transform_detail::Fn f;
      {
        std::shared_lock lock(ext.mu);
        auto jt = cls->find(t);
        if (jt != cls->end()) f = jt->second;
      }
      if (f) return f(*this, x);
    }
  }
  return x;
}

Item Transform::encodes_item(const Item& x) const { return dispatch(enc_, true, x); }
Item Transform::decodes_item(const Item& x) const { return dispatch(dec_, false, x); }

bool Transform::has_encodes(std::type_index t) const {
  auto& ext = transform_detail::extensions();
  std::shared_lock lock(ext.mu);
  auto it = ext.enc.find(name());
  for (auto b : type_mro(t)) {
    if (enc_.count(b)) return true;
    if (it != ext.enc.end() && it->second.count(b)) return true;
  }
  return false;
}

Item Transform::call(const Item& x, std::optional<int> split, bool enc) const {
  if (split_idx.has_value() && split != split_idx) return x;
  if (!whole_tuple() && x.type() == typeid(Tuple)) {
    const auto& t = x.get<Tuple>();
    Tuple out;
    out.reserve(t.size());
    for (const auto& e : t) out.push_back(call(e, split, enc));
    return Item::make<Tuple>(std::move(out));
  }
  return retain_type(enc ? encodes_split(x, split) : decodes_item(x), x);
}

Item Transform::operator()(const Item& x, std::optional<int> split) const { return call(x, split, true); }
Tuple Transform::operator()(const Tuple& x, std::optional<int> split) const {
  return call(Item::make<Tuple>(x), split, true).get<Tuple>();
}
Item Transform::decode(const Item& x, std::optional<int> split) const { return call(x, split, false); }
Tuple Transform::decode(const Tuple& x, std::optional<int> split) const {
  return call(Item::make<Tuple>(x), split, false).get<Tuple>();
}

void Transform::setup(const std::vector<Item>& items, const Pipeline* before) { setups(items, before); }

void register_transform(const std::string& name, TransformFactory f) {
  FA_CHECK(f, "register_transform(", fastai::quote_value(name), "): the factory is empty");
  auto& r = transform_detail::factories();
  std::unique_lock lock(r.mu);
  r.m[name] = std::move(f);
}

std::vector<std::string> registered_transforms() {
  auto& r = transform_detail::factories();
  std::shared_lock lock(r.mu);
  std::vector<std::string> names;
  for (const auto& [k, v] : r.m) names.push_back(k);
  return names;
}

std::shared_ptr<Transform> make_transform(const std::string& name, const nlohmann::json& state) {
  TransformFactory f;
  {
    auto& r = transform_detail::factories();
    std::shared_lock lock(r.mu);
    auto it = r.m.find(name);
    if (it != r.m.end()) f = it->second;
  }
  if (!f) {
    std::string known;
    for (const auto& n : registered_transforms()) {
      if (!known.empty()) known += ", ";
      known += n;
    }
    fail("cannot rebuild transform ", fastai::quote_value(name),
         ": no transform of that name is registered (a transform built from functions has no name; "
         "subclass Transform, give it a name and call register_transform). Registered: ",
         known);
  }
  try {
    auto t = f(state);
    FA_CHECK(t, "the factory of transform ", fastai::quote_value(name), " returned nothing");
    return t;
  } catch (const nlohmann::json::exception& e) {
    fail("cannot rebuild transform ", fastai::quote_value(name), " from its state ", state.dump(), ": ", e.what());
  }
}

}  // namespace fastai
