// icnr_init, WeightNormConv2d, PixelShuffle_ICNR and SelfAttention (see fastai/layers/pixel_shuffle.h).
#include "fastai/layers/pixel_shuffle.h"

#include "codes.h"
#include "fastai/core/error.h"
#include "fastai/layers/xresnet.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/functional/conv.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/padding.h>
#include <torch/nn/modules/pixelshuffle.h>
#include <torch/nn/modules/pooling.h>

#include <cmath>
#include <ostream>

namespace fastai {

at::Tensor icnr_init(const at::Tensor& x, int64_t scale, const InitFn& init) {
  FA_CHECK(x.defined() && x.dim() == 4, "icnr_init: expected a conv weight [out, in, kh, kw], got ",
           layers_detail::shape_str(x));
  FA_CHECK(scale >= 1 && x.size(0) % (scale * scale) == 0, "icnr_init: the weight's ", x.size(0),
           " output channels are not a multiple of scale² = ", scale * scale);
  at::NoGradGuard ng;
  at::Tensor k = at::zeros({x.size(0) / (scale * scale), x.size(1), x.size(2), x.size(3)}, x.options());
  init(k);
  // output channel c*scale² + r gets kernel c for every sub-pixel r (what PixelShuffle groups).
  return k.repeat_interleave(scale * scale, 0).contiguous();
}

// ---- WeightNormConv2d -------------------------------------------------------------------------

WeightNormConv2dImpl::WeightNormConv2dImpl(int64_t ni_, int64_t nf_, int64_t ks_, bool bias_)
    : ni(ni_), nf(nf_), ks(ks_), has_bias(bias_) {
  FA_CHECK(ni >= 1 && nf >= 1 && ks >= 1, "WeightNormConv2d: expected ni, nf, ks >= 1, got (", ni, ", ", nf, ", ", ks, ")");
  reset();
}

void WeightNormConv2dImpl::reset() {
  at::Tensor v = at::empty({nf, ni, ks, ks});
  {
    at::NoGradGuard ng;
    torch::nn::init::kaiming_uniform_(v, std::sqrt(5.0));
  }
  weight_v = register_parameter("weight_v", v);
  weight_g = register_parameter("weight_g", at::ones({nf, 1, 1, 1}));
  bias = has_bias ? register_parameter("bias", at::zeros({nf})) : at::Tensor();
  reset_g();
}

void WeightNormConv2dImpl::reset_g() {
  at::NoGradGuard ng;
  weight_g.copy_(weight_v.pow(2).sum({1, 2, 3}, /*keepdim=*/true).sqrt());
}

at::Tensor WeightNormConv2dImpl::weight() const {
  return weight_g * weight_v / weight_v.pow(2).sum({1, 2, 3}, /*keepdim=*/true).sqrt();
}

at::Tensor WeightNormConv2dImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() == 4 && x.size(1) == ni, "WeightNormConv2d(", ni, ", ", nf,
           "): expected input of shape [bs, ", ni, ", h, w], got ", layers_detail::shape_str(x));
  return at::conv2d(x, weight(), bias, {1, 1}, {(ks - 1) / 2, (ks - 1) / 2});
}

void WeightNormConv2dImpl::pretty_print(std::ostream& os) const {
  os << "fastai::WeightNormConv2d(" << ni << ", " << nf << ", ks=" << ks << ")";
}

// ---- PixelShuffle_ICNR ------------------------------------------------------------------------

PixelShuffle_ICNRImpl::PixelShuffle_ICNRImpl(int64_t ni_, PixelShuffleICNROptions o)
    : ni(ni_), nf(o.nf.value_or(ni_)), scale(o.scale) {
  FA_CHECK(ni >= 1 && nf >= 1, "PixelShuffle_ICNR: expected ni >= 1 and nf >= 1, got (", ni, ", ", nf, ")");
  FA_CHECK(scale >= 1, "PixelShuffle_ICNR: expected scale >= 1, got ", scale);
  FA_CHECK(o.norm_type != NormType::Spectral, "PixelShuffle_ICNR: norm_type Spectral (spectral_norm) is not ported; "
           "use Weight (the default), Batch, Instance or none");
  const int64_t nout = nf * scale * scale;
  if (o.norm_type == NormType::Weight) {
    // fastai: ConvLayer(norm_type=Weight) = [weight_norm(conv), act]; icnr on weight_v, g = ||v||.
    WeightNormConv2d conv(ni, nout, 1, true);
    {
      at::NoGradGuard ng;
      conv->weight_v.copy_(icnr_init(conv->weight_v, scale));
    }
    conv->reset_g();
    XResNetStage layer;  // a Sequential with a non-template forward, so it nests
    layer->push_back("0", conv);
    if (!o.act.is_empty()) layer->push_back("1", o.act.clone());
    push_back("0", layer);
  } else {
    ConvLayer conv(ni, nout, {.ks = 1, .norm_type = o.norm_type, .act = o.act, .bias_std = 0.0});
    at::Tensor w = conv->named_parameters()["0.weight"];
    {
      at::NoGradGuard ng;
      w.copy_(icnr_init(w, scale));
    }
    push_back("0", conv);
  }
  push_back("1", torch::nn::PixelShuffle(scale));
  if (o.blur) {
    push_back("2", torch::nn::ReplicationPad2d(torch::nn::ReplicationPad2dOptions({1, 0, 1, 0})));
    push_back("3", torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(2).stride(1)));
  }
}

at::Tensor PixelShuffle_ICNRImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() == 4 && x.size(1) == ni, "PixelShuffle_ICNR(", ni, ", ", nf,
           "): expected input of shape [bs, ", ni, ", h, w], got ", layers_detail::shape_str(x));
  return SequentialImpl::forward(x);
}

at::Tensor PixelShuffle_ICNRImpl::conv_weight() const {
  auto layer = (*this)[0];
  if (auto* c = layer->children()[0]->as<WeightNormConv2dImpl>()) return c->weight();
  return layer->named_parameters()["0.weight"];
}

std::shared_ptr<torch::nn::Module> PixelShuffle_ICNRImpl::clone(const c10::optional<torch::Device>& device) const {
  std::shared_ptr<PixelShuffle_ICNRImpl> copy(new PixelShuffle_ICNRImpl());
  copy->ni = ni, copy->nf = nf, copy->scale = scale;
  for (const auto& m : *this) copy->push_back(m.clone(device));
  copy->train(is_training());
  return copy;
}

void PixelShuffle_ICNRImpl::pretty_print(std::ostream& os) const {
  os << "fastai::PixelShuffle_ICNR(" << ni << ", " << nf << ", scale=" << scale << ")";
}

// ---- SpectralNormConv1d ------------------------------------------------------------------------

SpectralNormConv1dImpl::SpectralNormConv1dImpl(int64_t ni_, int64_t nf_, bool bias_) : ni(ni_), nf(nf_), has_bias(bias_) {
  FA_CHECK(ni >= 1 && nf >= 1, "SpectralNormConv1d: expected ni >= 1 and nf >= 1, got (", ni, ", ", nf, ")");
  reset();
}

void SpectralNormConv1dImpl::reset() {
  at::Tensor w = at::empty({nf, ni, 1});
  at::Tensor u = at::randn({nf}), v = at::randn({ni});
  {
    at::NoGradGuard ng;
    torch::nn::init::kaiming_uniform_(w, std::sqrt(5.0));
    u = u / u.norm().clamp_min(1e-12);
    v = v / v.norm().clamp_min(1e-12);
  }
  weight_orig = register_parameter("weight_orig", w);
  bias = has_bias ? register_parameter("bias", at::zeros({nf})) : at::Tensor();
  weight_u = register_buffer("weight_u", u);
  weight_v = register_buffer("weight_v", v);
}

at::Tensor SpectralNormConv1dImpl::weight(bool update) {
  at::Tensor wm = weight_orig.reshape({nf, -1});
  if (update) {
    at::NoGradGuard ng;
    at::Tensor v = at::mv(wm.t(), weight_u);
    weight_v.copy_(v / v.norm().clamp_min(1e-12));
    at::Tensor u = at::mv(wm, weight_v);
    weight_u.copy_(u / u.norm().clamp_min(1e-12));
  }
  at::Tensor sigma = at::dot(weight_u, at::mv(wm, weight_v));
  return weight_orig / sigma;
}

at::Tensor SpectralNormConv1dImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() == 3 && x.size(1) == ni, "SpectralNormConv1d(", ni, ", ", nf,
           "): expected input of shape [bs, ", ni, ", l], got ", layers_detail::shape_str(x));
  return at::conv1d(x, weight(is_training()), bias);
}

void SpectralNormConv1dImpl::pretty_print(std::ostream& os) const {
  os << "fastai::SpectralNormConv1d(" << ni << ", " << nf << ")";
}

// ---- SelfAttention ----------------------------------------------------------------------------

SelfAttentionImpl::SelfAttentionImpl(int64_t c) : n_channels(c) {
  FA_CHECK(c >= 8, "SelfAttention: expected at least 8 channels (query / key have n_channels / 8), got ", c);
  reset();
}

void SelfAttentionImpl::reset() {
  auto conv = [&](int64_t nout) { return torch::nn::ModuleList(SpectralNormConv1d(n_channels, nout, false)); };
  query = register_module("query", conv(n_channels / 8));
  key = register_module("key", conv(n_channels / 8));
  value = register_module("value", conv(n_channels));
  gamma = register_parameter("gamma", at::zeros({1}));
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() >= 3 && x.size(1) == n_channels, "SelfAttention(", n_channels,
           "): expected input of shape [bs, ", n_channels, ", *spatial], got ", layers_detail::shape_str(x));
  const auto size = x.sizes().vec();
  at::Tensor xf = x.reshape({size[0], size[1], -1});
  auto run = [&](torch::nn::ModuleList& l) { return l->at<SpectralNormConv1dImpl>(0).forward(xf); };
  at::Tensor f = run(query), g = run(key), h = run(value);
  at::Tensor beta = at::softmax(at::bmm(f.transpose(1, 2), g), 1);
  at::Tensor o = gamma * at::bmm(h, beta) + xf;
  return o.reshape(size).contiguous();
}

void SelfAttentionImpl::pretty_print(std::ostream& os) const { os << "fastai::SelfAttention(" << n_channels << ")"; }

}  // namespace fastai
