#include "fastai/layers/lin_bn_drop.h"

#include "fastai/core/error.h"
#include "fastai/layers/batch_norm_1d.h"

#include <torch/torch.h>

#include <ostream>

namespace fastai {

LinBnDropImpl::LinBnDropImpl(int64_t n_in, int64_t n_out, LinBnDropOptions o) {
  FA_CHECK(n_in >= 1 && n_out >= 1, "LinBnDrop: expected n_in >= 1 and n_out >= 1, got (", n_in, ", ", n_out, ")");
  FA_CHECK(o.p >= 0. && o.p < 1., "LinBnDrop: expected dropout p in [0, 1), got ", o.p);
  // fastai: layers = [BN(n_out if lin_first else n_in)] if bn, + [Dropout(p)] if p != 0;
  // lin = [Linear(n_in, n_out, bias=not bn)] + [act]; lin + layers if lin_first else layers + lin.
  auto push_norm_drop = [&] {
    if (o.bn) {
      // fastai's BatchNorm(nf, ndim=1): weight 1, bias 1e-3 (not PyTorch's 0).
      torch::nn::BatchNorm1d bn(o.lin_first ? n_out : n_in);
      torch::NoGradGuard no_grad;
      bn->bias.fill_(1e-3);
      push_back(bn);
    }
    if (o.p != 0.) push_back(torch::nn::Dropout(o.p));
  };
  auto push_lin_act = [&] {
    push_back(torch::nn::Linear(torch::nn::LinearOptions(n_in, n_out).bias(!o.bn)));
    if (!o.act.is_empty()) push_back(o.act.clone());  // each block its own activation module
  };
  if (o.lin_first) {
    push_lin_act();
    push_norm_drop();
  } else {
    push_norm_drop();
    push_lin_act();
  }
}

at::Tensor LinBnDropImpl::forward(const at::Tensor& x) {
  // The children in order, except that BatchNorm1d runs the fused kernel of batch_norm_1d.h,
  // taking a ReLU right before it along (Linear -> ReLU -> BatchNorm1d with lin_first).
  at::Tensor h = x;
  const size_t n = size();
  for (size_t i = 0; i < n; ++i) {
    if (auto* bn = ptr(i)->as<torch::nn::BatchNorm1dImpl>()) {
      h = batch_norm_1d(h, *bn, false);
    } else if (i + 1 < n && ptr(i)->as<torch::nn::ReLUImpl>() != nullptr &&
               ptr(i + 1)->as<torch::nn::BatchNorm1dImpl>() != nullptr) {
      h = batch_norm_1d(h, *ptr(i + 1)->as<torch::nn::BatchNorm1dImpl>(), true);
      ++i;
    } else {
      h = (begin() + static_cast<std::ptrdiff_t>(i))->forward(h);
    }
  }
  return h;
}

std::shared_ptr<torch::nn::Module> LinBnDropImpl::clone(const c10::optional<torch::Device>& device) const {
  std::shared_ptr<LinBnDropImpl> copy(new LinBnDropImpl());
  for (const auto& m : *this) copy->push_back(m.clone(device));
  copy->train(is_training());
  return copy;
}

void LinBnDropImpl::pretty_print(std::ostream& os) const { os << "fastai::LinBnDrop"; }

}  // namespace fastai
