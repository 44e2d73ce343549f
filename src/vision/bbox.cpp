// PointCreate / BBoxCreate / PointScaler, clip_remove_empty / bb_pad, and the point and box blocks.
#include "fastai/vision/bbox.h"

#include "fastai/core/error.h"
#include "fastai/core/pipeline.h"
#include "fastai/core/transforms.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace fastai::bbox_detail {

std::string shape_of(const at::Tensor& t) {
  if (!t.defined()) return "(undefined)";
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

// Rows of k values from a vector of fixed-size rows.
template <class Row>
at::Tensor rows_tensor(const std::vector<Row>& rows, int64_t k, const char* who) {
  std::vector<float> flat;
  flat.reserve(rows.size() * static_cast<size_t>(k));
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    FA_CHECK(static_cast<int64_t>(r.size()) == k, who, ": row ", i, " has ", r.size(), " values (expected ", k, ")");
    for (auto v : r) flat.push_back(static_cast<float>(v));
  }
  return at::tensor(flat, at::kFloat).view({static_cast<int64_t>(rows.size()), k});
}

// The coordinates of a raw item as float [n,k]; Error naming the item's type when it is no known one.
at::Tensor coords_of(const Item& x, int64_t k, const char* who) {
  at::Tensor t;
  if (x.is<at::Tensor>()) {
    t = x.get<at::Tensor>().detach().to(at::kFloat).contiguous();
  } else if (x.is<std::vector<std::array<double, 4>>>() && k == 4) {
    t = rows_tensor(x.get<std::vector<std::array<double, 4>>>(), k, who);
  } else if (x.is<std::vector<std::array<double, 2>>>() && k == 2) {
    t = rows_tensor(x.get<std::vector<std::array<double, 2>>>(), k, who);
  } else if (x.is<std::vector<std::vector<double>>>()) {
    t = rows_tensor(x.get<std::vector<std::vector<double>>>(), k, who);
  } else if (x.is<std::vector<std::pair<double, double>>>() && k == 2) {
    std::vector<std::array<double, 2>> rows;
    for (const auto& [a, b] : x.get<std::vector<std::pair<double, double>>>()) rows.push_back({a, b});
    t = rows_tensor(rows, k, who);
  } else if (x.is<std::vector<double>>()) {
    const auto& v = x.get<std::vector<double>>();
    std::vector<float> f(v.begin(), v.end());
    t = at::tensor(f, at::kFloat);
  } else if (x.is<std::vector<float>>()) {
    t = at::tensor(x.get<std::vector<float>>(), at::kFloat);
  } else {
    fail(who, ": cannot make ", k == 4 ? "boxes" : "points", " from an item of type ", x.type_name(),
         " (expected an at::Tensor, std::vector<std::array<double, ", k, ">>, std::vector<std::vector<double>>",
         k == 2 ? ", std::vector<std::pair<double, double>>" : "", " or std::vector<double>); check the block's getter");
  }
  FA_CHECK(t.numel() % k == 0, who, ": ", t.numel(), " values (shape ", shape_of(t), ") cannot be read as rows of ", k,
           k == 4 ? " (x0, y0, x1, y1)" : " (x, y)");
  return t.reshape({-1, k});
}

// The (w, h) of the first image or mask of a (nested) tuple.
std::optional<std::pair<int64_t, int64_t>> raster_size(const Item& x) {
  if (x.empty()) return std::nullopt;
  if (x.is<Tuple>()) {
    for (const auto& e : x.get<Tuple>())
      if (auto s = raster_size(e)) return s;
    return std::nullopt;
  }
  if (x.is<TensorImageBase>()) {
    const auto& t = x.get<TensorImageBase>().data;
    if (t.defined() && t.dim() >= 2) return std::pair{t.size(-1), t.size(-2)};
  }
  return std::nullopt;
}

// One point / box element scaled (enc) or unscaled by (w, h).
Item scale_points(const Item& e, std::optional<std::pair<int64_t, int64_t>> wh, const PointScalerOptions& o, bool enc) {
  const bool box = e.is<TensorBBox>();
  const TensorPoint& p = e.get<TensorPoint>();
  const char* what = box ? "TensorBBox" : "TensorPoint";
  if (!wh && p.img_size.size() == 2) wh = std::pair{p.img_size[0], p.img_size[1]};
  FA_CHECK(wh.has_value(), "PointScaler: cannot ", enc ? "scale" : "unscale", " a ", what, " of shape ", shape_of(p.data),
           ": the sample has no image or mask and its img_size is not set (expected {w, h})");
  FA_CHECK(p.data.defined() && p.data.numel() % 2 == 0, "PointScaler: a ", what, " of shape ", shape_of(p.data),
           " cannot be read as (x, y) points");
  at::Tensor d = p.data.to(at::kFloat).reshape({-1, 2});
  const auto sz = at::tensor({static_cast<float>(wh->first), static_cast<float>(wh->second)}, d.options());
  if (enc) {
    if (o.y_first) d = d.flip(1);
    if (o.do_scale) d = d * 2 / sz - 1;
  } else {
    d = (d + 1) * sz / 2;
  }
  std::vector<int64_t> img_size{wh->first, wh->second};
  if (box) return retain_type(Item(TensorBBox(d.reshape({-1, 4}), img_size)), e);
  return retain_type(Item(TensorPoint(d.reshape(p.data.sizes()), img_size)), e);
}

// Labels [n] for the boxes, when `e` is a TensorMultiCategory of indices of that length.
bool is_box_labels(const Item& e, int64_t n) {
  if (!e.is<TensorMultiCategory>()) return false;
  const auto& t = e.get<TensorMultiCategory>().data;
  return t.defined() && t.dim() == 1 && t.size(0) == n && !at::isFloatingType(t.scalar_type());
}

Item map_sample(const Item& x, const PointScalerOptions& o, bool enc) {
  if (!x.is<Tuple>()) {
    if (x.is<TensorPoint>()) return scale_points(x, std::nullopt, o, enc);
    return x;
  }
  const Tuple& t = x.get<Tuple>();
  const auto wh = raster_size(x);
  Tuple out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    const Item& e = t[i];
    if (e.is<Tuple>()) {
      out.push_back(map_sample(e, o, enc));
    } else if (!e.is<TensorPoint>()) {
      out.push_back(e);
    } else if (!enc && e.is<TensorBBox>()) {
      // Drop bb_pad's padding (empty rows) from the boxes and their labels, then unscale.
      const auto& b = e.get<TensorBBox>();
      at::Tensor d = b.data.to(at::kFloat).reshape({-1, 4});
      const int64_t n = d.size(0);
      at::Tensor keep = at::logical_and(d.select(1, 2) > d.select(1, 0), d.select(1, 3) > d.select(1, 1)).nonzero().flatten();
      TensorBBox kept = b;
      kept.data = d.index_select(0, keep);
      out.push_back(scale_points(retain_type(Item(kept), e), wh, o, enc));
      if (i + 1 < t.size() && is_box_labels(t[i + 1], n)) {
        TensorMultiCategory l = t[i + 1].get<TensorMultiCategory>();
        l.data = l.data.index_select(0, keep);
        out.push_back(retain_type(Item(l), t[i + 1]));
        ++i;
      }
    } else {
      out.push_back(scale_points(e, wh, o, enc));
    }
  }
  return Item::make<Tuple>(std::move(out));
}

// A box element and its labels after clip_remove_empty, for bb_pad.
struct BoxEntry {
  at::Tensor boxes, labels;  // labels undefined when the boxes have none
};

}  // namespace fastai::bbox_detail

namespace fastai {

// ---- PointCreate / BBoxCreate -------------------------------------------------------------------

PointCreate::PointCreate() : Transform("PointCreate") { register_bbox_transforms(); }

Item PointCreate::encodes_item(const Item& x) const {
  if (x.empty() || x.is<TensorPoint>()) return x;
  return TensorPoint(bbox_detail::coords_of(x, 2, "PointCreate"));
}

void PointCreate::setups(const std::vector<Item>& items, const Pipeline*) {
  if (c_ || items.empty()) return;
  const Item& x = items.front();
  if (x.is<TensorPoint>()) c_ = x.get<TensorPoint>().data.numel();
  else c_ = bbox_detail::coords_of(x, 2, "PointCreate").numel();
}

nlohmann::json PointCreate::state() const { return {{"c", c_ ? nlohmann::json(*c_) : nlohmann::json(nullptr)}}; }
void PointCreate::load_state(const nlohmann::json& s) {
  c_.reset();
  if (s.contains("c") && !s.at("c").is_null()) c_ = s.at("c").get<int64_t>();
}

BBoxCreate::BBoxCreate() : Transform("BBoxCreate") { register_bbox_transforms(); }

Item BBoxCreate::encodes_item(const Item& x) const {
  if (x.empty() || x.is<TensorBBox>()) return x;
  at::Tensor b = bbox_detail::coords_of(x, 4, "BBoxCreate");
  if (b.size(0) > 0) {
    auto bad = at::logical_or(at::logical_or(b.select(1, 2) < b.select(1, 0), b.select(1, 3) < b.select(1, 1)),
                              b.isfinite().all(1).logical_not())
                   .nonzero()
                   .flatten();
    if (bad.numel() > 0) {
      const int64_t i = bad[0].item<int64_t>();
      auto r = b[i];
      fail("BBoxCreate: box ", i, " (x0, y0, x1, y1) = (", r[0].item<float>(), ", ", r[1].item<float>(), ", ",
           r[2].item<float>(), ", ", r[3].item<float>(), ") ",
           "is not a box (expected finite values with x0 <= x1 and y0 <= y1)");
    }
  }
  return TensorBBox(b);
}

// ---- PointScaler --------------------------------------------------------------------------------

PointScaler::PointScaler(PointScalerOptions o) : ItemTransform("PointScaler", 50), o_(o) { register_bbox_transforms(); }

Item PointScaler::encodes_item(const Item& x) const { return bbox_detail::map_sample(x, o_, true); }
Item PointScaler::decodes_item(const Item& x) const { return bbox_detail::map_sample(x, o_, false); }

nlohmann::json PointScaler::state() const { return {{"do_scale", o_.do_scale}, {"y_first", o_.y_first}}; }
void PointScaler::load_state(const nlohmann::json& s) {
  o_.do_scale = s.value("do_scale", true);
  o_.y_first = s.value("y_first", false);
}

// ---- clip_remove_empty / bb_pad -----------------------------------------------------------------

std::pair<at::Tensor, at::Tensor> clip_remove_empty(const at::Tensor& bbox, const at::Tensor& label) {
  FA_CHECK(bbox.defined() && bbox.dim() == 2 && bbox.size(1) == 4, "clip_remove_empty: expected boxes [n,4], got ",
           bbox_detail::shape_of(bbox));
  FA_CHECK(!label.defined() || (label.dim() == 1 && label.size(0) == bbox.size(0)), "clip_remove_empty: boxes ",
           bbox_detail::shape_of(bbox), " and labels ", bbox_detail::shape_of(label), " do not match (expected labels [",
           bbox.size(0), "])");
  at::Tensor b = bbox.clamp(-1.0, 1.0);
  at::Tensor keep =
      at::logical_and(b.select(1, 2) > b.select(1, 0), b.select(1, 3) > b.select(1, 1)).nonzero().flatten();
  return {b.index_select(0, keep), label.defined() ? label.index_select(0, keep) : label};
}

std::vector<Tuple> bb_pad(std::vector<Tuple> samples, int64_t pad_idx) {
  namespace bd = bbox_detail;
  // Per sample, the box elements' positions with their cleaned boxes / labels.
  std::vector<std::vector<std::pair<size_t, bd::BoxEntry>>> found(samples.size());
  std::vector<int64_t> max_n;
  for (size_t i = 0; i < samples.size(); ++i) {
    const Tuple& s = samples[i];
    for (size_t p = 0; p < s.size(); ++p) {
      if (!s[p].is<TensorBBox>()) continue;
      const at::Tensor& b = s[p].get<TensorBBox>().data;
      FA_CHECK(b.defined() && b.dim() == 2 && b.size(1) == 4, "bb_pad: sample ", i, " element ", p,
               " is a TensorBBox of shape ", bd::shape_of(b), " (expected [n,4])");
      at::Tensor l;
      if (p + 1 < s.size() && s[p + 1].is<TensorMultiCategory>()) {
        l = s[p + 1].get<TensorMultiCategory>().data;
        FA_CHECK(l.dim() == 1 && l.size(0) == b.size(0), "bb_pad: sample ", i, " has ", b.size(0),
                 " boxes (element ", p, ") but labels of shape ", bd::shape_of(l), " (element ", p + 1,
                 "; expected one label per box)");
      }
      auto [cb, cl] = clip_remove_empty(b, l);
      if (max_n.size() <= p) max_n.resize(p + 1, 0);
      max_n[p] = std::max(max_n[p], cb.size(0));
      found[i].push_back({p, bd::BoxEntry{cb, cl}});
    }
  }
  for (size_t i = 0; i < samples.size(); ++i) {
    Tuple& s = samples[i];
    for (auto& [p, e] : found[i]) {
      const int64_t m = max_n[p] - e.boxes.size(0);
      TensorBBox b = s[p].get<TensorBBox>();
      b.data = m > 0 ? at::cat({e.boxes, at::zeros({m, 4}, e.boxes.options())}) : e.boxes;
      s[p] = retain_type(Item(b), s[p]);
      if (e.labels.defined()) {
        TensorMultiCategory l = s[p + 1].get<TensorMultiCategory>();
        l.data = m > 0 ? at::cat({e.labels, at::full({m}, pad_idx, e.labels.options())}) : e.labels;
        s[p + 1] = retain_type(Item(l), s[p + 1]);
      }
    }
  }
  return samples;
}

BBoxPad::BBoxPad(int64_t pad_idx) : ItemTransform("BBoxPad"), pad_idx_(pad_idx) { register_bbox_transforms(); }

Item BBoxPad::encodes_item(const Item& x) const {
  FA_CHECK(x.is<Tuple>(), "BBoxPad (bb_pad): expected the list of samples (a Tuple of Tuples), got a ", x.type_name());
  std::vector<Tuple> samples;
  for (const auto& s : x.get<Tuple>()) samples.push_back(s.is<Tuple>() ? s.get<Tuple>() : Tuple{s});
  samples = bb_pad(std::move(samples), pad_idx_);
  Tuple out;
  out.reserve(samples.size());
  for (auto& s : samples) out.push_back(Item::make<Tuple>(std::move(s)));
  return Item::make<Tuple>(std::move(out));
}

// ---- blocks -------------------------------------------------------------------------------------

TransformBlock PointBlock() {
  return TransformBlock{.type_tfms = {std::make_shared<PointCreate>()},
                        .item_tfms = {std::make_shared<PointScaler>()},
                        .name = "PointBlock"};
}

TransformBlock BBoxBlock() {
  return TransformBlock{.type_tfms = {std::make_shared<BBoxCreate>()},
                        .item_tfms = {std::make_shared<PointScaler>()},
                        .before_batch = {std::make_shared<BBoxPad>()},
                        .name = "BBoxBlock"};
}

TransformBlock BBoxLblBlock(std::vector<std::string> vocab, bool add_na) {
  return TransformBlock{.type_tfms = {std::make_shared<MultiCategorize>(std::move(vocab), add_na)},
                        .name = "BBoxLblBlock"};
}

void register_bbox_transforms() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_transform<PointCreate>("PointCreate");
    register_transform<BBoxCreate>("BBoxCreate");
    register_transform<PointScaler>("PointScaler");
    register_transform<BBoxPad>("BBoxPad");
  });
}

namespace bbox_detail {
// Registered when a program links this file, so load_learner finds these transforms.
[[maybe_unused]] const bool registered = (register_bbox_transforms(), true);
}  // namespace bbox_detail

}  // namespace fastai
