// show_batch (fastai TfmdDL.show_batch / DataLoaders.show_batch): decoded samples drawn as a
// grid of titled images, or printed as a text table when the inputs are not images.
#include "fastai/core/error.h"
#include "fastai/core/image_grid.h"
#include "fastai/core/types.h"
#include "fastai/data/dataloader.h"
#include "fastai/data/tfmd_dl.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace fastai {

namespace show_batch_detail {

constexpr size_t kMaxCell = 150;  // fastai's trunc_at for text in show_batch

// True for the inputs drawn as pictures: semantic images, or plain uint8 [C,H,W] (C 1 or 3) / [H,W].
bool is_image(const Item& x) {
  if (x.is<TensorImage>()) return true;
  if (x.type() != typeid(at::Tensor)) return false;
  const at::Tensor& t = x.get<at::Tensor>();
  return t.defined() && t.scalar_type() == at::kByte &&
         (t.dim() == 2 || (t.dim() == 3 && (t.size(0) == 1 || t.size(0) == 3)));
}

// The values of a small tensor ("3", "0.5 1.25"), or describe() for a large one.
std::string tensor_values(const Item& x, const at::Tensor& t) {
  if (!t.defined() || t.numel() == 0 || t.numel() > 8) return describe(x);
  at::Tensor c = t.detach().cpu().flatten();
  std::ostringstream os;
  for (int64_t i = 0; i < c.numel(); ++i) {
    if (i) os << ' ';
    if (at::isFloatingType(c.scalar_type())) os << c[i].item<double>();
    else if (c.scalar_type() == at::kBool) os << (c[i].item<bool>() ? "True" : "False");
    else os << c[i].item<int64_t>();
  }
  return os.str();
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += sep;
    s += v[i];
  }
  return s;
}

// An element as show_batch writes it: labels as themselves, numbers as values, the rest described.
std::string text_of(const Item& x) {
  if (x.is<Category>()) return x.get<Category>().label;
  if (x.is<MultiCategory>()) return join(x.get<MultiCategory>().labels, ";");
  if (x.is<Text>()) return x.get<Text>().text;
  if (x.is<std::string>()) return x.get<std::string>();
  if (x.is<std::vector<std::string>>()) return join(x.get<std::vector<std::string>>(), ";");
  if (x.is<TensorImageBase>()) return describe(x);
  if (x.is<at::Tensor>()) return tensor_values(x, x.get<at::Tensor>());
  return describe(x);
}

std::string truncated(std::string s) {
  size_t cps = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (++cps > kMaxCell) {
      s.resize(i);
      s += "...";
      break;
    }
  }
  return s;
}

// Draws samples whose first element is an image: the other elements (masks and other images
// aside) make each image's title, one line each.
void image_grid(const std::vector<Tuple>& samples, const ShowBatchOptions& o) {
  FA_CHECK(!o.path.empty(), "show_batch: the inputs are images (", samples[0][0].type_name(),
           "), which are drawn to a file: set ShowBatchOptions::path (e.g. {.path = \"batch.png\"}, .png or .svg)");
  std::vector<GridCell> cells;
  for (const auto& s : samples) {
    GridCell c;
    c.image = tensor_of(s[0]);
    std::vector<std::string> lines;
    for (size_t k = 1; k < s.size(); ++k) {
      if (s[k].is<TensorImageBase>()) continue;  // masks / second images: no overlay yet
      lines.push_back(truncated(text_of(s[k])));
    }
    c.title = join(lines, "\n");
    cells.push_back(std::move(c));
  }
  save_image_grid(o.path, cells, {.ncols = o.ncols});
}

// One row per sample, one column per element, headed by the first sample's element types.
void text_table(const std::vector<Tuple>& samples, const ShowBatchOptions& o) {
  std::vector<std::string> header;
  for (const auto& x : samples[0]) header.push_back(x.type_name());
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : samples) {
    std::vector<std::string> r;
    for (const auto& x : s) r.push_back(truncated(text_of(x)));
    rows.push_back(std::move(r));
  }
  save_text_table(o.out ? *o.out : std::cout, header, rows);
}

void show_samples(const std::vector<Tuple>& samples, const ShowBatchOptions& o) {
  FA_CHECK(!samples.empty() && !samples[0].empty(), "show_batch: the batch holds no sample to show");
  if (is_image(samples[0][0])) image_grid(samples, o);
  else text_table(samples, o);
}

}  // namespace show_batch_detail

std::string show_text(const Item& x) { return show_batch_detail::truncated(show_batch_detail::text_of(x)); }

void TfmdDL::show_batch(const Tuple& b, ShowBatchOptions o) {
  FA_CHECK(o.max_n > 0, "show_batch: max_n = ", o.max_n, " (expected > 0)");
  Tuple batch = b;
  if (batch.empty() && o_.shuffle && !o_.hooks.get_idxs) {
    // A shuffled loader shows a random batch, as fastai's does, drawn from an RNG of its own
    // (seeded from the loader's seed) so that showing data never moves the training order.
    std::vector<int64_t> idxs(static_cast<size_t>(n_));
    std::iota(idxs.begin(), idxs.end(), int64_t{0});
    Rng show_rng(mix_seed(seed_, 0x73686f77));  // "show"
    auto batches = sample(shuffle_fn(std::move(idxs), show_rng));
    if (!batches.empty()) {
      at::NoGradGuard no_grad;
      Tuple built = build_batch(0, batches.front());
      if (!built.empty()) batch = do_after_batch(to_device(built));
    }
  }
  if (batch.empty()) batch = one_batch();
  show_batch_detail::show_samples(decode_batch(batch, o.max_n), o);
}

void DataLoaders::show_batch(const ShowBatchOptions& o) const {
  auto& dl = train();
  if (auto* t = dynamic_cast<TfmdDL*>(&dl)) return t->show_batch({}, o);
  // Other loaders (tensors, torch::data) carry no transforms to decode: the raw tensors are shown.
  FA_CHECK(o.max_n > 0, "show_batch: max_n = ", o.max_n, " (expected > 0)");
  const Tuple b = one_batch();
  const int64_t bs = b.empty() ? 0 : tensor_of(b[0]).size(0);
  std::vector<Tuple> samples;
  for (int64_t i = 0; i < std::min<int64_t>(bs, o.max_n); ++i) samples.push_back(batch_item(b, i));
  show_batch_detail::show_samples(samples, o);
}

Tuple DataLoaders::one_batch() const {
  auto& dl = train();
  if (auto* t = dynamic_cast<TfmdDL*>(&dl)) return t->one_batch();
  // Any other loader: the first batch of a new epoch (fastai's one_batch iterates the loader too).
  Batch b;
  dl.begin_epoch();
  FA_CHECK(dl.next(b), "one_batch: the training loader yields no batch (", dl.n(), " items, bs ", dl.bs(),
           dl.drop_last() ? ", drop_last" : "", ")");
  Tuple out;
  for (auto& t : b) out.emplace_back(t);
  return out;
}

}  // namespace fastai
