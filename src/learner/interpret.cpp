#include "fastai/learner/interpret.h"

#include "fastai/core/error.h"
#include "fastai/plot/heatmap.h"
#include "fastai/plot/image_grid.h"
#include "fastai/data/tfmd_dl.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace fastai {

ClassificationInterpretation ClassificationInterpretation::from_learner(Learner& learn, InterpretationOptions o) {
  auto dl = o.dl ? o.dl : learn.dls[static_cast<size_t>(o.ds_idx)];
  auto p = learn.get_preds({.dl = dl, .with_loss = true});
  std::vector<std::string> vocab = o.vocab;
  if (vocab.empty() && dl->vocab()) vocab = *dl->vocab();
  if (vocab.empty() && learn.dls.train().vocab()) vocab = *learn.dls.train().vocab();
  ClassificationInterpretation interp(p.preds, p.targs, p.losses, std::move(vocab));
  interp.dl_ = dl;
  return interp;
}

ClassificationInterpretation::ClassificationInterpretation(at::Tensor preds, at::Tensor targs, at::Tensor losses,
                                                           std::vector<std::string> vocab)
    : preds_(preds.cpu()), losses_(losses.defined() ? losses.cpu().reshape({-1}) : losses), vocab_(std::move(vocab)) {
  FA_CHECK(preds_.dim() == 2 && preds_.size(0) > 0, "ClassificationInterpretation: expected predictions [n, c] with n > 0, got ",
           preds_.sizes());
  FA_CHECK(targs.defined() && !at::isFloatingType(targs.scalar_type()),
           "ClassificationInterpretation: expected integer class targets, got ",
           targs.defined() ? std::string(c10::toString(targs.scalar_type())) : std::string("none"),
           " (a regression or multi-label learner has no confusion matrix)");
  targs_ = targs.cpu().to(at::kLong).reshape({-1});
  FA_CHECK(targs_.size(0) == preds_.size(0), "ClassificationInterpretation: ", preds_.size(0), " predictions but ",
           targs_.size(0), " targets");
  const int64_t c = preds_.size(1);
  if (vocab_.empty())
    for (int64_t i = 0; i < c; ++i) vocab_.push_back(std::to_string(i));
  FA_CHECK(static_cast<int64_t>(vocab_.size()) == c, "ClassificationInterpretation: ", vocab_.size(),
           " class names for predictions over ", c, " classes");
  FA_CHECK(targs_.min().item<int64_t>() >= 0 && targs_.max().item<int64_t>() < c,
           "ClassificationInterpretation: targets must lie in [0, ", c, "), got [", targs_.min().item<int64_t>(), ", ",
           targs_.max().item<int64_t>(), "]");
  decoded_ = preds_.argmax(1);
}

at::Tensor ClassificationInterpretation::confusion_matrix() const {
  const int64_t c = static_cast<int64_t>(vocab_.size());
  return at::bincount(targs_ * c + decoded_, {}, c * c).reshape({c, c}).to(at::kLong);
}

std::vector<ClassificationInterpretation::Confusion> ClassificationInterpretation::most_confused(int64_t min_val) const {
  auto cm = confusion_matrix();
  const int64_t c = cm.size(0);
  std::vector<Confusion> out;
  for (int64_t i = 0; i < c; ++i)
    for (int64_t j = 0; j < c; ++j) {
      int64_t n = cm[i][j].item<int64_t>();
      if (i != j && n >= min_val) out.push_back({vocab_[i], vocab_[j], n});
    }
  std::stable_sort(out.begin(), out.end(), [](const Confusion& a, const Confusion& b) { return a.count > b.count; });
  return out;
}

std::pair<at::Tensor, at::Tensor> ClassificationInterpretation::top_losses(std::optional<int64_t> k, bool largest) const {
  FA_CHECK(losses_.defined(), "top_losses: this interpretation has no per-item losses");
  int64_t n = losses_.size(0), kk = k ? *k : n;
  FA_CHECK(kk >= 0 && kk <= n, "top_losses: k = ", kk, " but there are ", n, " items");
  auto r = losses_.topk(kk, 0, largest, /*sorted=*/true);
  return {std::get<0>(r), std::get<1>(r)};
}

std::string ClassificationInterpretation::classification_report(int digits) const {
  auto cm = confusion_matrix().to(at::kDouble);
  const int64_t c = cm.size(0);
  auto tp = cm.diagonal(), support = cm.sum(1), predicted = cm.sum(0);
  // a / b where b > 0, else 0 (sklearn's zero_division=0); b may be a fraction (precision + recall).
  auto safe_div = [](const at::Tensor& a, const at::Tensor& b) {
    return at::where(b > 0, a / at::where(b > 0, b, at::ones_like(b)), at::zeros_like(a));
  };
  auto precision = safe_div(tp, predicted), recall = safe_div(tp, support);
  auto f1 = safe_div(2 * precision * recall, precision + recall);
  const double total = support.sum().item<double>();
  size_t w = std::string("weighted avg").size();
  for (const auto& v : vocab_) w = std::max(w, v.size());
  std::ostringstream os;
  char buf[256];
  auto row = [&](const std::string& name, double p, double r, double f, double s) {
    std::snprintf(buf, sizeof buf, "%*s %9.*f %9.*f %9.*f %9.0f\n", static_cast<int>(w), name.c_str(), digits, p, digits,
                  r, digits, f, s);
    os << buf;
  };
  std::snprintf(buf, sizeof buf, "%*s %9s %9s %9s %9s\n\n", static_cast<int>(w), "", "precision", "recall", "f1-score",
                "support");
  os << buf;
  for (int64_t i = 0; i < c; ++i)
    row(vocab_[i], precision[i].item<double>(), recall[i].item<double>(), f1[i].item<double>(), support[i].item<double>());
  os << "\n";
  std::snprintf(buf, sizeof buf, "%*s %9s %9s %9.*f %9.0f\n", static_cast<int>(w), "accuracy", "", "", digits,
                tp.sum().item<double>() / total, total);
  os << buf;
  row("macro avg", precision.mean().item<double>(), recall.mean().item<double>(), f1.mean().item<double>(), total);
  auto wavg = [&](const at::Tensor& m) { return (m * support).sum().item<double>() / total; };
  row("weighted avg", wavg(precision), wavg(recall), wavg(f1), total);
  return os.str();
}

void ClassificationInterpretation::plot_confusion_matrix(const std::string& path, ConfusionPlotOptions o) const {
  auto cm = confusion_matrix().to(at::kDouble);
  if (o.normalize) cm = cm / cm.sum(1, /*keepdim=*/true).clamp_min(1);
  std::vector<std::vector<double>> m(cm.size(0), std::vector<double>(cm.size(1)));
  for (int64_t i = 0; i < cm.size(0); ++i)
    for (int64_t j = 0; j < cm.size(1); ++j) m[i][j] = cm[i][j].item<double>();
  plot_heatmap(path, m, vocab_, vocab_,
               {.title = o.title, .xlabel = "Predicted", .ylabel = "Actual", .cell_px = o.cell_px,
                .decimals = o.normalize ? 2 : 0});
}

void ClassificationInterpretation::plot_top_losses(int64_t k, const std::string& path, TopLossesPlotOptions o) const {
  FA_CHECK(k >= 1, "plot_top_losses: k = ", k, " (expected at least 1)");
  FA_CHECK(losses_.defined(), "plot_top_losses: this interpretation has no per-item losses");
  auto tdl = std::dynamic_pointer_cast<TfmdDL>(dl_);
  FA_CHECK(tdl != nullptr, "plot_top_losses: the items are not known: build the interpretation with from_learner on "
           "loaders from a DataBlock or Datasets");
  auto [vals, idx] = top_losses(std::min<int64_t>(k, losses_.size(0)), o.largest);
  std::vector<int64_t> order(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel());
  // A loader over just these items, in this order, with the validation transforms.
  TfmdDLOptions lo = tdl->options();
  lo.shuffle = false;
  lo.drop_last = false;
  lo.bs = static_cast<int64_t>(order.size());
  lo.num_workers = 0;
  lo.hooks.get_idxs = [order](const TfmdDL&) { return order; };
  auto items = tdl->new_dl(lo);
  auto samples = items->decode_batch(items->one_batch(), static_cast<int>(order.size()));
  std::vector<GridCell> cells;
  for (size_t i = 0; i < samples.size(); ++i) {
    FA_CHECK(!samples[i].empty() && samples[i][0].is<TensorImageBase>(), "plot_top_losses: the inputs are ",
             samples[i].empty() ? std::string("missing") : samples[i][0].type_name(),
             ", not images (use top_losses for the indices)");
    const int64_t j = order[i];
    const int64_t pred = decoded_[j].item<int64_t>(), actual = targs_[j].item<int64_t>();
    char nums[64];
    std::snprintf(nums, sizeof nums, "\n%.2f / %.2f", vals[static_cast<int64_t>(i)].item<double>(),
                  preds_[j][actual].item<double>());
    std::string title = vocab_[static_cast<size_t>(pred)];
    title += "/";
    title += vocab_[static_cast<size_t>(actual)];
    title += nums;
    cells.push_back({tensor_of(samples[i][0]), title, pred == actual ? "#2ca02c" : "#d62728"});
  }
  save_image_grid(path, cells, {.ncols = o.ncols, .cell_px = o.cell_px, .title = "Prediction/Actual/Loss/Probability"});
}

}  // namespace fastai
