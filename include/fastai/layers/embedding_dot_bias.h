// EmbeddingDotBias: collab's dot-product model, user . item + user bias + item bias.
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <utility>

namespace fastai {

struct EmbeddingDotBiasOptions {
  std::optional<std::pair<double, double>> y_range = std::nullopt;  ///< sigmoid_range(res, lo, hi) when set
};

/// fastai's EmbeddingDotBias: four fastai Embeddings u_weight, i_weight, u_bias, i_bias.
class EmbeddingDotBiasImpl : public torch::nn::Cloneable<EmbeddingDotBiasImpl> {
 public:
  EmbeddingDotBiasImpl(int64_t n_factors, int64_t n_users, int64_t n_items, EmbeddingDotBiasOptions o = {});
  /// x [bs, 2] integer (user index, item index) -> [bs]; Error naming a bad shape, dtype or index.
  at::Tensor forward(const at::Tensor& x);
  /// The factor rows [.., n_factors] of integer indices idx (items, or users when !is_item).
  at::Tensor weight(const at::Tensor& idx, bool is_item = true);
  /// The biases of integer indices idx, shaped like idx (items, or users when !is_item).
  at::Tensor bias(const at::Tensor& idx, bool is_item = true);
  /// Builds the four embeddings with fresh weights (the constructor and clone() call it).
  void reset() override;
  /// Prints "fastai::EmbeddingDotBias(n_factors=.., n_users=.., n_items=..)".
  void pretty_print(std::ostream& os) const override;

  int64_t n_factors = 0, n_users = 0, n_items = 0;
  EmbeddingDotBiasOptions options;
  torch::nn::Embedding u_weight{nullptr}, i_weight{nullptr}, u_bias{nullptr}, i_bias{nullptr};
};
/// Holder (TORCH_MODULE pattern) with a non-template constructor, so `{.y_range = ...}` works.
class EmbeddingDotBias : public torch::nn::ModuleHolder<EmbeddingDotBiasImpl> {
 public:
  using torch::nn::ModuleHolder<EmbeddingDotBiasImpl>::ModuleHolder;
  using Impl = EmbeddingDotBiasImpl;
  EmbeddingDotBias(int64_t n_factors, int64_t n_users, int64_t n_items, EmbeddingDotBiasOptions o = {})
      : ModuleHolder(std::make_shared<EmbeddingDotBiasImpl>(n_factors, n_users, n_items, std::move(o))) {}
};

}  // namespace fastai
