// Helpers for the layers tests: parameter counts and a readable description of a Sequential.
#pragma once
#include "fastai/layers/lin_bn_drop.h"
#include "fastai/layers/sigmoid_range.h"

#include <torch/torch.h>

#include <sstream>
#include <string>
#include <vector>

namespace fastai::testing::layers {

/// Number of parameters (not buffers) of m.
inline int64_t n_params(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

/// Parameter names in registration order.
inline std::vector<std::string> param_names(const torch::nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& kv : m.named_parameters()) out.push_back(kv.key());
  return out;
}

/// One token per child of m: "BN(27)", "Drop(0.1)", "Lin(27,200)" / "Lin(27,200,bias)", "ReLU",
/// "SigmoidRange(0,5.5)", "LinBnDrop", or "?".
inline std::vector<std::string> kinds(const torch::nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& c : m.children()) {
    std::ostringstream os;
    if (auto* bn = c->as<torch::nn::BatchNorm1d>()) {
      os << "BN(" << bn->options.num_features() << ")";
    } else if (auto* d = c->as<torch::nn::Dropout>()) {
      os << "Drop(" << d->options.p() << ")";
    } else if (auto* l = c->as<torch::nn::Linear>()) {
      os << "Lin(" << l->options.in_features() << "," << l->options.out_features() << (l->bias.defined() ? ",bias)" : ")");
    } else if (c->as<torch::nn::ReLU>()) {
      os << "ReLU";
    } else if (auto* s = c->as<fastai::SigmoidRange>()) {
      os << "SigmoidRange(" << s->low << "," << s->high << ")";
    } else if (c->as<fastai::LinBnDrop>()) {
      os << "LinBnDrop";
    } else {
      os << "?";
    }
    out.push_back(os.str());
  }
  return out;
}

}  // namespace fastai::testing::layers
