// torchvision's ResNet (resnet18/34/50/101/152), with parameters and buffers named exactly like
// torchvision's state_dict keys (conv1.weight, bn1.running_mean, layer1.0.conv1.weight,
// layer1.0.downsample.0.weight, fc.weight, ...), so weights saved from Python can be loaded.
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <vector>

namespace fastai {

/// torchvision's BasicBlock (expansion 1): conv1 3x3 (stride), bn1, relu, conv2 3x3, bn2, and a
/// downsample [1x1 conv, bn] when the shape changes.
class BasicBlockImpl : public torch::nn::Cloneable<BasicBlockImpl> {
 public:
  static constexpr int64_t expansion = 1;
  BasicBlockImpl(int64_t inplanes, int64_t planes, int64_t stride = 1, bool downsample = false);
  at::Tensor forward(const at::Tensor& x);
  void reset() override;
  /// Prints "fastai::BasicBlock(inplanes, planes, stride=..)".
  void pretty_print(std::ostream& os) const override;

  int64_t inplanes = 0, planes = 0, stride = 1;
  bool has_downsample = false;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::Sequential downsample{nullptr};  ///< empty unless has_downsample
};
TORCH_MODULE(BasicBlock);

/// torchvision's Bottleneck (ResNet v1.5, expansion 4): conv1 1x1, bn1, conv2 3x3 (stride), bn2,
/// conv3 1x1 to planes*4, bn3, relu, downsample.
class BottleneckImpl : public torch::nn::Cloneable<BottleneckImpl> {
 public:
  static constexpr int64_t expansion = 4;
  BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride = 1, bool downsample = false);
  at::Tensor forward(const at::Tensor& x);
  void reset() override;
  /// Prints "fastai::Bottleneck(inplanes, planes, stride=..)".
  void pretty_print(std::ostream& os) const override;

  int64_t inplanes = 0, planes = 0, stride = 1;
  bool has_downsample = false;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

struct ResNetOptions {
  bool bottleneck = false;                    ///< Bottleneck blocks (50/101/152) instead of BasicBlock
  std::vector<int64_t> layers = {2, 2, 2, 2};  ///< blocks per stage (four stages)
  int64_t n_out = 1000;                       ///< torchvision's num_classes
  bool zero_init_residual = false;            ///< last BN of each block starts at weight 0
};

/// torchvision's ResNet: children conv1, bn1, relu, maxpool, layer1..layer4, avgpool, fc (so
/// fastai's cut -2 keeps the first 8). Init as torchvision: kaiming_normal (fan_out, relu) convs,
/// BN weight 1 and bias 0, LibTorch's default Linear.
class ResNetImpl : public torch::nn::Cloneable<ResNetImpl> {
 public:
  explicit ResNetImpl(ResNetOptions o = {});
  /// x [bs, 3, h, w] -> [bs, n_out]; Error naming the expected and found shapes otherwise.
  at::Tensor forward(const at::Tensor& x);
  void reset() override;
  /// Prints "fastai::ResNet(BasicBlock|Bottleneck, layers=[..], n_out=..)".
  void pretty_print(std::ostream& os) const override;

  ResNetOptions options;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::MaxPool2d maxpool{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  torch::nn::Linear fc{nullptr};
};
/// Holder (TORCH_MODULE pattern) with a non-template constructor, so `{.n_out = 10}` works.
class ResNet : public torch::nn::ModuleHolder<ResNetImpl> {
 public:
  using torch::nn::ModuleHolder<ResNetImpl>::ModuleHolder;
  using Impl = ResNetImpl;
  explicit ResNet(ResNetOptions o) : ModuleHolder(std::make_shared<ResNetImpl>(std::move(o))) {}
};

/// torchvision.models.resnet18(num_classes=n_out): 11,689,512 parameters for n_out 1000.
ResNet resnet18(int64_t n_out = 1000);
/// torchvision's resnet34: 21,797,672 parameters.
ResNet resnet34(int64_t n_out = 1000);
/// torchvision's resnet50: 25,557,032 parameters.
ResNet resnet50(int64_t n_out = 1000);
/// torchvision's resnet101: 44,549,160 parameters.
ResNet resnet101(int64_t n_out = 1000);
/// torchvision's resnet152: 60,192,808 parameters.
ResNet resnet152(int64_t n_out = 1000);

}  // namespace fastai
