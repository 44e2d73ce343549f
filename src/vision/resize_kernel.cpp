// The uint8 antialiased resize: a vertical pass over contiguous rows into float, a blocked
// transpose, the horizontal pass again over contiguous rows, a vectorised round + clamp to uint8,
// and a blocked byte transpose back (optionally mirrored). Every inner loop runs over contiguous
// memory; the plane function is compiled for AVX2 too and picked at load time.
#include "resize_kernel.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace fastai::vision_resize {
namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FA_RESIZE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FA_RESIZE_CLONES
#endif
#define FA_RESIZE_INLINE inline __attribute__((always_inline))

// Antialiased bilinear taps along one axis, n -> m pixels (PIL's and at::_upsample_bilinear2d_aa's
// kernel: a triangle widened by the downscale factor, centres at (i + 0.5) * n / m, normalised).
struct Taps {
  std::vector<int64_t> start, size;
  std::vector<float> w;  // [m][k]
  int64_t k = 0;
};

Taps aa_taps(int64_t n, int64_t m) {
  Taps t;
  const double scale = static_cast<double>(n) / static_cast<double>(m);
  const double support = scale >= 1.0 ? scale : 1.0;
  const double inv = scale >= 1.0 ? 1.0 / scale : 1.0;
  t.k = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  t.start.resize(static_cast<size_t>(m));
  t.size.resize(static_cast<size_t>(m));
  t.w.assign(static_cast<size_t>(m * t.k), 0.0f);
  std::vector<double> ws(static_cast<size_t>(t.k));
  for (int64_t i = 0; i < m; ++i) {
    const double centre = scale * (static_cast<double>(i) + 0.5);
    const int64_t lo = std::max<int64_t>(static_cast<int64_t>(centre - support + 0.5), 0);
    const int64_t sz = std::min<int64_t>(std::min<int64_t>(static_cast<int64_t>(centre + support + 0.5), n) - lo, t.k);
    double total = 0;
    for (int64_t j = 0; j < sz; ++j) {
      const double v = 1.0 - std::abs((static_cast<double>(j + lo) - centre + 0.5) * inv);
      ws[static_cast<size_t>(j)] = v > 0 ? v : 0.0;
      total += ws[static_cast<size_t>(j)];
    }
    t.start[static_cast<size_t>(i)] = lo;
    t.size[static_cast<size_t>(i)] = sz;
    for (int64_t j = 0; j < sz; ++j)
      t.w[static_cast<size_t>(i * t.k + j)] = static_cast<float>(total > 0 ? ws[static_cast<size_t>(j)] / total : 0.0);
  }
  return t;
}

// out[i][:] = sum_j w[i][j] * in[start[i] + j][:] for rows of `len` values (a pass along the slow
// axis).
template <class T>
FA_RESIZE_INLINE void rows_pass(const T* __restrict in, int64_t len, const Taps& t, int64_t m, float* __restrict out) {
  for (int64_t i = 0; i < m; ++i) {
    float* __restrict o = out + i * len;
    const float* w = t.w.data() + i * t.k;
    if (t.size[static_cast<size_t>(i)] == 0) {  // not produced by aa_taps (every window holds a pixel); kept safe
      std::fill(o, o + len, 0.0f);
      continue;
    }
    const T* __restrict r0 = in + t.start[static_cast<size_t>(i)] * len;
    const float w0 = w[0];
    for (int64_t c = 0; c < len; ++c) o[c] = w0 * static_cast<float>(r0[c]);
    for (int64_t j = 1; j < t.size[static_cast<size_t>(i)]; ++j) {
      const T* __restrict r = r0 + j * len;
      const float wj = w[j];
      for (int64_t c = 0; c < len; ++c) o[c] += wj * static_cast<float>(r[c]);
    }
  }
}

// out[c * rows + r] = in[r * cols + c], in tiles that stay in L1; with mirror, out[c * rows +
// rows - 1 - r] (each output row reversed).
template <class T>
FA_RESIZE_INLINE void transpose(const T* __restrict in, int64_t rows, int64_t cols, T* __restrict out, bool mirror) {
  constexpr int64_t kTile = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
    const int64_t r1 = std::min(r0 + kTile, rows);
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      const int64_t c1 = std::min(c0 + kTile, cols);
      for (int64_t c = c0; c < c1; ++c) {
        T* __restrict o = out + c * rows;
        if (mirror) {
          for (int64_t r = r0; r < r1; ++r) o[rows - 1 - r] = in[r * cols + c];
        } else {
          for (int64_t r = r0; r < r1; ++r) o[r] = in[r * cols + c];
        }
      }
    }
  }
}

// Rounds half up and clamps to [0, 255] (integer min / max, which vectorise; no libm call).
FA_RESIZE_INLINE void to_u8(const float* __restrict in, int64_t n, uint8_t* __restrict out) {
  for (int64_t i = 0; i < n; ++i) {
    int v = static_cast<int>(in[i] + 0.5f);  // truncation: anything below 0.5 ends at <= 0
    v = v < 0 ? 0 : v;
    v = v > 255 ? 255 : v;
    out[i] = static_cast<uint8_t>(v);
  }
}

struct Scratch {
  std::vector<float> a, at, b;
  std::vector<uint8_t> bt;
};

FA_RESIZE_CLONES void resize_plane(const uint8_t* in, int64_t w, const Taps& tv, const Taps& th, int64_t oh,
                                   int64_t ow, bool flip_w, Scratch& s, uint8_t* out) {
  rows_pass(in, w, tv, oh, s.a.data());             // [oh, w]
  transpose(s.a.data(), oh, w, s.at.data(), false);  // [w, oh]
  rows_pass(s.at.data(), oh, th, ow, s.b.data());    // [ow, oh]
  to_u8(s.b.data(), ow * oh, s.bt.data());           // [ow, oh]
  transpose(s.bt.data(), ow, oh, out, flip_w);       // [oh, ow]
}

}  // namespace

at::Tensor resize_u8(const at::Tensor& x, int64_t oh, int64_t ow, bool flip_w) {
  const int64_t H = x.size(-2), W = x.size(-1);
  auto sizes = x.sizes().vec();
  const at::Tensor src = x.contiguous().view({-1, H, W});
  const int64_t L = src.size(0);
  const Taps th = aa_taps(W, ow), tv = aa_taps(H, oh);
  Scratch s;
  s.a.resize(static_cast<size_t>(oh * W));
  s.at.resize(static_cast<size_t>(W * oh));
  s.b.resize(static_cast<size_t>(ow * oh));
  s.bt.resize(static_cast<size_t>(ow * oh));
  sizes[sizes.size() - 2] = oh;
  sizes[sizes.size() - 1] = ow;
  at::Tensor out = at::empty(sizes, x.options());
  const uint8_t* in = src.data_ptr<uint8_t>();
  uint8_t* o = out.data_ptr<uint8_t>();
  for (int64_t l = 0; l < L; ++l) resize_plane(in + l * H * W, W, tv, th, oh, ow, flip_w, s, o + l * oh * ow);
  return out;
}

}  // namespace fastai::vision_resize
