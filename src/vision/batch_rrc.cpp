// RandomResizedCropGPU: a crop window per item (or per batch) cropped and resized in one interpolation.
#include "fastai/core/error.h"
#include "fastai/core/random.h"
#include "fastai/vision/batch_augment.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace fastai {

namespace batch_rrc_detail {

// The window fastai's RandomResizedCropGPU.before_call picks for an h x w image.
std::array<int64_t, 4> one_window(const RandomResizedCropGPUOptions& o, int64_t h, int64_t w, bool train, Rng& rng) {
  const double W = static_cast<double>(w), H = static_cast<double>(h);
  if (train) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double area = rng.uniform(o.min_scale, o.max_scale) * W * H;
      const double ratio = std::exp(rng.uniform(std::log(o.ratio.first), std::log(o.ratio.second)));
      const auto nw = static_cast<int64_t>(std::nearbyint(std::sqrt(area * ratio)));
      const auto nh = static_cast<int64_t>(std::nearbyint(std::sqrt(area / ratio)));
      if (nw <= w && nh <= h && nw > 0 && nh > 0) {
        const int64_t top = rng.randint(0, h - nh);
        const int64_t left = rng.randint(0, w - nw);
        return {top, left, nh, nw};
      }
    }
  }
  int64_t ch = h, cw = w;
  if (W / H < o.ratio.first) {
    ch = static_cast<int64_t>(W / o.ratio.first);
  } else if (W / H > o.ratio.second) {
    cw = static_cast<int64_t>(H * o.ratio.second);
  }
  if (!train) {
    ch = static_cast<int64_t>(static_cast<double>(ch) * o.valid_scale);
    cw = static_cast<int64_t>(static_cast<double>(cw) * o.valid_scale);
  }
  ch = std::max<int64_t>(ch, 1);
  cw = std::max<int64_t>(cw, 1);
  auto floordiv2 = [](int64_t a) { return a >= 0 ? a / 2 : -((-a + 1) / 2); };
  return {floordiv2(h - ch), floordiv2(w - cw), ch, cw};
}

void check(const ImageSize& size, const RandomResizedCropGPUOptions& o) {
  FA_CHECK(size.h >= 1 && size.w >= 1, "RandomResizedCropGPU: size must be >= 1 (h, w), got (", size.h, ", ", size.w, ")");
  FA_CHECK(o.min_scale > 0 && o.min_scale <= o.max_scale, "RandomResizedCropGPU: min_scale must be in (0, max_scale], got min_scale ",
           o.min_scale, " (max_scale ", o.max_scale, ")");
  FA_CHECK(o.ratio.first > 0 && o.ratio.first <= o.ratio.second, "RandomResizedCropGPU: ratio must satisfy 0 < ratio.first <= ratio.second, got (",
           o.ratio.first, ", ", o.ratio.second, ")");
  FA_CHECK(o.valid_scale > 0, "RandomResizedCropGPU: valid_scale must be > 0, got ", o.valid_scale);
}

// Batch size and h, w of the first image / mask in x (bs = -1 when none).
void geometry(const Item& x, int64_t& bs, int64_t& h, int64_t& w) {
  if (bs >= 0) return;
  if (x.is<Tuple>()) {
    for (const auto& e : x.get<Tuple>()) geometry(e, bs, h, w);
    return;
  }
  if (x.is<TensorImage>() || x.is<TensorMask>()) {
    const auto& t = tensor_of(x);
    std::string shape = c10::str(t.sizes());
    FA_CHECK(t.dim() >= 3, "RandomResizedCropGPU: expects a batch (TensorImage [B,C,H,W] or TensorMask [B,H,W]), got shape ", shape);
    bs = t.size(0), h = t.size(-2), w = t.size(-1);
  }
}

// Float TensorImage elements area-averaged by 1/d (fastai's F.interpolate(mode='area')); the rest unchanged.
Item reduce_images(const Item& x, double d) {
  if (x.is<Tuple>()) {
    Tuple out;
    for (const auto& e : x.get<Tuple>()) out.push_back(reduce_images(e, d));
    return Item::make<Tuple>(std::move(out));
  }
  if (!x.is<TensorImage>()) return x;
  const auto& t = x.get<TensorImage>().data;
  if (t.dim() != 4 || !at::isFloatingType(t.scalar_type())) return x;  // apply() reports the error
  auto n = [d](int64_t v) { return std::max<int64_t>(1, static_cast<int64_t>(std::floor(static_cast<double>(v) / d))); };
  return retain_type(Item(TensorImage(at::adaptive_avg_pool2d(t, {n(t.size(2)), n(t.size(3))}))), x);
}

}  // namespace batch_rrc_detail

RandomResizedCropGPU::RandomResizedCropGPU(ImageSize size, RandomResizedCropGPUOptions o)
    : Transform("RandomResizedCropGPU", 30, std::nullopt), size_(size), o_(std::move(o)) {
  register_batch_augment_transforms();
  rebuild();
}

void RandomResizedCropGPU::rebuild() {
  batch_rrc_detail::check(size_, o_);
  resampler_ = std::make_shared<AffineCoordTfm>(
      std::vector<AffineOp>{},
      AffineCoordOptions{.mode = o_.mode, .pad_mode = "reflection", .align_corners = true, .batch = false, .size = size_,
                         .antialias = false});
}

std::vector<std::array<int64_t, 4>> RandomResizedCropGPU::draw_windows(int64_t bs, int64_t h, int64_t w, bool train) const {
  Rng& rng = thread_rng();
  std::vector<std::array<int64_t, 4>> out;
  out.reserve(static_cast<std::size_t>(std::max<int64_t>(bs, 0)));
  for (int64_t i = 0; i < bs; ++i) {
    if (o_.batch && i > 0) out.push_back(out.front());
    else out.push_back(batch_rrc_detail::one_window(o_, h, w, train, rng));
  }
  return out;
}

at::Tensor RandomResizedCropGPU::window_maps(const std::vector<std::array<int64_t, 4>>& windows, int64_t h, int64_t w) {
  // align_corners: output u in -1..1 spans the window's first..last pixel centres; input pixel c is
  // at -1 + 2c/(n-1). So x = s u + t with s = (cw-1)/(w-1), t = (2 left + cw - 1)/(w-1) - 1.
  auto axis = [](int64_t start, int64_t len, int64_t n, double& s, double& t) {
    if (n <= 1) {
      s = 1.0, t = 0.0;
      return;
    }
    const double d = static_cast<double>(n - 1);
    s = static_cast<double>(len - 1) / d;
    t = (2.0 * static_cast<double>(start) + static_cast<double>(len - 1)) / d - 1.0;
  };
  std::vector<double> flat;
  flat.reserve(windows.size() * 9);
  for (const auto& win : windows) {
    double sx = 1, tx = 0, sy = 1, ty = 0;
    axis(win[1], win[3], w, sx, tx);
    axis(win[0], win[2], h, sy, ty);
    for (double v : {sx, 0.0, tx, 0.0, sy, ty, 0.0, 0.0, 1.0}) flat.push_back(v);
  }
  return at::tensor(flat, at::kDouble).view({static_cast<int64_t>(windows.size()), 3, 3});
}

Item RandomResizedCropGPU::apply(const Item& x, const at::Tensor& maps) const { return resampler_->apply(x, maps); }

Item RandomResizedCropGPU::encodes_split(const Item& x, std::optional<int> split) const {
  int64_t bs = -1, h = 1, w = 1;
  batch_rrc_detail::geometry(x, bs, h, w);
  if (bs < 0) return x;
  const auto windows = draw_windows(bs, h, w, split == 0);
  // fastai resizes the sliced crop with _grid_sample's area pre-pass when the crop is more than 2x
  // the output: the same factor here (the smallest over the batch's windows), on the whole images.
  double d = 1e300;
  for (const auto& win : windows)
    d = std::min(d, std::min(static_cast<double>(win[2]) / static_cast<double>(size_.h),
                             static_cast<double>(win[3]) / static_cast<double>(size_.w)) / 2.0);
  if (o_.mode == "bilinear" && d > 1) return apply(batch_rrc_detail::reduce_images(x, d), window_maps(windows, h, w));
  return apply(x, window_maps(windows, h, w));
}

nlohmann::json RandomResizedCropGPU::state() const {
  return {{"size", {size_.h, size_.w}},
          {"min_scale", o_.min_scale},
          {"ratio", {o_.ratio.first, o_.ratio.second}},
          {"mode", o_.mode},
          {"valid_scale", o_.valid_scale},
          {"max_scale", o_.max_scale},
          {"batch", o_.batch}};
}

void RandomResizedCropGPU::load_state(const nlohmann::json& s) {
  if (s.contains("size")) {
    const auto& z = s.at("size");
    FA_CHECK(z.is_array() && z.size() == 2, "RandomResizedCropGPU: state 'size' must be [h, w], got ", z.dump());
    size_ = ImageSize(z[0].get<int64_t>(), z[1].get<int64_t>());
  }
  o_.min_scale = s.value("min_scale", o_.min_scale);
  if (s.contains("ratio")) {
    const auto& r = s.at("ratio");
    FA_CHECK(r.is_array() && r.size() == 2, "RandomResizedCropGPU: state 'ratio' must be [lo, hi], got ", r.dump());
    o_.ratio = {r[0].get<double>(), r[1].get<double>()};
  }
  o_.mode = s.value("mode", o_.mode);
  o_.valid_scale = s.value("valid_scale", o_.valid_scale);
  o_.max_scale = s.value("max_scale", o_.max_scale);
  o_.batch = s.value("batch", o_.batch);
  rebuild();
}

}  // namespace fastai
