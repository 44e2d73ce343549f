// Helpers for the layers tests: parameter counts, a readable description of a Sequential, and the
// expected-value files that the gen_*_expected.py scripts write.
#pragma once
#include "fastai/layers/lin_bn_drop.h"
#include "fastai/layers/sigmoid_range.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
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

/// Parses tests/layers/<file> (a JSON file written by one of the gen_*_expected.py scripts).
inline nlohmann::json load_expected(const std::string& file) {
  const std::string path = std::string(FASTAI_TEST_SOURCE_DIR) + "/layers/" + file;
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(f);
}

/// A float32 tensor from {"shape": [...], "data": [...]} (flattened row-major).
inline torch::Tensor tensor_of(const nlohmann::json& e) {
  auto data = e["data"].get<std::vector<float>>();
  return torch::tensor(data, torch::kFloat32).reshape(e["shape"].get<std::vector<int64_t>>());
}

/// (name, shape) pairs: a state-dict layout, as the generators write it or as a module holds it.
using Entries = std::vector<std::pair<std::string, std::vector<int64_t>>>;

inline Entries entries_of_json(const nlohmann::json& a) {
  Entries out;
  for (const auto& e : a) out.emplace_back(e[0].get<std::string>(), e[1].get<std::vector<int64_t>>());
  return out;
}

template <class Dict>
Entries entries_of_dict(const Dict& d) {
  Entries out;
  for (const auto& kv : d) out.emplace_back(kv.key(), kv.value().sizes().vec());
  return out;
}

}  // namespace fastai::testing::layers
