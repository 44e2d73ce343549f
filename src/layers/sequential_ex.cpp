#include "fastai/layers/sequential_ex.h"

#include "codes.h"
#include "fastai/core/error.h"

#include <torch/torch.h>

#include <ostream>

namespace fastai {

at::Tensor MergeLayerImpl::forward_orig(const at::Tensor& x, const at::Tensor& orig) {
  using layers_detail::shape_str;
  if (dense) {
    FA_CHECK(x.dim() == orig.dim() && x.dim() >= 2 && x.size(0) == orig.size(0) &&
                 x.sizes().slice(2) == orig.sizes().slice(2),
             "MergeLayer(dense): expected x and the input to differ in dimension 1 only, got ", shape_str(x), " and ",
             shape_str(orig));
    return torch::cat({x, orig}, 1);
  }
  FA_CHECK(x.sizes() == orig.sizes(), "MergeLayer: expected x and the input of the same shape, got ", shape_str(x), " and ",
           shape_str(orig));
  return x + orig;
}

at::Tensor MergeLayerImpl::forward(const at::Tensor&) {
  fail("MergeLayer: needs the block input; use it inside a SequentialEx");
}

void MergeLayerImpl::pretty_print(std::ostream& os) const {
  os << "fastai::MergeLayer(dense=" << (dense ? "true" : "false") << ")";
}

at::Tensor ProdLayerImpl::forward_orig(const at::Tensor& x, const at::Tensor& orig) { return x * orig; }

at::Tensor ProdLayerImpl::forward(const at::Tensor&) {
  fail("ProdLayer: needs the block input; use it inside a SequentialEx");
}

void ProdLayerImpl::pretty_print(std::ostream& os) const { os << "fastai::ProdLayer"; }

SequentialExImpl::SequentialExImpl() { layers = register_module("layers", torch::nn::ModuleList()); }

void SequentialExImpl::push_back(torch::nn::AnyModule m) {
  FA_CHECK(!m.is_empty(), "SequentialEx: cannot append an empty module");
  layers->push_back(m.ptr());
  mods_.push_back(std::move(m));
}

at::Tensor SequentialExImpl::forward(const at::Tensor& x) {
  at::Tensor res = x;
  for (auto& m : mods_) {
    if (auto* o = dynamic_cast<OrigLayer*>(m.ptr().get())) res = o->forward_orig(res, x);
    else res = m.forward(res);
  }
  return res;
}

std::shared_ptr<torch::nn::Module> SequentialExImpl::clone(const c10::optional<torch::Device>& device) const {
  auto copy = std::make_shared<SequentialExImpl>();
  for (const auto& m : mods_) copy->push_back(m.clone(device));
  copy->train(is_training());
  return copy;
}

void SequentialExImpl::pretty_print(std::ostream& os) const { os << "fastai::SequentialEx"; }

}  // namespace fastai
