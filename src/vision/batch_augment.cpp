// AffineCoordTfm: per-item affine + perspective maps merged into one grid, one interpolation.
#include "fastai/vision/batch_augment.h"

#include "fastai/core/error.h"
#include "fastai/core/random.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <utility>

namespace fastai {

namespace batch_aug_detail {

using Mat3 = std::array<double, 9>;  // row-major 3x3

Mat3 eye3() { return {1, 0, 0, 0, 1, 0, 0, 0, 1}; }

Mat3 mul3(const Mat3& a, const Mat3& b) {
  Mat3 r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) r[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
  return r;
}

// The homography H with H(src_i) = dst_i for 4 point pairs (8x8 Gaussian elimination).
Mat3 homography(const std::array<std::array<double, 2>, 4>& src, const std::array<std::array<double, 2>, 4>& dst) {
  double m[8][9] = {};
  for (int i = 0; i < 4; ++i) {
    double u = src[i][0], v = src[i][1], X = dst[i][0], Y = dst[i][1];
    double r0[9] = {u, v, 1, 0, 0, 0, -u * X, -v * X, X};
    double r1[9] = {0, 0, 0, u, v, 1, -u * Y, -v * Y, Y};
    for (int j = 0; j < 9; ++j) m[2 * i][j] = r0[j], m[2 * i + 1][j] = r1[j];
  }
  for (int c = 0; c < 8; ++c) {
    int piv = c;
    for (int r = c + 1; r < 8; ++r)
      if (std::abs(m[r][c]) > std::abs(m[piv][c])) piv = r;
    for (int j = 0; j < 9; ++j) std::swap(m[c][j], m[piv][j]);
    FA_CHECK(std::abs(m[c][c]) > 1e-12, "Warp: degenerate corner offsets (magnitude too large?)");
    for (int r = 0; r < 8; ++r) {
      if (r == c) continue;
      double f = m[r][c] / m[c][c];
      for (int j = c; j < 9; ++j) m[r][j] -= f * m[c][j];
    }
  }
  Mat3 h{};
  for (int i = 0; i < 8; ++i) h[static_cast<std::size_t>(i)] = m[i][8] / m[i][i];
  h[8] = 1.0;
  return h;
}

// One op's matrix for one item (`on`: whether the item gets it; the values are drawn anyway so
// that the stream of draws does not depend on the outcomes).
Mat3 op_matrix(const AffineOp& op, Rng& rng, bool& is_warp) {
  bool on = rng.bernoulli(op.p);
  is_warp = false;
  if (op.kind == "flip") return on ? Mat3{-1, 0, 0, 0, 1, 0, 0, 0, 1} : eye3();
  if (op.kind == "dihedral") {
    int64_t k = rng.randint(0, 7);
    if (!on) k = 0;
    double fx = (k & 1) ? -1 : 1, fy = (k & 2) ? -1 : 1;
    if (k & 4) return {0, fx, 0, fy, 0, 0, 0, 0, 1};
    return {fx, 0, 0, 0, fy, 0, 0, 0, 1};
  }
  if (op.kind == "rotate") {
    double t = rng.uniform(-op.a, op.a) * std::numbers::pi / 180.0;
    if (!on) t = 0;
    return {std::cos(t), -std::sin(t), 0, std::sin(t), std::cos(t), 0, 0, 0, 1};
  }
  if (op.kind == "zoom") {
    double s = 1.0 / rng.uniform(op.a, op.b), cx = rng.uniform(), cy = rng.uniform();
    if (!on) s = 1.0;
    return {s, 0, (1 - s) * (2 * cx - 1), 0, s, (1 - s) * (2 * cy - 1), 0, 0, 1};
  }
  if (op.kind == "warp") {
    is_warp = true;
    double x = rng.uniform(-op.a, op.a), y = rng.uniform(-op.a, op.a);
    if (!on) x = y = 0;
    std::array<std::array<double, 2>, 4> orig{{{-1, -1}, {-1, 1}, {1, -1}, {1, 1}}};
    std::array<std::array<double, 2>, 4> targ{{{-1 - y, -1 - x}, {-1 + y, 1 + x}, {1 + y, -1 + x}, {1 - y, 1 - x}}};
    return homography(targ, orig);  // grid coords -> H(coords), H(targ) = orig (fastai's direction)
  }
  fail("AffineCoordTfm: unknown op kind '", op.kind, "' (flip, dihedral, rotate, zoom, warp)");
}

int64_t interp_code(const std::string& m) {
  if (m == "bilinear") return 0;
  if (m == "nearest") return 1;
  if (m == "bicubic") return 2;
  fail("AffineCoordTfm: unknown mode '", m, "' (bilinear, nearest, bicubic)");
}
int64_t pad_code(const std::string& m) {
  if (m == "zeros") return 0;
  if (m == "border") return 1;
  if (m == "reflection") return 2;
  fail("AffineCoordTfm: unknown pad_mode '", m, "' (zeros, border, reflection)");
}

// The sampling grid [B,H,W,2]: input coords = proj(T [x, y, 1]) for each output pixel. Computed
// in float32 (as PyTorch's affine_grid) with broadcast multiply-adds: a batched [HW,3] x [3,3]
// matmul in double was the larger part of the whole augmentation on the CPU.
at::Tensor grid_for(const at::Tensor& maps, int64_t h, int64_t w, bool align, const at::Tensor& like) {
  auto opts = at::TensorOptions().dtype(at::kFloat).device(like.device());
  auto lin = [&](int64_t n) {
    auto t = at::linspace(-1.0, 1.0, n, opts);
    return align || n == 1 ? t : t * (static_cast<double>(n - 1) / static_cast<double>(n));
  };
  const auto xs = lin(w).view({1, 1, w}), ys = lin(h).view({1, h, 1});
  const auto m = maps.to(like.device(), at::kFloat);
  auto row = [&](int64_t r) {  // m[r,0] x + m[r,1] y + m[r,2], [B,h,w]
    auto e = [&](int64_t c) { return m.select(1, r).select(1, c).view({-1, 1, 1}); };
    return (xs * e(0) + ys * e(1)).add_(e(2));
  };
  auto gx = row(0), gy = row(1);
  // The last row is (0, 0, 1) for affine maps: divide only when some map is a perspective one.
  const bool affine = at::equal(maps.select(1, 2), at::tensor({0.0, 0.0, 1.0}, at::kDouble).expand({maps.size(0), 3}));
  if (!affine) {
    auto gz = row(2);
    gx.div_(gz);
    gy.div_(gz);
  }
  return at::stack({gx, gy}, -1).to(like.scalar_type());
}

// Points [B,n,2] moved by the inverse maps.
at::Tensor move_points(const at::Tensor& pts, const at::Tensor& maps) {
  auto inv = at::inverse(maps).to(pts.device());
  auto p = pts.to(at::kDouble);
  auto hom = at::cat({p, at::ones_like(p.narrow(2, 0, 1))}, 2);
  auto q = at::matmul(hom, inv.transpose(1, 2));
  return (q.narrow(2, 0, 2) / q.narrow(2, 2, 1)).to(pts.scalar_type());
}

// fastai's F.interpolate(x, scale_factor=1/d, mode='area'): block averages down to floor(n/d).
at::Tensor area_reduce(const at::Tensor& t, double d) {
  auto n = [d](int64_t v) { return std::max<int64_t>(1, static_cast<int64_t>(std::floor(static_cast<double>(v) / d))); };
  return at::adaptive_avg_pool2d(t, {n(t.size(-2)), n(t.size(-1))});
}

std::string shape_str(const at::Tensor& t) {
  std::string s = c10::toString(t.scalar_type());
  s += " of shape ";
  s += c10::str(t.sizes());
  return s;
}

}  // namespace batch_aug_detail

namespace batch_aug_detail {
void check_size(const char* who, const std::optional<ImageSize>& s) {
  if (!s) return;
  FA_CHECK(s->h >= 1 && s->w >= 1, who, ": size must be >= 1 (h, w), got (", s->h, ", ", s->w, ")");
}
}  // namespace batch_aug_detail

AffineCoordTfm::AffineCoordTfm(std::vector<AffineOp> ops, AffineCoordOptions o)
    : Transform("AffineCoordTfm", 30, 0), ops_(std::move(ops)), o_(std::move(o)) {
  register_batch_augment_transforms();
  batch_aug_detail::interp_code(o_.mode);
  batch_aug_detail::pad_code(o_.pad_mode);
  batch_aug_detail::check_size("AffineCoordTfm", o_.size);
  if (o_.size) split_idx = std::nullopt;  // fastai: with a size it resizes on validation too
}

void AffineCoordTfm::merge(const AffineCoordTfm& other) { ops_.insert(ops_.end(), other.ops_.begin(), other.ops_.end()); }

at::Tensor AffineCoordTfm::draw_maps(int64_t bs, int64_t h, int64_t w) const {
  Rng& rng = thread_rng();
  const auto n = static_cast<std::size_t>(bs);
  std::vector<batch_aug_detail::Mat3> aff(n, batch_aug_detail::eye3()), warp(n, batch_aug_detail::eye3());
  for (const auto& op : ops_) {
    bool is_warp = false;
    auto shared = o_.batch ? batch_aug_detail::op_matrix(op, rng, is_warp) : batch_aug_detail::Mat3{};
    for (std::size_t i = 0; i < aff.size(); ++i) {
      auto m = o_.batch ? shared : batch_aug_detail::op_matrix(op, rng, is_warp);
      if (is_warp) warp[i] = batch_aug_detail::mul3(m, warp[i]);  // later warps act on the already-warped coords
      else aff[i] = batch_aug_detail::mul3(aff[i], m);
    }
  }
  std::vector<double> flat;
  flat.reserve(static_cast<std::size_t>(bs) * 9);
  for (std::size_t i = 0; i < aff.size(); ++i) {
    batch_aug_detail::Mat3 a = aff[i];
    a[1] *= static_cast<double>(h) / static_cast<double>(w);  // fastai _prepare_mat: non-square images
    a[3] *= static_cast<double>(w) / static_cast<double>(h);
    batch_aug_detail::Mat3 t = batch_aug_detail::mul3(warp[i], a);
    flat.insert(flat.end(), t.begin(), t.end());
  }
  return at::tensor(flat, at::kDouble).view({bs, 3, 3});
}

Item AffineCoordTfm::apply(const Item& x, const at::Tensor& maps) const {
  const int64_t bs = maps.size(0);
  if (x.is<Tuple>()) {
    Tuple out;
    for (const auto& e : x.get<Tuple>()) out.push_back(apply(e, maps));
    return Item::make<Tuple>(std::move(out));
  }
  if (x.is<TensorImage>()) {
    const auto& t = x.get<TensorImage>().data;
    FA_CHECK(t.dim() == 4 && at::isFloatingType(t.scalar_type()) && t.size(0) == bs,
             "AffineCoordTfm: expects a float TensorImage batch [B,C,H,W] (B = ", bs, "), got ", batch_aug_detail::shape_str(t),
             " (put IntToFloatTensor before it; batch transforms run on batches)");
    const int64_t oh = o_.size ? o_.size->h : t.size(2), ow = o_.size ? o_.size->w : t.size(3);
    auto g = batch_aug_detail::grid_for(maps, oh, ow, o_.align_corners, t);
    at::Tensor src = t;
    if (o_.antialias && o_.size && o_.mode == "bilinear") {  // fastai _grid_sample: area pre-pass for big downsizes
      const double d = std::min(static_cast<double>(t.size(2)) / static_cast<double>(oh),
                                static_cast<double>(t.size(3)) / static_cast<double>(ow)) / 2.0;
      if (d > 1) {
        const double span = (g.max() - g.min()).item<double>();
        if (span > 0 && d > 2.0 / span) src = batch_aug_detail::area_reduce(t, d);
      }
    }
    auto r = at::grid_sampler(src, g, batch_aug_detail::interp_code(o_.mode), batch_aug_detail::pad_code(o_.pad_mode),
                              o_.align_corners);
    return retain_type(Item(TensorImage(r)), x);
  }
  if (x.is<TensorMask>()) {
    const auto& t = x.get<TensorMask>().data;
    FA_CHECK(t.dim() == 3 && t.size(0) == bs, "AffineCoordTfm: expects a TensorMask batch [B,H,W] (B = ", bs, "), got ",
             batch_aug_detail::shape_str(t));
    auto f = t.unsqueeze(1).to(at::kFloat);
    const int64_t oh = o_.size ? o_.size->h : t.size(1), ow = o_.size ? o_.size->w : t.size(2);
    auto g = batch_aug_detail::grid_for(maps, oh, ow, o_.align_corners, f);
    auto r = at::grid_sampler(f, g, 1, batch_aug_detail::pad_code(o_.pad_mode), o_.align_corners).squeeze(1);
    return retain_type(Item(TensorMask(r.round().to(t.scalar_type()))), x);
  }
  if (x.is<TensorPoint>()) {
    const auto& tp = x.get<TensorPoint>();
    const auto& t = tp.data;
    const bool box = x.is<TensorBBox>();
    const int64_t last = box ? 4 : 2;
    FA_CHECK(t.dim() == 3 && t.size(2) == last && at::isFloatingType(t.scalar_type()) && t.size(0) == bs,
             "AffineCoordTfm: expects a float ", box ? "TensorBBox batch [B,n,4]" : "TensorPoint batch [B,n,2]",
             " (B = ", bs, ") in -1..1 coordinates, got ", batch_aug_detail::shape_str(t));
    // Relative coordinates: the output size only changes the recorded img_size ({w, h}).
    const std::vector<int64_t> sz = o_.size ? std::vector<int64_t>{o_.size->w, o_.size->h} : tp.img_size;
    if (!box) return retain_type(Item(TensorPoint(batch_aug_detail::move_points(t, maps), sz)), x);
    const int64_t n = t.size(1);
    auto x1 = t.select(2, 0), y1 = t.select(2, 1), x2 = t.select(2, 2), y2 = t.select(2, 3);
    auto corners = at::stack({at::stack({x1, y1}, -1), at::stack({x2, y1}, -1), at::stack({x1, y2}, -1),
                              at::stack({x2, y2}, -1)}, 2);  // [B,n,4,2]
    auto m = batch_aug_detail::move_points(corners.reshape({bs, n * 4, 2}), maps).view({bs, n, 4, 2});
    auto lo = std::get<0>(m.min(2)), hi = std::get<0>(m.max(2));
    auto r = at::cat({lo, hi}, -1).clamp(-1.0, 1.0);
    return retain_type(Item(TensorBBox(r, sz)), x);
  }
  return x;
}

namespace batch_aug_detail {
// The batch size and image size of the first image / mask / points element (h = w = 1 for points
// without img_size). bs = -1 when there is none.
void batch_geometry(const Item& x, int64_t& bs, int64_t& h, int64_t& w) {
  if (bs >= 0) return;
  if (x.is<Tuple>()) {
    for (const auto& e : x.get<Tuple>()) batch_geometry(e, bs, h, w);
    return;
  }
  if (x.is<TensorImage>() || x.is<TensorMask>()) {
    const auto& t = tensor_of(x);
    FA_CHECK(t.dim() >= 3, "AffineCoordTfm: expects a batch (TensorImage [B,C,H,W] or TensorMask [B,H,W]), got ", shape_str(t));
    bs = t.size(0), h = t.size(-2), w = t.size(-1);
  } else if (x.is<TensorPoint>()) {
    const auto& p = x.get<TensorPoint>();
    FA_CHECK(p.data.dim() == 3, "AffineCoordTfm: expects a TensorPoint batch [B,n,2], got ", shape_str(p.data));
    bs = p.data.size(0);
    h = p.img_size.size() == 2 ? p.img_size[1] : 1;
    w = p.img_size.size() == 2 ? p.img_size[0] : 1;
  }
}
}  // namespace batch_aug_detail

Item AffineCoordTfm::encodes_item(const Item& x) const {
  int64_t bs = -1, h = 1, w = 1;
  batch_aug_detail::batch_geometry(x, bs, h, w);
  if (bs < 0) return x;
  return apply(x, draw_maps(bs, h, w));
}

Item AffineCoordTfm::encodes_split(const Item& x, std::optional<int> split) const {
  if (split == 0) return encodes_item(x);
  if (!o_.size) return x;  // (not reached: without size split_idx is 0)
  int64_t bs = -1, h = 1, w = 1;
  batch_aug_detail::batch_geometry(x, bs, h, w);
  if (bs < 0) return x;
  return apply(x, at::eye(3, at::kDouble).unsqueeze(0).expand({bs, 3, 3}).contiguous());  // a plain resize
}

nlohmann::json AffineCoordTfm::state() const {
  auto ops = nlohmann::json::array();
  for (const auto& op : ops_) ops.push_back({{"kind", op.kind}, {"p", op.p}, {"a", op.a}, {"b", op.b}});
  nlohmann::json s = {{"ops", ops}, {"mode", o_.mode}, {"pad_mode", o_.pad_mode}, {"align_corners", o_.align_corners},
                      {"batch", o_.batch}, {"antialias", o_.antialias}};
  if (o_.size) s["size"] = {o_.size->h, o_.size->w};
  return s;
}

void AffineCoordTfm::load_state(const nlohmann::json& s) {
  ops_.clear();
  for (const auto& j : s.value("ops", nlohmann::json::array()))
    ops_.push_back({j.at("kind").get<std::string>(), j.value("p", 0.5), j.value("a", 0.0), j.value("b", 0.0)});
  o_.mode = s.value("mode", std::string("bilinear"));
  o_.pad_mode = s.value("pad_mode", std::string("reflection"));
  o_.align_corners = s.value("align_corners", true);
  o_.batch = s.value("batch", false);
  o_.antialias = s.value("antialias", true);
  o_.size = std::nullopt;
  if (s.contains("size") && !s.at("size").is_null()) {
    const auto& z = s.at("size");
    FA_CHECK(z.is_array() && z.size() == 2, "AffineCoordTfm: state 'size' must be [h, w], got ", z.dump());
    o_.size = ImageSize(z[0].get<int64_t>(), z[1].get<int64_t>());
  }
  batch_aug_detail::interp_code(o_.mode);
  batch_aug_detail::pad_code(o_.pad_mode);
  batch_aug_detail::check_size("AffineCoordTfm", o_.size);
  split_idx = o_.size ? std::nullopt : std::optional<int>(0);
}

std::shared_ptr<AffineCoordTfm> Flip(double p, AffineCoordOptions o) {
  return std::make_shared<AffineCoordTfm>(std::vector<AffineOp>{{"flip", p}}, std::move(o));
}
std::shared_ptr<AffineCoordTfm> Dihedral(double p, AffineCoordOptions o) {
  return std::make_shared<AffineCoordTfm>(std::vector<AffineOp>{{"dihedral", p}}, std::move(o));
}
std::shared_ptr<AffineCoordTfm> Rotate(double max_deg, double p, AffineCoordOptions o) {
  return std::make_shared<AffineCoordTfm>(std::vector<AffineOp>{{"rotate", p, max_deg}}, std::move(o));
}
std::shared_ptr<AffineCoordTfm> Zoom(double min_zoom, double max_zoom, double p, AffineCoordOptions o) {
  FA_CHECK(min_zoom > 0 && max_zoom >= min_zoom, "Zoom: need 0 < min_zoom <= max_zoom, got ", min_zoom, ", ", max_zoom);
  return std::make_shared<AffineCoordTfm>(std::vector<AffineOp>{{"zoom", p, min_zoom, max_zoom}}, std::move(o));
}
std::shared_ptr<AffineCoordTfm> Warp(double magnitude, double p, AffineCoordOptions o) {
  return std::make_shared<AffineCoordTfm>(std::vector<AffineOp>{{"warp", p, magnitude}}, std::move(o));
}

}  // namespace fastai
