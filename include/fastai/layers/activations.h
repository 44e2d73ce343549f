// fastai's activations: Mish and Swish are LibTorch's Mish and SiLU (fastai 2.7: `Mish = nn.Mish`,
// `Swish = nn.SiLU`); ConvLayer's init "auto" gives both kaiming_uniform, as fastai does.
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/modules/activation.h>

namespace fastai {

using Mish = torch::nn::Mish;    ///< x * tanh(softplus(x))
using Swish = torch::nn::SiLU;   ///< x * sigmoid(x)

/// x * tanh(softplus(x)) (fastai's mish).
at::Tensor mish(const at::Tensor& x);
/// x * sigmoid(x) (fastai's swish, F.silu).
at::Tensor swish(const at::Tensor& x);

}  // namespace fastai
