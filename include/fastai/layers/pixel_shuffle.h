// fastai's sub-pixel upsampling and attention layers used by the U-Net decoder: icnr_init,
// PixelShuffle_ICNR (a weight-normalised ConvLayer by default) and SelfAttention (spectral-
// normalised 1x1 Conv1d ConvLayers); the norm wrappers are in fastai/layers/weight_norm.h.
#pragma once
#include "fastai/layers/conv_layer.h"
#include "fastai/layers/init.h"
#include "fastai/layers/norm.h"
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

/// fastai's icnr_init(x, scale, init): a weight [nf * scale², ni, kh, kw] whose scale² output
/// channels c*scale²+r (r = 0..scale²-1) all hold the same kernel, drawn by `init` on a
/// [nf, ni, kh, kw] tensor. After nn.PixelShuffle(scale) the scale x scale sub-pixels of every
/// output pixel are then identical at init (no checkerboard). Returns a new tensor (x's dtype and
/// device); Error when x is not 4-d or its first dimension is not a multiple of scale².
at::Tensor icnr_init(const at::Tensor& x, int64_t scale = 2, const InitFn& init = kaiming_normal_init);

struct PixelShuffleICNROptions {
  std::optional<int64_t> nf = std::nullopt;  ///< output channels (default ni)
  int64_t scale = 2;
  bool blur = false;  ///< append ReplicationPad2d((1,0,1,0)) + AvgPool2d(2, stride 1)
  /// fastai's default NormType::Weight (weight-normalised conv); nullopt (what DynamicUnet passes):
  /// a plain ConvLayer; the other norms as in ConvLayer (Spectral: ICNR init on weight_orig).
  std::optional<NormType> norm_type = NormType::Weight;
  torch::nn::AnyModule act = torch::nn::AnyModule(torch::nn::ReLU());  ///< cloned; empty = none
};

/// fastai's PixelShuffle_ICNR(ni, nf, scale, blur, norm_type, act_cls): upsample by `scale` from
/// ni to nf channels. Children as fastai's nn.Sequential: "0" the 1x1 conv layer (ni ->
/// nf*scale², bias 0, ICNR init; "0.0.weight_g"/"0.0.weight_v" with weight norm (g = ||v||
/// after ICNR, as fastai), "0.0.weight_orig" with spectral norm, else "0.0.weight"), then its
/// norm / activation; "1" PixelShuffle; with blur "2" ReplicationPad2d and
/// "3" AvgPool2d. [bs, ni, h, w] -> [bs, nf, h*scale, w*scale].
class PixelShuffle_ICNRImpl : public torch::nn::SequentialImpl {
 public:
  PixelShuffle_ICNRImpl(int64_t ni, PixelShuffleICNROptions o = {});
  /// Error naming the expected and found shapes when x is not [bs, ni, h, w].
  at::Tensor forward(const at::Tensor& x);
  std::shared_ptr<torch::nn::Module> clone(const c10::optional<torch::Device>& device = c10::nullopt) const override;
  /// Prints "fastai::PixelShuffle_ICNR(ni, nf, scale=..)".
  void pretty_print(std::ostream& os) const override;
  /// The conv's effective weight [nf*scale², ni, 1, 1] (weight- / spectral-normalised, with the
  /// stored u, v, or plain).
  at::Tensor conv_weight() const;

  int64_t ni = 0, nf = 0, scale = 2;

 private:
  PixelShuffle_ICNRImpl() = default;
};
/// Holder (TORCH_MODULE pattern) with a non-template constructor, so `{.nf = 8}` options work.
class PixelShuffle_ICNR : public torch::nn::ModuleHolder<PixelShuffle_ICNRImpl> {
 public:
  using torch::nn::ModuleHolder<PixelShuffle_ICNRImpl>::ModuleHolder;
  using Impl = PixelShuffle_ICNRImpl;
  PixelShuffle_ICNR(int64_t ni, PixelShuffleICNROptions o = {})
      : ModuleHolder(std::make_shared<PixelShuffle_ICNRImpl>(ni, std::move(o))) {}
};

/// fastai's SelfAttention(n_channels) (SAGAN): f, g, h = query(x), key(x), value(x) on x viewed
/// as [bs, c, h*w]; beta = softmax(fᵀg, dim 1); out = gamma * h·beta + x, gamma starting at 0
/// (so the layer is the identity at init). query / key / value: fastai's ConvLayer(c, c/8 (c/8,
/// c), ks=1, ndim=1, norm_type=Spectral, act_cls=None, bias=False): children "query.0", "key.0",
/// "value.0" are SpectralNormConvs (parameters "query.0.weight_orig", buffers "query.0.weight_u" /
/// "query.0.weight_v") and parameter "gamma" [1], as in fastai.
class SelfAttentionImpl : public torch::nn::Cloneable<SelfAttentionImpl> {
 public:
  explicit SelfAttentionImpl(int64_t n_channels);
  /// x [bs, c, *spatial] -> same shape; Error naming the shape when c differs.
  at::Tensor forward(const at::Tensor& x);
  void reset() override;
  /// Prints "fastai::SelfAttention(c)".
  void pretty_print(std::ostream& os) const override;

  int64_t n_channels = 0;
  ConvLayer query{nullptr}, key{nullptr}, value{nullptr};  ///< each holds one SpectralNormConv
  at::Tensor gamma;
};
TORCH_MODULE(SelfAttention);

}  // namespace fastai
