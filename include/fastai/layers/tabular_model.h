// TabularModel (fastai 2.7): embeddings for the categorical columns, BatchNorm for the continuous
// ones, then a stack of LinBnDrop blocks; EmbeddingNN is collab's TabularModel without conts.
#pragma once
#include "fastai/layers/embedding.h"

#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace fastai {

struct TabularModelOptions {
  std::vector<double> ps = {};  ///< dropout per hidden layer: empty = all 0, one value = that for every layer
  double embed_p = 0.;          ///< dropout after the concatenated embeddings
  std::optional<std::pair<double, double>> y_range = std::nullopt;  ///< SigmoidRange(lo, hi) at the end
  bool use_bn = true;           ///< BatchNorm1d in the hidden blocks
  bool bn_final = false;        ///< BatchNorm1d in the last block too
  bool bn_cont = true;          ///< BatchNorm1d on the continuous inputs
  bool lin_first = true;        ///< LinBnDrop order (fastai 2.7's default; false is the older layout)
};

/// fastai's TabularModel; parameters are named as in PyTorch ("embeds.0.weight", "bn_cont.weight",
/// "layers.0.0.weight", ...).
class TabularModelImpl : public torch::nn::Cloneable<TabularModelImpl> {
 public:
  /// Error for empty inputs (no embeddings and no conts), sizes < 1, or a `ps` of the wrong length.
  TabularModelImpl(std::vector<EmbSz> emb_szs, int64_t n_cont, int64_t out_sz, std::vector<int64_t> layer_sizes,
                   TabularModelOptions o = {});
  /// x_cat [bs, n_cat] integer codes, x_cont [bs, n_cont] floats -> [bs, out_sz]; x_cont may be
  /// left out when n_cont == 0 (EmbeddingNN), x_cat be undefined when there are no embeddings.
  /// Error naming the expected and found shapes, a non-integer x_cat, or a code outside its
  /// embedding. (One forward with a default, not two overloads, so the holder's operator() works.)
  at::Tensor forward(const at::Tensor& x_cat, const at::Tensor& x_cont = {});
  /// Builds every submodule with fresh weights (the constructor and clone() call it).
  void reset() override;
  /// Prints "fastai::TabularModel(n_emb=.., n_cont=.., out_sz=..)".
  void pretty_print(std::ostream& os) const override;

  const std::vector<EmbSz>& emb_szs() const { return emb_szs_; }
  /// Sum of the embedding widths (the width of the concatenated embeddings).
  int64_t n_emb() const { return n_emb_; }
  int64_t n_cont() const { return n_cont_; }
  int64_t out_sz() const { return out_sz_; }
  const TabularModelOptions& options() const { return opts_; }

  torch::nn::ModuleList embeds{nullptr};    ///< one fastai Embedding per categorical column
  torch::nn::Dropout emb_drop{nullptr};
  torch::nn::BatchNorm1d bn_cont{nullptr};  ///< empty when options().bn_cont is false or n_cont == 0
  torch::nn::Sequential layers{nullptr};    ///< LinBnDrop blocks, then SigmoidRange if y_range

 private:
  std::vector<EmbSz> emb_szs_;
  int64_t n_cont_ = 0, out_sz_ = 1, n_emb_ = 0;
  std::vector<int64_t> layer_sizes_;
  TabularModelOptions opts_;
};
/// Holder (TORCH_MODULE pattern) with a non-template constructor, so braced lists and options work.
class TabularModel : public torch::nn::ModuleHolder<TabularModelImpl> {
 public:
  using torch::nn::ModuleHolder<TabularModelImpl>::ModuleHolder;
  using Impl = TabularModelImpl;
  TabularModel(std::vector<EmbSz> emb_szs, int64_t n_cont, int64_t out_sz, std::vector<int64_t> layer_sizes,
               TabularModelOptions o = {})
      : ModuleHolder(std::make_shared<TabularModelImpl>(std::move(emb_szs), n_cont, out_sz, std::move(layer_sizes),
                                                         std::move(o))) {}
};

/// fastai's collab EmbeddingNN: TabularModel(emb_szs, n_cont=0, out_sz=1, layers, o); call it
/// with x [bs, n_cat] (user, item codes) -> [bs, 1].
TabularModel EmbeddingNN(std::vector<EmbSz> emb_szs, std::vector<int64_t> layer_sizes, TabularModelOptions o = {});

}  // namespace fastai
