#include "fastai/layers/pooling.h"

#include "codes.h"
#include "fastai/core/error.h"

#include <torch/torch.h>

#include <ostream>

namespace fastai {

AdaptiveConcatPool2dImpl::AdaptiveConcatPool2dImpl(int64_t size_) : size(size_) {
  FA_CHECK(size >= 1, "AdaptiveConcatPool2d: expected size >= 1, got ", size);
  reset();
}

void AdaptiveConcatPool2dImpl::reset() {
  // registered in fastai's order (ap, then mp); the output still puts max first
  ap = register_module("ap", torch::nn::AdaptiveAvgPool2d(size));
  mp = register_module("mp", torch::nn::AdaptiveMaxPool2d(size));
}

at::Tensor AdaptiveConcatPool2dImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() == 4, "AdaptiveConcatPool2d: expected input of shape [bs, c, h, w], got ",
           layers_detail::shape_str(x));
  return torch::cat({mp->forward(x), ap->forward(x)}, 1);
}

void AdaptiveConcatPool2dImpl::pretty_print(std::ostream& os) const {
  os << "fastai::AdaptiveConcatPool2d(size=" << size << ")";
}

at::Tensor FlattenImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && (full || x.dim() >= 1), "Flatten: expected a tensor with a batch dimension, got ",
           layers_detail::shape_str(x));
  return full ? x.reshape({-1}) : x.reshape({x.size(0), -1});
}

void FlattenImpl::pretty_print(std::ostream& os) const { os << "fastai::Flatten(full=" << (full ? "true" : "false") << ")"; }

}  // namespace fastai
