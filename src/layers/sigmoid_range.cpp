#include "fastai/layers/sigmoid_range.h"

#include <torch/torch.h>

#include <ostream>

namespace fastai {

at::Tensor sigmoid_range(const at::Tensor& x, double low, double high) {
  return torch::sigmoid(x) * (high - low) + low;
}

SigmoidRangeImpl::SigmoidRangeImpl(double lo, double hi) : low(lo), high(hi) {}

at::Tensor SigmoidRangeImpl::forward(const at::Tensor& x) { return sigmoid_range(x, low, high); }

void SigmoidRangeImpl::pretty_print(std::ostream& os) const {
  os << "fastai::SigmoidRange(low=" << low << ", high=" << high << ")";
}

}  // namespace fastai
