// show_results (fastai Learner.show_results): a batch of the validation set with the targets and
// the model's decoded predictions, as a grid of titled images (titles green when right, red when
// wrong) or a text table.
#include "fastai/learner/interpret.h"

#include "fastai/core/error.h"
#include "fastai/io/text_table.h"
#include "fastai/plot/image_grid.h"
#include "fastai/data/tfmd_dl.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/module.h>

#include <iostream>

namespace fastai {

void show_results(Learner& learn, ShowResultsOptions o) {
  FA_CHECK(o.max_n > 0, "show_results: max_n = ", o.max_n, " (expected > 0)");
  auto dl = std::dynamic_pointer_cast<TfmdDL>(learn.dls[static_cast<size_t>(o.ds_idx)]);
  FA_CHECK(dl != nullptr, "show_results: loader ", o.ds_idx,
           " has no transforms to decode with (a TfmdDL from a DataBlock or Datasets is needed)");
  Tuple b = dl->one_batch();
  const int n_inp = dl->n_inp();
  FA_CHECK(static_cast<int>(b.size()) > n_inp, "show_results: the batch has no target to compare with");
  Batch t = batch_tensors(b);
  std::vector<at::Tensor> xb(t.begin(), t.begin() + n_inp);
  at::Tensor pred;
  {
    at::NoGradGuard no_grad;
    const bool was_training = learn.model.module->is_training();
    learn.model.module->eval();
    pred = learn.model(xb);
    learn.model.module->train(was_training);
  }
  if (learn.loss_func.activation) pred = learn.loss_func.activation(pred);
  if (learn.loss_func.decodes) pred = learn.loss_func.decodes(pred);
  Tuple with_pred = b;
  with_pred[n_inp] = retain_type(Item(pred.to(tensor_of(b[n_inp]).device())), b[n_inp]);
  auto actual = dl->decode_batch(b, o.max_n), predicted = dl->decode_batch(with_pred, o.max_n);
  const bool images = actual[0][0].is<TensorImage>();
  if (images && actual[0][n_inp].is<TensorMask>()) {
    // Segmentation (fastai shows target and prediction side by side): each sample twice, with
    // its actual mask, then with the predicted one, over the image.
    FA_CHECK(!o.path.empty(), "show_results: the inputs are images, drawn to a file: set ShowResultsOptions::path");
    std::vector<GridCell> cells;
    for (size_t i = 0; i < actual.size(); ++i) {
      const at::Tensor img = tensor_of(actual[i][0]);
      const at::Tensor want = tensor_of(actual[i][n_inp]), got = tensor_of(predicted[i][n_inp]);
      const double acc = want.numel() ? (want == got).to(at::kDouble).mean().item<double>() : 0.0;
      GridCell t{img, "target"};
      t.mask = want;
      std::string title = "prediction\n";
      title += std::to_string(static_cast<int>(acc * 100 + 0.5));
      title += "% of pixels right";
      GridCell p{img, title, acc >= 0.9 ? "#2ca02c" : "#d62728"};
      p.mask = got;
      cells.push_back(std::move(t));
      cells.push_back(std::move(p));
    }
    save_image_grid(o.path, cells, {.ncols = o.ncols > 0 ? o.ncols : 2});
    return;
  }
  if (images) {
    FA_CHECK(!o.path.empty(), "show_results: the inputs are images, drawn to a file: set ShowResultsOptions::path");
    std::vector<GridCell> cells;
    for (size_t i = 0; i < actual.size(); ++i) {
      const std::string a = show_text(actual[i][n_inp]), p = show_text(predicted[i][n_inp]);
      cells.push_back({tensor_of(actual[i][0]), a + "\n" + p, a == p ? "#2ca02c" : "#d62728"});
    }
    save_image_grid(o.path, cells, {.ncols = o.ncols});
    return;
  }
  std::vector<std::string> header;
  for (int k = 0; k < n_inp; ++k) header.push_back(actual[0][k].type_name());
  header.push_back("target");
  header.push_back("prediction");
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < actual.size(); ++i) {
    std::vector<std::string> r;
    for (int k = 0; k < n_inp; ++k) r.push_back(show_text(actual[i][k]));
    r.push_back(show_text(actual[i][n_inp]));
    r.push_back(show_text(predicted[i][n_inp]));
    rows.push_back(std::move(r));
  }
  save_text_table(o.out ? *o.out : std::cout, header, rows);
}

}  // namespace fastai
