// show_batch (fastai TfmdDL.show_batch / DataLoaders.show_batch): decoded samples drawn as a
// grid of titled images (masks, boxes and points drawn over them), or printed as a text table
// when the inputs are not images.
#include "fastai/core/error.h"
#include "fastai/io/text_table.h"
#include "fastai/plot/image_grid.h"
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

// The colour of a box label: its index in the vocab (as masks colour class k), else its rank
// among the batch's other labels (after the vocab's size, so the two never clash).
std::string label_color(const std::string& l, const std::vector<std::string>* vocab,
                        const std::vector<std::string>& seen) {
  if (vocab) {
    auto it = std::find(vocab->begin(), vocab->end(), l);
    if (it != vocab->end()) return overlay_color(it - vocab->begin());
  }
  auto it = std::lower_bound(seen.begin(), seen.end(), l);
  const int64_t base = vocab ? static_cast<int64_t>(vocab->size()) : 1;
  return overlay_color(base + (it - seen.begin()));
}

// Boxes [n,4] and their labels into a cell; boxes labelled '#na#' (background) are not drawn.
void add_boxes(GridCell& c, const at::Tensor& boxes, const std::vector<std::string>* labels,
               const std::vector<std::string>* vocab, const std::vector<std::string>& seen) {
  at::Tensor b = boxes.detach().cpu().reshape({-1, 4});
  if (!labels) {
    c.boxes = b;
    return;
  }
  std::vector<int64_t> keep;
  for (size_t i = 0; i < labels->size(); ++i)
    if ((*labels)[i] != "#na#") keep.push_back(static_cast<int64_t>(i));
  c.boxes = b.index_select(0, at::tensor(keep, at::kLong));
  for (int64_t i : keep) {
    c.box_labels.push_back((*labels)[static_cast<size_t>(i)]);
    c.box_colors.push_back(label_color(c.box_labels.back(), vocab, seen));
  }
}

// Draws samples whose first element is an image: masks, boxes (with the labels that follow
// them) and points are drawn over it; the other elements (second images aside) make its
// title, one line each.
void image_grid(const std::vector<Tuple>& samples, const ShowBatchOptions& o, const std::vector<std::string>* vocab) {
  FA_CHECK(!o.path.empty(), "show_batch: the inputs are images (", samples[0][0].type_name(),
           "), which are drawn to a file: set ShowBatchOptions::path (e.g. {.path = \"batch.png\"}, .png or .svg)");
  // Box labels not in the vocab get colours by their sorted order over the whole batch.
  std::vector<std::string> seen;
  for (const auto& s : samples)
    for (const auto& e : s) {
      const std::vector<std::string>* ls = e.is<MultiCategory>() ? &e.get<MultiCategory>().labels
                                           : e.is<LabeledBBox>() ? &e.get<LabeledBBox>().labels
                                                                 : nullptr;
      if (ls) seen.insert(seen.end(), ls->begin(), ls->end());
    }
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  std::vector<GridCell> cells;
  for (const auto& s : samples) {
    GridCell c;
    c.image = tensor_of(s[0]);
    std::vector<std::string> lines;
    for (size_t k = 1; k < s.size(); ++k) {
      const Item& e = s[k];
      if (e.is<TensorMask>() && tensor_of(e).dim() == 2 && !c.mask.defined()) {
        c.mask = tensor_of(e);
      } else if (e.is<TensorBBox>() && !c.boxes.defined()) {
        const at::Tensor& b = e.get<TensorBBox>().data;
        const int64_t n = b.numel() / 4;
        if (k + 1 < s.size() && s[k + 1].is<MultiCategory>() &&
            static_cast<int64_t>(s[k + 1].get<MultiCategory>().labels.size()) == n) {
          add_boxes(c, b, &s[k + 1].get<MultiCategory>().labels, vocab, seen);
          ++k;  // the labels are drawn on the boxes
        } else {
          add_boxes(c, b, nullptr, vocab, seen);
        }
      } else if (e.is<LabeledBBox>() && !c.boxes.defined()) {
        const auto& lb = e.get<LabeledBBox>();
        add_boxes(c, lb.bbox.data, &lb.labels, vocab, seen);
      } else if (e.is<TensorPoint>() && !e.is<TensorBBox>() && !c.points.defined()) {
        c.points = e.get<TensorPoint>().data.detach().cpu().reshape({-1, 2});
      } else if (e.is<TensorImageBase>()) {
        continue;  // second images: not drawn
      } else {
        lines.push_back(truncated(text_of(e)));
      }
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

void show_samples(const std::vector<Tuple>& samples, const ShowBatchOptions& o,
                  const std::vector<std::string>* vocab = nullptr) {
  FA_CHECK(!samples.empty() && !samples[0].empty(), "show_batch: the batch holds no sample to show");
  if (is_image(samples[0][0])) image_grid(samples, o, vocab);
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
  show_batch_detail::show_samples(decode_batch(batch, o.max_n), o, vocab());
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
