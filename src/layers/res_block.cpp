#include "fastai/layers/res_block.h"

#include "codes.h"
#include "fastai/core/error.h"
#include "fastai/layers/conv_layer.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/torch.h>

#include <ostream>
#include <vector>

namespace fastai {

namespace res_block_detail {
torch::nn::AnyModule avg_pool(int64_t ks, int64_t ndim) {
  namespace nn = torch::nn;
  if (ndim == 1) return nn::AnyModule(nn::AvgPool1d(nn::AvgPool1dOptions(ks).ceil_mode(true)));
  if (ndim == 2) return nn::AnyModule(nn::AvgPool2d(nn::AvgPool2dOptions(ks).ceil_mode(true)));
  return nn::AnyModule(nn::AvgPool3d(nn::AvgPool3dOptions(ks).ceil_mode(true)));
}
torch::nn::AnyModule clone_act(const torch::nn::AnyModule& act) {
  return act.is_empty() ? torch::nn::AnyModule() : act.clone();
}
}  // namespace res_block_detail

SEModuleImpl::SEModuleImpl(int64_t ch_, int64_t reduction_, torch::nn::AnyModule act)
    : ch(ch_), reduction(reduction_), act_proto(std::move(act)) {
  FA_CHECK(ch >= 1 && reduction >= 1, "SEModule: expected ch >= 1 and reduction >= 1, got (", ch, ", ", reduction, ")");
  // fastai: nf = math.ceil(ch // reduction / 8) * 8
  nh = (ch / reduction + 7) / 8 * 8;
  FA_CHECK(nh >= 1, "SEModule: ch // reduction must be >= 1, got ch=", ch, ", reduction=", reduction);
  reset();
}

void SEModuleImpl::reset() {
  layers = register_module("layers", torch::nn::ModuleList());
  layers->push_back(torch::nn::AdaptiveAvgPool2d(1));
  layers->push_back(ConvLayer(ch, nh, {.ks = 1, .norm_type = std::nullopt, .act = res_block_detail::clone_act(act_proto)}));
  layers->push_back(ConvLayer(nh, ch, {.ks = 1, .norm_type = std::nullopt, .act = torch::nn::AnyModule(torch::nn::Sigmoid())}));
}

at::Tensor SEModuleImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() == 4 && x.size(1) == ch, "SEModule(", ch, "): expected input of shape [bs, ", ch,
           ", h, w], got ", layers_detail::shape_str(x));
  auto s = layers->at<torch::nn::AdaptiveAvgPool2dImpl>(0).forward(x);
  s = layers->at<ConvLayerImpl>(1).forward(s);
  s = layers->at<ConvLayerImpl>(2).forward(s);
  return x * s;  // fastai's ProdLayer: x * x.orig
}

void SEModuleImpl::pretty_print(std::ostream& os) const { os << "fastai::SEModule(" << ch << ", " << nh << ")"; }

SimpleSelfAttentionImpl::SimpleSelfAttentionImpl(int64_t n_in_, int64_t ks_, bool sym_) : n_in(n_in_), ks(ks_), sym(sym_) {
  FA_CHECK(n_in >= 1, "SimpleSelfAttention: expected n_in >= 1, got ", n_in);
  FA_CHECK(ks == 1, "SimpleSelfAttention(", n_in, "): only ks=1 is ported (the spectral-norm conv is 1x1), got ks=", ks);
  reset();
}

void SimpleSelfAttentionImpl::reset() {
  // fastai's _conv1d_spect(n_in, n_in, ks, padding=ks//2, bias=False)
  conv = register_module("conv", SpectralNormConv(n_in, n_in, {.ndim = 1, .ks = ks, .padding = ks / 2, .bias = false}));
  {
    at::NoGradGuard ng;  // fastai's _conv1d_spect: kaiming_normal_ before spectral_norm
    torch::nn::init::kaiming_normal_(conv->weight_orig);
  }
  gamma = register_parameter("gamma", at::zeros({1}));
}

at::Tensor SimpleSelfAttentionImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() >= 3 && x.size(1) == n_in, "SimpleSelfAttention(", n_in,
           "): expected input of shape [bs, ", n_in, ", *spatial], got ", layers_detail::shape_str(x));
  const auto size = x.sizes().vec();
  at::Tensor xf = x.reshape({size[0], size[1], -1});
  at::Tensor w = conv->weight(conv->is_training());
  if (sym) {
    at::Tensor c = w.reshape({n_in, n_in});
    w = ((c + c.t()) / 2).reshape({n_in, n_in, 1});
  }
  at::Tensor convx = at::conv1d(xf, w);
  at::Tensor xxT = at::bmm(xf, xf.transpose(1, 2));
  at::Tensor o = gamma * at::bmm(xxT, convx) + xf;
  return o.reshape(size).contiguous();
}

void SimpleSelfAttentionImpl::pretty_print(std::ostream& os) const {
  os << "fastai::SimpleSelfAttention(" << n_in << ", sym=" << (sym ? "true" : "false") << ")";
}

ResBlockImpl::ResBlockImpl(int64_t expansion_, int64_t ni_, int64_t nf_, ResBlockOptions o)
    : expansion(expansion_), ni(ni_), nf(nf_), options(std::move(o)) {
  FA_CHECK(expansion >= 1 && ni >= 1 && nf >= 1, "ResBlock: expected expansion, ni and nf >= 1, got (", expansion, ", ", ni,
           ", ", nf, ")");
  FA_CHECK(options.stride >= 1, "ResBlock: expected stride >= 1, got ", options.stride);
  reset();
}

void ResBlockImpl::reset() {
  const auto& o = options;
  std::optional<NormType> norm2 = o.norm_type;
  if (o.norm_type == NormType::Batch) norm2 = NormType::BatchZero;
  if (o.norm_type == NormType::Instance) norm2 = NormType::InstanceZero;
  const int64_t nh2 = o.nh2.value_or(nf), nh1 = o.nh1.value_or(nh2);
  const int64_t nfe = nf * expansion, nie = ni * expansion;
  auto k0 = [&](int64_t ks, int64_t stride, int64_t groups) {
    return ConvLayerOptions{.ks = ks, .stride = stride, .ndim = o.ndim, .norm_type = o.norm_type,
                            .act = res_block_detail::clone_act(o.act), .groups = groups};
  };
  auto k1 = [&](int64_t ks) {
    return ConvLayerOptions{.ks = ks, .ndim = o.ndim, .norm_type = norm2, .act = {}, .groups = o.g2};
  };
  convpath = register_module("convpath", torch::nn::Sequential());
  if (expansion == 1) {
    convpath->push_back(ConvLayer(nie, nh2, k0(o.ks, o.stride, o.dw ? nie : o.groups)));
    convpath->push_back(ConvLayer(nh2, nfe, k1(o.ks)));
  } else {
    convpath->push_back(ConvLayer(nie, nh1, k0(1, 1, 1)));
    convpath->push_back(ConvLayer(nh1, nh2, k0(o.ks, o.stride, o.dw ? nh1 : o.groups)));
    convpath->push_back(ConvLayer(nh2, nfe, k1(1)));
  }
  if (o.reduction && *o.reduction != 0)  // fastai: `if reduction:`, so 0 means no SEModule
    convpath->push_back(SEModule(nfe, *o.reduction, res_block_detail::clone_act(o.act)));
  if (o.sa) convpath->push_back(SimpleSelfAttention(nfe, 1, o.sym));

  std::vector<torch::nn::AnyModule> id;
  if (nie != nfe) id.emplace_back(ConvLayer(nie, nfe, {.ks = 1, .ndim = o.ndim, .act = {}}));
  if (o.stride != 1) {  // fastai: idpath.insert(0 if pool_first else 1, pool)
    auto pool = res_block_detail::avg_pool(o.stride, o.ndim);
    id.insert(o.pool_first || id.empty() ? id.begin() : id.begin() + 1, std::move(pool));
  }
  idpath = register_module("idpath", torch::nn::Sequential());
  for (auto& m : id) idpath->push_back(std::move(m));
  // fastai: ReLU(inplace=True) when act_cls is the default activation, else a fresh act_cls()
  if (!o.act.is_empty() && o.act.ptr()->as<torch::nn::ReLU>())
    act = torch::nn::AnyModule(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
  else
    act = res_block_detail::clone_act(o.act);
  if (!act.is_empty()) register_module("act", act.ptr());
}

at::Tensor ResBlockImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() == options.ndim + 2 && x.size(1) == ni * expansion, "ResBlock(", expansion, ", ", ni, ", ", nf,
           "): expected input of shape [bs, ", ni * expansion, ", ", (options.ndim == 1 ? "l" : options.ndim == 2 ? "h, w" : "d, h, w"),
           "], got ", layers_detail::shape_str(x));
  auto h = convpath->forward(x) + (idpath->size() == 0 ? x : idpath->forward(x));
  return act.is_empty() ? h : act.forward(h);
}

void ResBlockImpl::pretty_print(std::ostream& os) const {
  os << "fastai::ResBlock(" << expansion << ", " << ni << ", " << nf << ", stride=" << options.stride << ")";
}

}  // namespace fastai
