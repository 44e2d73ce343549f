// fastai's weight-init helpers for whole models: apply_init (heads of transfer-learning models)
// and init_cnn (XResNet).
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <functional>

namespace fastai {

/// An in-place init of a weight tensor (e.g. kaiming_normal); called without grad.
using InitFn = std::function<void(at::Tensor&)>;

/// nn.init.kaiming_normal_ with PyTorch's defaults (a=0, fan_in, leaky_relu gain = sqrt(2)).
void kaiming_normal_init(at::Tensor& w);

/// fastai's apply_init(m, func): every module of m (m included) that is not a norm layer
/// (is_norm_module) and whose first parameter requires grad gets func(weight) if it has a
/// "weight" and a zero "bias" if it has one.
void apply_init(torch::nn::Module& m, const InitFn& func = kaiming_normal_init);

/// fastai's init_cnn(m): every module's "bias" (norm layers' too) set to 0, and the weights of
/// Conv1d/2d/3d and Linear layers set by kaiming_normal.
void init_cnn(torch::nn::Module& m);

}  // namespace fastai
