// AdaptiveConcatPool2d (max and average pooling side by side) and Flatten, the first two layers
// of fastai's vision heads.
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>

namespace fastai {

/// fastai's AdaptiveConcatPool2d(size=1): cat([AdaptiveMaxPool2d(x), AdaptiveAvgPool2d(x)], 1),
/// so [bs, c, h, w] -> [bs, 2c, size, size] with the max features first. Children "ap", "mp".
class AdaptiveConcatPool2dImpl : public torch::nn::Cloneable<AdaptiveConcatPool2dImpl> {
 public:
  explicit AdaptiveConcatPool2dImpl(int64_t size = 1);
  /// Error naming the found shape unless x is [bs, c, h, w].
  at::Tensor forward(const at::Tensor& x);
  void reset() override;
  /// Prints "fastai::AdaptiveConcatPool2d(size=..)".
  void pretty_print(std::ostream& os) const override;

  int64_t size = 1;
  torch::nn::AdaptiveAvgPool2d ap{nullptr};
  torch::nn::AdaptiveMaxPool2d mp{nullptr};
};
TORCH_MODULE(AdaptiveConcatPool2d);

/// fastai's Flatten(full=false): x.view(bs, -1), or to one dimension when full.
class FlattenImpl : public torch::nn::Cloneable<FlattenImpl> {
 public:
  explicit FlattenImpl(bool full = false) : full(full) {}
  at::Tensor forward(const at::Tensor& x);
  void reset() override {}
  /// Prints "fastai::Flatten(full=..)".
  void pretty_print(std::ostream& os) const override;

  bool full = false;
};
TORCH_MODULE(Flatten);

}  // namespace fastai
