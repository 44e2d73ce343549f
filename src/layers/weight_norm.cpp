// WeightNormConv and SpectralNormConv (see fastai/layers/weight_norm.h).
#include "fastai/layers/weight_norm.h"

#include "codes.h"
#include "fastai/core/error.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/init.h>

#include <cmath>
#include <ostream>

namespace fastai {

namespace norm_conv_detail {

namespace {
constexpr double kSpectralEps = 1e-12;  // PyTorch's spectral_norm default

std::vector<int64_t> repeat_dims(int64_t v, int64_t ndim) { return std::vector<int64_t>(static_cast<size_t>(ndim), v); }

// x / max(||x||, eps), PyTorch's F.normalize on a vector.
at::Tensor normalize_vec(const at::Tensor& x) { return x / x.norm().clamp_min(kSpectralEps); }

void print_conv(std::ostream& os, const char* name, int64_t ni, int64_t nf, const NormConvOptions& o) {
  os << "fastai::" << name << "(" << ni << ", " << nf << ", ks=" << o.ks << ", stride=" << o.stride << ", ndim=" << o.ndim;
  if (o.padding != 0) os << ", padding=" << o.padding;
  if (o.groups != 1) os << ", groups=" << o.groups;
  if (o.transpose) os << ", transpose";
  if (!o.bias) os << ", bias=false";
  os << ")";
}
}  // namespace

void make_conv_params(const char* who, int64_t ni, int64_t nf, const NormConvOptions& o, at::Tensor& weight,
                      at::Tensor& bias) {
  FA_CHECK(ni >= 1 && nf >= 1, who, ": expected ni >= 1 and nf >= 1, got (", ni, ", ", nf, ")");
  FA_CHECK(o.ndim >= 1 && o.ndim <= 3, who, ": expected ndim 1, 2 or 3, got ", o.ndim);
  FA_CHECK(o.ks >= 1 && o.stride >= 1 && o.padding >= 0, who, ": expected ks >= 1, stride >= 1 and padding >= 0, got ks=",
           o.ks, ", stride=", o.stride, ", padding=", o.padding);
  FA_CHECK(o.groups >= 1 && ni % o.groups == 0 && nf % o.groups == 0, who, ": expected groups dividing ni and nf, got groups=",
           o.groups, " for (", ni, ", ", nf, ")");
  // Conv: [nf, ni / groups, k..]; ConvTranspose: [ni, nf / groups, k..] (PyTorch's layouts).
  std::vector<int64_t> shape = o.transpose ? std::vector<int64_t>{ni, nf / o.groups} : std::vector<int64_t>{nf, ni / o.groups};
  for (int64_t d = 0; d < o.ndim; ++d) shape.push_back(o.ks);
  at::NoGradGuard ng;
  weight = at::empty(shape);
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  bias = at::Tensor();
  if (o.bias) {
    int64_t fan_in = weight.size(1);
    for (int64_t d = 0; d < o.ndim; ++d) fan_in *= o.ks;
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    bias = at::empty({nf}).uniform_(-bound, bound);
  }
}

at::Tensor conv(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const NormConvOptions& o) {
  return at::convolution(x, weight, bias, repeat_dims(o.stride, o.ndim), repeat_dims(o.padding, o.ndim),
                         repeat_dims(1, o.ndim), o.transpose, repeat_dims(0, o.ndim), o.groups);
}

void check_input(const char* who, int64_t ni, int64_t nf, const NormConvOptions& o, const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() == o.ndim + 2 && x.size(1) == ni, who, "(", ni, ", ", nf, "): expected input of shape [bs, ",
           ni, ", ", (o.ndim == 1 ? "l" : o.ndim == 2 ? "h, w" : "d, h, w"), "], got ", layers_detail::shape_str(x));
}

}  // namespace norm_conv_detail

// ---- WeightNormConv ---------------------------------------------------------------------------

WeightNormConvImpl::WeightNormConvImpl(int64_t ni_, int64_t nf_, NormConvOptions o) : ni(ni_), nf(nf_), options(o) { reset(); }

void WeightNormConvImpl::reset() {
  at::Tensor w, b;
  norm_conv_detail::make_conv_params("WeightNormConv", ni, nf, options, w, b);
  // PyTorch's order: the conv's "bias" stays, then weight_norm adds "weight_g" and "weight_v".
  bias = b.defined() ? register_parameter("bias", b) : at::Tensor();
  std::vector<int64_t> gshape(static_cast<size_t>(w.dim()), 1);
  gshape[0] = w.size(0);
  weight_g = register_parameter("weight_g", at::ones(gshape));
  weight_v = register_parameter("weight_v", w);
  reset_g();
}

void WeightNormConvImpl::reset_g() {
  at::NoGradGuard ng;
  weight_g.copy_(weight_v.reshape({weight_v.size(0), -1}).norm(2, 1).view(weight_g.sizes()));
}

at::Tensor WeightNormConvImpl::weight() const {
  // PyTorch's _weight_norm(v, g, 0): v * (g / norm_except_dim(v, 2, 0)).
  return weight_v * (weight_g / weight_v.reshape({weight_v.size(0), -1}).norm(2, 1).view(weight_g.sizes()));
}

at::Tensor WeightNormConvImpl::forward(const at::Tensor& x) {
  norm_conv_detail::check_input("WeightNormConv", ni, nf, options, x);
  return norm_conv_detail::conv(x, weight(), bias, options);
}

void WeightNormConvImpl::pretty_print(std::ostream& os) const {
  norm_conv_detail::print_conv(os, "WeightNormConv", ni, nf, options);
}

// ---- SpectralNormConv -------------------------------------------------------------------------

SpectralNormConvImpl::SpectralNormConvImpl(int64_t ni_, int64_t nf_, NormConvOptions o) : ni(ni_), nf(nf_), options(o) {
  reset();
}

void SpectralNormConvImpl::reset() {
  at::Tensor w, b;
  norm_conv_detail::make_conv_params("SpectralNormConv", ni, nf, options, w, b);
  bias = b.defined() ? register_parameter("bias", b) : at::Tensor();
  weight_orig = register_parameter("weight_orig", w);
  at::Tensor m = weight_mat();
  at::Tensor u, v;
  {
    at::NoGradGuard ng;
    u = norm_conv_detail::normalize_vec(at::randn({m.size(0)}));
    v = norm_conv_detail::normalize_vec(at::randn({m.size(1)}));
  }
  weight_u = register_buffer("weight_u", u);
  weight_v = register_buffer("weight_v", v);
}

at::Tensor SpectralNormConvImpl::weight_mat() const {
  // PyTorch's reshape_weight_to_matrix with dim 0 (conv) or 1 (transpose conv).
  at::Tensor w = options.transpose ? weight_orig.transpose(0, 1) : weight_orig;
  return w.reshape({w.size(0), -1});
}

at::Tensor SpectralNormConvImpl::weight(bool update) {
  at::Tensor wm = weight_mat();
  if (update) {
    at::NoGradGuard ng;
    weight_v.copy_(norm_conv_detail::normalize_vec(at::mv(wm.t(), weight_u)));
    weight_u.copy_(norm_conv_detail::normalize_vec(at::mv(wm, weight_v)));
  }
  // u and v are constants for autograd (PyTorch uses clones made under no_grad).
  at::Tensor sigma = at::dot(weight_u.detach(), at::mv(wm, weight_v.detach()));
  return weight_orig / sigma;
}

at::Tensor SpectralNormConvImpl::forward(const at::Tensor& x) {
  norm_conv_detail::check_input("SpectralNormConv", ni, nf, options, x);
  return norm_conv_detail::conv(x, weight(is_training()), bias, options);
}

void SpectralNormConvImpl::pretty_print(std::ostream& os) const {
  norm_conv_detail::print_conv(os, "SpectralNormConv", ni, nf, options);
}

}  // namespace fastai
