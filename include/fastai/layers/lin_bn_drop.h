// LinBnDrop: the BatchNorm1d / Dropout / Linear / activation block fastai builds heads and
// tabular models from. Like fastai's (a subclass of nn.Sequential) it *is* a Sequential.
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <utility>

namespace fastai {

struct LinBnDropOptions {
  bool bn = true;                 ///< BatchNorm1d (of n_in, or n_out when lin_first); Linear bias = !bn
  double p = 0.;                  ///< Dropout probability; no Dropout module when 0
  torch::nn::AnyModule act = {};  ///< empty: none; e.g. torch::nn::AnyModule(torch::nn::ReLU()) (cloned per block)
  bool lin_first = false;         ///< [Linear, act, BN, Dropout] instead of [BN, Dropout, Linear, act]
};

/// fastai's LinBnDrop: children named "0", "1", ... in the order above.
class LinBnDropImpl : public torch::nn::SequentialImpl {
 public:
  LinBnDropImpl(int64_t n_in, int64_t n_out, LinBnDropOptions o = {});
  /// Runs the children in order (a non-template forward, so the block nests in a Sequential).
  at::Tensor forward(const at::Tensor& x);
  /// Deep copy that stays a LinBnDropImpl.
  std::shared_ptr<torch::nn::Module> clone(const c10::optional<torch::Device>& device = c10::nullopt) const override;
  /// Prints "fastai::LinBnDrop".
  void pretty_print(std::ostream& os) const override;

 private:
  LinBnDropImpl() = default;
};
/// Holder (TORCH_MODULE pattern) with a non-template constructor, so `{.p = 0.1}` options work.
class LinBnDrop : public torch::nn::ModuleHolder<LinBnDropImpl> {
 public:
  using torch::nn::ModuleHolder<LinBnDropImpl>::ModuleHolder;
  using Impl = LinBnDropImpl;
  LinBnDrop(int64_t n_in, int64_t n_out, LinBnDropOptions o = {})
      : ModuleHolder(std::make_shared<LinBnDropImpl>(n_in, n_out, std::move(o))) {}
};

}  // namespace fastai
