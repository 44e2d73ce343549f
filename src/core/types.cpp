#include "fastai/core/types.h"

#include "fastai/core/error.h"

#include <atomic>
#include <cxxabi.h>

#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <unordered_map>

namespace fastai {
namespace types_detail {

struct Entry {
  std::string name;
  std::vector<TypeRelation> bases;
};

// The registries are built on first use (no static-initialisation order issues, and the built-in
// types are there even when no object file of the user registers anything).
struct Registry {
  std::shared_mutex mu;
  std::unordered_map<std::type_index, Entry> types;
  std::unordered_map<std::type_index, std::function<std::string(const Item&)>> printers;
  std::unordered_map<std::type_index, std::vector<std::type_index>> mro_cache;  // guarded by mu
  Registry();
};

Registry& registry() {
  static Registry r;
  return r;
}

// Bumped by every registration; each thread's lookup caches are dropped when it changes. Dispatch,
// Item::is / get and retain_type then cost a hash lookup and no lock on the hot path (the loader's
// worker threads call them several times per item).
std::atomic<uint64_t> generation{0};

struct PairHash {
  size_t operator()(const std::pair<std::type_index, std::type_index>& p) const {
    return p.first.hash_code() * 31 + p.second.hash_code();
  }
};
struct LocalCache {
  uint64_t gen = ~uint64_t{0};
  std::unordered_map<std::type_index, std::vector<std::type_index>> mro;
  std::unordered_map<std::pair<std::type_index, std::type_index>, std::vector<std::type_index>, PairHash> chains;
  std::unordered_map<std::pair<std::type_index, std::type_index>, std::vector<const TypeRelation*>, PairHash> rels;
};
LocalCache& local_cache() {
  thread_local LocalCache c;
  const uint64_t g = generation.load(std::memory_order_acquire);
  if (c.gen != g) {
    c.mro.clear();
    c.chains.clear();
    c.rels.clear();
    c.gen = g;
  }
  return c;
}

std::string demangle(const char* n) {
  int status = 0;
  char* d = abi::__cxa_demangle(n, nullptr, nullptr, &status);
  std::string r = (status == 0 && d) ? d : n;
  std::free(d);
  return r;
}

std::string shape_str(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) {
    if (i) s += ", ";
    s += std::to_string(t.size(i));
  }
  return s + "]";
}

std::string num_str(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// "name(v)" for 0-d, "name([a, b])" for up to 8 values, else "name(shape=[..], dtype=..)".
std::string tensor_text(const std::string& name, const at::Tensor& t) {
  std::string s = name;
  s += "(";
  if (!t.defined()) return s + "undefined)";
  if (t.numel() <= 8) {
    auto d = t.detach().to(at::kCPU).to(at::kDouble).contiguous();
    const double* p = d.data_ptr<double>();
    if (t.dim() == 0) return s + num_str(p[0]) + ")";
    s += "[";
    for (int64_t i = 0; i < d.numel(); ++i) {
      if (i) s += ", ";
      s += num_str(p[i]);
    }
    return s + "])";
  }
  s += "shape=";
  s += shape_str(t);
  s += ", dtype=";
  s += std::string(c10::toString(t.scalar_type()));
  return s + ")";
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += v[i];
  }
  return s;
}

std::string wrap(const char* name, const std::string& inner) {
  std::string s = name;
  s += "(";
  s += inner;
  s += ")";
  return s;
}

template <class T>
void add(Registry& r, std::string name, std::vector<TypeRelation> bases = {}) {
  r.types[typeid(T)] = Entry{std::move(name), std::move(bases)};
}

Registry::Registry() {
  add<at::Tensor>(*this, "Tensor");
  add<TensorBase>(*this, "TensorBase",
                  {TypeRelation{typeid(at::Tensor),
                                [](const void* p) -> const void* { return &static_cast<const TensorBase*>(p)->data; },
                                [](const void* orig, const Item& b) -> Item {
                                  TensorBase r = *static_cast<const TensorBase*>(orig);
                                  r.data = b.get<at::Tensor>();
                                  return Item::make<TensorBase>(std::move(r));
                                }}});
  add<TensorImageBase>(*this, "TensorImageBase", relations<TensorImageBase, TensorBase>());
  add<TensorImage>(*this, "TensorImage", relations<TensorImage, TensorImageBase>());
  add<TensorImageBW>(*this, "TensorImageBW", relations<TensorImageBW, TensorImage>());
  add<TensorMask>(*this, "TensorMask", relations<TensorMask, TensorImageBase>());
  add<TensorCategory>(*this, "TensorCategory", relations<TensorCategory, TensorBase>());
  add<TensorMultiCategory>(*this, "TensorMultiCategory", relations<TensorMultiCategory, TensorCategory>());
  add<TensorPoint>(*this, "TensorPoint", relations<TensorPoint, TensorBase>());
  add<TensorBBox>(*this, "TensorBBox", relations<TensorBBox, TensorPoint>());
  add<TensorText>(*this, "TensorText", relations<TensorText, TensorBase>());
  add<TensorFloat>(*this, "TensorFloat", relations<TensorFloat, TensorBase>());
  add<Category>(*this, "Category");
  add<MultiCategory>(*this, "MultiCategory");
  add<LabeledBBox>(*this, "LabeledBBox");
  add<Text>(*this, "Text");
  add<Tuple>(*this, "Tuple");
  add<std::string>(*this, "str");
  add<std::vector<std::string>>(*this, "list[str]");
  add<std::filesystem::path>(*this, "Path");
  add<int64_t>(*this, "int");
  add<int>(*this, "int32");
  add<double>(*this, "float");
  add<float>(*this, "float32");
  add<bool>(*this, "bool");

  printers[typeid(at::Tensor)] = [](const Item& x) { return tensor_text("Tensor", x.get<at::Tensor>()); };
  printers[typeid(TensorBase)] = [](const Item& x) { return tensor_text(x.type_name(), x.get<TensorBase>().data); };
  printers[typeid(Category)] = [](const Item& x) { return wrap("Category", x.get<Category>().label); };
  printers[typeid(MultiCategory)] = [](const Item& x) {
    return wrap("MultiCategory", join(x.get<MultiCategory>().labels));
  };
  printers[typeid(LabeledBBox)] = [](const Item& x) {
    const auto& b = x.get<LabeledBBox>();
    std::string in = tensor_text("TensorBBox", b.bbox.data);
    in += ", [";
    in += join(b.labels);
    in += "]";
    return wrap("LabeledBBox", in);
  };
  printers[typeid(Text)] = [](const Item& x) { return wrap("Text", x.get<Text>().text); };
  printers[typeid(std::string)] = [](const Item& x) { return x.get<std::string>(); };
  printers[typeid(std::vector<std::string>)] = [](const Item& x) {
    std::string s = "[";
    s += join(x.get<std::vector<std::string>>());
    return s + "]";
  };
  printers[typeid(std::filesystem::path)] = [](const Item& x) { return x.get<std::filesystem::path>().string(); };
  printers[typeid(int64_t)] = [](const Item& x) { return std::to_string(x.get<int64_t>()); };
  printers[typeid(int)] = [](const Item& x) { return std::to_string(x.get<int>()); };
  printers[typeid(double)] = [](const Item& x) { return num_str(x.get<double>()); };
  printers[typeid(float)] = [](const Item& x) { return num_str(x.get<float>()); };
  printers[typeid(bool)] = [](const Item& x) { return std::string(x.get<bool>() ? "True" : "False"); };
  printers[typeid(Tuple)] = [](const Item& x) {
    std::vector<std::string> parts;
    for (const auto& e : x.get<Tuple>()) parts.push_back(describe(e));
    return wrap("", join(parts));
  };
}

// Breadth-first over registered bases; `parent` (when given) records the edge used to reach each type.
std::vector<std::type_index> bfs(const Registry& r, std::type_index t,
                                 std::map<std::type_index, std::type_index>* parent = nullptr) {
  std::vector<std::type_index> out{t};
  std::deque<std::type_index> todo{t};
  while (!todo.empty()) {
    auto cur = todo.front();
    todo.pop_front();
    auto it = r.types.find(cur);
    if (it == r.types.end()) continue;
    for (const auto& rel : it->second.bases) {
      bool seen = false;
      for (auto s : out) seen = seen || s == rel.base;
      if (seen) continue;
      out.push_back(rel.base);
      todo.push_back(rel.base);
      if (parent) parent->emplace(rel.base, cur);
    }
  }
  return out;
}

const TypeRelation* relation(const Registry& r, std::type_index from, std::type_index to) {
  auto it = r.types.find(from);
  if (it == r.types.end()) return nullptr;
  for (const auto& rel : it->second.bases)
    if (rel.base == to) return &rel;
  return nullptr;
}

// The chain from `have` up to `want` (both included), empty when `want` is not a base of `have`.
std::vector<std::type_index> chain(const Registry& r, std::type_index have, std::type_index want) {
  std::map<std::type_index, std::type_index> parent;
  auto all = bfs(r, have, &parent);
  bool found = false;
  for (auto t : all) found = found || t == want;
  if (!found) return {};
  std::vector<std::type_index> c{want};
  while (c.back() != have) c.push_back(parent.at(c.back()));
  return {c.rbegin(), c.rend()};
}

const std::vector<std::type_index>& chain_cached(std::type_index have, std::type_index want) {
  auto& lc = local_cache();
  const auto key = std::make_pair(have, want);
  auto it = lc.chains.find(key);
  if (it != lc.chains.end()) return it->second;
  auto& r = registry();
  std::shared_lock lock(r.mu);
  return lc.chains.emplace(key, chain(r, have, want)).first->second;
}

const void* upcast(std::type_index have, std::type_index want, const void* p) {
  auto& lc = local_cache();
  const auto key = std::make_pair(have, want);
  auto it = lc.rels.find(key);
  if (it == lc.rels.end()) {
    const auto c = chain_cached(have, want);
    std::vector<const TypeRelation*> rs;
    auto& r = registry();
    std::shared_lock lock(r.mu);
    for (size_t i = 0; i + 1 < c.size(); ++i) rs.push_back(relation(r, c[i], c[i + 1]));
    it = lc.rels.emplace(key, std::move(rs)).first;
  }
  if (it->second.empty()) return nullptr;
  for (const TypeRelation* rel : it->second) p = rel->upcast(p);
  return p;
}

const std::vector<std::type_index>& mro_cached(std::type_index t) {
  auto& lc = local_cache();
  auto it = lc.mro.find(t);
  if (it != lc.mro.end()) return it->second;
  auto& r = registry();
  std::shared_lock lock(r.mu);
  return lc.mro.emplace(t, bfs(r, t)).first->second;
}

void bad_get(std::type_index have, std::type_index want) {
  if (have == typeid(void)) fail("expected an item of type ", type_name(want), ", got an empty item (None)");
  fail("expected an item of type ", type_name(want), ", got ", type_name(have));
}

}  // namespace types_detail

std::string Item::type_name() const { return p_ ? fastai::type_name(type_) : std::string("None"); }

void register_type_info(std::type_index t, std::string name, std::vector<TypeRelation> bases) {
  auto& r = types_detail::registry();
  std::unique_lock lock(r.mu);
  r.types[t] = types_detail::Entry{std::move(name), std::move(bases)};
  r.mro_cache.clear();
  types_detail::generation.fetch_add(1, std::memory_order_acq_rel);
}

std::string type_name(std::type_index t) {
  if (t == typeid(void)) return "None";
  auto& r = types_detail::registry();
  std::shared_lock lock(r.mu);
  auto it = r.types.find(t);
  return it != r.types.end() ? it->second.name : types_detail::demangle(t.name());
}

std::vector<std::type_index> type_mro(std::type_index t) {
  auto& r = types_detail::registry();
  {
    std::shared_lock lock(r.mu);
    auto it = r.mro_cache.find(t);
    if (it != r.mro_cache.end()) return it->second;
  }
  std::unique_lock lock(r.mu);
  auto m = types_detail::bfs(r, t);
  r.mro_cache[t] = m;
  return m;
}

bool is_subtype(std::type_index t, std::type_index base) {
  for (auto b : type_mro(t))
    if (b == base) return true;
  return false;
}

Item retain_type(const Item& value, const Item& orig) {
  if (value.empty() || orig.empty() || value.type() == orig.type()) return value;
  auto& r = types_detail::registry();
  const std::vector<std::type_index>& c = types_detail::chain_cached(orig.type(), value.type());
  if (c.size() < 2) return value;
  // Rebuild from the nearest base down: each level keeps orig's fields and takes the new base part.
  Item cur = value;
  for (size_t k = c.size() - 1; k >= 1; --k) {
    const void* orig_as = types_detail::upcast(orig.type(), c[k - 1], orig.raw());
    const types_detail::Entry* e = nullptr;
    {
      std::shared_lock lock(r.mu);
      e = &r.types.at(c[k - 1]);
    }
    for (const auto& rel : e->bases)
      if (rel.base == c[k]) cur = rel.retain(orig_as ? orig_as : orig.raw(), cur);
  }
  return cur;
}

void register_describe_info(std::type_index t, std::function<std::string(const Item&)> f) {
  auto& r = types_detail::registry();
  std::unique_lock lock(r.mu);
  r.printers[t] = std::move(f);
}

std::string describe(const Item& x) {
  if (x.empty()) return "None";
  auto& r = types_detail::registry();
  for (auto t : type_mro(x.type())) {
    std::function<std::string(const Item&)> f;
    {
      std::shared_lock lock(r.mu);
      auto it = r.printers.find(t);
      if (it != r.printers.end()) f = it->second;
    }
    if (f) return f(x);
  }
  std::string s = "<";
  s += x.type_name();
  return s + ">";
}

at::Tensor tensor_of(const Item& x) {
  FA_CHECK(x.is<at::Tensor>(), "expected a tensor item (Tensor or a TensorBase type such as TensorImage), got ",
           x.type_name());
  return x.get<at::Tensor>();
}

}  // namespace fastai
