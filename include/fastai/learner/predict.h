// What get_preds and predict take and give.
#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fastai {

class DataLoader;

struct GetPredsOptions {
  int ds_idx = 1;                          ///< 0 train, 1 valid
  std::shared_ptr<DataLoader> dl = nullptr;///< overrides ds_idx
  bool with_input = false, with_decoded = false, with_loss = false;
  std::function<at::Tensor(const at::Tensor&)> act = {};  ///< empty: loss_func.activation
  bool reorder = true;                     ///< back to dataset order
};
struct Preds {
  at::Tensor preds, targs;                 ///< activated predictions, targets (undefined if none)
  at::Tensor decoded, losses;              ///< when asked for
  std::vector<at::Tensor> inputs;          ///< when with_input
};
/// predict()'s answer: decoded prediction, activated prediction (fastai's probs), raw output.
struct Prediction {
  at::Tensor decoded, probs, raw;
};
/// predict() on a raw item (fastai's (decoded, pred, probs)): `auto [label, pred, probs] = learn.predict(x);`
struct ItemPrediction {
  std::string label;  ///< the decoded prediction as show_batch writes it ("cat", "cat;dog", numbers...)
  at::Tensor pred;    ///< the decoded prediction tensor (class index, multi-hot, values, mask)
  at::Tensor probs;   ///< the activated output (class probabilities, ...), CPU, no batch dimension
};

}  // namespace fastai
