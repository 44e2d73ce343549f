// XResNet (fastai 2.7's "bag of tricks" ResNet): 3-conv stem, max pool, stages of ResBlocks with
// an average-pool shortcut and zero-initialised last BatchNorms, average pool, Dropout, Linear.
#pragma once
#include "fastai/layers/res_block.h"

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <utility>
#include <vector>

namespace fastai {

/// Which of fastai's block constructors XResNet uses (its `block` argument).
enum class XResNetBlock {
  Res,        ///< ResBlock with `block`'s options as they are
  SE,         ///< fastai's SEBlock: per stage nh1 = nf * 2, nh2 = nf * expansion
  SEResNeXt,  ///< fastai's SEResNeXtBlock: per stage nh2 = floor(nf * base_width / 64) * groups
};

struct XResNetOptions {
  double p = 0.;                               ///< Dropout before the final Linear
  int64_t c_in = 3;                            ///< input channels
  int64_t n_out = 1000;
  std::vector<int64_t> stem_szs = {32, 32, 64};  ///< stem ConvLayer widths (the first has stride `stride`)
  double widen = 1.;                           ///< stage widths int([64, 128, 256, 512, 256...] * widen)
  bool sa = false;  ///< SimpleSelfAttention in the last block of stage len(layers) - 4 (fastai's rule)
  torch::nn::AnyModule act = torch::nn::AnyModule(torch::nn::ReLU());
  int64_t ndim = 2;
  int64_t ks = 3;                              ///< odd kernel size of the stem, max pool and blocks
  int64_t stride = 2;
  /// Passed to every ResBlock (groups, reduction, nh1, nh2, dw, g2, sym, norm_type, pool_first);
  /// stride, sa, act, ndim and ks are set by XResNet, nh1 / nh2 too by the SE / SEResNeXt kinds.
  ResBlockOptions block = {};
  XResNetBlock block_kind = XResNetBlock::Res;  ///< fastai's `block`
  int64_t base_width = 4;                       ///< SEResNeXt's base_width
};

/// One stage of an XResNet: a Sequential of ResBlocks with a non-template forward, so it nests
/// in a Sequential (fastai's nn.Sequential of blocks).
class XResNetStageImpl : public torch::nn::SequentialImpl {
 public:
  XResNetStageImpl() = default;
  at::Tensor forward(const at::Tensor& x) { return SequentialImpl::forward(x); }
  /// Deep copy that stays an XResNetStageImpl.
  std::shared_ptr<torch::nn::Module> clone(const c10::optional<torch::Device>& device = c10::nullopt) const override;
  /// Prints "fastai::XResNetStage".
  void pretty_print(std::ostream& os) const override;
};
TORCH_MODULE(XResNetStage);

/// fastai's XResNet(ResBlock, expansion, layers, ...), a Sequential: children "0".."2" stem
/// ConvLayers, "3" MaxPool, one Sequential of ResBlocks per stage, AdaptiveAvgPool, Flatten,
/// Dropout, Linear (stages are XResNetStages). init_cnn: kaiming_normal conv / linear weights, every bias (BatchNorms'
/// too) 0, BatchNorm weights 1 except the zero-initialised last one of each ResBlock.
class XResNetImpl : public torch::nn::SequentialImpl {
 public:
  XResNetImpl(int64_t expansion, std::vector<int64_t> layers, XResNetOptions o = {});
  /// x [bs, c_in, *spatial] -> [bs, n_out]; Error naming the expected and found shapes otherwise.
  at::Tensor forward(const at::Tensor& x);
  /// Deep copy that stays an XResNetImpl.
  std::shared_ptr<torch::nn::Module> clone(const c10::optional<torch::Device>& device = c10::nullopt) const override;
  /// Prints "fastai::XResNet(expansion, layers=[..])".
  void pretty_print(std::ostream& os) const override;

  int64_t expansion = 1, c_in = 3, ndim = 2;
  std::vector<int64_t> layers;

 private:
  XResNetImpl() = default;
};
/// Holder (TORCH_MODULE pattern) with a non-template constructor, so `{.n_out = 10}` works.
class XResNet : public torch::nn::ModuleHolder<XResNetImpl> {
 public:
  using torch::nn::ModuleHolder<XResNetImpl>::ModuleHolder;
  using Impl = XResNetImpl;
  XResNet(int64_t expansion, std::vector<int64_t> layers, XResNetOptions o = {})
      : ModuleHolder(std::make_shared<XResNetImpl>(expansion, std::move(layers), std::move(o))) {}
};

/// xresnet18: expansion 1, [2, 2, 2, 2]; 11,708,744 parameters for n_out 1000.
XResNet xresnet18(XResNetOptions o = {});
/// xresnet34: expansion 1, [3, 4, 6, 3]; 21,816,904 parameters.
XResNet xresnet34(XResNetOptions o = {});
/// xresnet50: expansion 4, [3, 4, 6, 3]; 25,576,264 parameters.
XResNet xresnet50(XResNetOptions o = {});
/// xresnet101: expansion 4, [3, 4, 23, 3]; 44,568,392 parameters.
XResNet xresnet101(XResNetOptions o = {});
/// xresnet152: expansion 4, [3, 8, 36, 3].
XResNet xresnet152(XResNetOptions o = {});

// fastai's deeper variants: extra 256-wide stages of one block each.
/// xresnet18_deep: expansion 1, [2, 2, 2, 2, 1, 1].
XResNet xresnet18_deep(XResNetOptions o = {});
/// xresnet34_deep: expansion 1, [3, 4, 6, 3, 1, 1].
XResNet xresnet34_deep(XResNetOptions o = {});
/// xresnet50_deep: expansion 4, [3, 4, 6, 3, 1, 1].
XResNet xresnet50_deep(XResNetOptions o = {});
/// xresnet18_deeper: expansion 1, [2, 2, 1, 1, 1, 1, 1, 1].
XResNet xresnet18_deeper(XResNetOptions o = {});
/// xresnet34_deeper: expansion 1, [3, 4, 6, 3, 1, 1, 1, 1].
XResNet xresnet34_deeper(XResNetOptions o = {});
/// xresnet50_deeper: expansion 4, [3, 4, 6, 3, 1, 1, 1, 1].
XResNet xresnet50_deeper(XResNetOptions o = {});

// fastai's SE / ResNeXt variants. They overwrite block_kind, block.groups and block.reduction of
// `o` (fastai's se_kwargs1 = groups 1, reduction 16; se_kwargs2 = groups 32, reduction 16;
// se_kwargs3 = groups 32, reduction 0, i.e. no SEModule); the rest of `o` is kept.
/// xse_resnet18: SEBlock, expansion 1, [2, 2, 2, 2], groups 1, reduction 16.
XResNet xse_resnet18(XResNetOptions o = {});
/// xse_resnet34: SEBlock, expansion 1, [3, 4, 6, 3], groups 1, reduction 16.
XResNet xse_resnet34(XResNetOptions o = {});
/// xse_resnet50: SEBlock, expansion 4, [3, 4, 6, 3], groups 1, reduction 16.
XResNet xse_resnet50(XResNetOptions o = {});
/// xse_resnet101: SEBlock, expansion 4, [3, 4, 23, 3], groups 1, reduction 16.
XResNet xse_resnet101(XResNetOptions o = {});
/// xse_resnet152: SEBlock, expansion 4, [3, 8, 36, 3], groups 1, reduction 16.
XResNet xse_resnet152(XResNetOptions o = {});
/// xresnext18: SEResNeXtBlock, expansion 1, [2, 2, 2, 2], groups 32, no SEModule.
XResNet xresnext18(XResNetOptions o = {});
/// xresnext34: SEResNeXtBlock, expansion 1, [3, 4, 6, 3], groups 32, no SEModule.
XResNet xresnext34(XResNetOptions o = {});
/// xresnext50: SEResNeXtBlock, expansion 4, [3, 4, 6, 3], groups 32, no SEModule.
XResNet xresnext50(XResNetOptions o = {});
/// xresnext101: SEResNeXtBlock, expansion 4, [3, 4, 23, 3], groups 32, no SEModule.
XResNet xresnext101(XResNetOptions o = {});
/// xresnext152: SEResNeXtBlock, expansion 4, [3, 8, 36, 3], groups 32, no SEModule.
XResNet xresnext152(XResNetOptions o = {});
/// xse_resnext18: SEResNeXtBlock, expansion 1, [2, 2, 2, 2], groups 32, reduction 16.
XResNet xse_resnext18(XResNetOptions o = {});
/// xse_resnext34: SEResNeXtBlock, expansion 1, [3, 4, 6, 3], groups 32, reduction 16.
XResNet xse_resnext34(XResNetOptions o = {});
/// xse_resnext50: SEResNeXtBlock, expansion 4, [3, 4, 6, 3], groups 32, reduction 16.
XResNet xse_resnext50(XResNetOptions o = {});
/// xse_resnext101: SEResNeXtBlock, expansion 4, [3, 4, 23, 3], groups 32, reduction 16.
XResNet xse_resnext101(XResNetOptions o = {});
/// xse_resnext152: SEResNeXtBlock, expansion 4, [3, 8, 36, 3], groups 32, reduction 16.
XResNet xse_resnext152(XResNetOptions o = {});
/// xsenet154: SEBlock, expansion 4, [3, 8, 36, 3], groups 64, reduction 16, p 0.2 (overwrites
/// o.p). fastai 2.7's own xsenet154 passes the layer list where the expansion goes and cannot be
/// built; this is the configuration it spells out, with xse_resnet152's expansion 4.
XResNet xsenet154(XResNetOptions o = {});

}  // namespace fastai
