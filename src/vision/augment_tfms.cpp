// The plans of the vision item transforms (fastai.vision.augment's before_call + encodes), their
// JSON state and their registration with make_transform.
#include "fastai/core/error.h"
#include "fastai/core/random.h"
#include "fastai/vision/augment.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>

namespace fastai {
namespace augment_tfms_detail {

int64_t floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

void check_size(const std::string& who, const ImageSize& s) {
  FA_CHECK(s.h > 0 && s.w > 0, who, ": size must be positive, got (h, w) = (", s.h, ", ", s.w, ")");
}

nlohmann::json size_json(const ImageSize& s) { return nlohmann::json::array({s.h, s.w}); }

ImageSize size_from(const std::string& who, const nlohmann::json& j) {
  ImageSize s = j.is_array() ? ImageSize(j.at(0).get<int64_t>(), j.at(1).get<int64_t>()) : ImageSize(j.get<int64_t>());
  check_size(who, s);
  return s;
}

PadMode pad_from(const std::string& s) {
  if (s == "zeros") return PadMode::Zeros;
  if (s == "reflection") return PadMode::Reflection;
  if (s == "border") return PadMode::Border;
  fail("unknown pad_mode ", fastai::quote_value(s), " (zeros, reflection, border)");
}

ResizeMethod method_from(const std::string& s) {
  if (s == "crop") return ResizeMethod::Crop;
  if (s == "pad") return ResizeMethod::Pad;
  if (s == "squish") return ResizeMethod::Squish;
  fail("unknown resize method ", fastai::quote_value(s), " (crop, pad, squish)");
}

// A centred window of `s` in an h x w image (fastai crop_pad with tl=None), no resize.
GeomStep centre(int64_t h, int64_t w, const ImageSize& s, PadMode pad) {
  return GeomStep{floordiv(h - s.h, 2), floordiv(w - s.w, 2), s.h, s.w, s.h, s.w, pad, 0};
}

bool draw_do(double p) { return p == 1.0 || thread_rng().uniform() < p; }

}  // namespace augment_tfms_detail

namespace atd = augment_tfms_detail;

std::string to_string(ResizeMethod m) {
  return m == ResizeMethod::Crop ? "crop" : m == ResizeMethod::Pad ? "pad" : "squish";
}
std::string to_string(PadMode m) {
  return m == PadMode::Zeros ? "zeros" : m == PadMode::Reflection ? "reflection" : "border";
}

// ---- Resize ----
Resize::Resize(ImageSize size, ResizeOptions o) : AugmentTransform("Resize", 1), size_(size), o_(o) {
  register_augment_transforms();
  atd::check_size(name(), size_);
}

std::vector<GeomStep> Resize::plan(int64_t h, int64_t w, std::optional<int> split) const {
  if (o_.method == ResizeMethod::Squish) return {GeomStep{0, 0, h, w, size_.h, size_.w, o_.pad_mode, 0}};
  const double rw = static_cast<double>(w) / static_cast<double>(size_.w);
  const double rh = static_cast<double>(h) / static_cast<double>(size_.h);
  const bool by_w = o_.method == ResizeMethod::Pad ? rw > rh : rw < rh;
  const double m = by_w ? rw : rh;
  const auto cw = std::max<int64_t>(1, static_cast<int64_t>(m * static_cast<double>(size_.w)));
  const auto ch = std::max<int64_t>(1, static_cast<int64_t>(m * static_cast<double>(size_.h)));
  double px = 0.5, py = 0.5;
  if (split != 1) {  // fastai: (0.5, 0.5) if split_idx else random (None draws too)
    px = thread_rng().uniform();
    py = thread_rng().uniform();
  }
  const auto left = static_cast<int64_t>(px * static_cast<double>(w - cw));
  const auto top = static_cast<int64_t>(py * static_cast<double>(h - ch));
  return {GeomStep{top, left, ch, cw, size_.h, size_.w, o_.pad_mode, 0}};
}

nlohmann::json Resize::state() const {
  return {{"size", atd::size_json(size_)}, {"method", to_string(o_.method)}, {"pad_mode", to_string(o_.pad_mode)}};
}
void Resize::load_state(const nlohmann::json& s) {
  if (s.contains("size")) size_ = atd::size_from(name(), s.at("size"));
  if (s.contains("method")) o_.method = atd::method_from(s.at("method").get<std::string>());
  if (s.contains("pad_mode")) o_.pad_mode = atd::pad_from(s.at("pad_mode").get<std::string>());
}

// ---- RandomResizedCrop ----
RandomResizedCrop::RandomResizedCrop(ImageSize size, RandomResizedCropOptions o)
    : AugmentTransform("RandomResizedCrop", 1), size_(size), o_(o) {
  register_augment_transforms();
  atd::check_size(name(), size_);
  FA_CHECK(o_.min_scale > 0 && o_.min_scale <= o_.max_scale && o_.ratio.first > 0 && o_.ratio.first <= o_.ratio.second,
           name(), ": need 0 < min_scale <= max_scale and 0 < ratio.first <= ratio.second, got scale (", o_.min_scale,
           ", ", o_.max_scale, "), ratio (", o_.ratio.first, ", ", o_.ratio.second, ")");
}

ImageSize RandomResizedCrop::valid_size() const {
  const auto xtra = static_cast<int64_t>(std::ceil(static_cast<double>(std::max(size_.h, size_.w)) * o_.val_xtra / 8.0)) * 8;
  return {size_.h + xtra, size_.w + xtra};
}

std::vector<GeomStep> RandomResizedCrop::plan(int64_t h, int64_t w, std::optional<int> split) const {
  if (split == 1) {  // squish the whole image to size + xtra, then a centre crop
    const auto v = valid_size();
    return {GeomStep{0, 0, h, w, v.h, v.w, PadMode::Zeros, 0}, atd::centre(v.h, v.w, size_, PadMode::Zeros)};
  }
  auto& rng = thread_rng();
  const double W = static_cast<double>(w), H = static_cast<double>(h);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double area = rng.uniform(o_.min_scale, o_.max_scale) * W * H;
    const double ratio = std::exp(rng.uniform(std::log(o_.ratio.first), std::log(o_.ratio.second)));
    const auto nw = static_cast<int64_t>(std::nearbyint(std::sqrt(area * ratio)));
    const auto nh = static_cast<int64_t>(std::nearbyint(std::sqrt(area / ratio)));
    if (nw <= w && nh <= h && nw > 0 && nh > 0) {
      const int64_t left = rng.randint(0, w - nw);
      const int64_t top = rng.randint(0, h - nh);
      return {GeomStep{top, left, nh, nw, size_.h, size_.w, PadMode::Zeros, 0}};
    }
  }
  int64_t cw = w, ch = h;
  if (W / H < o_.ratio.first) {
    ch = static_cast<int64_t>(W / o_.ratio.first);
  } else if (W / H > o_.ratio.second) {
    cw = static_cast<int64_t>(H * o_.ratio.second);
  }
  return {GeomStep{atd::floordiv(h - ch, 2), atd::floordiv(w - cw, 2), ch, cw, size_.h, size_.w, PadMode::Zeros, 0}};
}

nlohmann::json RandomResizedCrop::state() const {
  return {{"size", atd::size_json(size_)}, {"min_scale", o_.min_scale}, {"max_scale", o_.max_scale},
          {"ratio", {o_.ratio.first, o_.ratio.second}}, {"val_xtra", o_.val_xtra}};
}
void RandomResizedCrop::load_state(const nlohmann::json& s) {
  if (s.contains("size")) size_ = atd::size_from(name(), s.at("size"));
  o_.min_scale = s.value("min_scale", o_.min_scale);
  o_.max_scale = s.value("max_scale", o_.max_scale);
  if (s.contains("ratio")) o_.ratio = {s.at("ratio").at(0).get<double>(), s.at("ratio").at(1).get<double>()};
  o_.val_xtra = s.value("val_xtra", o_.val_xtra);
}

// ---- RandomCrop ----
RandomCrop::RandomCrop(ImageSize size) : AugmentTransform("RandomCrop", 1), size_(size) {
  register_augment_transforms();
  atd::check_size(name(), size_);
}

std::vector<GeomStep> RandomCrop::plan(int64_t h, int64_t w, std::optional<int> split) const {
  if (split == 1) return {atd::centre(h, w, size_, PadMode::Zeros)};
  const int64_t wd = w - size_.w, hd = h - size_.h;
  const int64_t left = wd < 0 ? thread_rng().randint(wd, -1) : thread_rng().randint(0, wd);
  const int64_t top = hd < 0 ? thread_rng().randint(hd, -1) : thread_rng().randint(0, hd);
  return {GeomStep{top, left, size_.h, size_.w, size_.h, size_.w, PadMode::Zeros, 0}};
}

nlohmann::json RandomCrop::state() const { return {{"size", atd::size_json(size_)}}; }
void RandomCrop::load_state(const nlohmann::json& s) {
  if (s.contains("size")) size_ = atd::size_from(name(), s.at("size"));
}

// ---- CropPad ----
CropPad::CropPad(ImageSize size, PadMode pad_mode) : AugmentTransform("CropPad", 0), size_(size), pad_(pad_mode) {
  register_augment_transforms();
  atd::check_size(name(), size_);
}

std::vector<GeomStep> CropPad::plan(int64_t h, int64_t w, std::optional<int> /*split*/) const {
  return {atd::centre(h, w, size_, pad_)};
}

nlohmann::json CropPad::state() const { return {{"size", atd::size_json(size_)}, {"pad_mode", to_string(pad_)}}; }
void CropPad::load_state(const nlohmann::json& s) {
  if (s.contains("size")) size_ = atd::size_from(name(), s.at("size"));
  if (s.contains("pad_mode")) pad_ = atd::pad_from(s.at("pad_mode").get<std::string>());
}

// ---- FlipItem / DihedralItem ----
FlipItem::FlipItem(double p) : AugmentTransform("FlipItem", 0, 0), p_(p) { register_augment_transforms(); }

std::vector<GeomStep> FlipItem::plan(int64_t h, int64_t w, std::optional<int> /*split*/) const {
  return {GeomStep{0, 0, h, w, h, w, PadMode::Zeros, atd::draw_do(p_) ? 1 : 0}};
}
nlohmann::json FlipItem::state() const { return {{"p", p_}}; }
void FlipItem::load_state(const nlohmann::json& s) { p_ = s.value("p", p_); }

DihedralItem::DihedralItem(double p) : AugmentTransform("DihedralItem", 0, 0), p_(p) { register_augment_transforms(); }

std::vector<GeomStep> DihedralItem::plan(int64_t h, int64_t w, std::optional<int> /*split*/) const {
  const bool go = atd::draw_do(p_);
  const auto k = static_cast<int>(thread_rng().randint(0, 7));
  return {GeomStep{0, 0, h, w, h, w, PadMode::Zeros, go ? k : 0}};
}
nlohmann::json DihedralItem::state() const { return {{"p", p_}}; }
void DihedralItem::load_state(const nlohmann::json& s) { p_ = s.value("p", p_); }

// ---- RatioResize ----
RatioResize::RatioResize(int64_t max_sz) : AugmentTransform("RatioResize", 1), max_sz_(max_sz) {
  register_augment_transforms();
  FA_CHECK(max_sz_ > 0, name(), ": max_sz must be positive, got ", max_sz_);
}

std::vector<GeomStep> RatioResize::plan(int64_t h, int64_t w, std::optional<int> /*split*/) const {
  const double m = static_cast<double>(max_sz_);
  int64_t nh = max_sz_, nw = max_sz_;
  if (w >= h) {
    nh = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(h) * m / static_cast<double>(w)));
  } else {
    nw = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(w) * m / static_cast<double>(h)));
  }
  return {GeomStep{0, 0, h, w, nh, nw, PadMode::Zeros, 0}};
}
nlohmann::json RatioResize::state() const { return {{"max_sz", max_sz_}}; }
void RatioResize::load_state(const nlohmann::json& s) {
  max_sz_ = s.value("max_sz", max_sz_);
  FA_CHECK(max_sz_ > 0, name(), ": max_sz must be positive, got ", max_sz_);
}

// ---- registration ----
void register_augment_transforms() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto reg = [](const char* n, auto make) {
      register_transform(n, [make](const nlohmann::json& s) -> std::shared_ptr<Transform> {
        auto t = make();
        t->load_state(s);
        return t;
      });
    };
    reg("Resize", [] { return std::make_shared<Resize>(1); });
    reg("RandomResizedCrop", [] { return std::make_shared<RandomResizedCrop>(1); });
    reg("RandomCrop", [] { return std::make_shared<RandomCrop>(1); });
    reg("CropPad", [] { return std::make_shared<CropPad>(1); });
    reg("FlipItem", [] { return std::make_shared<FlipItem>(); });
    reg("DihedralItem", [] { return std::make_shared<DihedralItem>(); });
    reg("RatioResize", [] { return std::make_shared<RatioResize>(1); });
  });
}

namespace augment_tfms_detail {
[[maybe_unused]] const bool registered = (register_augment_transforms(), true);
}  // namespace augment_tfms_detail

}  // namespace fastai
