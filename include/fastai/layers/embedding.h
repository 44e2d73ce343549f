// fastai's embedding helpers: the size rule for categorical columns, the approximate truncated
// normal init, and Embedding (an nn.Embedding initialised the fastai way).
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/modules/embedding.h>

#include <cstdint>
#include <vector>

namespace fastai {

/// One embedding of a categorical column: n_cat classes (including #na#), `size` features each.
struct EmbSz {
  int64_t n_cat = 0;
  int64_t size = 0;
  bool operator==(const EmbSz&) const = default;
};

/// Embedding width for a column of n_cat classes (including #na#): min(600, round(1.6 * n_cat^0.56)).
int64_t emb_sz_rule(int64_t n_cat);
/// {n, emb_sz_rule(n)} for each cardinality (fastai's get_emb_sz without the TabularPandas).
std::vector<EmbSz> emb_szs_for(const std::vector<int64_t>& n_cats);

/// In place, without grad: x.normal_().fmod_(2).mul_(std).add_(mean), so |x - mean| < 2 std
/// (fastai's trunc_normal_, an approximation of a truncated normal); returns x.
at::Tensor trunc_normal_(const at::Tensor& x, double mean = 0., double std = 1.);

/// nn.Embedding(ni, nf) with weights from trunc_normal_(std=0.01) (fastai's Embedding).
torch::nn::Embedding Embedding(int64_t ni, int64_t nf);

}  // namespace fastai
