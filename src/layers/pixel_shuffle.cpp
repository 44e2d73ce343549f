// icnr_init, PixelShuffle_ICNR and SelfAttention (see fastai/layers/pixel_shuffle.h).
#include "fastai/layers/pixel_shuffle.h"

#include "codes.h"
#include "fastai/core/error.h"

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

// ---- PixelShuffle_ICNR ------------------------------------------------------------------------

PixelShuffle_ICNRImpl::PixelShuffle_ICNRImpl(int64_t ni_, PixelShuffleICNROptions o)
    : ni(ni_), nf(o.nf.value_or(ni_)), scale(o.scale) {
  FA_CHECK(ni >= 1 && nf >= 1, "PixelShuffle_ICNR: expected ni >= 1 and nf >= 1, got (", ni, ", ", nf, ")");
  FA_CHECK(scale >= 1, "PixelShuffle_ICNR: expected scale >= 1, got ", scale);
  const int64_t nout = nf * scale * scale;
  // fastai: ConvLayer(ni, nf*scale², ks=1, norm_type, act_cls, bias_std=0), then icnr_init on the
  // conv's weight: weight_v (then g = ||v||) with weight norm, weight_orig with spectral norm.
  ConvLayer conv(ni, nout, {.ks = 1, .norm_type = o.norm_type, .act = o.act, .bias_std = 0.0});
  {
    at::NoGradGuard ng;
    auto c0 = conv->ptr(0);
    if (auto* wn = c0->as<WeightNormConvImpl>()) {
      wn->weight_v.copy_(icnr_init(wn->weight_v, scale));
      wn->reset_g();
    } else if (auto* sn = c0->as<SpectralNormConvImpl>()) {
      sn->weight_orig.copy_(icnr_init(sn->weight_orig, scale));
    } else {
      at::Tensor w = c0->named_parameters()["weight"];
      w.copy_(icnr_init(w, scale));
    }
  }
  push_back("0", conv);
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
  auto c0 = ptr(0)->children()[0];
  if (auto* wn = c0->as<WeightNormConvImpl>()) return wn->weight();
  if (auto* sn = c0->as<SpectralNormConvImpl>()) return sn->weight(/*update=*/false);
  return c0->named_parameters()["weight"];
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

// ---- SelfAttention ----------------------------------------------------------------------------

SelfAttentionImpl::SelfAttentionImpl(int64_t c) : n_channels(c) {
  FA_CHECK(c >= 8, "SelfAttention: expected at least 8 channels (query / key have n_channels / 8), got ", c);
  reset();
}

void SelfAttentionImpl::reset() {
  // fastai's SelfAttention._conv: ConvLayer(n_in, n_out, ks=1, ndim=1, norm_type=Spectral, act_cls=None, bias=False)
  auto conv = [&](int64_t nout) {
    return ConvLayer(n_channels, nout, {.ks = 1, .bias = false, .ndim = 1, .norm_type = NormType::Spectral, .act = {}});
  };
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
  auto run = [&](ConvLayer& l) { return l->forward(xf); };
  at::Tensor f = run(query), g = run(key), h = run(value);
  at::Tensor beta = at::softmax(at::bmm(f.transpose(1, 2), g), 1);
  at::Tensor o = gamma * at::bmm(h, beta) + xf;
  return o.reshape(size).contiguous();
}

void SelfAttentionImpl::pretty_print(std::ostream& os) const { os << "fastai::SelfAttention(" << n_channels << ")"; }

}  // namespace fastai
