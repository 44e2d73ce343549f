#include "fastai/layers/init.h"

#include "fastai/layers/norm.h"

#include <torch/torch.h>

namespace fastai {

void kaiming_normal_init(at::Tensor& w) {
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(w);
}

namespace init_detail {
void apply_init_one(torch::nn::Module& m, const InitFn& func) {
  if (is_norm_module(m)) return;
  const auto all = m.parameters(/*recurse=*/true);
  if (all.empty() || !all.front().requires_grad()) return;  // fastai's requires_grad(m): frozen modules stay
  auto own = m.named_parameters(/*recurse=*/false);
  torch::NoGradGuard no_grad;
  if (auto* w = own.find("weight"); w && w->defined() && func) func(*w);
  if (auto* b = own.find("bias"); b && b->defined()) b->zero_();
}

void init_cnn_one(torch::nn::Module& m) {
  auto own = m.named_parameters(/*recurse=*/false);
  torch::NoGradGuard no_grad;
  if (auto* b = own.find("bias"); b && b->defined()) b->zero_();
  const bool conv_or_lin = m.as<torch::nn::Conv1d>() || m.as<torch::nn::Conv2d>() || m.as<torch::nn::Conv3d>() ||
                           m.as<torch::nn::Linear>();
  if (auto* w = own.find("weight"); conv_or_lin && w && w->defined()) torch::nn::init::kaiming_normal_(*w);
}
}  // namespace init_detail

void apply_init(torch::nn::Module& m, const InitFn& func) {
  init_detail::apply_init_one(m, func);
  for (const auto& c : m.modules(/*include_self=*/false)) init_detail::apply_init_one(*c, func);
}

void init_cnn(torch::nn::Module& m) {
  init_detail::init_cnn_one(m);
  for (const auto& c : m.modules(/*include_self=*/false)) init_detail::init_cnn_one(*c);
}

}  // namespace fastai
