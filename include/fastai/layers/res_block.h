// ResBlock (fastai 2.7's "bag of tricks" residual block, basic or bottleneck) and SEModule
// (squeeze-and-excitation), the blocks XResNet is made of.
#pragma once
#include "fastai/layers/norm.h"
#include "fastai/layers/pixel_shuffle.h"
#include "fastai/layers/weight_norm.h"

#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <utility>

namespace fastai {

/// fastai's SEModule(ch, reduction, act_cls): x * sigmoid(conv(act(conv(avgpool(x))))) with a
/// hidden width of ceil(ch // reduction / 8) * 8. Children "layers.0" (AdaptiveAvgPool2d(1)),
/// "layers.1" and "layers.2" (ConvLayers with bias, no norm), as in fastai's SequentialEx.
class SEModuleImpl : public torch::nn::Cloneable<SEModuleImpl> {
 public:
  SEModuleImpl(int64_t ch, int64_t reduction, torch::nn::AnyModule act = torch::nn::AnyModule(torch::nn::ReLU()));
  /// x [bs, ch, h, w] -> same shape.
  at::Tensor forward(const at::Tensor& x);
  void reset() override;
  /// Prints "fastai::SEModule(ch, nh)".
  void pretty_print(std::ostream& os) const override;

  int64_t ch = 0, reduction = 16, nh = 0;
  torch::nn::AnyModule act_proto;
  torch::nn::ModuleList layers{nullptr};
};
/// Holder (TORCH_MODULE pattern).
class SEModule : public torch::nn::ModuleHolder<SEModuleImpl> {
 public:
  using torch::nn::ModuleHolder<SEModuleImpl>::ModuleHolder;
  using Impl = SEModuleImpl;
  SEModule(int64_t ch, int64_t reduction, torch::nn::AnyModule act = torch::nn::AnyModule(torch::nn::ReLU()))
      : ModuleHolder(std::make_shared<SEModuleImpl>(ch, reduction, std::move(act))) {}
};

struct ResBlockOptions {
  int64_t stride = 1;
  int64_t groups = 1;                               ///< groups of the ks x ks conv (ResNeXt)
  std::optional<int64_t> reduction = std::nullopt;  ///< SEModule(nf * expansion, reduction) when set and not 0 (fastai's `if reduction`)
  std::optional<int64_t> nh1 = std::nullopt;        ///< hidden widths (default nh2, and nf)
  std::optional<int64_t> nh2 = std::nullopt;
  bool dw = false;                                  ///< depthwise ks x ks conv
  int64_t g2 = 1;                                   ///< groups of the last conv
  bool sa = false;                                  ///< SimpleSelfAttention(nf * expansion, ks=1, sym) after the SEModule
  bool sym = false;                                 ///< SimpleSelfAttention's symmetric weight
  std::optional<NormType> norm_type = NormType::Batch;  ///< the last conv gets the *Zero variant
  torch::nn::AnyModule act = torch::nn::AnyModule(torch::nn::ReLU());  ///< cloned; ReLU becomes inplace after the add
  int64_t ndim = 2;
  int64_t ks = 3;
  bool pool_first = true;                           ///< shortcut: AvgPool before (true) or after the 1x1 ConvLayer
};

/// fastai's SimpleSelfAttention(n_in, ks=1, sym=False): x viewed as [bs, n_in, N] (N the product
/// of the spatial sizes), o = (x xᵀ) conv(x) with conv a spectral-normalised 1x1 Conv1d n_in ->
/// n_in without bias (kaiming_normal init); out = gamma * o + x reshaped back, gamma a [1]
/// parameter starting at 0 (so the layer is the identity at init). sym uses (W + Wᵀ) / 2 of the
/// normalised weight W (fastai's intent: its own assignment is overwritten by the spectral-norm
/// hook). Children "conv" (parameter "conv.weight_orig", buffers "conv.weight_u" / "conv.weight_v")
/// and parameter "gamma". Only ks = 1 is ported (what ResBlock uses); other ks are an Error.
class SimpleSelfAttentionImpl : public torch::nn::Cloneable<SimpleSelfAttentionImpl> {
 public:
  explicit SimpleSelfAttentionImpl(int64_t n_in, int64_t ks = 1, bool sym = false);
  /// x [bs, n_in, *spatial] -> same shape; Error naming the shape when the channels differ.
  at::Tensor forward(const at::Tensor& x);
  void reset() override;
  /// Prints "fastai::SimpleSelfAttention(n_in, sym=..)".
  void pretty_print(std::ostream& os) const override;

  int64_t n_in = 0, ks = 1;
  bool sym = false;
  SpectralNormConv conv{nullptr};
  at::Tensor gamma;
};
/// Holder (TORCH_MODULE pattern).
class SimpleSelfAttention : public torch::nn::ModuleHolder<SimpleSelfAttentionImpl> {
 public:
  using torch::nn::ModuleHolder<SimpleSelfAttentionImpl>::ModuleHolder;
  using Impl = SimpleSelfAttentionImpl;
  explicit SimpleSelfAttention(int64_t n_in, int64_t ks = 1, bool sym = false)
      : ModuleHolder(std::make_shared<SimpleSelfAttentionImpl>(n_in, ks, sym)) {}
};

/// fastai's ResBlock(expansion, ni, nf, ...): act(convpath(x) + idpath(x)), with ni and nf
/// multiplied by expansion (1: two ks x ks ConvLayers; 4: 1x1, ks x ks, 1x1). convpath's last
/// ConvLayer has no activation and a BatchZero (zero-weight) norm, then SEModule (reduction) and
/// SimpleSelfAttention (sa) when asked; idpath = [AvgPool(stride,
/// ceil_mode), ConvLayer 1x1 without act] as needed. Children "convpath", "idpath", "act".
class ResBlockImpl : public torch::nn::Cloneable<ResBlockImpl> {
 public:
  ResBlockImpl(int64_t expansion, int64_t ni, int64_t nf, ResBlockOptions o = {});
  /// x [bs, ni * expansion, *spatial] -> [bs, nf * expansion, *spatial / stride]; Error naming
  /// the expected and found shapes otherwise.
  at::Tensor forward(const at::Tensor& x);
  void reset() override;
  /// Prints "fastai::ResBlock(expansion, ni, nf, stride=..)".
  void pretty_print(std::ostream& os) const override;

  int64_t expansion = 1, ni = 0, nf = 0;
  ResBlockOptions options;
  torch::nn::Sequential convpath{nullptr}, idpath{nullptr};
  torch::nn::AnyModule act;
};
/// Holder (TORCH_MODULE pattern) with a non-template constructor, so `{.stride = 2}` works.
class ResBlock : public torch::nn::ModuleHolder<ResBlockImpl> {
 public:
  using torch::nn::ModuleHolder<ResBlockImpl>::ModuleHolder;
  using Impl = ResBlockImpl;
  ResBlock(int64_t expansion, int64_t ni, int64_t nf, ResBlockOptions o = {})
      : ModuleHolder(std::make_shared<ResBlockImpl>(expansion, ni, nf, std::move(o))) {}
};

}  // namespace fastai
