#include "fastai/layers/conv_layer.h"

#include "codes.h"
#include "fastai/core/error.h"
#include "fastai/layers/weight_norm.h"

#include <torch/torch.h>

#include <ostream>

namespace fastai {

namespace conv_layer_detail {

struct ConvArgs {
  int64_t ni, nf, ks, stride, padding, groups;
  bool bias, transpose;
};

template <class Conv, class Opts>
torch::nn::AnyModule build(const ConvArgs& a) {
  Opts o(a.ni, a.nf, a.ks);
  o.stride(a.stride).padding(a.padding).bias(a.bias).groups(a.groups);
  return torch::nn::AnyModule(Conv(o));
}

torch::nn::AnyModule make_conv(int64_t ndim, const ConvArgs& a) {
  namespace nn = torch::nn;
  if (a.transpose) {
    if (ndim == 1) return build<nn::ConvTranspose1d, nn::ConvTranspose1dOptions>(a);
    if (ndim == 2) return build<nn::ConvTranspose2d, nn::ConvTranspose2dOptions>(a);
    return build<nn::ConvTranspose3d, nn::ConvTranspose3dOptions>(a);
  }
  if (ndim == 1) return build<nn::Conv1d, nn::Conv1dOptions>(a);
  if (ndim == 2) return build<nn::Conv2d, nn::Conv2dOptions>(a);
  return build<nn::Conv3d, nn::Conv3dOptions>(a);
}

// fastai's init_linear(init='auto'): the activation's __default_init__.
std::string auto_init(const torch::nn::AnyModule& act) {
  if (act.is_empty()) return "none";
  const auto& m = *act.ptr();
  namespace nn = torch::nn;
  if (m.as<nn::ReLU>() || m.as<nn::LeakyReLU>() || m.as<nn::ReLU6>() || m.as<nn::SiLU>() || m.as<nn::Mish>())
    return "kaiming_uniform";
  if (m.as<nn::Sigmoid>() || m.as<nn::Tanh>()) return "xavier_uniform";
  return "none";
}

// fastai's init_linear on the conv's weight and bias (bias undefined: none).
void init_conv(at::Tensor weight, at::Tensor bias, const std::string& init, const std::optional<double>& bias_std) {
  torch::NoGradGuard no_grad;
  if (bias.defined() && bias_std) {
    if (*bias_std != 0.) bias.normal_(0., *bias_std);
    else bias.zero_();
  }
  if (init == "kaiming_uniform") torch::nn::init::kaiming_uniform_(weight);
  else if (init == "kaiming_normal") torch::nn::init::kaiming_normal_(weight);
  else if (init == "xavier_uniform") torch::nn::init::xavier_uniform_(weight);
}

}  // namespace conv_layer_detail

ConvLayerImpl::ConvLayerImpl(int64_t ni_, int64_t nf_, ConvLayerOptions o)
    : ni(ni_), nf(nf_), ks(o.ks), stride(o.stride), ndim(o.ndim) {
  FA_CHECK(ni >= 1 && nf >= 1, "ConvLayer: expected ni >= 1 and nf >= 1, got (", ni, ", ", nf, ")");
  FA_CHECK(o.ks >= 1 && o.stride >= 1, "ConvLayer: expected ks >= 1 and stride >= 1, got ks=", o.ks, ", stride=", o.stride);
  FA_CHECK(o.ndim >= 1 && o.ndim <= 3, "ConvLayer: expected ndim 1, 2 or 3, got ", o.ndim);
  FA_CHECK(o.groups >= 1 && ni % o.groups == 0 && nf % o.groups == 0, "ConvLayer: expected groups dividing ni and nf, got groups=",
           o.groups, " for (", ni, ", ", nf, ")");
  FA_CHECK(!o.padding || *o.padding >= 0, "ConvLayer: expected padding >= 0, got ", o.padding.value_or(0));
  FA_CHECK(o.init == "auto" || o.init == "none" || o.init == "kaiming_uniform" || o.init == "kaiming_normal" ||
               o.init == "xavier_uniform",
           "ConvLayer: expected init \"auto\", \"none\", \"kaiming_uniform\", \"kaiming_normal\" or \"xavier_uniform\", got ",
           quote_value(o.init));
  const auto nt = o.norm_type;
  const bool bn = nt && (*nt == NormType::Batch || *nt == NormType::BatchZero);
  const bool inn = nt && (*nt == NormType::Instance || *nt == NormType::InstanceZero);
  const conv_layer_detail::ConvArgs a{ni, nf, o.ks, o.stride, o.padding.value_or(o.transpose ? 0 : (o.ks - 1) / 2),
                                      o.groups, o.bias.value_or(!(bn || inn)), o.transpose};
  const auto act = o.act.is_empty() ? torch::nn::AnyModule() : o.act.clone();
  const std::string init = o.init == "auto" ? conv_layer_detail::auto_init(act) : o.init;
  // fastai: init_linear(conv) first, then weight_norm(conv) / spectral_norm(conv) wrap the
  // initialised weight (weight_v with g = ||v||, or weight_orig).
  if (nt == NormType::Weight || nt == NormType::Spectral) {
    const NormConvOptions co{.ndim = o.ndim, .transpose = a.transpose, .ks = a.ks, .stride = a.stride, .padding = a.padding,
                             .groups = a.groups, .bias = a.bias};
    if (nt == NormType::Weight) {
      WeightNormConv conv(ni, nf, co);
      conv_layer_detail::init_conv(conv->weight_v, conv->bias, init, o.bias_std);
      conv->reset_g();
      push_back(conv);
    } else {
      SpectralNormConv conv(ni, nf, co);
      conv_layer_detail::init_conv(conv->weight_orig, conv->bias, init, o.bias_std);
      push_back(conv);
    }
  } else {
    auto conv = conv_layer_detail::make_conv(o.ndim, a);
    auto params = conv.ptr()->named_parameters(/*recurse=*/false);
    const auto* b = params.find("bias");
    conv_layer_detail::init_conv(params["weight"], b ? *b : at::Tensor(), init, o.bias_std);
    push_back(conv);
  }
  torch::nn::AnyModule norm;
  if (bn) norm = BatchNorm(nf, {.ndim = o.ndim, .norm_type = *nt});
  if (inn) norm = InstanceNorm(nf, {.ndim = o.ndim, .norm_type = *nt});
  if (o.bn_1st) {
    if (!norm.is_empty()) push_back(norm);
    if (!act.is_empty()) push_back(act);
  } else {
    if (!act.is_empty()) push_back(act);
    if (!norm.is_empty()) push_back(norm);
  }
  if (!o.xtra.is_empty()) push_back(o.xtra.clone());
}

at::Tensor ConvLayerImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() == ndim + 2 && x.size(1) == ni, "ConvLayer(", ni, ", ", nf, "): expected input of shape [bs, ",
           ni, ", ", (ndim == 1 ? "l" : ndim == 2 ? "h, w" : "d, h, w"), "], got ", layers_detail::shape_str(x));
  return SequentialImpl::forward(x);
}

std::shared_ptr<torch::nn::Module> ConvLayerImpl::clone(const c10::optional<torch::Device>& device) const {
  std::shared_ptr<ConvLayerImpl> copy(new ConvLayerImpl());
  copy->ni = ni, copy->nf = nf, copy->ks = ks, copy->stride = stride, copy->ndim = ndim;
  for (const auto& m : *this) copy->push_back(m.clone(device));
  copy->train(is_training());
  return copy;
}

void ConvLayerImpl::pretty_print(std::ostream& os) const {
  os << "fastai::ConvLayer(" << ni << ", " << nf << ", ks=" << ks << ", stride=" << stride << ")";
}

}  // namespace fastai
