#include "fastai/layers/activations.h"

#include <torch/torch.h>

namespace fastai {

at::Tensor mish(const at::Tensor& x) { return torch::mish(x); }
at::Tensor swish(const at::Tensor& x) { return torch::silu(x); }

}  // namespace fastai
