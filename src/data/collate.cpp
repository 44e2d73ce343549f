// Collation of typed samples into typed batches (fastai fa_collate / retain_types), and the
// inverse views: a batch's tensors for the Learner, one sample out of a batch.
#include "fastai/core/error.h"
#include "fastai/data/tfmd_dl.h"

#include <ATen/ATen.h>

#include <string>
#include <utility>

namespace fastai {
namespace collate_detail {

std::string shape_of(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d) s += ", ";
    s += std::to_string(t.size(d));
  }
  return s + "]";
}

template <class T>
bool all_are(const std::vector<Item>& elems) {
  for (const auto& e : elems)
    if (!e.is<T>()) return false;
  return true;
}

template <class T>
at::Tensor numbers(const std::vector<Item>& elems, at::ScalarType dt) {
  std::vector<T> v;
  v.reserve(elems.size());
  for (const auto& e : elems) v.push_back(e.get<T>());
  return at::tensor(at::ArrayRef<T>(v), at::TensorOptions().dtype(dt));
}

Item collate_elems(const std::vector<Item>& elems, const std::string& where) {
  const Item& e0 = elems.front();
  if (e0.is<Tuple>()) {
    const size_t len = e0.get<Tuple>().size();
    Tuple out;
    out.reserve(len);
    for (size_t p = 0; p < len; ++p) {
      std::vector<Item> sub;
      sub.reserve(elems.size());
      for (size_t i = 0; i < elems.size(); ++i) {
        FA_CHECK(elems[i].is<Tuple>() && elems[i].get<Tuple>().size() == len, "collate: element ", where,
                 " of sample ", i, " is ", describe(elems[i]), " but sample 0 has a tuple of ", len, " there");
        sub.push_back(elems[i].get<Tuple>()[p]);
      }
      out.push_back(collate_elems(sub, where + "." + std::to_string(p)));
    }
    return Item::make<Tuple>(std::move(out));
  }
  if (e0.is<at::Tensor>()) {
    std::vector<at::Tensor> ts;
    ts.reserve(elems.size());
    for (size_t i = 0; i < elems.size(); ++i) {
      FA_CHECK(elems[i].is<at::Tensor>(), "collate: element ", where, " of sample ", i, " is a ",
               elems[i].type_name(), " but sample 0 has a ", e0.type_name(), " there");
      ts.push_back(elems[i].get<at::Tensor>());
      FA_CHECK(ts.back().sizes() == ts.front().sizes(), "collate: element ", where, " of sample ", i, " has shape ",
               shape_of(ts.back()), " but sample 0's is ", shape_of(ts.front()),
               "; items in a batch need one shape (resize them in item_tfms, or pad them in before_batch)");
    }
    return retain_type(Item(at::stack(ts)), e0);
  }
  if (all_are<double>(elems)) return Item(numbers<double>(elems, at::kDouble));
  if (all_are<float>(elems)) return Item(numbers<float>(elems, at::kFloat));
  if (all_are<int64_t>(elems)) return Item(numbers<int64_t>(elems, at::kLong));
  if (all_are<int>(elems)) return Item(numbers<int>(elems, at::kInt));
  if (all_are<bool>(elems)) {
    std::vector<uint8_t> v;
    for (const auto& e : elems) v.push_back(e.get<bool>() ? 1 : 0);
    return Item(at::tensor(at::ArrayRef<uint8_t>(v)).to(at::kBool));
  }
  fail("collate: element ", where, " of the samples is a ", e0.type_name(),
       " (sample 0: ", quote_value(describe(e0)), "); expected tensors or numbers. Add a transform that turns it into a "
       "tensor (a block's type transform, e.g. Categorize for labels)");
}

Item retain_elem(const Item& b, const Item& s) {
  if (b.is<Tuple>() && s.is<Tuple>()) {
    const auto& bt = b.get<Tuple>();
    const auto& st = s.get<Tuple>();
    Tuple out;
    out.reserve(bt.size());
    for (size_t p = 0; p < bt.size(); ++p) out.push_back(p < st.size() ? retain_elem(bt[p], st[p]) : bt[p]);
    return Item::make<Tuple>(std::move(out));
  }
  return retain_type(b, s);
}

void flatten(const Item& x, Batch& out, const std::string& where) {
  if (x.is<Tuple>()) {
    const auto& t = x.get<Tuple>();
    for (size_t p = 0; p < t.size(); ++p) flatten(t[p], out, where + "." + std::to_string(p));
    return;
  }
  FA_CHECK(x.is<at::Tensor>(), "batch element ", where, " is a ", x.type_name(),
           ", not a tensor: the Learner trains on tensors");
  out.push_back(x.get<at::Tensor>());
}

Item take(const Item& x, int64_t i) {
  if (x.is<Tuple>()) {
    Tuple out;
    for (const auto& e : x.get<Tuple>()) out.push_back(take(e, i));
    return Item::make<Tuple>(std::move(out));
  }
  if (!x.is<at::Tensor>()) return x;
  const at::Tensor t = x.get<at::Tensor>();
  FA_CHECK(t.dim() >= 1 && i < t.size(0), "batch_item: index ", i, " is outside a batch element of shape ", shape_of(t));
  return retain_type(Item(t[i]), x);
}

}  // namespace collate_detail

Tuple collate(const std::vector<Tuple>& samples) {
  FA_CHECK(!samples.empty(), "collate: no samples to collate");
  const size_t len = samples.front().size();
  Tuple out;
  out.reserve(len);
  std::vector<Item> elems(samples.size());
  for (size_t p = 0; p < len; ++p) {
    for (size_t i = 0; i < samples.size(); ++i) {
      FA_CHECK(samples[i].size() == len, "collate: sample ", i, " has ", samples[i].size(),
               " elements but sample 0 has ", len);
      elems[i] = samples[i][p];
    }
    out.push_back(collate_detail::collate_elems(elems, std::to_string(p)));
  }
  return out;
}

Tuple retain_batch_types(Tuple batch, const std::vector<Tuple>& samples) {
  if (samples.empty()) return batch;
  const Tuple& s0 = samples.front();
  for (size_t p = 0; p < batch.size() && p < s0.size(); ++p) batch[p] = collate_detail::retain_elem(batch[p], s0[p]);
  return batch;
}

Batch batch_tensors(const Tuple& b) {
  Batch out;
  out.reserve(b.size());
  for (size_t p = 0; p < b.size(); ++p) collate_detail::flatten(b[p], out, std::to_string(p));
  return out;
}

Tuple batch_item(const Tuple& b, int64_t i) {
  Tuple out;
  out.reserve(b.size());
  for (const auto& e : b) out.push_back(collate_detail::take(e, i));
  return out;
}

}  // namespace fastai
