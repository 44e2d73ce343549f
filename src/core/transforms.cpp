#include "fastai/core/transforms.h"

#include "fastai/core/error.h"
#include "fastai/core/pipeline.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <set>

namespace fastai {
namespace transforms_detail {

// Visits x and, recursively, the elements of a Tuple.
template <class F>
void for_leaves(const Item& x, F&& f) {
  if (x.type() == typeid(Tuple)) {
    for (const auto& e : x.get<Tuple>()) for_leaves(e, f);
  } else {
    f(x);
  }
}

std::string types_seen(const std::vector<Item>& items) {
  std::set<std::string> names;
  for (const auto& x : items) for_leaves(x, [&](const Item& e) { names.insert(e.type_name()); });
  std::string s;
  for (const auto& n : names) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s.empty() ? std::string("none") : s;
}

std::string some_vocab(const std::vector<std::string>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < 10; ++i) {
    if (i) s += ", ";
    s += fastai::quote_value(v[i]);
  }
  if (v.size() > 10) s += ", ...";
  return s;
}

const std::vector<std::string>& labels_of(const Item& x) {
  return x.is<MultiCategory>() ? x.get<MultiCategory>().labels : x.get<std::vector<std::string>>();
}

std::vector<double> to_vec(const at::Tensor& t) {
  auto d = t.detach().to(at::kCPU).to(at::kDouble).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

nlohmann::json tensor_json(const at::Tensor& t) {
  if (!t.defined()) return nullptr;
  return {{"shape", t.sizes().vec()}, {"values", to_vec(t)}};
}

at::Tensor json_tensor(const nlohmann::json& j) {
  if (j.is_null()) return {};
  auto vals = j.at("values").get<std::vector<double>>();
  auto shape = j.at("shape").get<std::vector<int64_t>>();
  return at::tensor(vals, at::kDouble).to(at::kFloat).reshape(shape);
}

nlohmann::json opt_json(const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
std::optional<int64_t> json_opt(const nlohmann::json& s, const char* k) {
  if (!s.contains(k) || s.at(k).is_null()) return std::nullopt;
  return s.at(k).get<int64_t>();
}

void register_core_transforms(std::map<std::string, TransformFactory>& m) {
  auto add = [&m](const char* name, auto make) {
    m[name] = [make](const nlohmann::json& s) -> std::shared_ptr<Transform> {
      auto t = make();
      t->load_state(s);
      return t;
    };
  };
  add("Categorize", [] { return std::make_shared<Categorize>(); });
  add("MultiCategorize", [] { return std::make_shared<MultiCategorize>(); });
  add("OneHotEncode", [] { return std::make_shared<OneHotEncode>(); });
  add("EncodedMultiCategorize", [] { return std::make_shared<EncodedMultiCategorize>(); });
  add("RegressionSetup", [] { return std::make_shared<RegressionSetup>(); });
  add("ToTensor", [] { return std::make_shared<ToTensor>(); });
  add("IntToFloatTensor", [] { return std::make_shared<IntToFloatTensor>(); });
  add("Normalize", [] { return std::make_shared<Normalize>(); });
}

}  // namespace transforms_detail

// ---- CategoryMap ------------------------------------------------------------------------------

CategoryMap::CategoryMap(const std::vector<std::string>& labels, bool sort, bool add_na) : add_na_(add_na) {
  std::set<std::string> seen;
  std::vector<std::string> u;
  for (const auto& l : labels)
    if (seen.insert(l).second) u.push_back(l);
  if (sort) std::sort(u.begin(), u.end());
  if (add_na) items_.push_back("#na#");
  for (auto& l : u)
    if (!(add_na && l == "#na#")) items_.push_back(std::move(l));
  for (std::size_t i = 0; i < items_.size(); ++i) o2i_.emplace(items_[i], static_cast<int64_t>(i));
}

CategoryMap CategoryMap::from_vocab(std::vector<std::string> vocab, bool add_na) {
  CategoryMap m;
  m.items_ = std::move(vocab);
  m.add_na_ = add_na;
  for (std::size_t i = 0; i < m.items_.size(); ++i) m.o2i_.emplace(m.items_[i], static_cast<int64_t>(i));
  return m;
}

int64_t CategoryMap::index(const std::string& label, const char* who) const {
  auto it = o2i_.find(label);
  if (it != o2i_.end()) return it->second;
  if (add_na_) return 0;
  fail(who, ": label ", fastai::quote_value(label), " is not in the vocab (", items_.size(), " classes: ",
       transforms_detail::some_vocab(items_), ")");
}

const std::string& CategoryMap::label(int64_t i, const char* who) const {
  FA_CHECK(i >= 0 && i < static_cast<int64_t>(items_.size()), who, ": index ", i, " is outside the vocab of ",
           items_.size(), " classes");
  return items_[static_cast<std::size_t>(i)];
}

// ---- Categorize -------------------------------------------------------------------------------

Categorize::Categorize(CategorizeOptions o) : Transform("Categorize", 1), sort_(o.sort), add_na_(o.add_na) {
  if (!o.vocab.empty()) map_ = CategoryMap(o.vocab, o.sort, o.add_na);
  auto enc = [](const Transform& self, const std::string& label) -> TensorCategory {
    const auto& m = static_cast<const Categorize&>(self).category_map();
    return TensorCategory(at::scalar_tensor(m.index(label, "Categorize"), at::kLong));
  };
  encodes<std::string>(enc);
  encodes<Category>([enc](const Transform& self, const Category& c) { return enc(self, c.label); });
  decodes<TensorCategory>([](const Transform& self, const TensorCategory& t) -> Category {
    FA_CHECK(t.data.numel() == 1, "Categorize: decodes one label at a time; got a TensorCategory of shape ",
             t.data.sizes(), " (decode a batch sample by sample)");
    const auto& m = static_cast<const Categorize&>(self).category_map();
    return Category{m.label(t.data.item<int64_t>(), "Categorize")};
  });
}

const CategoryMap& Categorize::category_map() const {
  FA_CHECK(map_.has_value(), "Categorize has no vocab: call setup on the training labels or pass CategorizeOptions{.vocab = ...}");
  return *map_;
}
const std::vector<std::string>* Categorize::vocab() const { return map_ ? &map_->items() : nullptr; }
std::optional<int64_t> Categorize::c() const {
  return map_ ? std::optional<int64_t>(static_cast<int64_t>(map_->size())) : std::nullopt;
}

void Categorize::setups(const std::vector<Item>& items, const Pipeline*) {
  if (map_) return;
  std::vector<std::string> labels;
  for (const auto& x : items)
    transforms_detail::for_leaves(x, [&](const Item& e) {
      if (e.is<Category>()) labels.push_back(e.get<Category>().label);
      else if (e.is<std::string>()) labels.push_back(e.get<std::string>());
    });
  FA_CHECK(!labels.empty(), "Categorize.setup: no labels (Category or str items) among ", items.size(),
           " items (found types: ", transforms_detail::types_seen(items), ")");
  map_ = CategoryMap(labels, sort_, add_na_);
}

nlohmann::json Categorize::state() const {
  return {{"vocab", map_ ? nlohmann::json(map_->items()) : nlohmann::json(nullptr)}, {"sort", sort_}, {"add_na", add_na_}};
}
void Categorize::load_state(const nlohmann::json& s) {
  sort_ = s.value("sort", true);
  add_na_ = s.value("add_na", false);
  map_.reset();
  if (s.contains("vocab") && !s.at("vocab").is_null())
    map_ = CategoryMap::from_vocab(s.at("vocab").get<std::vector<std::string>>(), add_na_);
}

// ---- MultiCategorize / OneHotEncode / EncodedMultiCategorize ---------------------------------

MultiCategorize::MultiCategorize(std::vector<std::string> vocab, bool add_na) : Transform("MultiCategorize", 1), add_na_(add_na) {
  if (!vocab.empty()) map_ = CategoryMap(vocab, true, add_na);
  // Unknown labels are collected for one message naming them all.
  auto enc_all = [](const Transform& self, const std::vector<std::string>& labels) -> TensorMultiCategory {
    const auto& me = static_cast<const MultiCategorize&>(self);
    FA_CHECK(me.map_.has_value(), "MultiCategorize has no vocab: call setup on the training labels or pass a vocab");
    const auto& v = me.map_->items();
    std::vector<std::string> missing;
    std::vector<int64_t> idx;
    for (const auto& l : labels) {
      if (!me.map_->add_na() && std::find(v.begin(), v.end(), l) == v.end()) missing.push_back(fastai::quote_value(l));
      else idx.push_back(me.map_->index(l, "MultiCategorize"));
    }
    if (!missing.empty()) {
      std::string m;
      for (const auto& s : missing) {
        if (!m.empty()) m += ", ";
        m += s;
      }
      fail("MultiCategorize: labels ", m, " were not in the training labels (vocab: ", transforms_detail::some_vocab(v), ")");
    }
    return TensorMultiCategory(at::tensor(idx, at::kLong));
  };
  encodes<std::vector<std::string>>(enc_all);
  encodes<MultiCategory>([enc_all](const Transform& self, const MultiCategory& m) { return enc_all(self, m.labels); });
  decodes<TensorMultiCategory>([](const Transform& self, const TensorMultiCategory& t) -> MultiCategory {
    const auto& me = static_cast<const MultiCategorize&>(self);
    FA_CHECK(me.map_.has_value(), "MultiCategorize has no vocab to decode with");
    MultiCategory r;
    for (double i : transforms_detail::to_vec(t.data)) r.labels.push_back(me.map_->label(static_cast<int64_t>(i), "MultiCategorize"));
    return r;
  });
}

const std::vector<std::string>* MultiCategorize::vocab() const { return map_ ? &map_->items() : nullptr; }
std::optional<int64_t> MultiCategorize::c() const {
  return map_ ? std::optional<int64_t>(static_cast<int64_t>(map_->size())) : std::nullopt;
}

void MultiCategorize::setups(const std::vector<Item>& items, const Pipeline*) {
  if (map_) return;
  std::vector<std::string> labels;
  bool any = false;
  for (const auto& x : items)
    transforms_detail::for_leaves(x, [&](const Item& e) {
      if (e.is<MultiCategory>() || e.is<std::vector<std::string>>()) {
        any = true;
        for (const auto& l : transforms_detail::labels_of(e)) labels.push_back(l);
      }
    });
  FA_CHECK(any, "MultiCategorize.setup: no label lists (MultiCategory or list[str] items) among ", items.size(),
           " items (found types: ", transforms_detail::types_seen(items), ")");
  map_ = CategoryMap(labels, true, add_na_);
}

nlohmann::json MultiCategorize::state() const {
  return {{"vocab", map_ ? nlohmann::json(map_->items()) : nlohmann::json(nullptr)}, {"add_na", add_na_}};
}
void MultiCategorize::load_state(const nlohmann::json& s) {
  add_na_ = s.value("add_na", false);
  map_.reset();
  if (s.contains("vocab") && !s.at("vocab").is_null())
    map_ = CategoryMap::from_vocab(s.at("vocab").get<std::vector<std::string>>(), add_na_);
}

OneHotEncode::OneHotEncode(std::optional<int64_t> c) : Transform("OneHotEncode", 2), c_(c) {
  encodes<TensorMultiCategory>([](const Transform& self, const TensorMultiCategory& t) -> TensorMultiCategory {
    auto c = static_cast<const OneHotEncode&>(self).c_;
    FA_CHECK(c.has_value(), "OneHotEncode has no number of classes: pass c or set it up after MultiCategorize");
    auto idx = t.data.to(at::kLong).flatten();
    if (idx.numel() > 0) {
      auto lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
      FA_CHECK(lo >= 0 && hi < *c, "OneHotEncode: index ", (lo < 0 ? lo : hi), " is outside [0, ", *c, ")");
    }
    auto r = at::zeros({*c}, at::kFloat);
    if (idx.numel() > 0) r.index_fill_(0, idx, 1.0);
    return TensorMultiCategory(r);
  });
  decodes<TensorMultiCategory>([](const TensorMultiCategory& t) -> TensorMultiCategory {
    return TensorMultiCategory(t.data.ne(0).nonzero().flatten().to(at::kLong));
  });
}

void OneHotEncode::setups(const std::vector<Item>&, const Pipeline* before) {
  if (c_) return;
  const auto* v = before ? before->vocab() : nullptr;
  FA_CHECK(v != nullptr, "OneHotEncode.setup: no c given and no vocab from an earlier transform (put MultiCategorize before it or pass c)");
  c_ = static_cast<int64_t>(v->size());
}
nlohmann::json OneHotEncode::state() const { return {{"c", transforms_detail::opt_json(c_)}}; }
void OneHotEncode::load_state(const nlohmann::json& s) { c_ = transforms_detail::json_opt(s, "c"); }

EncodedMultiCategorize::EncodedMultiCategorize(std::vector<std::string> vocab)
    : Transform("EncodedMultiCategorize", 1), vocab_(std::move(vocab)) {
  decodes<TensorMultiCategory>([](const Transform& self, const TensorMultiCategory& t) -> MultiCategory {
    const auto& v = static_cast<const EncodedMultiCategorize&>(self).vocab_;
    auto vals = transforms_detail::to_vec(t.data);
    FA_CHECK(vals.size() == v.size(), "EncodedMultiCategorize: expected a one-hot vector of ", v.size(),
             " entries (the vocab), got ", vals.size());
    MultiCategory r;
    for (std::size_t i = 0; i < vals.size(); ++i)
      if (vals[i] != 0) r.labels.push_back(v[i]);
    return r;
  });
}

// Only raw one-hot values are encoded (not other semantic tensors that happen to be tensors).
Item EncodedMultiCategorize::encodes_item(const Item& x) const {
  if (x.type() == typeid(at::Tensor)) return TensorMultiCategory(x.get<at::Tensor>().to(at::kFloat));
  if (x.type() == typeid(std::vector<double>))
    return TensorMultiCategory(at::tensor(x.get<std::vector<double>>(), at::kDouble).to(at::kFloat));
  return dispatch({}, true, x);
}
nlohmann::json EncodedMultiCategorize::state() const { return {{"vocab", vocab_}}; }
void EncodedMultiCategorize::load_state(const nlohmann::json& s) {
  vocab_ = s.value("vocab", std::vector<std::string>{});
}

// ---- RegressionSetup / ToTensor ---------------------------------------------------------------

RegressionSetup::RegressionSetup(std::optional<int64_t> c) : Transform("RegressionSetup"), c_(c) {}

Item RegressionSetup::encodes_item(const Item& x) const {
  const auto& t = x.type();
  if (t == typeid(double)) return TensorFloat(at::scalar_tensor(x.get<double>(), at::kFloat));
  if (t == typeid(float)) return TensorFloat(at::scalar_tensor(x.get<float>(), at::kFloat));
  if (t == typeid(int64_t)) return TensorFloat(at::scalar_tensor(static_cast<double>(x.get<int64_t>()), at::kFloat));
  if (t == typeid(std::vector<double>))
    return TensorFloat(at::tensor(x.get<std::vector<double>>(), at::kDouble).to(at::kFloat));
  if (t == typeid(at::Tensor)) return TensorFloat(x.get<at::Tensor>().to(at::kFloat));
  return dispatch({}, true, x);
}

void RegressionSetup::setups(const std::vector<Item>& items, const Pipeline*) {
  if (c_ || items.empty()) return;
  const Item& x = items.front();
  if (x.is<at::Tensor>()) c_ = std::max<int64_t>(1, x.get<at::Tensor>().numel());
  else if (x.type() == typeid(std::vector<double>)) c_ = static_cast<int64_t>(x.get<std::vector<double>>().size());
  else c_ = 1;
}
nlohmann::json RegressionSetup::state() const { return {{"c", transforms_detail::opt_json(c_)}}; }
void RegressionSetup::load_state(const nlohmann::json& s) { c_ = transforms_detail::json_opt(s, "c"); }

ToTensor::ToTensor() : Transform("ToTensor", 5) {}

// ---- IntToFloatTensor -------------------------------------------------------------------------

IntToFloatTensor::IntToFloatTensor(IntToFloatTensorOptions o) : Transform("IntToFloatTensor", 10), o_(o) {
  encodes<TensorImage>([](const Transform& self, const TensorImage& x) -> TensorImage {
    return TensorImage(x.data.to(at::kFloat).div(static_cast<const IntToFloatTensor&>(self).o_.div));
  });
  encodes<TensorMask>([](const Transform& self, const TensorMask& x) -> TensorMask {
    double d = static_cast<const IntToFloatTensor&>(self).o_.div_mask;
    auto l = x.data.to(at::kLong);
    return TensorMask(d == 1.0 ? l : l.to(at::kDouble).div(d).to(at::kLong));
  });
  decodes<TensorImage>([](const Transform& self, const TensorImage& x) -> TensorImage {
    double d = static_cast<const IntToFloatTensor&>(self).o_.div;
    if (d == 0) return x;
    auto r = x.data.clamp(0.0, 1.0).mul(d).round();
    return TensorImage(d <= 255.0 ? r.to(at::kByte) : r.to(at::kLong));
  });
}
nlohmann::json IntToFloatTensor::state() const { return {{"div", o_.div}, {"div_mask", o_.div_mask}}; }
void IntToFloatTensor::load_state(const nlohmann::json& s) {
  o_.div = s.value("div", 255.0);
  o_.div_mask = s.value("div_mask", 1.0);
}

// ---- Normalize --------------------------------------------------------------------------------

Normalize::Normalize(at::Tensor mean, at::Tensor std, std::vector<int64_t> axes)
    : Transform("Normalize", 99), mean_(std::move(mean)), std_(std::move(std)), axes_(std::move(axes)) {
  FA_CHECK(mean_.defined() == std_.defined(), "Normalize: give both mean and std, or neither (computed in setup)");
  if (mean_.defined()) {
    mean_ = mean_.to(at::kFloat);
    std_ = std_.to(at::kFloat);
  }
  encodes<TensorImage>([](const Transform& self, const TensorImage& x) -> TensorImage {
    const auto& me = static_cast<const Normalize&>(self);
    return TensorImage((x.data - me.stat_for(me.mean_, x.data)) / me.stat_for(me.std_, x.data));
  });
  decodes<TensorImage>([](const Transform& self, const TensorImage& x) -> TensorImage {
    const auto& me = static_cast<const Normalize&>(self);
    return TensorImage(x.data * me.stat_for(me.std_, x.data) + me.stat_for(me.mean_, x.data));
  });
}

std::shared_ptr<Normalize> Normalize::from_stats(const Stats& s, int64_t dim, int64_t ndim) {
  return from_stats(s.mean, s.std, dim, ndim);
}

std::shared_ptr<Normalize> Normalize::from_stats(std::vector<double> mean, std::vector<double> std, int64_t dim,
                                                 int64_t ndim) {
  FA_CHECK(!mean.empty() && mean.size() == std.size(), "Normalize::from_stats: mean and std need the same non-zero length, got ",
           mean.size(), " and ", std.size());
  FA_CHECK(dim >= 0 && dim < ndim, "Normalize::from_stats: dim ", dim, " is outside [0, ndim=", ndim, ")");
  std::vector<int64_t> shape(static_cast<std::size_t>(ndim), 1);
  shape[static_cast<std::size_t>(dim)] = static_cast<int64_t>(mean.size());
  auto m = at::tensor(mean, at::kDouble).to(at::kFloat).reshape(shape);
  auto s = at::tensor(std, at::kDouble).to(at::kFloat).reshape(shape);
  return std::make_shared<Normalize>(m, s);
}

// The stat viewed for x: a [1,C,1,1] stat loses its leading 1s for a [C,H,W] image.
at::Tensor Normalize::stat_for(const at::Tensor& stat, const at::Tensor& x) const {
  FA_CHECK(stat.defined(), "Normalize has no stats: call setup on training batches or use Normalize::from_stats");
  FA_CHECK(at::isFloatingType(x.scalar_type()), "Normalize expects a float TensorImage (put IntToFloatTensor before it), got ",
           c10::toString(x.scalar_type()), " of shape ", x.sizes());
  at::Tensor s = stat;
  while (s.dim() > x.dim() && s.size(0) == 1) s = s.squeeze(0);
  bool ok = s.dim() <= x.dim();
  for (int64_t i = 1; ok && i <= s.dim(); ++i) ok = s.size(-i) == 1 || s.size(-i) == x.size(-i);
  FA_CHECK(ok, "Normalize: stats of shape ", stat.sizes(), " do not fit an image of shape ", x.sizes(),
           " (channel count differs?)");
  return s.to(x.device(), x.scalar_type());
}

void Normalize::setups(const std::vector<Item>& items, const Pipeline*) {
  if (mean_.defined()) return;
  std::vector<at::Tensor> imgs;
  for (const auto& x : items)
    transforms_detail::for_leaves(x, [&](const Item& e) {
      if (e.is<TensorImage>() && imgs.size() < 64) imgs.push_back(e.get<TensorImage>().data);
    });
  FA_CHECK(!imgs.empty(), "Normalize.setup: no TensorImage among ", items.size(),
           " items to compute stats from (found types: ", transforms_detail::types_seen(items),
           "); pass mean and std or use Normalize::from_stats");
  at::Tensor b = imgs.front().dim() == 4 ? imgs.front() : at::stack(imgs);
  b = b.to(at::kFloat);
  mean_ = b.mean(axes_, true);
  std_ = b.std(axes_, true, true) + 1e-7;
}

nlohmann::json Normalize::state() const {
  return {{"mean", transforms_detail::tensor_json(mean_)}, {"std", transforms_detail::tensor_json(std_)}, {"axes", axes_}};
}
void Normalize::load_state(const nlohmann::json& s) {
  mean_ = transforms_detail::json_tensor(s.value("mean", nlohmann::json(nullptr)));
  std_ = transforms_detail::json_tensor(s.value("std", nlohmann::json(nullptr)));
  axes_ = s.value("axes", std::vector<int64_t>{0, 2, 3});
}

}  // namespace fastai
