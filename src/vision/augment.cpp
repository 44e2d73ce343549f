// The geometric engine of the vision item transforms: crop / pad (by index maps, any dtype),
// resize (bilinear with antialias for images, nearest for masks), dihedral ops, and the matching
// moves of points and boxes. The plans (which window, which flip) are in augment_tfms.cpp. uint8
// images are resized by a separable kernel of our own (resize_kernel.cpp; LibTorch's antialiased
// bilinear works in float and was most of an item's time); EncodedImage items are decoded only as
// far as the plan needs (lazy_raster).
#include "fastai/vision/augment.h"

#include "fastai/core/error.h"
#include "fastai/vision/image.h"
#include "resize_kernel.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace fastai {
namespace augment_detail {


std::string shape_of(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) {
    if (i) s += ", ";
    s += std::to_string(t.size(i));
  }
  s += "]";
  return s;
}

// Source indices of positions start..start+len-1 along an axis of n pixels, and which are inside.
std::pair<at::Tensor, at::Tensor> index_map(int64_t start, int64_t len, int64_t n, PadMode mode) {
  std::vector<int64_t> idx(static_cast<std::size_t>(len));
  std::vector<uint8_t> ok(static_cast<std::size_t>(len));
  for (int64_t i = 0; i < len; ++i) {
    int64_t j = start + i;
    bool in = j >= 0 && j < n;
    if (!in) {
      if (mode == PadMode::Reflection && n > 1) {  // numpy/PIL 'reflect': the edge is not repeated
        const int64_t p = 2 * (n - 1);
        j = ((j % p) + p) % p;
        if (j >= n) j = p - j;
      } else {
        j = j < 0 ? 0 : n - 1;
      }
    }
    idx[static_cast<std::size_t>(i)] = j;
    ok[static_cast<std::size_t>(i)] = in ? 1 : 0;
  }
  auto ti = at::tensor(idx, at::kLong);
  auto tk = at::tensor(std::vector<int64_t>(ok.begin(), ok.end()), at::kLong).to(at::kBool);
  return {ti, tk};
}

// PIL's nearest: source floor((i + 0.5) * n / out).
at::Tensor nearest_map(int64_t out, int64_t n) {
  std::vector<int64_t> idx(static_cast<std::size_t>(out));
  for (int64_t i = 0; i < out; ++i) {
    auto j = static_cast<int64_t>(std::floor((static_cast<double>(i) + 0.5) * static_cast<double>(n) / static_cast<double>(out)));
    idx[static_cast<std::size_t>(i)] = std::min(j, n - 1);
  }
  return at::tensor(idx, at::kLong);
}

// Crop/pad then resize a tensor [..., H, W]; with flip_w, mirrored left-right after (folded into the
// uint8 resize's last write when there is one).
at::Tensor crop_pad_resize(const at::Tensor& x, const GeomStep& s, bool nearest, bool flip_w = false) {
  const int64_t H = x.size(-2), W = x.size(-1);
  at::Tensor y;
  if (s.top >= 0 && s.left >= 0 && s.top + s.crop_h <= H && s.left + s.crop_w <= W) {
    y = x.narrow(-2, s.top, s.crop_h).narrow(-1, s.left, s.crop_w);
  } else {
    auto [ri, rok] = index_map(s.top, s.crop_h, H, s.pad);
    auto [ci, cok] = index_map(s.left, s.crop_w, W, s.pad);
    y = x.index_select(-2, ri).index_select(-1, ci);
    if (s.pad == PadMode::Zeros) y = y.masked_fill(at::logical_not(rok.unsqueeze(1).logical_and(cok.unsqueeze(0))), 0);
  }
  const bool same = s.out_h == s.crop_h && s.out_w == s.crop_w;
  if (!same && !nearest && x.scalar_type() == at::kByte && x.device().is_cpu())
    return vision_resize::resize_u8(y, s.out_h, s.out_w, flip_w);
  at::Tensor r;
  if (same) {
    r = y.contiguous();
  } else if (nearest) {
    r = y.index_select(-2, nearest_map(s.out_h, s.crop_h)).index_select(-1, nearest_map(s.out_w, s.crop_w));
  } else {
    const bool fl = at::isFloatingType(x.scalar_type());
    r = at::_upsample_bilinear2d_aa(y.to(fl ? x.scalar_type() : at::kFloat).unsqueeze(0), {s.out_h, s.out_w}, false).squeeze(0);
    if (!fl) r = r.round_().clamp_(0, 255).to(x.scalar_type());
  }
  return flip_w ? r.flip({-1}) : r;
}

at::Tensor dihedral(at::Tensor t, int k) {
  if (k & 1) t = t.flip({-1});
  if (k & 2) t = t.flip({-2});
  if (k & 4) t = t.transpose(-2, -1).contiguous();
  return t;
}

at::Tensor step_raster(const at::Tensor& t, const GeomStep& s, bool nearest) {
  return dihedral(crop_pad_resize(t, s, nearest), s.k);
}

// Points [n,2] (x, y) through a step; (w, h) is the size before the step.
at::Tensor step_points(at::Tensor p, const GeomStep& s) {
  auto x = (p.select(1, 0) - static_cast<double>(s.left)) * (static_cast<double>(s.out_w) / static_cast<double>(s.crop_w));
  auto y = (p.select(1, 1) - static_cast<double>(s.top)) * (static_cast<double>(s.out_h) / static_cast<double>(s.crop_h));
  if (s.k & 1) x = static_cast<double>(s.out_w) - x;
  if (s.k & 2) y = static_cast<double>(s.out_h) - y;
  if (s.k & 4) std::swap(x, y);
  return at::stack({x, y}, 1);
}

// True when the steps only apply dihedral ops to the whole h x w image (FlipItem, DihedralItem).
bool pure_dihedral(const std::vector<GeomStep>& steps, int64_t h, int64_t w) {
  for (const auto& s : steps) {
    if (s.top != 0 || s.left != 0 || s.crop_h != h || s.crop_w != w || s.out_h != h || s.out_w != w) return false;
    if (s.k & 4) std::swap(h, w);
  }
  return true;
}

GeomStep dihedral_step(int64_t h, int64_t w, int k) { return GeomStep{0, 0, h, w, h, w, PadMode::Zeros, k}; }

// An EncodedImage through `steps` (planned on its current size): only the first step's window is
// decoded, at the DCT scale its output size allows. The pending dihedral ops commute with crop and
// resize, so the window is mapped back to stored coordinates and the ops run after the resize.
at::Tensor lazy_raster(const EncodedImage& e, const std::vector<GeomStep>& steps) {
  const GeomStep& s0 = steps.front();
  std::vector<std::pair<int64_t, int64_t>> sizes;  // the size before each pending op
  int64_t h = e.h, w = e.w;
  for (int k : e.pending) {
    sizes.emplace_back(h, w);
    if (k & 4) std::swap(h, w);
  }
  int64_t t = s0.top, l = s0.left, ch = s0.crop_h, cw = s0.crop_w, oh = s0.out_h, ow = s0.out_w;
  for (size_t i = e.pending.size(); i-- > 0;) {
    const int k = e.pending[i];
    if (k & 4) {
      std::swap(t, l);
      std::swap(ch, cw);
      std::swap(oh, ow);
    }
    if (k & 2) t = sizes[i].first - t - ch;
    if (k & 1) l = sizes[i].second - l - cw;
  }
  // A window reaching outside pads from the image's edges: decode all of it (at the window's scale).
  const bool inside = t >= 0 && l >= 0 && t + ch <= e.h && l + cw <= e.w;
  const DecodeHint hint{.top = t, .left = l, .crop_h = ch, .crop_w = cw, .min_h = oh, .min_w = ow, .crop = inside};
  DecodedRegion g;
  at::Tensor v = decode_image_region(e.bytes->data(), e.bytes->size(), e.name, e.mode, hint, &g).data;
  const double sc = g.scale();
  const auto scaled = [sc](int64_t x) { return static_cast<int64_t>(std::llround(static_cast<double>(x) * sc)); };
  GeomStep first{scaled(t) - g.top, scaled(l) - g.left, std::max<int64_t>(1, scaled(ch)),
                 std::max<int64_t>(1, scaled(cw)), oh, ow, s0.pad, 0};
  if (inside) {  // rounding must not push the window past the decoded pixels (that would pad)
    first.crop_h = std::min(first.crop_h, g.h);
    first.crop_w = std::min(first.crop_w, g.w);
    first.top = std::clamp<int64_t>(first.top, 0, g.h - first.crop_h);
    first.left = std::clamp<int64_t>(first.left, 0, g.w - first.crop_w);
  }
  std::vector<int> ks = e.pending;
  ks.push_back(s0.k);
  // Left-right flips alone (FlipItem) fold into the resize's last write.
  const bool flips_only = std::all_of(ks.begin(), ks.end(), [](int k) { return k == 0 || k == 1; });
  const bool flip_w = flips_only && std::count(ks.begin(), ks.end(), 1) % 2 == 1;
  if (flips_only) ks.clear();
  v = crop_pad_resize(v, first, false, flip_w);
  int64_t ch2 = oh, cw2 = ow;
  for (int k : ks) {
    if (k == 0) continue;
    v = step_raster(v, dihedral_step(ch2, cw2, k), false);
    if (k & 4) std::swap(ch2, cw2);
  }
  for (size_t i = 1; i < steps.size(); ++i) v = step_raster(v, steps[i], false);
  return v;
}

struct Ctx {
  const AugmentTransform& t;
  const std::vector<GeomStep>& steps;
  int64_t h, w;
};

void check_hw(const Ctx& c, const at::Tensor& t, const char* kind) {
  FA_CHECK(t.size(-2) == c.h && t.size(-1) == c.w, c.t.name(), ": the ", kind, " of shape ", shape_of(t),
           " does not match the sample's size (h, w) = (", c.h, ", ", c.w, ")");
}

void check_rank(const std::string& who, const at::Tensor& t, int64_t rank, const char* kind, const char* want) {
  FA_CHECK(t.defined() && t.dim() == rank, who, ": a ", kind, " must be ", want, ", got shape ",
           t.defined() ? shape_of(t) : std::string("(undefined)"));
}

Item map_item(const Ctx& c, const Item& x) {
  if (x.empty()) return x;
  if (x.type() == typeid(Tuple)) {
    Tuple out;
    for (const auto& e : x.get<Tuple>()) out.push_back(map_item(c, e));
    return Item::make<Tuple>(std::move(out));
  }
  if (x.type() == typeid(EncodedImage)) {  // before is<TensorImage>(), which would decode it
    const auto& e = x.get<EncodedImage>();
    const auto [h, w] = e.size();
    FA_CHECK(h == c.h && w == c.w, c.t.name(), ": the image ", e.name, " of size (h, w) = (", h, ", ", w,
             ") does not match the sample's size (h, w) = (", c.h, ", ", c.w, ")");
    if (e.is_decoded()) {
      at::Tensor v = e.decoded().data;
      for (const auto& s : c.steps) v = step_raster(v, s, false);
      return Item(TensorImage(std::move(v)));
    }
    if (pure_dihedral(c.steps, c.h, c.w)) {  // a flip: recorded, still not decoded
      std::vector<int> ks;
      for (const auto& s : c.steps) ks.push_back(s.k);
      return Item::make<EncodedImage>(e.with_pending(ks));
    }
    return Item(TensorImage(lazy_raster(e, c.steps)));
  }
  if (x.is<TensorImage>() || x.is<TensorMask>()) {
    const bool mask = x.is<TensorMask>();
    auto v = mask ? static_cast<const TensorBase&>(x.get<TensorMask>()) : static_cast<const TensorBase&>(x.get<TensorImage>());
    check_hw(c, v.data, mask ? "mask" : "image");
    for (const auto& s : c.steps) v.data = step_raster(v.data, s, mask);
    if (mask) {
      TensorMask m(v.data);
      return retain_type(Item(m), x);
    }
    TensorImage im(v.data);
    return retain_type(Item(im), x);
  }
  if (x.is<TensorPoint>()) {
    const bool box = x.is<TensorBBox>();
    TensorPoint p = box ? static_cast<const TensorPoint&>(x.get<TensorBBox>()) : x.get<TensorPoint>();
    at::Tensor d = p.data;
    if (!at::isFloatingType(d.scalar_type())) d = d.to(at::kFloat);
    d = d.reshape({-1, 2});
    int64_t cw = c.w, ch = c.h;
    for (const auto& s : c.steps) {
      d = step_points(d, s);
      cw = s.out_w, ch = s.out_h;
      if (s.k & 4) std::swap(cw, ch);
    }
    if (box) {
      d = d.reshape({-1, 4});
      auto x0 = at::minimum(d.select(1, 0), d.select(1, 2)).clamp(0, static_cast<double>(cw));
      auto x1 = at::maximum(d.select(1, 0), d.select(1, 2)).clamp(0, static_cast<double>(cw));
      auto y0 = at::minimum(d.select(1, 1), d.select(1, 3)).clamp(0, static_cast<double>(ch));
      auto y1 = at::maximum(d.select(1, 1), d.select(1, 3)).clamp(0, static_cast<double>(ch));
      TensorBBox b(at::stack({x0, y0, x1, y1}, 1), {cw, ch});
      return retain_type(Item(b), x);
    }
    TensorPoint r(d, {cw, ch});
    return retain_type(Item(r), x);
  }
  return x;
}

// The sample's (h, w): from its first image or mask, else from a point's img_size {w, h}.
void find_size(const std::string& who, const Item& x, std::optional<std::pair<int64_t, int64_t>>& raster,
               std::optional<std::pair<int64_t, int64_t>>& pts) {
  if (x.empty()) return;
  if (x.type() == typeid(Tuple)) {
    for (const auto& e : x.get<Tuple>()) find_size(who, e, raster, pts);
    return;
  }
  if (x.type() == typeid(EncodedImage)) {
    if (!raster) raster = x.get<EncodedImage>().size();
    return;
  }
  if (x.is<TensorImage>()) {
    const auto& t = x.get<TensorImage>().data;
    check_rank(who, t, 3, "TensorImage", "[C,H,W]");
    if (!raster) raster = std::pair{t.size(1), t.size(2)};
  } else if (x.is<TensorMask>()) {
    const auto& t = x.get<TensorMask>().data;
    check_rank(who, t, 2, "TensorMask", "[H,W]");
    if (!raster) raster = std::pair{t.size(0), t.size(1)};
  } else if (x.is<TensorPoint>()) {
    const bool box = x.is<TensorBBox>();
    const auto& p = box ? static_cast<const TensorPoint&>(x.get<TensorBBox>()) : x.get<TensorPoint>();
    const int64_t k = box ? 4 : 2;
    FA_CHECK(p.data.defined() && p.data.dim() == 2 && p.data.size(1) == k, who, ": a ", box ? "TensorBBox" : "TensorPoint",
             " must be [n,", k, "], got shape ", p.data.defined() ? shape_of(p.data) : std::string("(undefined)"));
    if (!pts && p.img_size.size() == 2) pts = std::pair{p.img_size[1], p.img_size[0]};
  }
}

}  // namespace augment_detail

Item AugmentTransform::encodes_split(const Item& x, std::optional<int> split) const {
  // call() has already skipped this transform when its split_idx does not match.
  std::optional<std::pair<int64_t, int64_t>> raster, pts;
  augment_detail::find_size(name(), x, raster, pts);
  auto hw = raster ? raster : pts;
  if (!hw) return x;
  const auto steps = plan(hw->first, hw->second, split);
  return augment_detail::map_item(augment_detail::Ctx{*this, steps, hw->first, hw->second}, x);
}

Item AugmentTransform::apply(const Item& x, std::optional<int> split) const {
  if (split_idx.has_value() && split != split_idx) return x;
  return encodes_split(x, split);
}

}  // namespace fastai
