// fastai's DynamicUnet: a U-Net decoder grown on any encoder (a Sequential such as create_body's
// ResNet / XResNet body), with cross connections taken where the encoder's spatial size changes,
// found by running a dummy image through it (fastai's model_sizes + _get_sz_change_idxs). fastai
// keeps those activations with forward hooks; here DynamicUnet runs the encoder child by child
// and keeps the same outputs, which is equivalent.
#pragma once
#include "fastai/layers/conv_layer.h"
#include "fastai/layers/init.h"
#include "fastai/layers/norm.h"
#include "fastai/layers/pixel_shuffle.h"
#include "fastai/layers/res_block.h"
#include "fastai/layers/sequential_ex.h"
#include "fastai/layers/sigmoid_range.h"

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fastai {

/// fastai's _get_sz_change_idxs: the indices i where sizes[i] and sizes[i+1] differ in their last
/// dimension (the layers after which the encoder's resolution changes).
std::vector<int64_t> get_sz_change_idxs(const std::vector<std::vector<int64_t>>& sizes);

/// fastai's model_sizes: the output shape of every child of `m` on a zero image [1, n_in, h, w]
/// (eval mode, no grad; the mode is restored). n_in: the first 4-d weight's input channels.
std::vector<std::vector<int64_t>> model_sizes(torch::nn::Sequential& m, std::pair<int64_t, int64_t> size);

/// fastai's in_channels(m): input channels of the first 4-d weight; Error when there is none.
int64_t in_channels(torch::nn::Module& m);

struct UnetBlockOptions {
  bool final_div = true;   ///< keep the concatenated channel count (false: halve it)
  bool blur = false;       ///< blur in the PixelShuffle_ICNR
  torch::nn::AnyModule act = torch::nn::AnyModule(torch::nn::ReLU());  ///< act_cls (cloned)
  bool self_attention = false;  ///< SelfAttention after conv2 (ConvLayer xtra)
  InitFn init = kaiming_normal_init;  ///< apply_init on conv1 and conv2
  std::optional<NormType> norm_type = std::nullopt;
};

/// fastai's UnetBlock(up_in_c, x_in_c, hook, ...): shuf = PixelShuffle_ICNR(up_in_c, up_in_c/2),
/// bn = BatchNorm(x_in_c) of the skip activation, cat, act, conv1 (ni -> nf), conv2 (nf -> nf),
/// with ni = up_in_c/2 + x_in_c and nf = ni (final_div) or ni/2. Children shuf, bn, conv1, conv2,
/// relu as in fastai.
class UnetBlockImpl : public torch::nn::Module {
 public:
  UnetBlockImpl(int64_t up_in_c, int64_t x_in_c, UnetBlockOptions o = {});
  /// up_in [bs, up_in_c, h, w] and the skip activation s [bs, x_in_c, H, W] -> [bs, nf, H, W]
  /// (the upsampled input is resized, nearest, when its size is not s's). Errors name the shapes.
  at::Tensor forward(const at::Tensor& up_in, const at::Tensor& s);
  /// Prints "fastai::UnetBlock(up_in_c, x_in_c -> nf)".
  void pretty_print(std::ostream& os) const override;

  int64_t up_in_c = 0, x_in_c = 0, nf = 0;
  PixelShuffle_ICNR shuf{nullptr};
  torch::nn::AnyModule bn;
  ConvLayer conv1{nullptr}, conv2{nullptr};
  torch::nn::AnyModule relu;
};
/// Holder (TORCH_MODULE pattern) with a non-template constructor, so `{.final_div = false}` works.
class UnetBlock : public torch::nn::ModuleHolder<UnetBlockImpl> {
 public:
  using torch::nn::ModuleHolder<UnetBlockImpl>::ModuleHolder;
  using Impl = UnetBlockImpl;
  UnetBlock(int64_t up_in_c, int64_t x_in_c, UnetBlockOptions o = {})
      : ModuleHolder(std::make_shared<UnetBlockImpl>(up_in_c, x_in_c, std::move(o))) {}
};

/// fastai's ResizeToOrig(mode='nearest'): x resized to the spatial size of the enclosing
/// SequentialEx's input when they differ.
class ResizeToOrigImpl : public torch::nn::Cloneable<ResizeToOrigImpl>, public OrigLayer {
 public:
  explicit ResizeToOrigImpl(std::string mode = "nearest");
  at::Tensor forward_orig(const at::Tensor& x, const at::Tensor& orig) override;
  /// Outside a SequentialEx there is no input to match: a fastai::Error.
  at::Tensor forward(const at::Tensor& x);
  void reset() override {}
  /// Prints "fastai::ResizeToOrig(mode)".
  void pretty_print(std::ostream& os) const override;

  std::string mode = "nearest";  ///< "nearest" or "bilinear"
};
TORCH_MODULE(ResizeToOrig);

/// DynamicUnet options: fastai's names and defaults.
struct DynamicUnetOptions {
  bool blur = false;         ///< blur in the UnetBlocks' PixelShuffle_ICNR
  bool blur_final = true;    ///< ... including the last block (when blur)
  bool self_attention = false;  ///< SelfAttention in the third-from-last UnetBlock
  std::optional<std::pair<double, double>> y_range = std::nullopt;  ///< SigmoidRange at the end
  bool last_cross = true;    ///< concatenate the input and add a ResBlock before the last conv
  bool bottle = false;       ///< that ResBlock's inner width halved
  torch::nn::AnyModule act = torch::nn::AnyModule(torch::nn::ReLU());  ///< act_cls (cloned)
  InitFn init = kaiming_normal_init;
  std::optional<NormType> norm_type = std::nullopt;  ///< of the decoder's ConvLayers
};

/// fastai's DynamicUnet(encoder, n_out, img_size, ...) (a SequentialEx): children "layers.0"
/// encoder, "layers.1" BatchNorm, "layers.2" ReLU, "layers.3" middle conv (ni -> 2ni -> ni), then
/// one UnetBlock per size change of the encoder (deepest first), an extra PixelShuffle_ICNR when
/// img_size differs from the encoder's first output size, ResizeToOrig, with last_cross a
/// MergeLayer(dense) and a ResBlock, a 1x1 ConvLayer to n_out, and SigmoidRange with y_range.
/// Any input size works: the skip activations are resized to match and the output is resized to
/// the input (ResizeToOrig), so [bs, n_in, H, W] -> [bs, n_out, H, W]. Errors: an encoder with
/// fewer than 2 children or no size change on img_size, a bad n_out.
class DynamicUnetImpl : public torch::nn::Module {
 public:
  DynamicUnetImpl(torch::nn::Sequential encoder, int64_t n_out, std::pair<int64_t, int64_t> img_size,
                  DynamicUnetOptions o = {});
  /// x [bs, n_in, h, w] -> [bs, n_out, h, w]; Error naming the shape otherwise.
  at::Tensor forward(const at::Tensor& x);
  /// Prints "fastai::DynamicUnet(n_in -> n_out, cross connections at [..])".
  void pretty_print(std::ostream& os) const override;

  /// Encoder children whose outputs are the cross connections, deepest first (fastai's reversed
  /// sz_chg_idxs).
  std::vector<int64_t> sz_chg_idxs;
  int64_t n_in = 3, n_out = 0;
  std::pair<int64_t, int64_t> img_size;

  torch::nn::ModuleList layers{nullptr};  ///< every child, in fastai's order
  torch::nn::Sequential encoder{nullptr};
  torch::nn::AnyModule bn, relu;
  torch::nn::Sequential middle_conv{nullptr};
  std::vector<UnetBlock> blocks;
  PixelShuffle_ICNR final_shuf{nullptr};   ///< null unless added
  ResizeToOrig resize{nullptr};
  MergeLayer merge{nullptr};               ///< null unless last_cross
  ResBlock res_block{nullptr};             ///< null unless last_cross
  ConvLayer final_conv{nullptr};
  SigmoidRange sigmoid_range{nullptr};     ///< null unless y_range
};
/// Holder (TORCH_MODULE pattern) with a non-template constructor, so `{.y_range = ...}` works.
class DynamicUnet : public torch::nn::ModuleHolder<DynamicUnetImpl> {
 public:
  using torch::nn::ModuleHolder<DynamicUnetImpl>::ModuleHolder;
  using Impl = DynamicUnetImpl;
  DynamicUnet(torch::nn::Sequential encoder, int64_t n_out, std::pair<int64_t, int64_t> img_size,
              DynamicUnetOptions o = {})
      : ModuleHolder(std::make_shared<DynamicUnetImpl>(std::move(encoder), n_out, img_size, std::move(o))) {}
};

}  // namespace fastai
