// UnetBlock, ResizeToOrig and DynamicUnet (see fastai/layers/unet.h).
#include "fastai/layers/unet.h"

#include "codes.h"
#include "fastai/core/error.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/functional/upsampling.h>

#include <algorithm>
#include <ostream>

namespace fastai {

namespace unet_detail {

at::Tensor resize_to(const at::Tensor& x, at::IntArrayRef hw, const std::string& mode) {
  namespace F = torch::nn::functional;
  auto o = F::InterpolateFuncOptions().size(std::vector<int64_t>{hw[0], hw[1]});
  if (mode == "bilinear") o.mode(torch::kBilinear).align_corners(false);
  else o.mode(torch::kNearest);
  return F::interpolate(x, o);
}

bool same_hw(const at::Tensor& a, const at::Tensor& b) {
  return a.size(-2) == b.size(-2) && a.size(-1) == b.size(-1);
}

torch::nn::AnyModule clone_act(const torch::nn::AnyModule& act) {
  return act.is_empty() ? torch::nn::AnyModule() : act.clone();
}

}  // namespace unet_detail

std::vector<int64_t> get_sz_change_idxs(const std::vector<std::vector<int64_t>>& sizes) {
  std::vector<int64_t> out;
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    FA_CHECK(!sizes[i].empty() && !sizes[i + 1].empty(), "get_sz_change_idxs: size ", i, " is empty");
    if (sizes[i].back() != sizes[i + 1].back()) out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

int64_t in_channels(torch::nn::Module& m) {
  for (const auto& p : m.parameters())
    if (p.dim() == 4) return p.size(1);
  fail("in_channels: the module has no 4-d (conv) weight to read its input channels from");
}

std::vector<std::vector<int64_t>> model_sizes(torch::nn::Sequential& m, std::pair<int64_t, int64_t> size) {
  FA_CHECK(size.first >= 1 && size.second >= 1, "model_sizes: expected a positive size, got (", size.first, ", ",
           size.second, ")");
  at::NoGradGuard ng;
  const bool was_training = m->is_training();
  m->eval();
  auto ps = m->parameters();
  auto opts = ps.empty() ? at::TensorOptions().dtype(at::kFloat) : ps[0].options();
  at::Tensor x = at::zeros({1, in_channels(*m), size.first, size.second}, opts);
  std::vector<std::vector<int64_t>> out;
  try {
    for (auto& child : *m) {
      x = child.forward(x);
      out.push_back(x.sizes().vec());
    }
  } catch (...) {
    m->train(was_training);
    throw;
  }
  m->train(was_training);
  return out;
}

// ---- UnetBlock --------------------------------------------------------------------------------

UnetBlockImpl::UnetBlockImpl(int64_t up_in_c_, int64_t x_in_c_, UnetBlockOptions o) : up_in_c(up_in_c_), x_in_c(x_in_c_) {
  FA_CHECK(up_in_c >= 2 && x_in_c >= 1, "UnetBlock: expected up_in_c >= 2 and x_in_c >= 1, got (", up_in_c, ", ",
           x_in_c, ")");
  shuf = register_module("shuf", PixelShuffle_ICNR(up_in_c, {.nf = up_in_c / 2, .blur = o.blur, .norm_type = o.norm_type,
                                                             .act = unet_detail::clone_act(o.act)}));
  bn = BatchNorm(x_in_c);
  register_module("bn", bn.ptr());
  const int64_t ni = up_in_c / 2 + x_in_c;
  nf = o.final_div ? ni : ni / 2;
  conv1 = register_module("conv1", ConvLayer(ni, nf, {.norm_type = o.norm_type, .act = unet_detail::clone_act(o.act)}));
  torch::nn::AnyModule xtra;
  if (o.self_attention) xtra = torch::nn::AnyModule(SelfAttention(nf));
  conv2 = register_module("conv2", ConvLayer(nf, nf, {.norm_type = o.norm_type, .act = unet_detail::clone_act(o.act),
                                                      .xtra = xtra}));
  relu = unet_detail::clone_act(o.act);
  if (!relu.is_empty()) register_module("relu", relu.ptr());
  if (o.init) {
    apply_init(*conv1, o.init);
    apply_init(*conv2, o.init);
  }
}

at::Tensor UnetBlockImpl::forward(const at::Tensor& up_in, const at::Tensor& s) {
  FA_CHECK(up_in.defined() && up_in.dim() == 4 && up_in.size(1) == up_in_c, "UnetBlock(", up_in_c, ", ", x_in_c,
           "): expected an input [bs, ", up_in_c, ", h, w], got ", layers_detail::shape_str(up_in));
  FA_CHECK(s.defined() && s.dim() == 4 && s.size(1) == x_in_c && s.size(0) == up_in.size(0), "UnetBlock(", up_in_c,
           ", ", x_in_c, "): expected a skip activation [", up_in.size(0), ", ", x_in_c, ", H, W], got ",
           layers_detail::shape_str(s));
  at::Tensor up_out = shuf->forward(up_in);
  if (!unet_detail::same_hw(up_out, s)) up_out = unet_detail::resize_to(up_out, s.sizes().slice(2), "nearest");
  at::Tensor cat_x = at::cat({up_out, bn.forward(s)}, 1);
  if (!relu.is_empty()) cat_x = relu.forward(cat_x);
  return conv2->forward(conv1->forward(cat_x));
}

void UnetBlockImpl::pretty_print(std::ostream& os) const {
  os << "fastai::UnetBlock(" << up_in_c << ", " << x_in_c << " -> " << nf << ")";
}

// ---- ResizeToOrig -----------------------------------------------------------------------------

ResizeToOrigImpl::ResizeToOrigImpl(std::string m) : mode(std::move(m)) {
  FA_CHECK(mode == "nearest" || mode == "bilinear", "ResizeToOrig: expected mode \"nearest\" or \"bilinear\", got \"",
           mode, "\"");
}

at::Tensor ResizeToOrigImpl::forward_orig(const at::Tensor& x, const at::Tensor& orig) {
  FA_CHECK(x.defined() && orig.defined() && x.dim() == 4 && orig.dim() >= 3, "ResizeToOrig: expected x [bs, c, h, w] "
           "and an input with 2 spatial dimensions, got ", layers_detail::shape_str(x), " and ",
           layers_detail::shape_str(orig));
  if (unet_detail::same_hw(x, orig)) return x;
  return unet_detail::resize_to(x, orig.sizes().slice(orig.dim() - 2), mode);
}

at::Tensor ResizeToOrigImpl::forward(const at::Tensor&) {
  fail("ResizeToOrig: needs the input of the enclosing SequentialEx / DynamicUnet; call forward_orig(x, orig)");
}

void ResizeToOrigImpl::pretty_print(std::ostream& os) const { os << "fastai::ResizeToOrig(" << mode << ")"; }

// ---- DynamicUnet ------------------------------------------------------------------------------

DynamicUnetImpl::DynamicUnetImpl(torch::nn::Sequential enc, int64_t n_out_, std::pair<int64_t, int64_t> imsize,
                                 DynamicUnetOptions o)
    : n_out(n_out_), img_size(imsize) {
  FA_CHECK(enc && enc->size() >= 2, "DynamicUnet: the encoder must be a Sequential of at least 2 children, got ",
           enc ? enc->size() : 0);
  FA_CHECK(n_out >= 1, "DynamicUnet: expected n_out >= 1, got ", n_out);
  n_in = in_channels(*enc);
  const auto sizes = model_sizes(enc, imsize);
  auto idxs = get_sz_change_idxs(sizes);
  FA_CHECK(!idxs.empty(), "DynamicUnet: the encoder's outputs never change size on a ", imsize.first, "x", imsize.second,
           " image, so there is nothing to connect");
  sz_chg_idxs.assign(idxs.rbegin(), idxs.rend());

  layers = register_module("layers", torch::nn::ModuleList());
  encoder = enc;
  layers->push_back(encoder);
  const int64_t ni = sizes.back()[1];
  bn = BatchNorm(ni);
  layers->push_back(bn.ptr());
  relu = torch::nn::AnyModule(torch::nn::ReLU());
  layers->push_back(relu.ptr());
  middle_conv = torch::nn::Sequential(
      ConvLayer(ni, ni * 2, {.norm_type = o.norm_type, .act = unet_detail::clone_act(o.act)}),
      ConvLayer(ni * 2, ni, {.norm_type = o.norm_type, .act = unet_detail::clone_act(o.act)}));
  layers->push_back(middle_conv);

  int64_t x_c = ni;  // channels of the decoder's running activation
  const size_t nb = sz_chg_idxs.size();
  for (size_t i = 0; i < nb; ++i) {
    const bool not_final = i != nb - 1;
    const int64_t x_in_c = sizes[static_cast<size_t>(sz_chg_idxs[i])][1];
    const bool sa = o.self_attention && nb >= 3 && i == nb - 3;
    UnetBlock blk(x_c, x_in_c,
                  {.final_div = not_final, .blur = o.blur && (not_final || o.blur_final),
                   .act = unet_detail::clone_act(o.act), .self_attention = sa, .init = o.init,
                   .norm_type = o.norm_type});
    x_c = blk->nf;
    blocks.push_back(blk);
    layers->push_back(blk);
  }
  const auto& s0 = sizes.front();
  if (s0.size() < 4 || s0[s0.size() - 2] != imsize.first || s0.back() != imsize.second) {
    final_shuf = PixelShuffle_ICNR(x_c, {.norm_type = o.norm_type, .act = unet_detail::clone_act(o.act)});
    layers->push_back(final_shuf);
  }
  resize = ResizeToOrig();
  layers->push_back(resize);
  int64_t c = x_c;
  if (o.last_cross) {
    merge = MergeLayer(true);
    layers->push_back(merge);
    c += n_in;
    // fastai passes ResBlock(1, c, c//2 if bottle else c), whose c//2 outputs the final conv
    // (built for c inputs) could not take; here bottle halves the inner width instead.
    res_block = ResBlock(1, c, c,
                         {.nh2 = o.bottle ? std::optional<int64_t>(c / 2) : std::nullopt, .norm_type = o.norm_type,
                          .act = unet_detail::clone_act(o.act)});
    layers->push_back(res_block);
  }
  final_conv = ConvLayer(c, n_out, {.ks = 1, .norm_type = o.norm_type, .act = torch::nn::AnyModule()});
  layers->push_back(final_conv);
  if (o.init) {
    apply_init(*middle_conv, o.init);
    if (o.last_cross) apply_init(*res_block, o.init);
  }
  if (o.y_range) {
    sigmoid_range = SigmoidRange(o.y_range->first, o.y_range->second);
    layers->push_back(sigmoid_range);
  }
}

at::Tensor DynamicUnetImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() == 4 && x.size(1) == n_in, "DynamicUnet: expected input of shape [bs, ", n_in,
           ", h, w], got ", layers_detail::shape_str(x));
  std::vector<at::Tensor> stored(sz_chg_idxs.size());
  at::Tensor h = x;
  int64_t i = 0;
  for (auto& child : *encoder) {
    h = child.forward(h);
    for (size_t k = 0; k < sz_chg_idxs.size(); ++k)
      if (sz_chg_idxs[k] == i) stored[k] = h;
    ++i;
  }
  h = relu.forward(bn.forward(h));
  h = middle_conv->forward(h);
  for (size_t k = 0; k < blocks.size(); ++k) h = blocks[k]->forward(h, stored[k]);
  if (final_shuf) h = final_shuf->forward(h);
  h = resize->forward_orig(h, x);
  if (merge) {
    h = merge->forward_orig(h, x);
    h = res_block->forward(h);
  }
  h = final_conv->forward(h);
  if (sigmoid_range) h = sigmoid_range->forward(h);
  return h;
}

void DynamicUnetImpl::pretty_print(std::ostream& os) const {
  os << "fastai::DynamicUnet(" << n_in << " -> " << n_out << ", cross connections at [";
  for (size_t i = 0; i < sz_chg_idxs.size(); ++i) os << (i ? ", " : "") << sz_chg_idxs[i];
  os << "])";
}

}  // namespace fastai
