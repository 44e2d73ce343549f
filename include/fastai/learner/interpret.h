// fastai's ClassificationInterpretation: a classifier's predictions on a dataset, with the
// confusion matrix (rows actual, columns predicted), the most confused pairs, the top losses, a
// scikit-learn style classification report and the confusion matrix as a picture.
#pragma once
#include "fastai/learner/learner.h"

#include <ATen/core/Tensor.h>

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fastai {

struct InterpretationOptions {
  int ds_idx = 1;                            ///< 0 train, 1 valid
  std::shared_ptr<DataLoader> dl = nullptr;  ///< overrides ds_idx
  std::vector<std::string> vocab = {};       ///< class names; default: the loader's vocab, else "0".."c-1"
};

struct ConfusionPlotOptions {
  bool normalize = false;                   ///< each row divided by its total (recall per class)
  std::string title = "Confusion matrix";
  int cell_px = 0;                          ///< 0: automatic
};

struct TopLossesPlotOptions {
  bool largest = true;   ///< the largest losses (false: the smallest)
  int ncols = 0;         ///< grid columns (0: automatic)
  int cell_px = 160;
};

class ClassificationInterpretation {
 public:
  /// One validation pass (fastai Interpretation.from_learner): activated predictions, targets,
  /// decoded classes and per-item losses. Error when the targets are not class indices.
  static ClassificationInterpretation from_learner(Learner& learn, InterpretationOptions o = {});
  /// From predictions [n, c] (activated or not: only their argmax is used), targets [n] and
  /// per-item losses [n] (may be undefined: no top_losses then).
  ClassificationInterpretation(at::Tensor preds, at::Tensor targs, at::Tensor losses, std::vector<std::string> vocab);

  const at::Tensor& preds() const { return preds_; }
  const at::Tensor& targs() const { return targs_; }
  const at::Tensor& decoded() const { return decoded_; }
  const at::Tensor& losses() const { return losses_; }
  const std::vector<std::string>& vocab() const { return vocab_; }

  /// int64 [c, c]: cm[actual][predicted] (fastai confusion_matrix).
  at::Tensor confusion_matrix() const;
  struct Confusion {
    std::string actual, predicted;
    int64_t count;
  };
  /// Off-diagonal cells with at least min_val items, most frequent first (fastai most_confused).
  std::vector<Confusion> most_confused(int64_t min_val = 1) const;
  /// The k largest (or smallest) losses and their item indices, all items when k is nullopt
  /// (fastai top_losses).
  std::pair<at::Tensor, at::Tensor> top_losses(std::optional<int64_t> k = std::nullopt, bool largest = true) const;
  /// Per class precision, recall, F1 and support, then accuracy and the macro / weighted
  /// averages, laid out as scikit-learn's classification_report (fastai print_classification_report).
  std::string classification_report(int digits = 2) const;
  /// The confusion matrix as a heat map (PNG or SVG), "Actual" rows, "Predicted" columns.
  void plot_confusion_matrix(const std::string& path, ConfusionPlotOptions o = {}) const;
  /// The k items with the largest losses drawn as a grid (PNG or SVG) titled, as fastai's
  /// plot_top_losses, "predicted/actual" then "loss / probability of the actual class"; needs the
  /// interpretation of a TfmdDL with image inputs (from_learner). Errors: no loader, no losses,
  /// inputs that are not images, k < 1.
  void plot_top_losses(int64_t k, const std::string& path, TopLossesPlotOptions o = {}) const;
  /// The loader the predictions came from (from_learner), or null.
  const std::shared_ptr<DataLoader>& dl() const { return dl_; }

 private:
  at::Tensor preds_, targs_, decoded_, losses_;
  std::vector<std::string> vocab_;
  std::shared_ptr<DataLoader> dl_;
};

struct ShowResultsOptions {
  int ds_idx = 1;                 ///< 0 train, 1 valid
  int max_n = 9;
  std::string path = "";          ///< image inputs: the PNG / SVG grid is written here
  int ncols = 0;
  std::ostream* out = nullptr;    ///< other inputs: the text table (nullptr: std::cout)
};

/// The first batch of a loader with its targets and the model's decoded predictions (fastai
/// learn.show_results): image grids titled "target\nprediction", green when right and red when
/// wrong; otherwise a table with "target" and "prediction" columns. Needs a TfmdDL (DataBlock /
/// Datasets); Error naming the loader otherwise.
void show_results(Learner& learn, ShowResultsOptions o = {});

}  // namespace fastai
