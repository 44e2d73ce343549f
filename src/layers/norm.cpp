#include "fastai/layers/norm.h"

#include "fastai/core/error.h"

#include <torch/torch.h>

namespace fastai {

const char* norm_type_name(NormType t) {
  switch (t) {
    case NormType::Batch: return "Batch";
    case NormType::BatchZero: return "BatchZero";
    case NormType::Weight: return "Weight";
    case NormType::Spectral: return "Spectral";
    case NormType::Instance: return "Instance";
    case NormType::InstanceZero: return "InstanceZero";
  }
  return "?";
}

namespace norm_detail {
// fastai's _get_norm: affine weight 1 (0 when `zero`), bias 1e-3.
void fastai_affine_init(torch::nn::Module& m, bool zero) {
  torch::NoGradGuard no_grad;
  auto params = m.named_parameters(/*recurse=*/false);
  if (auto* w = params.find("weight"); w && w->defined()) w->fill_(zero ? 0. : 1.);
  if (auto* b = params.find("bias"); b && b->defined()) b->fill_(1e-3);
}
}  // namespace norm_detail

torch::nn::AnyModule BatchNorm(int64_t nf, NormOptions o) {
  FA_CHECK(nf >= 1, "BatchNorm: expected nf >= 1, got ", nf);
  FA_CHECK(o.ndim >= 1 && o.ndim <= 3, "BatchNorm: expected ndim 1, 2 or 3, got ", o.ndim);
  FA_CHECK(o.norm_type == NormType::Batch || o.norm_type == NormType::BatchZero,
           "BatchNorm: expected norm_type Batch or BatchZero, got ", norm_type_name(o.norm_type));
  const bool zero = o.norm_type == NormType::BatchZero;
  torch::nn::AnyModule m;
  if (o.ndim == 1) m = torch::nn::AnyModule(torch::nn::BatchNorm1d(nf));
  else if (o.ndim == 2) m = torch::nn::AnyModule(torch::nn::BatchNorm2d(nf));
  else m = torch::nn::AnyModule(torch::nn::BatchNorm3d(nf));
  norm_detail::fastai_affine_init(*m.ptr(), zero);
  return m;
}

torch::nn::AnyModule InstanceNorm(int64_t nf, NormOptions o) {
  FA_CHECK(nf >= 1, "InstanceNorm: expected nf >= 1, got ", nf);
  FA_CHECK(o.ndim >= 1 && o.ndim <= 3, "InstanceNorm: expected ndim 1, 2 or 3, got ", o.ndim);
  FA_CHECK(o.norm_type == NormType::Instance || o.norm_type == NormType::InstanceZero,
           "InstanceNorm: expected norm_type Instance or InstanceZero, got ", norm_type_name(o.norm_type));
  const bool zero = o.norm_type == NormType::InstanceZero;
  torch::nn::AnyModule m;
  if (o.ndim == 1) m = torch::nn::AnyModule(torch::nn::InstanceNorm1d(torch::nn::InstanceNorm1dOptions(nf).affine(true)));
  else if (o.ndim == 2) m = torch::nn::AnyModule(torch::nn::InstanceNorm2d(torch::nn::InstanceNorm2dOptions(nf).affine(true)));
  else m = torch::nn::AnyModule(torch::nn::InstanceNorm3d(torch::nn::InstanceNorm3dOptions(nf).affine(true)));
  norm_detail::fastai_affine_init(*m.ptr(), zero);
  return m;
}

bool is_norm_module(const torch::nn::Module& m) {
  return m.as<torch::nn::BatchNorm1d>() || m.as<torch::nn::BatchNorm2d>() || m.as<torch::nn::BatchNorm3d>() ||
         m.as<torch::nn::InstanceNorm1d>() || m.as<torch::nn::InstanceNorm2d>() || m.as<torch::nn::InstanceNorm3d>() ||
         m.as<torch::nn::LayerNorm>();
}

}  // namespace fastai
