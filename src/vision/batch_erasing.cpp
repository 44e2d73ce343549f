// RandomErasing: random rectangles of a batch replaced with N(0,1) noise (after Normalize).
#include "fastai/core/error.h"
#include "fastai/core/random.h"
#include "fastai/vision/batch_augment.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace fastai {

namespace batch_erase_detail {

// fastai _slice: a side of round(sqrt(area)) at a random position (clipped to the image).
std::pair<int64_t, int64_t> side(double area, int64_t sz, Rng& rng) {
  const int64_t bound = static_cast<int64_t>(std::llround(std::sqrt(area)));
  const int64_t loc = rng.randint(0, std::max<int64_t>(sz - bound, 0));
  return {loc, std::min(loc + bound, sz)};
}

void check(const RandomErasingOptions& o) {
  FA_CHECK(o.sl >= 0 && o.sh >= o.sl && o.sh <= 1, "RandomErasing: need 0 <= sl <= sh <= 1, got sl ", o.sl, ", sh ", o.sh);
  FA_CHECK(o.min_aspect > 0, "RandomErasing: min_aspect must be > 0, got ", o.min_aspect);
  FA_CHECK(o.max_count >= 1, "RandomErasing: max_count must be >= 1, got ", o.max_count);
}

}  // namespace batch_erase_detail

RandomErasing::RandomErasing(RandomErasingOptions o) : Transform("RandomErasing", 100, 0), o_(o) {
  register_batch_augment_transforms();
  batch_erase_detail::check(o_);
  encodes<TensorImage>([](const Transform& self, const TensorImage& x) -> TensorImage {
    const auto& me = static_cast<const RandomErasing&>(self);
    const auto& t = x.data;
    std::string shape = c10::toString(t.scalar_type());
    shape += " of shape ";
    shape += c10::str(t.sizes());
    FA_CHECK(t.dim() == 4 && at::isFloatingType(t.scalar_type()), "RandomErasing: expects a float TensorImage batch [B,C,H,W], got ",
             shape, " (it runs after Normalize, on batches)");
    const int64_t bs = t.size(0), c = t.size(1), h = t.size(2), w = t.size(3);
    std::vector<std::vector<std::array<int64_t, 4>>> areas;
    if (me.o_.batch) areas.assign(static_cast<std::size_t>(bs), me.draw_areas(h, w));
    else
      for (int64_t i = 0; i < bs; ++i) areas.push_back(me.draw_areas(h, w));
    bool any = false;
    for (const auto& a : areas) any = any || !a.empty();
    if (!any) return x;
    at::Tensor r = t.clone();
    at::Generator gen = thread_generator();
    for (int64_t i = 0; i < bs; ++i) {
      for (const auto& [r0, r1, c0, c1] : areas[static_cast<std::size_t>(i)]) {
        if (r1 <= r0 || c1 <= c0) continue;
        auto noise = at::normal(0.0, 1.0, {c, r1 - r0, c1 - c0}, gen, at::TensorOptions().dtype(at::kFloat));
        r[i].narrow(1, r0, r1 - r0).narrow(2, c0, c1 - c0).copy_(noise);
      }
    }
    return TensorImage(r);
  });
}

std::vector<std::array<int64_t, 4>> RandomErasing::draw_areas(int64_t h, int64_t w) const {
  Rng& rng = thread_rng();
  std::vector<std::array<int64_t, 4>> res;
  if (!rng.bernoulli(o_.p)) return res;
  const int64_t count = rng.randint(1, o_.max_count);
  const double area = static_cast<double>(h * w) / static_cast<double>(count);
  const double lr = std::log(o_.min_aspect);
  for (int64_t k = 0; k < count; ++k) {
    const double r_area = rng.uniform(o_.sl, o_.sh) * area;
    const double aspect = std::exp(rng.uniform(std::min(lr, -lr), std::max(lr, -lr)));
    auto [r0, r1] = batch_erase_detail::side(r_area * aspect, h, rng);
    auto [c0, c1] = batch_erase_detail::side(r_area / aspect, w, rng);
    res.push_back({r0, r1, c0, c1});
  }
  return res;
}

nlohmann::json RandomErasing::state() const {
  return {{"p", o_.p}, {"sl", o_.sl}, {"sh", o_.sh}, {"min_aspect", o_.min_aspect}, {"max_count", o_.max_count}, {"batch", o_.batch}};
}

void RandomErasing::load_state(const nlohmann::json& s) {
  o_.p = s.value("p", 0.5);
  o_.sl = s.value("sl", 0.0);
  o_.sh = s.value("sh", 0.3);
  o_.min_aspect = s.value("min_aspect", 0.3);
  o_.max_count = s.value("max_count", int64_t{1});
  o_.batch = s.value("batch", false);
  batch_erase_detail::check(o_);
}

}  // namespace fastai
