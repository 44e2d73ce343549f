// LightingTfm (Brightness, Contrast, Saturation in logit space; Hue in HSV), aug_transforms,
// setup_aug_tfms, registration.
#include "fastai/core/error.h"
#include "fastai/core/random.h"
#include "fastai/vision/batch_augment.h"

#include <ATen/ATen.h>

#include <cmath>
#include <mutex>
#include <utility>

namespace fastai {

namespace batch_light_detail {

// One factor for one item: drawn, then the neutral value unless the item gets the op.
double draw_factor(const LightingOp& op, Rng& rng) {
  bool on = rng.bernoulli(op.p);
  const double m = op.max_lighting;
  if (op.kind == "brightness") {
    double c = rng.uniform(0.5 * (1 - m), 0.5 * (1 + m));
    return on ? c : 0.5;
  }
  if (op.kind == "contrast" || op.kind == "saturation") {
    double c = std::exp(rng.uniform(std::log(1 - m), -std::log(1 - m)));
    return on ? c : 1.0;
  }
  if (op.kind == "hue") {  // fastai adds exp(U(log(1-m), -log(1-m))) to h (mod 1): the shift is that - 1
    double c = std::exp(rng.uniform(std::log(1 - m), -std::log(1 - m)));
    return on ? c - 1.0 : 0.0;
  }
  fail("LightingTfm: unknown op kind '", op.kind, "' (brightness, contrast, saturation, hue)");
}

void check_op(const LightingOp& op) {
  FA_CHECK(op.kind == "brightness" || op.kind == "contrast" || op.kind == "saturation" || op.kind == "hue",
           "LightingTfm: unknown op kind '", op.kind, "' (brightness, contrast, saturation, hue)");
  FA_CHECK(op.max_lighting >= 0 && op.max_lighting < 1, "LightingTfm (", op.kind, "): ",
           op.kind == "hue" ? "max_hue" : "max_lighting", " must be in [0, 1), got ", op.max_lighting);
}

void check_rgb(const at::Tensor& x, const char* who) {
  std::string shape = c10::str(x.sizes());
  FA_CHECK(x.dim() == 4 && x.size(1) == 3, who, ": expects 3 channels (RGB) [B,3,H,W], got shape ", shape);
}

}  // namespace batch_light_detail

LightingTfm::LightingTfm(std::vector<LightingOp> ops, bool batch) : Transform("LightingTfm", 40, 0), ops_(std::move(ops)), batch_(batch) {
  register_batch_augment_transforms();
  for (const auto& op : ops_) batch_light_detail::check_op(op);
  encodes<TensorImage>([](const Transform& self, const TensorImage& x) -> TensorImage {
    const auto& me = static_cast<const LightingTfm&>(self);
    const auto& t = x.data;
    std::string shape = c10::toString(t.scalar_type());
    shape += " of shape ";
    shape += c10::str(t.sizes());
    FA_CHECK(t.dim() == 4 && at::isFloatingType(t.scalar_type()),
             "LightingTfm: expects a float TensorImage batch [B,C,H,W] in 0..1, got ", shape,
             " (put IntToFloatTensor before it; batch transforms run on batches)");
    return TensorImage(me.apply(t, me.draw(t.size(0))));
  });
}

void LightingTfm::merge(const LightingTfm& other) {
  ops_.insert(ops_.end(), other.ops_.begin(), other.ops_.end());
  batch_ = batch_ || other.batch_;
}

std::vector<std::vector<double>> LightingTfm::draw(int64_t bs) const {
  Rng& rng = thread_rng();
  std::vector<std::vector<double>> f;
  for (const auto& op : ops_) {
    std::vector<double> v(static_cast<std::size_t>(bs));
    if (batch_) {
      double c = batch_light_detail::draw_factor(op, rng);
      for (auto& e : v) e = c;
    } else {
      for (auto& e : v) e = batch_light_detail::draw_factor(op, rng);
    }
    f.push_back(std::move(v));
  }
  return f;
}

at::Tensor LightingTfm::apply(const at::Tensor& x, const std::vector<std::vector<double>>& factors) const {
  FA_CHECK(factors.size() == ops_.size(), "LightingTfm: ", factors.size(), " factor lists for ", ops_.size(), " ops");
  if (ops_.empty()) return x;
  const int64_t bs = x.size(0);
  auto l = at::logit(x, 1e-7);  // clamps to [eps, 1 - eps] first; a fresh tensor, updated in place below
  for (std::size_t i = 0; i < ops_.size(); ++i) {
    FA_CHECK(static_cast<int64_t>(factors[i].size()) == bs, "LightingTfm: ", factors[i].size(), " factors for a batch of ", bs);
    auto c = at::tensor(factors[i], at::kDouble).to(x.device(), x.scalar_type()).view({bs, 1, 1, 1});
    if (ops_[i].kind == "brightness") {
      l.add_(at::logit(c));
    } else if (ops_[i].kind == "contrast") {
      l.mul_(c);
    } else if (ops_[i].kind == "hue") {  // out of logit space, shift h in HSV, back
      batch_light_detail::check_rgb(x, "LightingTfm (hue)");
      auto hsv = rgb2hsv(at::sigmoid(l));
      auto h = at::remainder(hsv.select(1, 0) + c.view({bs, 1, 1}), 1.0);
      auto rgb = hsv2rgb(at::stack({h, hsv.select(1, 1), hsv.select(1, 2)}, 1)).clamp(1e-7, 1 - 1e-7);
      l = at::log(rgb / (1 - rgb));
    } else {  // saturation: towards / away from the ITU-R 601-2 luma, in logit space
      std::string shape = c10::str(x.sizes());
      FA_CHECK(x.size(1) == 3, "LightingTfm (saturation): expects 3 channels [B,3,H,W], got shape ", shape);
      auto wts = at::tensor({0.2989, 0.5870, 0.1140}, at::kDouble).to(x.device(), x.scalar_type()).view({1, 3, 1, 1});
      auto gray = (l * wts).sum(1, true);
      l = l * c + gray * (1 - c);
    }
  }
  return l.sigmoid_();
}

nlohmann::json LightingTfm::state() const {
  auto ops = nlohmann::json::array();
  for (const auto& op : ops_) ops.push_back({{"kind", op.kind}, {"max_lighting", op.max_lighting}, {"p", op.p}});
  return {{"ops", ops}, {"batch", batch_}};
}

void LightingTfm::load_state(const nlohmann::json& s) {
  ops_.clear();
  for (const auto& j : s.value("ops", nlohmann::json::array())) {
    ops_.push_back({j.at("kind").get<std::string>(), j.value("max_lighting", 0.2), j.value("p", 0.75)});
    batch_light_detail::check_op(ops_.back());
  }
  batch_ = s.value("batch", false);
}

std::shared_ptr<LightingTfm> Brightness(double max_lighting, double p, bool batch) {
  return std::make_shared<LightingTfm>(std::vector<LightingOp>{{"brightness", max_lighting, p}}, batch);
}
std::shared_ptr<LightingTfm> Contrast(double max_lighting, double p, bool batch) {
  return std::make_shared<LightingTfm>(std::vector<LightingOp>{{"contrast", max_lighting, p}}, batch);
}

std::shared_ptr<LightingTfm> Saturation(double max_lighting, double p, bool batch) {
  return std::make_shared<LightingTfm>(std::vector<LightingOp>{{"saturation", max_lighting, p}}, batch);
}

std::shared_ptr<LightingTfm> Hue(double max_hue, double p, bool batch) {
  FA_CHECK(max_hue >= 0 && max_hue < 1, "Hue: max_hue must be in [0, 1), got ", max_hue);
  return std::make_shared<LightingTfm>(std::vector<LightingOp>{{"hue", max_hue, p}}, batch);
}

at::Tensor rgb2hsv(const at::Tensor& rgb) {
  batch_light_detail::check_rgb(rgb, "rgb2hsv");
  auto r = rgb.select(1, 0), g = rgb.select(1, 1), b = rgb.select(1, 2);
  auto v = std::get<0>(rgb.max(1)), mn = std::get<0>(rgb.min(1));
  auto d = v - mn;
  auto grey = d <= 0;
  auto s = at::where(v > 0, d / at::where(v > 0, v, at::ones_like(v)), at::zeros_like(v));
  auto dd = at::where(grey, at::ones_like(d), d);
  // Sector by the largest channel (red first, then green): offset + (difference of the others) / d.
  auto hr = (g - b) / dd, hg = 2.0 + (b - r) / dd, hb = 4.0 + (r - g) / dd;
  auto h6 = at::where(v == r, hr, at::where(v == g, hg, hb));
  auto h = at::where(grey, at::zeros_like(v), at::remainder(h6 / 6.0, 1.0));
  return at::stack({h, s, v}, 1);
}

at::Tensor hsv2rgb(const at::Tensor& hsv) {
  batch_light_detail::check_rgb(hsv, "hsv2rgb");
  auto h6 = at::remainder(hsv.select(1, 0), 1.0) * 6.0, s = hsv.select(1, 1), v = hsv.select(1, 2);
  // Channel with offset n (red 5, green 3, blue 1): v - v s clamp(min(k, 4 - k), 0, 1), k = (n + 6h) mod 6.
  auto chan = [&](double n) {
    auto k = at::remainder(h6 + n, 6.0);
    return v - v * s * at::clamp(at::minimum(k, 4.0 - k), 0.0, 1.0);
  };
  return at::stack({chan(5.0), chan(3.0), chan(1.0)}, 1).clamp(0.0, 1.0);
}

std::vector<std::shared_ptr<Transform>> setup_aug_tfms(const std::vector<std::shared_ptr<Transform>>& tfms) {
  std::shared_ptr<AffineCoordTfm> aff;
  std::shared_ptr<LightingTfm> lig;
  std::vector<std::shared_ptr<Transform>> rest;
  for (const auto& t : tfms) {
    if (auto a = std::dynamic_pointer_cast<AffineCoordTfm>(t)) {
      if (!aff) aff = std::make_shared<AffineCoordTfm>(a->ops(), a->options());
      else aff->merge(*a);
    } else if (auto l = std::dynamic_pointer_cast<LightingTfm>(t)) {
      if (!lig) lig = std::make_shared<LightingTfm>(l->ops(), l->batch());
      else lig->merge(*l);
    } else {
      rest.push_back(t);
    }
  }
  std::vector<std::shared_ptr<Transform>> out;
  if (aff) out.push_back(aff);
  if (lig) out.push_back(lig);
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

std::vector<std::shared_ptr<Transform>> aug_transforms(AugTransformsOptions o) {
  FA_CHECK(o.min_scale > 0 && o.min_scale <= 1, "aug_transforms: min_scale must be in (0, 1], got ", o.min_scale);
  FA_CHECK(!o.size || (o.size->h >= 1 && o.size->w >= 1), "aug_transforms: size must be >= 1 (h, w), got (",
           o.size ? o.size->h : 0, ", ", o.size ? o.size->w : 0, ")");
  FA_CHECK(o.min_scale == 1 || o.size, "aug_transforms: min_scale ", o.min_scale,
           " < 1 needs a size (the RandomResizedCropGPU output size)");
  std::optional<ImageSize> aff_size;
  if (o.min_scale == 1) aff_size = o.size;  // fastai: size goes to the affine transforms only without RRC
  AffineCoordOptions ao{.mode = o.mode, .pad_mode = o.pad_mode, .align_corners = o.align_corners, .batch = o.batch, .size = aff_size};
  std::vector<std::shared_ptr<Transform>> res;
  if (o.do_flip) res.push_back(o.flip_vert ? Dihedral(0.5, ao) : Flip(0.5, ao));
  const double max_warp = o.max_warp * o.mult, max_rotate = o.max_rotate * o.mult, max_light = o.max_lighting * o.mult;
  if (max_warp != 0) res.push_back(Warp(max_warp, o.p_affine, ao));
  if (max_rotate != 0) res.push_back(Rotate(max_rotate, o.p_affine, ao));
  if (o.min_zoom < 1 || o.max_zoom > 1) res.push_back(Zoom(o.min_zoom, o.max_zoom, o.p_affine, ao));
  if (max_light > 0) {
    res.push_back(Brightness(max_light, o.p_lighting, o.batch));
    res.push_back(Contrast(max_light, o.p_lighting, o.batch));
  }
  if (o.min_scale != 1)
    res.push_back(std::make_shared<RandomResizedCropGPU>(*o.size, RandomResizedCropGPUOptions{.min_scale = o.min_scale, .ratio = {1.0, 1.0}, .batch = o.batch}));
  res.insert(res.end(), o.xtra_tfms.begin(), o.xtra_tfms.end());
  return setup_aug_tfms(res);
}

void register_batch_augment_transforms() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_transform<AffineCoordTfm>("AffineCoordTfm");
    register_transform<LightingTfm>("LightingTfm");
    register_transform<RandomErasing>("RandomErasing");
    register_transform<RandomResizedCropGPU>("RandomResizedCropGPU");
  });
}

namespace batch_light_detail {
[[maybe_unused]] const bool registered = (register_batch_augment_transforms(), true);
}  // namespace batch_light_detail

}  // namespace fastai
