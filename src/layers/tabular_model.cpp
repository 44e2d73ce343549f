#include "fastai/layers/tabular_model.h"

#include "codes.h"
#include "fastai/core/error.h"
#include "fastai/layers/batch_norm_1d.h"
#include "fastai/layers/lin_bn_drop.h"
#include "fastai/layers/sigmoid_range.h"

#include <torch/torch.h>

#include <ostream>

namespace fastai {

namespace {
// fastai: ps = ifnone(ps, [0]*len(layers)); a single value is used for every hidden layer.
std::vector<double> tabular_ps(const std::vector<double>& ps, size_t n_layers) {
  if (ps.empty()) return std::vector<double>(n_layers, 0.);
  if (ps.size() == 1) return std::vector<double>(n_layers, ps[0]);
  FA_CHECK(ps.size() == n_layers, "TabularModel: expected ps with 0, 1 or ", n_layers,
           " values (one per hidden layer), got ", ps.size());
  return ps;
}
}  // namespace

TabularModelImpl::TabularModelImpl(std::vector<EmbSz> emb_szs, int64_t n_cont, int64_t out_sz,
                                   std::vector<int64_t> layer_sizes, TabularModelOptions o)
    : emb_szs_(std::move(emb_szs)), n_cont_(n_cont), out_sz_(out_sz), layer_sizes_(std::move(layer_sizes)),
      opts_(std::move(o)) {
  for (size_t i = 0; i < emb_szs_.size(); ++i) {
    const auto& e = emb_szs_[i];
    FA_CHECK(e.n_cat >= 1 && e.size >= 1, "TabularModel: embedding ", i, " must have n_cat >= 1 and size >= 1, got (",
             e.n_cat, ", ", e.size, ")");
    n_emb_ += e.size;
  }
  FA_CHECK(n_cont_ >= 0, "TabularModel: expected n_cont >= 0, got ", n_cont_);
  FA_CHECK(n_emb_ + n_cont_ > 0, "TabularModel: expected at least one embedding or continuous input, got none");
  FA_CHECK(out_sz_ >= 1, "TabularModel: expected out_sz >= 1, got ", out_sz_);
  for (size_t i = 0; i < layer_sizes_.size(); ++i)
    FA_CHECK(layer_sizes_[i] >= 1, "TabularModel: hidden layer ", i, " must have size >= 1, got ", layer_sizes_[i]);
  for (double p : opts_.ps) FA_CHECK(p >= 0. && p < 1., "TabularModel: expected ps in [0, 1), got ", p);
  FA_CHECK(opts_.embed_p >= 0. && opts_.embed_p < 1., "TabularModel: expected embed_p in [0, 1), got ", opts_.embed_p);
  tabular_ps(opts_.ps, layer_sizes_.size());  // length check before any module is built
  reset();
}

void TabularModelImpl::reset() {
  embeds = register_module("embeds", torch::nn::ModuleList());
  for (const auto& e : emb_szs_) embeds->push_back(Embedding(e.n_cat, e.size));
  emb_drop = register_module("emb_drop", torch::nn::Dropout(opts_.embed_p));
  bn_cont = nullptr;
  if (opts_.bn_cont && n_cont_ > 0) bn_cont = register_module("bn_cont", torch::nn::BatchNorm1d(n_cont_));

  std::vector<int64_t> sizes{n_emb_ + n_cont_};
  sizes.insert(sizes.end(), layer_sizes_.begin(), layer_sizes_.end());
  sizes.push_back(out_sz_);
  const auto ps = tabular_ps(opts_.ps, layer_sizes_.size());
  const size_t n_blocks = sizes.size() - 1;
  layers = register_module("layers", torch::nn::Sequential());
  for (size_t i = 0; i < n_blocks; ++i) {
    const bool last = i + 1 == n_blocks;
    LinBnDropOptions lo{.bn = opts_.use_bn && (!last || opts_.bn_final),
                        .p = last ? 0. : ps[i],
                        .act = last ? torch::nn::AnyModule() : torch::nn::AnyModule(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true))),
                        .lin_first = opts_.lin_first};
    layers->push_back(LinBnDrop(sizes[i], sizes[i + 1], std::move(lo)));
  }
  if (opts_.y_range) layers->push_back(SigmoidRange(opts_.y_range->first, opts_.y_range->second));
}

at::Tensor TabularModelImpl::forward(const at::Tensor& x_cat, const at::Tensor& x_cont) {
  using layers_detail::shape_str;
  const auto n_cat = static_cast<int64_t>(emb_szs_.size());
  at::Tensor x;
  if (n_cat != 0 || x_cat.defined()) {  // a model without embeddings takes no x_cat, or a [bs, 0] one
    FA_CHECK(x_cat.defined() && x_cat.dim() == 2 && x_cat.size(1) == n_cat, "TabularModel: expected x_cat of shape [bs, ",
             n_cat, "] (one column per embedding), got ", shape_str(x_cat));
  }
  if (n_cat != 0) {
    const auto codes = layers_detail::long_codes(x_cat, "TabularModel", "x_cat");
    std::vector<int64_t> limits;
    for (const auto& e : emb_szs_) limits.push_back(e.n_cat);
    layers_detail::check_code_range(codes, limits, "TabularModel", "x_cat", [&](int64_t c) {
      const auto& e = emb_szs_[static_cast<size_t>(c)];
      return detail::cat("for embeddings[", c, "] = Embedding(", e.n_cat, ", ", e.size, ")");
    });
    std::vector<at::Tensor> cols;
    // looked up each time: clone() replaces the ModuleList's children, so no cached pointers
    for (int64_t i = 0; i < n_cat; ++i)
      cols.push_back(embeds->at<torch::nn::EmbeddingImpl>(static_cast<size_t>(i)).forward(codes.select(1, i)));
    x = emb_drop->forward(torch::cat(cols, 1));
  }
  if (n_cont_ != 0) {
    FA_CHECK(x_cont.defined(), "TabularModel: built with n_cont=", n_cont_,
             " continuous inputs; call forward(x_cat, x_cont), got x_cat of shape ", shape_str(x_cat), " only");
    FA_CHECK(x_cont.dim() == 2 && x_cont.size(1) == n_cont_,
             "TabularModel: expected x_cont of shape [bs, ", n_cont_, "], got ", shape_str(x_cont));
    FA_CHECK(at::isFloatingType(x_cont.scalar_type()), "TabularModel: x_cont must be floating point, got ",
             x_cont.scalar_type(), " of shape ", shape_str(x_cont));
    FA_CHECK(!x.defined() || x_cont.size(0) == x.size(0), "TabularModel: x_cat and x_cont must have the same batch size, got ",
             shape_str(x_cat), " and ", shape_str(x_cont));
    const at::Tensor xc = bn_cont ? batch_norm_1d(x_cont, *bn_cont) : x_cont;
    x = x.defined() ? torch::cat({x, xc}, 1) : xc;
  } else {
    FA_CHECK(!x_cont.defined() || x_cont.numel() == 0, "TabularModel: built with n_cont=0 but got x_cont of shape ",
             shape_str(x_cont));
  }
  return layers->forward(x);
}

void TabularModelImpl::pretty_print(std::ostream& os) const {
  os << "fastai::TabularModel(n_emb=" << n_emb_ << ", n_cont=" << n_cont_ << ", out_sz=" << out_sz_ << ")";
}

TabularModel EmbeddingNN(std::vector<EmbSz> emb_szs, std::vector<int64_t> layer_sizes, TabularModelOptions o) {
  return TabularModel(std::move(emb_szs), 0, 1, std::move(layer_sizes), std::move(o));
}

}  // namespace fastai
