// SigmoidRange: squashes outputs into (low, high) (regression targets with a known range).
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <iosfwd>

namespace fastai {

/// sigmoid(x) * (high - low) + low (fastai's sigmoid_range).
at::Tensor sigmoid_range(const at::Tensor& x, double low, double high);

/// Module form of sigmoid_range (fastai's SigmoidRange); no parameters.
class SigmoidRangeImpl : public torch::nn::Cloneable<SigmoidRangeImpl> {
 public:
  SigmoidRangeImpl(double low, double high);
  /// sigmoid_range(x, low, high).
  at::Tensor forward(const at::Tensor& x);
  /// Nothing to (re)initialise.
  void reset() override {}
  /// Prints "fastai::SigmoidRange(low=.., high=..)".
  void pretty_print(std::ostream& os) const override;

  double low = 0.;
  double high = 1.;
};
TORCH_MODULE(SigmoidRange);

}  // namespace fastai
