// Weight- and spectral-normalised convolutions: PyTorch's nn.utils.weight_norm(conv) and
// nn.utils.spectral_norm(conv) (which LibTorch C++ lacks) for Conv1d/2d/3d and
// ConvTranspose1d/2d/3d, with PyTorch's parameter and buffer names, so state dicts load from
// Python. ConvLayer uses them for NormType::Weight / NormType::Spectral.
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <vector>

namespace fastai {

/// The wrapped conv's hyper-parameters (as nn.Conv{ndim}d / nn.ConvTranspose{ndim}d take them;
/// one value for every spatial dimension).
struct NormConvOptions {
  int64_t ndim = 2;        ///< 1, 2 or 3
  bool transpose = false;  ///< ConvTranspose{ndim}d: weight [ni, nf / groups, k..]
  int64_t ks = 1;          ///< kernel size
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t groups = 1;
  bool bias = true;
};

namespace norm_conv_detail {
/// Shared by the two modules: checks ni / nf / options (Error naming `who`), and creates a
/// weight and bias initialised as LibTorch's conv does (kaiming_uniform(a = sqrt(5)), bias
/// uniform(±1/sqrt(fan_in))); bias undefined when !o.bias.
void make_conv_params(const char* who, int64_t ni, int64_t nf, const NormConvOptions& o, at::Tensor& weight,
                      at::Tensor& bias);
/// at::convolution with the options' stride / padding / groups (transpose included).
at::Tensor conv(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const NormConvOptions& o);
/// Error naming `who` and the shapes when x is not [bs, ni, *spatial] with o.ndim spatial dims.
void check_input(const char* who, int64_t ni, int64_t nf, const NormConvOptions& o, const at::Tensor& x);
}  // namespace norm_conv_detail

/// nn.utils.weight_norm(conv) with PyTorch's default dim 0 (also for ConvTranspose, as PyTorch
/// does): the weight applied is weight_g * weight_v / ||weight_v||, the norm taken over all
/// dimensions but the first. Parameters, in PyTorch's order: "bias" [nf] (when o.bias),
/// "weight_g" [w.size(0), 1, ..], "weight_v" (the conv's weight shape). Starts as the conv's
/// LibTorch default init with weight_g = ||weight_v||, so the effective weight is weight_v.
class WeightNormConvImpl : public torch::nn::Cloneable<WeightNormConvImpl> {
 public:
  WeightNormConvImpl(int64_t ni, int64_t nf, NormConvOptions o = {});
  /// x [bs, ni, *spatial] -> the conv of x with weight() and bias.
  at::Tensor forward(const at::Tensor& x);
  /// weight_g * weight_v / ||weight_v|| (what the conv applies; differentiable in g and v).
  at::Tensor weight() const;
  /// Sets weight_g to ||weight_v||, as weight_norm does when it wraps a conv (call it after
  /// overwriting weight_v, e.g. with an init, so the effective weight is weight_v again).
  void reset_g();
  void reset() override;
  /// Prints "fastai::WeightNormConv(ni, nf, ks=.., stride=.., ndim=..[, transpose])".
  void pretty_print(std::ostream& os) const override;

  int64_t ni = 0, nf = 0;
  NormConvOptions options;
  at::Tensor weight_g, weight_v, bias;
};
/// Holder (TORCH_MODULE pattern) with a non-template constructor, so `{.ndim = 1}` options work.
class WeightNormConv : public torch::nn::ModuleHolder<WeightNormConvImpl> {
 public:
  using torch::nn::ModuleHolder<WeightNormConvImpl>::ModuleHolder;
  using Impl = WeightNormConvImpl;
  WeightNormConv(int64_t ni, int64_t nf, NormConvOptions o = {})
      : ModuleHolder(std::make_shared<WeightNormConvImpl>(ni, nf, o)) {}
};

/// nn.utils.spectral_norm(conv) with PyTorch's defaults (n_power_iterations 1, eps 1e-12, dim 0,
/// or dim 1 for ConvTranspose): W = weight_orig with dimension `dim` moved first, reshaped to a
/// matrix [h, w]; the weight applied is weight_orig / sigma, sigma = uᵀ W v. In training mode every
/// forward first does one power iteration in place (v = normalize(Wᵀu), u = normalize(W v)); in
/// eval mode the stored u, v are used. Parameters "bias" [nf] (when o.bias), "weight_orig" (the
/// conv's weight shape, LibTorch's default init); buffers "weight_u" [h] and "weight_v" [w]
/// (normalised N(0, 1) draws), as PyTorch names and orders them.
class SpectralNormConvImpl : public torch::nn::Cloneable<SpectralNormConvImpl> {
 public:
  SpectralNormConvImpl(int64_t ni, int64_t nf, NormConvOptions o = {});
  /// x [bs, ni, *spatial] -> the conv of x with weight(is_training()) and bias.
  at::Tensor forward(const at::Tensor& x);
  /// weight_orig / sigma; first does the power iteration (updating weight_u / weight_v) when
  /// `update` (what forward passes in training mode).
  at::Tensor weight(bool update = false);
  /// weight_orig as PyTorch's [h, w] matrix (dim 0, or 1 for transpose, first).
  at::Tensor weight_mat() const;
  void reset() override;
  /// Prints "fastai::SpectralNormConv(ni, nf, ks=.., stride=.., ndim=..[, transpose])".
  void pretty_print(std::ostream& os) const override;

  int64_t ni = 0, nf = 0;
  NormConvOptions options;
  at::Tensor weight_orig, weight_u, weight_v, bias;
};
/// Holder (TORCH_MODULE pattern) with a non-template constructor, so `{.ndim = 1}` options work.
class SpectralNormConv : public torch::nn::ModuleHolder<SpectralNormConvImpl> {
 public:
  using torch::nn::ModuleHolder<SpectralNormConvImpl>::ModuleHolder;
  using Impl = SpectralNormConvImpl;
  SpectralNormConv(int64_t ni, int64_t nf, NormConvOptions o = {})
      : ModuleHolder(std::make_shared<SpectralNormConvImpl>(ni, nf, o)) {}
};

}  // namespace fastai
