#include "fastai/layers/embedding.h"

#include "fastai/core/error.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace fastai {

int64_t emb_sz_rule(int64_t n_cat) {
  FA_CHECK(n_cat >= 1, "emb_sz_rule: expected a number of classes >= 1, got ", n_cat);
  // Python's round() ties to even, as nearbyint does in the default rounding mode.
  const double sz = std::nearbyint(1.6 * std::pow(static_cast<double>(n_cat), 0.56));
  return std::min<int64_t>(600, static_cast<int64_t>(sz));
}

std::vector<EmbSz> emb_szs_for(const std::vector<int64_t>& n_cats) {
  std::vector<EmbSz> out;
  out.reserve(n_cats.size());
  for (int64_t n : n_cats) out.push_back({n, emb_sz_rule(n)});
  return out;
}

at::Tensor trunc_normal_(const at::Tensor& x, double mean, double std) {
  torch::NoGradGuard no_grad;
  x.normal_().fmod_(2).mul_(std).add_(mean);
  return x;
}

torch::nn::Embedding Embedding(int64_t ni, int64_t nf) {
  FA_CHECK(ni >= 1 && nf >= 1, "Embedding: expected ni >= 1 and nf >= 1, got (", ni, ", ", nf, ")");
  torch::nn::Embedding e(ni, nf);
  trunc_normal_(e->weight, 0., 0.01);
  return e;
}

}  // namespace fastai
