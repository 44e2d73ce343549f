#include "fastai/layers/batch_norm_1d.h"

#include "fastai/core/error.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace fastai {

namespace bn1d_detail {

// Rows are split into at most one chunk per thread, each at least kGrain elements, so small
// batches stay on one thread; every chunk sums into its own accumulators, added up in chunk order.
constexpr int64_t kGrain = 32768;

int64_t n_chunks(int64_t n, int64_t c) {
  const int64_t by_size = std::max<int64_t>(1, (n * c) / kGrain);
  return std::max<int64_t>(1, std::min<int64_t>({by_size, static_cast<int64_t>(at::get_num_threads()), n}));
}

template <class F>
void for_chunks(int64_t n, int64_t chunks, const F& f) {
  at::parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) f(k, n * k / chunks, n * (k + 1) / chunks);
  });
}

// The row loops. Each is a template on `Relu` (so no branch is left in the inner loop, which GCC
// then would not vectorise) instantiated inside a function compiled for AVX2 too and picked at load
// time (x86-64's baseline is SSE2); one call covers a block of rows.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FA_BN1D_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FA_BN1D_CLONES
#endif
#define FA_BN1D_INLINE inline __attribute__((always_inline))

// ReLU and its gradient mask on the float's bits: GCC keeps `v > 0 ? v : 0` as a branch next to a
// float -> double conversion, and a loop with a branch is not vectorised.
FA_BN1D_INLINE int32_t bits_of(float v) noexcept {
  int32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
FA_BN1D_INLINE float float_of(int32_t b) noexcept {
  float v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

/// relu(v) (negative values and -0 give +0), or v.
template <bool Relu>
FA_BN1D_INLINE float act(float v) noexcept {
  if constexpr (Relu) {
    const int32_t b = bits_of(v);
    return float_of(b & ~(b >> 31));
  }
  return v;
}

/// g where x > 0, else +0 (ReLU's backward).
FA_BN1D_INLINE float where_positive(float x, float g) noexcept {
  return float_of(bits_of(g) & -static_cast<int32_t>(bits_of(x) > 0));
}

/// Rows [b, e) of x [., c]: acc[j] += v(x[i][j]) where v is relu or the identity.
template <bool Relu>
FA_BN1D_INLINE void add_rows_t(const float* __restrict x, int64_t b, int64_t e, int64_t c, double* __restrict acc) noexcept {
  for (int64_t i = b; i < e; ++i) {
    const float* row = x + i * c;
    for (int64_t j = 0; j < c; ++j) acc[j] += static_cast<double>(act<Relu>(row[j]));
  }
}
FA_BN1D_CLONES void add_rows(const float* x, int64_t b, int64_t e, int64_t c, double* acc, bool relu) noexcept {
  relu ? add_rows_t<true>(x, b, e, c, acc) : add_rows_t<false>(x, b, e, c, acc);
}

/// acc[j] += (v(x[i][j]) - mean[j])².
template <bool Relu>
FA_BN1D_INLINE void add_sq_rows_t(const float* __restrict x, int64_t b, int64_t e, int64_t c, const float* __restrict mean,
                                  double* __restrict acc) noexcept {
  for (int64_t i = b; i < e; ++i) {
    const float* row = x + i * c;
    for (int64_t j = 0; j < c; ++j) {
      const float d = act<Relu>(row[j]) - mean[j];
      acc[j] += static_cast<double>(d * d);
    }
  }
}
FA_BN1D_CLONES void add_sq_rows(const float* x, int64_t b, int64_t e, int64_t c, const float* mean, double* acc,
                                bool relu) noexcept {
  relu ? add_sq_rows_t<true>(x, b, e, c, mean, acc) : add_sq_rows_t<false>(x, b, e, c, mean, acc);
}

/// y[i][j] = v(x[i][j]) * scale[j] + shift[j].
template <bool Relu>
FA_BN1D_INLINE void affine_rows_t(const float* __restrict x, int64_t b, int64_t e, int64_t c, const float* __restrict scale,
                                  const float* __restrict shift, float* __restrict y) noexcept {
  for (int64_t i = b; i < e; ++i) {
    const float* row = x + i * c;
    float* out = y + i * c;
    for (int64_t j = 0; j < c; ++j) out[j] = act<Relu>(row[j]) * scale[j] + shift[j];
  }
}
FA_BN1D_CLONES void affine_rows(const float* x, int64_t b, int64_t e, int64_t c, const float* scale, const float* shift,
                                float* y, bool relu) noexcept {
  relu ? affine_rows_t<true>(x, b, e, c, scale, shift, y) : affine_rows_t<false>(x, b, e, c, scale, shift, y);
}

/// sdy[j] += dy[i][j]; sdyx[j] += dy[i][j] * (v(x[i][j]) - mean[j]).
template <bool Relu>
FA_BN1D_INLINE void grad_sums_rows_t(const float* __restrict dy, const float* __restrict x, int64_t b, int64_t e, int64_t c,
                                     const float* __restrict mean, double* __restrict sdy,
                                     double* __restrict sdyx) noexcept {
  for (int64_t i = b; i < e; ++i) {
    const float *g = dy + i * c, *row = x + i * c;
    for (int64_t j = 0; j < c; ++j) {
      sdy[j] += static_cast<double>(g[j]);
      sdyx[j] += static_cast<double>(g[j] * (act<Relu>(row[j]) - mean[j]));
    }
  }
}
FA_BN1D_CLONES void grad_sums_rows(const float* dy, const float* x, int64_t b, int64_t e, int64_t c, const float* mean,
                                   double* sdy, double* sdyx, bool relu) noexcept {
  relu ? grad_sums_rows_t<true>(dy, x, b, e, c, mean, sdy, sdyx) : grad_sums_rows_t<false>(dy, x, b, e, c, mean, sdy, sdyx);
}

/// dx[i][j] = k[j] * (dy[i][j] - a[j] - (v(x[i][j]) - mean[j]) * bb[j]), and 0 where relu cut x.
template <bool Relu>
FA_BN1D_INLINE void grad_input_rows_t(const float* __restrict dy, const float* __restrict x, int64_t b, int64_t e, int64_t c,
                                      const float* __restrict mean, const float* __restrict k, const float* __restrict a,
                                      const float* __restrict bb, float* __restrict dx) noexcept {
  for (int64_t i = b; i < e; ++i) {
    const float *g = dy + i * c, *row = x + i * c;
    float* out = dx + i * c;
    for (int64_t j = 0; j < c; ++j) {
      const float v = k[j] * (g[j] - a[j] - (act<Relu>(row[j]) - mean[j]) * bb[j]);
      if constexpr (Relu) {
        out[j] = where_positive(row[j], v);
      } else {
        out[j] = v;
      }
    }
  }
}
FA_BN1D_CLONES void grad_input_rows(const float* dy, const float* x, int64_t b, int64_t e, int64_t c, const float* mean,
                                    const float* k, const float* a, const float* bb, float* dx, bool relu) noexcept {
  relu ? grad_input_rows_t<true>(dy, x, b, e, c, mean, k, a, bb, dx)
       : grad_input_rows_t<false>(dy, x, b, e, c, mean, k, a, bb, dx);
}

/// Column sums over the rows of what rows_fn(b, e, acc) adds for rows [b, e), chunked over threads:
/// `per` accumulators of c doubles per chunk, summed in chunk order into out (per * c doubles).
template <class RowsFn>
std::vector<double> column_sums(int64_t n, int64_t c, int per, const RowsFn& rows_fn) {
  const int64_t chunks = n_chunks(n, c);
  std::vector<double> acc(static_cast<size_t>(chunks * per * c), 0.);
  for_chunks(n, chunks, [&](int64_t k, int64_t b, int64_t e) {
    rows_fn(b, e, acc.data() + k * per * c);
  });
  std::vector<double> out(acc.begin(), acc.begin() + per * c);
  for (int64_t k = 1; k < chunks; ++k)
    for (int64_t j = 0; j < per * c; ++j) out[static_cast<size_t>(j)] += acc[static_cast<size_t>(k * per * c + j)];
  return out;
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// relu (optional) + training-mode batch norm of a contiguous float [N, C] CPU tensor.
struct ReluBatchNorm1dFn : public torch::autograd::Function<ReluBatchNorm1dFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                            at::Tensor running_mean, at::Tensor running_var, double momentum, double eps, bool relu) {
    const int64_t n = x.size(0), c = x.size(1);
    const float* xp = x.data_ptr<float>();
    const std::vector<double> sums =
        column_sums(n, c, 1, [&](int64_t b0, int64_t e0, double* a) { add_rows(xp, b0, e0, c, a, relu); });
    at::Tensor mean = at::empty({c}, x.options()), invstd = at::empty({c}, x.options());
    float* mp = mean.data_ptr<float>();
    for (int64_t j = 0; j < c; ++j) mp[j] = static_cast<float>(sums[static_cast<size_t>(j)] / static_cast<double>(n));
    const std::vector<double> sq =
        column_sums(n, c, 1, [&](int64_t b0, int64_t e0, double* a) { add_sq_rows(xp, b0, e0, c, mp, a, relu); });

    at::Tensor scale = at::empty({c}, x.options()), shift = at::empty({c}, x.options());
    float *ip = invstd.data_ptr<float>(), *sp = scale.data_ptr<float>(), *hp = shift.data_ptr<float>();
    const at::Tensor w = weight.contiguous().to(at::kFloat), b = bias.contiguous().to(at::kFloat);
    const float *wp = w.data_ptr<float>(), *bp = b.data_ptr<float>();
    std::vector<double> var_unbiased(static_cast<size_t>(c));
    for (int64_t j = 0; j < c; ++j) {
      const double var = sq[static_cast<size_t>(j)] / static_cast<double>(n);
      var_unbiased[static_cast<size_t>(j)] = sq[static_cast<size_t>(j)] / static_cast<double>(n - 1);
      ip[j] = static_cast<float>(1. / std::sqrt(var + eps));
      sp[j] = wp[j] * ip[j];
      hp[j] = bp[j] - mp[j] * sp[j];
    }
    at::Tensor y = at::empty_like(x);
    float* yp = y.data_ptr<float>();
    for_chunks(n, n_chunks(n, c), [&](int64_t, int64_t b0, int64_t e0) {
      affine_rows(xp, b0, e0, c, sp, hp, yp, relu);
    });
    {  // running stats, as BatchNorm: (1 - momentum) * old + momentum * batch (unbiased variance)
      const at::Tensor vu = at::from_blob(var_unbiased.data(), {c}, at::kDouble).to(running_var.scalar_type());
      running_mean.mul_(1. - momentum).add_(mean.to(running_mean.scalar_type()), momentum);
      running_var.mul_(1. - momentum).add_(vu, momentum);
    }
    ctx->save_for_backward({x, weight, mean, invstd});
    ctx->saved_data["relu"] = relu;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor w = saved[1].contiguous().to(at::kFloat), &mean = saved[2], &invstd = saved[3];
    const bool relu = ctx->saved_data["relu"].toBool();
    const at::Tensor dy = grads[0].contiguous();
    const int64_t n = x.size(0), c = x.size(1);
    const float *xp = x.data_ptr<float>(), *dyp = dy.data_ptr<float>(), *mp = mean.data_ptr<float>();
    const float *ip = invstd.data_ptr<float>(), *wp = w.data_ptr<float>();
    const std::vector<double> s = column_sums(n, c, 2, [&](int64_t b0, int64_t e0, double* a) {
      grad_sums_rows(dyp, xp, b0, e0, c, mp, a, a + c, relu);
    });
    at::Tensor dweight = at::empty({c}, x.options()), dbias = at::empty({c}, x.options());
    at::Tensor k = at::empty({c}, x.options()), ka = at::empty({c}, x.options()), kb = at::empty({c}, x.options());
    float *dwp = dweight.data_ptr<float>(), *dbp = dbias.data_ptr<float>();
    float *kp = k.data_ptr<float>(), *ap = ka.data_ptr<float>(), *bp = kb.data_ptr<float>();
    const double nn = static_cast<double>(n);
    for (int64_t j = 0; j < c; ++j) {
      const double sdy = s[static_cast<size_t>(j)], sdyx = s[static_cast<size_t>(c + j)], is = ip[j];
      dbp[j] = static_cast<float>(sdy);
      dwp[j] = static_cast<float>(sdyx * is);
      kp[j] = wp[j] * ip[j];
      ap[j] = static_cast<float>(sdy / nn);
      bp[j] = static_cast<float>(sdyx * is * is / nn);
    }
    at::Tensor dx;
    if (ctx->needs_input_grad(0)) {
      dx = at::empty_like(x);
      float* dxp = dx.data_ptr<float>();
      for_chunks(n, n_chunks(n, c), [&](int64_t, int64_t b0, int64_t e0) {
        grad_input_rows(dyp, xp, b0, e0, c, mp, kp, ap, bp, dxp, relu);
      });
    }
    const at::Tensor& wt = saved[1];
    return {dx,
            ctx->needs_input_grad(1) ? dweight.to(wt.scalar_type()) : at::Tensor(),
            ctx->needs_input_grad(2) ? dbias.to(wt.scalar_type()) : at::Tensor(),
            at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

bool fast_path(const at::Tensor& x, const torch::nn::BatchNorm1dImpl& bn) {
  const auto& o = bn.options;
  return bn.is_training() && x.dim() == 2 && x.size(0) > 1 && x.device().is_cpu() && x.scalar_type() == at::kFloat &&
         o.affine() && o.track_running_stats() && o.momentum().has_value() && bn.weight.defined() &&
         bn.weight.device().is_cpu() && bn.running_mean.defined() && bn.running_var.defined();
}

}  // namespace bn1d_detail

at::Tensor batch_norm_1d(const at::Tensor& x, torch::nn::BatchNorm1dImpl& bn, bool relu_first) {
  FA_CHECK(x.defined() && (x.dim() == 2 || x.dim() == 3) && x.size(1) == bn.options.num_features(),
           "BatchNorm1d(", bn.options.num_features(), "): expected input of shape [bs, ", bn.options.num_features(),
           "] or [bs, ", bn.options.num_features(), ", l], got ",
           x.defined() ? c10::str(x.sizes()) : std::string("an undefined tensor"));
  FA_CHECK(!bn.is_training() || x.numel() / x.size(1) > 1, "BatchNorm1d(", bn.options.num_features(),
           "): expected more than one value per channel when training, got input of shape ", x.sizes());
  if (!bn1d_detail::fast_path(x, bn)) return bn.forward(relu_first ? torch::relu(x) : x);
  {
    torch::NoGradGuard no_grad;
    bn.num_batches_tracked.add_(1);
  }
  return bn1d_detail::ReluBatchNorm1dFn::apply(x.contiguous(), bn.weight, bn.bias, bn.running_mean, bn.running_var,
                                               *bn.options.momentum(), bn.options.eps(), relu_first);
}

}  // namespace fastai
