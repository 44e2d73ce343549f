#include "fastai/layers/xresnet.h"

#include "codes.h"
#include "fastai/core/error.h"
#include "fastai/layers/conv_layer.h"
#include "fastai/layers/init.h"
#include "fastai/layers/pooling.h"

#include <torch/torch.h>

#include <ostream>

namespace fastai {

namespace xresnet_detail {
torch::nn::AnyModule max_pool(int64_t ks, int64_t stride, int64_t ndim) {
  namespace nn = torch::nn;
  if (ndim == 1) return nn::AnyModule(nn::MaxPool1d(nn::MaxPool1dOptions(ks).stride(stride).padding(ks / 2)));
  if (ndim == 2) return nn::AnyModule(nn::MaxPool2d(nn::MaxPool2dOptions(ks).stride(stride).padding(ks / 2)));
  return nn::AnyModule(nn::MaxPool3d(nn::MaxPool3dOptions(ks).stride(stride).padding(ks / 2)));
}
torch::nn::AnyModule adaptive_avg_pool(int64_t ndim) {
  namespace nn = torch::nn;
  if (ndim == 1) return nn::AnyModule(nn::AdaptiveAvgPool1d(1));
  if (ndim == 2) return nn::AnyModule(nn::AdaptiveAvgPool2d(1));
  return nn::AnyModule(nn::AdaptiveAvgPool3d(1));
}
torch::nn::AnyModule clone_act(const torch::nn::AnyModule& act) {
  return act.is_empty() ? torch::nn::AnyModule() : act.clone();
}
}  // namespace xresnet_detail

std::shared_ptr<torch::nn::Module> XResNetStageImpl::clone(const c10::optional<torch::Device>& device) const {
  auto copy = std::make_shared<XResNetStageImpl>();
  for (const auto& m : *this) copy->push_back(m.clone(device));
  copy->train(is_training());
  return copy;
}

void XResNetStageImpl::pretty_print(std::ostream& os) const { os << "fastai::XResNetStage"; }

XResNetImpl::XResNetImpl(int64_t expansion_, std::vector<int64_t> layers_, XResNetOptions o)
    : expansion(expansion_), c_in(o.c_in), ndim(o.ndim), layers(std::move(layers_)) {
  FA_CHECK(expansion >= 1, "XResNet: expected expansion >= 1, got ", expansion);
  FA_CHECK(!layers.empty(), "XResNet: expected at least one stage in layers, got none");
  for (size_t i = 0; i < layers.size(); ++i) FA_CHECK(layers[i] >= 1, "XResNet: layers[", i, "] must be >= 1, got ", layers[i]);
  FA_CHECK(o.ks >= 1 && o.ks % 2 == 1, "XResNet: kernel size has to be odd, got ks=", o.ks);
  FA_CHECK(o.stem_szs.size() == 3, "XResNet: expected 3 stem sizes, got ", o.stem_szs.size());
  FA_CHECK(o.c_in >= 1 && o.n_out >= 1, "XResNet: expected c_in >= 1 and n_out >= 1, got (", o.c_in, ", ", o.n_out, ")");
  FA_CHECK(o.ndim >= 1 && o.ndim <= 3, "XResNet: expected ndim 1, 2 or 3, got ", o.ndim);
  FA_CHECK(o.base_width >= 1, "XResNet: expected base_width >= 1, got ", o.base_width);

  std::vector<int64_t> stem{o.c_in, o.stem_szs[0], o.stem_szs[1], o.stem_szs[2]};
  for (size_t i = 0; i < 3; ++i)
    push_back(ConvLayer(stem[i], stem[i + 1], {.ks = o.ks, .stride = i == 0 ? o.stride : 1, .ndim = o.ndim,
                                               .act = xresnet_detail::clone_act(o.act)}));
  push_back(xresnet_detail::max_pool(o.ks, o.stride, o.ndim));

  std::vector<int64_t> szs{64 / expansion};
  const std::vector<int64_t> base{64, 128, 256, 512};
  for (size_t i = 0; i < layers.size(); ++i)
    szs.push_back(static_cast<int64_t>(static_cast<double>(i < 4 ? base[i] : 256) * o.widen));
  for (size_t i = 0; i < layers.size(); ++i) {
    XResNetStage stage;
    for (int64_t j = 0; j < layers[i]; ++j) {
      ResBlockOptions b = o.block;
      b.stride = j == 0 ? (i == 0 ? 1 : o.stride) : 1;
      // fastai: sa only in stage len(layers) - 4, and there in its last block
      b.sa = o.sa && static_cast<int64_t>(i) == static_cast<int64_t>(layers.size()) - 4 && j == layers[i] - 1;
      const int64_t nf = szs[i + 1];
      if (o.block_kind == XResNetBlock::SE) {
        b.nh1 = nf * 2;
        b.nh2 = nf * expansion;
      } else if (o.block_kind == XResNetBlock::SEResNeXt) {
        b.nh2 = nf * o.base_width / 64 * b.groups;  // math.floor(nf * (base_width / 64)) * groups
        FA_CHECK(*b.nh2 >= 1, "XResNet: SEResNeXt stage ", i, " has nf=", nf, ", too small for base_width ", o.base_width);
      }
      b.act = xresnet_detail::clone_act(o.act);
      b.ndim = o.ndim;
      b.ks = o.ks;
      stage->push_back(ResBlock(expansion, j == 0 ? szs[i] : szs[i + 1], szs[i + 1], std::move(b)));
    }
    push_back(stage);
  }
  push_back(xresnet_detail::adaptive_avg_pool(o.ndim));
  push_back(Flatten());
  push_back(torch::nn::Dropout(o.p));
  push_back(torch::nn::Linear(szs.back() * expansion, o.n_out));
  init_cnn(*this);
}

at::Tensor XResNetImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() == ndim + 2 && x.size(1) == c_in, "XResNet: expected input of shape [bs, ", c_in, ", ",
           (ndim == 1 ? "l" : ndim == 2 ? "h, w" : "d, h, w"), "], got ", layers_detail::shape_str(x));
  return SequentialImpl::forward(x);
}

std::shared_ptr<torch::nn::Module> XResNetImpl::clone(const c10::optional<torch::Device>& device) const {
  std::shared_ptr<XResNetImpl> copy(new XResNetImpl());
  copy->expansion = expansion, copy->c_in = c_in, copy->ndim = ndim, copy->layers = layers;
  for (const auto& m : *this) copy->push_back(m.clone(device));
  copy->train(is_training());
  return copy;
}

void XResNetImpl::pretty_print(std::ostream& os) const {
  os << "fastai::XResNet(" << expansion << ", layers=[";
  for (size_t i = 0; i < layers.size(); ++i) os << (i ? ", " : "") << layers[i];
  os << "])";
}

XResNet xresnet18(XResNetOptions o) { return XResNet(1, {2, 2, 2, 2}, std::move(o)); }
XResNet xresnet34(XResNetOptions o) { return XResNet(1, {3, 4, 6, 3}, std::move(o)); }
XResNet xresnet50(XResNetOptions o) { return XResNet(4, {3, 4, 6, 3}, std::move(o)); }
XResNet xresnet101(XResNetOptions o) { return XResNet(4, {3, 4, 23, 3}, std::move(o)); }
XResNet xresnet152(XResNetOptions o) { return XResNet(4, {3, 8, 36, 3}, std::move(o)); }

XResNet xresnet18_deep(XResNetOptions o) { return XResNet(1, {2, 2, 2, 2, 1, 1}, std::move(o)); }
XResNet xresnet34_deep(XResNetOptions o) { return XResNet(1, {3, 4, 6, 3, 1, 1}, std::move(o)); }
XResNet xresnet50_deep(XResNetOptions o) { return XResNet(4, {3, 4, 6, 3, 1, 1}, std::move(o)); }
XResNet xresnet18_deeper(XResNetOptions o) { return XResNet(1, {2, 2, 1, 1, 1, 1, 1, 1}, std::move(o)); }
XResNet xresnet34_deeper(XResNetOptions o) { return XResNet(1, {3, 4, 6, 3, 1, 1, 1, 1}, std::move(o)); }
XResNet xresnet50_deeper(XResNetOptions o) { return XResNet(4, {3, 4, 6, 3, 1, 1, 1, 1}, std::move(o)); }

namespace xresnet_detail {
const std::vector<int64_t> g0{2, 2, 2, 2}, g1{3, 4, 6, 3}, g2{3, 4, 23, 3}, g3{3, 8, 36, 3};
XResNet variant(XResNetBlock kind, int64_t expansion, const std::vector<int64_t>& layers, int64_t groups, int64_t reduction,
                XResNetOptions o) {
  o.block_kind = kind;
  o.block.groups = groups;
  o.block.reduction = reduction;
  return XResNet(expansion, layers, std::move(o));
}
// fastai's se_kwargs1 (SE), se_kwargs2 (SE ResNeXt), se_kwargs3 (ResNeXt)
XResNet se(int64_t e, const std::vector<int64_t>& l, XResNetOptions o) { return variant(XResNetBlock::SE, e, l, 1, 16, std::move(o)); }
XResNet sext(int64_t e, const std::vector<int64_t>& l, XResNetOptions o) {
  return variant(XResNetBlock::SEResNeXt, e, l, 32, 16, std::move(o));
}
XResNet resnext(int64_t e, const std::vector<int64_t>& l, XResNetOptions o) {
  return variant(XResNetBlock::SEResNeXt, e, l, 32, 0, std::move(o));
}
}  // namespace xresnet_detail

XResNet xse_resnet18(XResNetOptions o) { return xresnet_detail::se(1, xresnet_detail::g0, std::move(o)); }
XResNet xse_resnet34(XResNetOptions o) { return xresnet_detail::se(1, xresnet_detail::g1, std::move(o)); }
XResNet xse_resnet50(XResNetOptions o) { return xresnet_detail::se(4, xresnet_detail::g1, std::move(o)); }
XResNet xse_resnet101(XResNetOptions o) { return xresnet_detail::se(4, xresnet_detail::g2, std::move(o)); }
XResNet xse_resnet152(XResNetOptions o) { return xresnet_detail::se(4, xresnet_detail::g3, std::move(o)); }
XResNet xresnext18(XResNetOptions o) { return xresnet_detail::resnext(1, xresnet_detail::g0, std::move(o)); }
XResNet xresnext34(XResNetOptions o) { return xresnet_detail::resnext(1, xresnet_detail::g1, std::move(o)); }
XResNet xresnext50(XResNetOptions o) { return xresnet_detail::resnext(4, xresnet_detail::g1, std::move(o)); }
XResNet xresnext101(XResNetOptions o) { return xresnet_detail::resnext(4, xresnet_detail::g2, std::move(o)); }
XResNet xresnext152(XResNetOptions o) { return xresnet_detail::resnext(4, xresnet_detail::g3, std::move(o)); }
XResNet xse_resnext18(XResNetOptions o) { return xresnet_detail::sext(1, xresnet_detail::g0, std::move(o)); }
XResNet xse_resnext34(XResNetOptions o) { return xresnet_detail::sext(1, xresnet_detail::g1, std::move(o)); }
XResNet xse_resnext50(XResNetOptions o) { return xresnet_detail::sext(4, xresnet_detail::g1, std::move(o)); }
XResNet xse_resnext101(XResNetOptions o) { return xresnet_detail::sext(4, xresnet_detail::g2, std::move(o)); }
XResNet xse_resnext152(XResNetOptions o) { return xresnet_detail::sext(4, xresnet_detail::g3, std::move(o)); }
XResNet xsenet154(XResNetOptions o) {
  o.p = 0.2;
  return xresnet_detail::variant(XResNetBlock::SE, 4, xresnet_detail::g3, 64, 16, std::move(o));
}

}  // namespace fastai
