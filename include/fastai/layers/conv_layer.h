// ConvLayer (fastai 2.7): conv -> norm -> activation (or conv -> activation -> norm), with fastai's
// padding, bias and init rules. Like fastai's (a subclass of nn.Sequential) it *is* a Sequential.
#pragma once
#include "fastai/layers/norm.h"
#include "fastai/layers/weight_norm.h"

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace fastai {

struct ConvLayerOptions {
  int64_t ks = 3;                                   ///< kernel size
  int64_t stride = 1;
  std::optional<int64_t> padding = std::nullopt;    ///< default (ks-1)/2, or 0 when transpose
  std::optional<bool> bias = std::nullopt;          ///< default: only when there is no Batch/Instance norm
                                                    ///< (so Weight / Spectral / none have one)
  int64_t ndim = 2;                                 ///< 1, 2 or 3: Conv1d / 2d / 3d
  std::optional<NormType> norm_type = NormType::Batch;  ///< nullopt: no norm layer
  bool bn_1st = true;                               ///< conv, norm, act; false: conv, act, norm
  /// Activation module (cloned); empty = none. init "auto" reads its type.
  torch::nn::AnyModule act = torch::nn::AnyModule(torch::nn::ReLU());
  bool transpose = false;                           ///< ConvTranspose{ndim}d
  /// "auto" (kaiming_uniform for ReLU / LeakyReLU / ReLU6 / SiLU / Mish, xavier_uniform for
  /// Sigmoid / Tanh, LibTorch's default otherwise), "kaiming_uniform", "kaiming_normal",
  /// "xavier_uniform" or "none" (LibTorch's default).
  std::string init = "auto";
  std::optional<double> bias_std = 0.01;            ///< bias ~ N(0, bias_std) (0: zeros; nullopt: LibTorch's)
  int64_t groups = 1;                               ///< passed to the conv
  torch::nn::AnyModule xtra = {};                   ///< optional extra module appended (cloned)
};

/// fastai's ConvLayer(ni, nf, ...): children "0" (conv), then norm and act in the bn_1st order,
/// then xtra. NormType::Weight / Spectral add no norm module: "0" is then the conv wrapped as
/// weight_norm(conv) (WeightNormConv: "0.bias", "0.weight_g", "0.weight_v") or spectral_norm(conv)
/// (SpectralNormConv: "0.bias", "0.weight_orig", buffers "0.weight_u", "0.weight_v"), initialised
/// before wrapping as fastai does, with a bias by default. Error for bad sizes.
class ConvLayerImpl : public torch::nn::SequentialImpl {
 public:
  ConvLayerImpl(int64_t ni, int64_t nf, ConvLayerOptions o = {});
  /// Runs the children in order; Error naming the expected and found shapes when x is not
  /// [bs, ni, *spatial] with `ndim` spatial dimensions.
  at::Tensor forward(const at::Tensor& x);
  /// Deep copy that stays a ConvLayerImpl.
  std::shared_ptr<torch::nn::Module> clone(const c10::optional<torch::Device>& device = c10::nullopt) const override;
  /// Prints "fastai::ConvLayer(ni, nf, ks=.., stride=..)".
  void pretty_print(std::ostream& os) const override;

  int64_t ni = 0, nf = 0, ks = 3, stride = 1, ndim = 2;

 private:
  ConvLayerImpl() = default;
};
/// Holder (TORCH_MODULE pattern) with a non-template constructor, so `{.ks = 1}` options work.
class ConvLayer : public torch::nn::ModuleHolder<ConvLayerImpl> {
 public:
  using torch::nn::ModuleHolder<ConvLayerImpl>::ModuleHolder;
  using Impl = ConvLayerImpl;
  ConvLayer(int64_t ni, int64_t nf, ConvLayerOptions o = {})
      : ModuleHolder(std::make_shared<ConvLayerImpl>(ni, nf, std::move(o))) {}
};

}  // namespace fastai
