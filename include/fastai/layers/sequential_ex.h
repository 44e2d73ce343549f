// SequentialEx (fastai): a Sequential whose layers may also see the block's input, plus the two
// layers that use it, MergeLayer (x + input, or concatenation) and ProdLayer (x * input).
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <iosfwd>
#include <memory>
#include <utility>
#include <vector>

namespace fastai {

/// A layer that SequentialEx calls with (x, orig): fastai reads `x.orig`, C++ passes it.
class OrigLayer {
 public:
  virtual ~OrigLayer() = default;
  virtual at::Tensor forward_orig(const at::Tensor& x, const at::Tensor& orig) = 0;
};

/// fastai's MergeLayer(dense=false): x + orig, or cat([x, orig], 1) when dense.
class MergeLayerImpl : public torch::nn::Cloneable<MergeLayerImpl>, public OrigLayer {
 public:
  explicit MergeLayerImpl(bool dense = false) : dense(dense) {}
  /// Error naming both shapes when they cannot be added (or concatenated).
  at::Tensor forward_orig(const at::Tensor& x, const at::Tensor& orig) override;
  /// Outside a SequentialEx there is no input to merge: a fastai::Error.
  at::Tensor forward(const at::Tensor& x);
  void reset() override {}
  /// Prints "fastai::MergeLayer(dense=..)".
  void pretty_print(std::ostream& os) const override;

  bool dense = false;
};
TORCH_MODULE(MergeLayer);

/// fastai's ProdLayer: x * orig.
class ProdLayerImpl : public torch::nn::Cloneable<ProdLayerImpl>, public OrigLayer {
 public:
  ProdLayerImpl() = default;
  at::Tensor forward_orig(const at::Tensor& x, const at::Tensor& orig) override;
  /// Outside a SequentialEx there is no input to multiply by: a fastai::Error.
  at::Tensor forward(const at::Tensor& x);
  void reset() override {}
  /// Prints "fastai::ProdLayer".
  void pretty_print(std::ostream& os) const override;
};
TORCH_MODULE(ProdLayer);

/// fastai's SequentialEx(*layers): runs the layers in order; OrigLayers (MergeLayer, ProdLayer)
/// also get the SequentialEx's input. Children "layers.0", "layers.1", ... as in fastai.
class SequentialExImpl : public torch::nn::Module {
 public:
  SequentialExImpl();
  template <class... Ms>
  explicit SequentialExImpl(Ms&&... ms) : SequentialExImpl() {
    (push_back(torch::nn::AnyModule(std::forward<Ms>(ms))), ...);
  }
  /// Appends a layer (fastai's append).
  void push_back(torch::nn::AnyModule m);
  at::Tensor forward(const at::Tensor& x);
  /// The i-th layer (fastai's __getitem__).
  std::shared_ptr<torch::nn::Module> operator[](size_t i) const { return mods_.at(i).ptr(); }
  size_t size() const { return mods_.size(); }
  /// Deep copy.
  std::shared_ptr<torch::nn::Module> clone(const c10::optional<torch::Device>& device = c10::nullopt) const override;
  /// Prints "fastai::SequentialEx".
  void pretty_print(std::ostream& os) const override;

  torch::nn::ModuleList layers{nullptr};

 private:
  std::vector<torch::nn::AnyModule> mods_;
};
TORCH_MODULE(SequentialEx);

}  // namespace fastai
