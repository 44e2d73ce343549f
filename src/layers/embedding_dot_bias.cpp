#include "fastai/layers/embedding_dot_bias.h"

#include "codes.h"
#include "fastai/core/error.h"
#include "fastai/layers/embedding.h"
#include "fastai/layers/sigmoid_range.h"

#include <torch/torch.h>

#include <ostream>

namespace fastai {

EmbeddingDotBiasImpl::EmbeddingDotBiasImpl(int64_t nf, int64_t nu, int64_t ni, EmbeddingDotBiasOptions o)
    : n_factors(nf), n_users(nu), n_items(ni), options(o) {
  FA_CHECK(nf >= 1 && nu >= 1 && ni >= 1, "EmbeddingDotBias: expected n_factors, n_users and n_items >= 1, got (", nf,
           ", ", nu, ", ", ni, ")");
  reset();
}

void EmbeddingDotBiasImpl::reset() {
  u_weight = register_module("u_weight", Embedding(n_users, n_factors));
  i_weight = register_module("i_weight", Embedding(n_items, n_factors));
  u_bias = register_module("u_bias", Embedding(n_users, 1));
  i_bias = register_module("i_bias", Embedding(n_items, 1));
}

at::Tensor EmbeddingDotBiasImpl::forward(const at::Tensor& x) {
  FA_CHECK(x.defined() && x.dim() == 2 && x.size(1) == 2,
           "EmbeddingDotBias: expected x of shape [bs, 2] (user index, item index), got ", layers_detail::shape_str(x));
  const auto codes = layers_detail::long_codes(x, "EmbeddingDotBias", "x");
  layers_detail::check_code_range(codes, {n_users, n_items}, "EmbeddingDotBias", "x", [&](int64_t c) {
    return c == 0 ? detail::cat("(user index; u_weight has ", n_users, " rows)")
                  : detail::cat("(item index; i_weight has ", n_items, " rows)");
  });
  const auto users = codes.select(1, 0), items = codes.select(1, 1);
  auto res = (u_weight->forward(users) * i_weight->forward(items)).sum(1) + u_bias->forward(users).squeeze(-1) +
             i_bias->forward(items).squeeze(-1);
  if (options.y_range) res = sigmoid_range(res, options.y_range->first, options.y_range->second);
  return res;
}

namespace {
at::Tensor checked_lookup(const at::Tensor& idx, int64_t n, bool is_item, const char* fn) {
  FA_CHECK(idx.defined(), "EmbeddingDotBias::", fn, ": expected integer indices, got an undefined tensor");
  const auto codes = layers_detail::long_codes(idx, detail::cat("EmbeddingDotBias::", fn), "idx");
  layers_detail::check_code_range(codes.reshape({-1, 1}), {n}, detail::cat("EmbeddingDotBias::", fn), "idx",
                                  [&](int64_t) { return detail::cat(is_item ? "(items: " : "(users: ", n, " rows)"); });
  return codes;
}
}  // namespace

at::Tensor EmbeddingDotBiasImpl::weight(const at::Tensor& idx, bool is_item) {
  const auto codes = checked_lookup(idx, is_item ? n_items : n_users, is_item, "weight");
  return (is_item ? i_weight : u_weight)->forward(codes);
}

at::Tensor EmbeddingDotBiasImpl::bias(const at::Tensor& idx, bool is_item) {
  const auto codes = checked_lookup(idx, is_item ? n_items : n_users, is_item, "bias");
  return (is_item ? i_bias : u_bias)->forward(codes).squeeze(-1);
}

void EmbeddingDotBiasImpl::pretty_print(std::ostream& os) const {
  os << "fastai::EmbeddingDotBias(n_factors=" << n_factors << ", n_users=" << n_users << ", n_items=" << n_items << ")";
}

}  // namespace fastai
