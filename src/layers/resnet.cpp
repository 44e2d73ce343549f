#include "fastai/layers/resnet.h"

#include "codes.h"
#include "fastai/core/error.h"

#include <torch/torch.h>

#include <ostream>

namespace fastai {

namespace resnet_detail {
torch::nn::Conv2d conv(int64_t ni, int64_t nf, int64_t ks, int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(ni, nf, ks).stride(stride).padding(ks / 2).bias(false));
}
torch::nn::Sequential downsample(int64_t ni, int64_t nf, int64_t stride) {
  return torch::nn::Sequential(conv(ni, nf, 1, stride), torch::nn::BatchNorm2d(nf));
}
void check_block(const char* who, int64_t inplanes, int64_t planes, int64_t stride) {
  FA_CHECK(inplanes >= 1 && planes >= 1 && stride >= 1, who, ": expected inplanes, planes and stride >= 1, got (", inplanes,
           ", ", planes, ", stride=", stride, ")");
}
}  // namespace resnet_detail

BasicBlockImpl::BasicBlockImpl(int64_t inplanes_, int64_t planes_, int64_t stride_, bool downsample_)
    : inplanes(inplanes_), planes(planes_), stride(stride_), has_downsample(downsample_) {
  resnet_detail::check_block("BasicBlock", inplanes, planes, stride);
  reset();
}

void BasicBlockImpl::reset() {
  conv1 = register_module("conv1", resnet_detail::conv(inplanes, planes, 3, stride));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(planes));
  relu = register_module("relu", torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
  conv2 = register_module("conv2", resnet_detail::conv(planes, planes, 3, 1));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(planes));
  downsample = nullptr;
  if (has_downsample) downsample = register_module("downsample", resnet_detail::downsample(inplanes, planes, stride));
}

at::Tensor BasicBlockImpl::forward(const at::Tensor& x) {
  auto out = relu->forward(bn1->forward(conv1->forward(x)));
  out = bn2->forward(conv2->forward(out));
  out = out + (downsample ? downsample->forward(x) : x);
  return relu->forward(out);
}

void BasicBlockImpl::pretty_print(std::ostream& os) const {
  os << "fastai::BasicBlock(" << inplanes << ", " << planes << ", stride=" << stride << ")";
}

BottleneckImpl::BottleneckImpl(int64_t inplanes_, int64_t planes_, int64_t stride_, bool downsample_)
    : inplanes(inplanes_), planes(planes_), stride(stride_), has_downsample(downsample_) {
  resnet_detail::check_block("Bottleneck", inplanes, planes, stride);
  reset();
}

void BottleneckImpl::reset() {
  // ResNet v1.5 (torchvision): the stride sits on the 3x3 conv
  conv1 = register_module("conv1", resnet_detail::conv(inplanes, planes, 1, 1));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", resnet_detail::conv(planes, planes, 3, stride));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(planes));
  conv3 = register_module("conv3", resnet_detail::conv(planes, planes * expansion, 1, 1));
  bn3 = register_module("bn3", torch::nn::BatchNorm2d(planes * expansion));
  relu = register_module("relu", torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
  downsample = nullptr;
  if (has_downsample) downsample = register_module("downsample", resnet_detail::downsample(inplanes, planes * expansion, stride));
}

at::Tensor BottleneckImpl::forward(const at::Tensor& x) {
  auto out = relu->forward(bn1->forward(conv1->forward(x)));
  out = relu->forward(bn2->forward(conv2->forward(out)));
  out = bn3->forward(conv3->forward(out));
  out = out + (downsample ? downsample->forward(x) : x);
  return relu->forward(out);
}

void BottleneckImpl::pretty_print(std::ostream& os) const {
  os << "fastai::Bottleneck(" << inplanes << ", " << planes << ", stride=" << stride << ")";
}

ResNetImpl::ResNetImpl(ResNetOptions o) : options(std::move(o)) {
  FA_CHECK(options.layers.size() == 4, "ResNet: expected 4 stages in layers, got ", options.layers.size());
  for (size_t i = 0; i < 4; ++i)
    FA_CHECK(options.layers[i] >= 1, "ResNet: layers[", i, "] must be >= 1, got ", options.layers[i]);
  FA_CHECK(options.n_out >= 1, "ResNet: expected n_out >= 1, got ", options.n_out);
  reset();
}

void ResNetImpl::reset() {
  const int64_t exp = options.bottleneck ? BottleneckImpl::expansion : BasicBlockImpl::expansion;
  int64_t inplanes = 64;
  auto make_layer = [&](int64_t planes, int64_t blocks, int64_t stride) {
    torch::nn::Sequential seq;
    const bool ds = stride != 1 || inplanes != planes * exp;
    for (int64_t i = 0; i < blocks; ++i) {
      const int64_t s = i == 0 ? stride : 1;
      const bool d = i == 0 && ds;
      if (options.bottleneck) seq->push_back(Bottleneck(inplanes, planes, s, d));
      else seq->push_back(BasicBlock(inplanes, planes, s, d));
      inplanes = planes * exp;
    }
    return seq;
  };
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(64));
  relu = register_module("relu", torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
  maxpool = register_module("maxpool", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
  layer1 = register_module("layer1", make_layer(64, options.layers[0], 1));
  layer2 = register_module("layer2", make_layer(128, options.layers[1], 2));
  layer3 = register_module("layer3", make_layer(256, options.layers[2], 2));
  layer4 = register_module("layer4", make_layer(512, options.layers[3], 2));
  avgpool = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1));
  fc = register_module("fc", torch::nn::Linear(512 * exp, options.n_out));

  torch::NoGradGuard no_grad;
  for (const auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(c->weight, 0., torch::kFanOut, torch::kReLU);
    } else if (auto* b = m->as<torch::nn::BatchNorm2d>()) {
      b->weight.fill_(1.);
      b->bias.zero_();
    }
  }
  if (options.zero_init_residual) {
    for (const auto& m : modules(/*include_self=*/false)) {
      if (auto* bb = m->as<BasicBlock>()) bb->bn2->weight.zero_();
      if (auto* bt = m->as<Bottleneck>()) bt->bn3->weight.zero_();
    }
  }
}

at::Tensor ResNetImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() == 4 && x.size(1) == 3, "ResNet: expected input of shape [bs, 3, h, w], got ",
           layers_detail::shape_str(x));
  auto h = maxpool->forward(relu->forward(bn1->forward(conv1->forward(x))));
  h = layer4->forward(layer3->forward(layer2->forward(layer1->forward(h))));
  return fc->forward(torch::flatten(avgpool->forward(h), 1));
}

void ResNetImpl::pretty_print(std::ostream& os) const {
  os << "fastai::ResNet(" << (options.bottleneck ? "Bottleneck" : "BasicBlock") << ", layers=[" << options.layers[0] << ", "
     << options.layers[1] << ", " << options.layers[2] << ", " << options.layers[3] << "], n_out=" << options.n_out << ")";
}

ResNet resnet18(int64_t n_out) { return ResNet(ResNetOptions{.bottleneck = false, .layers = {2, 2, 2, 2}, .n_out = n_out}); }
ResNet resnet34(int64_t n_out) { return ResNet(ResNetOptions{.bottleneck = false, .layers = {3, 4, 6, 3}, .n_out = n_out}); }
ResNet resnet50(int64_t n_out) { return ResNet(ResNetOptions{.bottleneck = true, .layers = {3, 4, 6, 3}, .n_out = n_out}); }
ResNet resnet101(int64_t n_out) { return ResNet(ResNetOptions{.bottleneck = true, .layers = {3, 4, 23, 3}, .n_out = n_out}); }
ResNet resnet152(int64_t n_out) { return ResNet(ResNetOptions{.bottleneck = true, .layers = {3, 8, 36, 3}, .n_out = n_out}); }

}  // namespace fastai
