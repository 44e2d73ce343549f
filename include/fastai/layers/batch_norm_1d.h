// A fused CPU kernel for BatchNorm1d over [N, C] inputs, with an optional ReLU before it: the
// Linear -> ReLU -> BatchNorm1d blocks of TabularModel (fastai's LinBnDrop with lin_first) and its
// BatchNorm1d on the continuous columns.
//
// LibTorch's batch_norm treats an [N, C] input as N images of one pixel and walks it channel by
// channel, at a stride of C: forward + backward of a [1024, 200] float batch takes ~0.9 ms on one
// core, as long as the Linear layer before it. This kernel walks rows, vectorised along C, and
// folds the ReLU (forward and backward) into its passes: the same numbers in a fraction of the time
// (bench/run tabular).
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/modules/batchnorm.h>

namespace fastai {

/// bn(relu(x)) when relu_first, else bn(x), for a BatchNorm1d module `bn` and x [N, C] or [N, C, L].
/// Training mode on a CPU float32 [N, C] input with an affine, running-stats BatchNorm and a set
/// momentum runs the fused kernel: the same output, gradients (x, weight, bias), running_mean /
/// running_var (unbiased variance, momentum) and num_batches_tracked as relu + bn->forward, to
/// float rounding. Everything else (eval mode, CUDA, other dtypes, [N, C, L]) is relu + bn->forward.
/// Error naming the shape for a training batch of one row, as BatchNorm1d gives.
at::Tensor batch_norm_1d(const at::Tensor& x, torch::nn::BatchNorm1dImpl& bn, bool relu_first = false);

}  // namespace fastai
