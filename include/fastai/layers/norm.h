// fastai's normalisation layers: NormType, BatchNorm / InstanceNorm initialised the fastai way
// (weight 1, or 0 for the *Zero types; bias 1e-3), and the test for "is a norm layer".
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>

#include <cstdint>

namespace fastai {

/// fastai's NormType. Weight and Spectral are not norm modules: ConvLayer wraps its conv in
/// weight_norm / spectral_norm (WeightNormConv / SpectralNormConv, fastai/layers/weight_norm.h).
enum class NormType { Batch, BatchZero, Weight, Spectral, Instance, InstanceZero };

/// "Batch", "BatchZero", ...
const char* norm_type_name(NormType t);

struct NormOptions {
  int64_t ndim = 2;                    ///< 1, 2 or 3: BatchNorm1d / 2d / 3d
  NormType norm_type = NormType::Batch;  ///< BatchZero (InstanceZero) starts with weight 0
};

/// nn.BatchNorm{ndim}d(nf) with weight 1 (0 for BatchZero) and bias 1e-3 (fastai's BatchNorm).
torch::nn::AnyModule BatchNorm(int64_t nf, NormOptions o = {});
/// nn.InstanceNorm{ndim}d(nf, affine=true) with weight 1 (0 for InstanceZero) and bias 1e-3.
torch::nn::AnyModule InstanceNorm(int64_t nf, NormOptions o = {.ndim = 2, .norm_type = NormType::Instance});

/// True for BatchNorm1/2/3d, InstanceNorm1/2/3d and LayerNorm (fastai's `norm_types`).
bool is_norm_module(const torch::nn::Module& m);

}  // namespace fastai
