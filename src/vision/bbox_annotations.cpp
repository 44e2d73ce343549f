// get_annotations (COCO-style JSON) and make_synthetic_boxes (a drawn box set with exact boxes).
#include "fastai/vision/bbox.h"

#include "fastai/core/error.h"
#include "fastai/core/files.h"
#include "fastai/core/random.h"
#include "fastai/vision/image.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace fastai::bbox_annot_detail {

using nlohmann::json;

struct Reader {
  std::string file;  // for messages

  const json& key(const json& obj, const char* k, const std::string& where) const {
    FA_CHECK(obj.is_object(), "get_annotations ", file, ": ", where, " is ", obj.type_name(), " (expected an object)");
    auto it = obj.find(k);
    FA_CHECK(it != obj.end(), "get_annotations ", file, ": ", where, " has no key '", k, "'");
    return *it;
  }
  const json& array(const json& obj, const char* k, const std::string& where) const {
    const json& a = key(obj, k, where);
    FA_CHECK(a.is_array(), "get_annotations ", file, ": key '", k, "' of ", where, " is ", a.type_name(),
             " (expected an array)");
    return a;
  }
  std::string str(const json& obj, const char* k, const std::string& where) const {
    const json& v = key(obj, k, where);
    FA_CHECK(v.is_string(), "get_annotations ", file, ": key '", k, "' of ", where, " is ", v.dump(),
             " (expected a string)");
    return v.get<std::string>();
  }
  // An id (number or string) as a map key.
  std::string id(const json& obj, const char* k, const std::string& where) const {
    const json& v = key(obj, k, where);
    FA_CHECK(v.is_number_integer() || v.is_string(), "get_annotations ", file, ": key '", k, "' of ", where, " is ",
             v.dump(), " (expected an integer or string id)");
    return v.dump();
  }
};

std::string entry(const char* list, size_t i) {
  std::string s = list;
  s += "[";
  s += std::to_string(i);
  s += "]";
  return s;
}

}  // namespace fastai::bbox_annot_detail

namespace fastai {

Annotations get_annotations(const std::filesystem::path& fname, const std::string& prefix) {
  using nlohmann::json;
  namespace ad = bbox_annot_detail;
  const std::string file = fname.string();
  std::error_code ec;
  FA_CHECK(std::filesystem::is_regular_file(fname, ec), "get_annotations: ", file,
           " does not exist or is not a file (expected a COCO-style JSON)");
  std::ifstream in(fname, std::ios::binary);
  FA_CHECK(in.good(), "get_annotations: cannot open ", file);
  std::stringstream ss;
  ss << in.rdbuf();
  json root;
  try {
    root = json::parse(ss.str());
  } catch (const json::parse_error& e) {
    fail("get_annotations ", file, ": malformed JSON (", e.what(), ")");
  }
  ad::Reader r{file};
  std::map<std::string, std::string> classes;
  const json& cats = r.array(root, "categories", "the top level");
  for (size_t i = 0; i < cats.size(); ++i)
    classes[r.id(cats[i], "id", ad::entry("categories", i))] = r.str(cats[i], "name", ad::entry("categories", i));
  const json& images = r.array(root, "images", "the top level");
  std::map<std::string, std::string> id2name;
  for (size_t i = 0; i < images.size(); ++i)
    id2name[r.id(images[i], "id", ad::entry("images", i))] = r.str(images[i], "file_name", ad::entry("images", i));

  std::map<std::string, BBoxAnnotation> id2annot;
  const json& annots = r.array(root, "annotations", "the top level");
  for (size_t i = 0; i < annots.size(); ++i) {
    const std::string where = ad::entry("annotations", i);
    const json& a = annots[i];
    const std::string img = r.id(a, "image_id", where);
    auto im = id2name.find(img);
    FA_CHECK(im != id2name.end(), "get_annotations ", file, ": ", where, " has image_id ", img,
             ", which is not in \"images\"");
    const std::string cat = r.id(a, "category_id", where);
    auto c = classes.find(cat);
    FA_CHECK(c != classes.end(), "get_annotations ", file, ": ", where, " (image ", quote_value(im->second),
             ") has category_id ", cat, ", which is not in \"categories\"");
    const json& bb = r.array(a, "bbox", where);
    bool ok = bb.size() == 4;
    for (const auto& v : bb) ok = ok && v.is_number();
    FA_CHECK(ok, "get_annotations ", file, ": ", where, " (image ", quote_value(im->second), ") has bbox ", bb.dump(),
             " (expected 4 numbers [x, y, w, h])");
    const double x = bb[0].get<double>(), y = bb[1].get<double>(), w = bb[2].get<double>(), h = bb[3].get<double>();
    FA_CHECK(w >= 0 && h >= 0, "get_annotations ", file, ": ", where, " (image ", quote_value(im->second), ") has bbox ",
             bb.dump(), ", i.e. x0, y0, x1, y1 = ", x, ", ", y, ", ", x + w, ", ", y + h,
             " (expected a width and height >= 0, so x1 >= x0 and y1 >= y0)");
    auto& an = id2annot[img];
    an.boxes.push_back({x, y, x + w, y + h});
    an.labels.push_back(c->second);
  }
  Annotations out;
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string id = r.id(images[i], "id", ad::entry("images", i));
    auto it = id2annot.find(id);
    if (it == id2annot.end()) continue;  // fastai keeps only the images with boxes
    std::string name = prefix;
    name += id2name[id];
    out.images.push_back(std::move(name));
    out.lbl_bbox.push_back(std::move(it->second));
    id2annot.erase(it);  // a repeated image id is listed once
  }
  return out;
}

SyntheticBoxes make_synthetic_boxes(const std::filesystem::path& dir, int64_t n, SyntheticBoxesOptions o) {
  using nlohmann::json;
  FA_CHECK(n >= 1, "make_synthetic_boxes: n = ", n, " (expected >= 1)");
  FA_CHECK(o.height >= 8 && o.width >= 8, "make_synthetic_boxes: height x width = ", o.height, " x ", o.width,
           " (expected both >= 8)");
  FA_CHECK(o.min_side >= 2 && o.max_side >= o.min_side && o.max_side <= std::min(o.height, o.width),
           "make_synthetic_boxes: min_side = ", o.min_side, ", max_side = ", o.max_side,
           " (expected 2 <= min_side <= max_side <= min(height, width))");
  FA_CHECK(o.min_boxes >= 0 && o.max_boxes >= o.min_boxes, "make_synthetic_boxes: min_boxes = ", o.min_boxes,
           ", max_boxes = ", o.max_boxes, " (expected 0 <= min_boxes <= max_boxes)");
  FA_CHECK(o.noise >= 0 && o.noise <= 255, "make_synthetic_boxes: noise = ", o.noise, " (expected 0..255)");
  Rng rng(o.seed);
  const int64_t H = o.height, W = o.width;
  SyntheticBoxes out{dir / "images", dir / "annotations.json"};
  json images = json::array(), annots = json::array();
  int64_t next_ann = 1;
  for (int64_t k = 0; k < n; ++k) {
    at::Tensor img = at::empty({3, H, W}, at::kByte);
    auto a = img.accessor<uint8_t, 3>();
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) a[c][y][x] = static_cast<uint8_t>(rng.uniform(0.0, o.noise + 1.0));
    const int64_t want = rng.randint(o.min_boxes, o.max_boxes);
    std::vector<std::array<int64_t, 4>> placed;
    for (int64_t s = 0; s < want; ++s) {
      bool ok = false;
      for (int attempt = 0; attempt < 100 && !ok; ++attempt) {
        const bool circle = rng.bernoulli(0.5);
        std::array<int64_t, 4> b{};
        int64_t cx = 0, cy = 0, r = 0;
        if (circle) {
          r = std::max<int64_t>(1, rng.randint(o.min_side, o.max_side) / 2);
          cx = rng.randint(r, W - r);
          cy = rng.randint(r, H - r);
          b = {cx - r, cy - r, cx + r, cy + r};
        } else {
          const int64_t w = rng.randint(o.min_side, o.max_side), h = rng.randint(o.min_side, o.max_side);
          const int64_t x0 = rng.randint(0, W - w), y0 = rng.randint(0, H - h);
          b = {x0, y0, x0 + w, y0 + h};
        }
        // Non-overlapping, one pixel apart: every box stays exactly its shape's extent.
        ok = true;
        for (const auto& q : placed)
          if (b[0] <= q[2] && q[0] <= b[2] && b[1] <= q[3] && q[1] <= b[3]) ok = false;
        if (!ok) continue;
        std::array<uint8_t, 3> col{};
        for (auto& v : col) v = static_cast<uint8_t>(rng.randint(130, 255));
        col[static_cast<size_t>(rng.below(3))] = 255;  // bright against the dark noise
        for (int64_t y = b[1]; y < b[3]; ++y)
          for (int64_t x = b[0]; x < b[2]; ++x) {
            if (circle) {
              const double dx = static_cast<double>(x) + 0.5 - static_cast<double>(cx);
              const double dy = static_cast<double>(y) + 0.5 - static_cast<double>(cy);
              if (dx * dx + dy * dy > static_cast<double>(r * r)) continue;
            }
            for (int64_t c = 0; c < 3; ++c) a[c][y][x] = col[static_cast<size_t>(c)];
          }
        placed.push_back(b);
        annots.push_back({{"id", next_ann++},
                          {"image_id", k + 1},
                          {"category_id", circle ? 2 : 1},
                          {"bbox", {b[0], b[1], b[2] - b[0], b[3] - b[1]}},
                          {"area", (b[2] - b[0]) * (b[3] - b[1])},
                          {"iscrowd", 0}});
      }
      FA_CHECK(ok || static_cast<int64_t>(placed.size()) >= o.min_boxes, "make_synthetic_boxes: could not place ",
               o.min_boxes, " non-overlapping shapes of side up to ", o.max_side, " on a ", H, " x ", W,
               " image; use smaller max_side / min_boxes or a larger image");
      if (!ok) break;
    }
    char name[32];
    std::snprintf(name, sizeof name, "img_%03lld.png", static_cast<long long>(k));
    save_image(out.images / name, img);
    images.push_back({{"id", k + 1}, {"file_name", name}, {"width", W}, {"height", H}});
  }
  json root = {{"images", images},
               {"annotations", annots},
               {"categories", json::array({json{{"id", 1}, {"name", "rectangle"}}, json{{"id", 2}, {"name", "circle"}}})}};
  atomic_write(out.annotations, [&](const std::filesystem::path& tmp) {
    std::ofstream f(tmp, std::ios::binary);
    f << root.dump(1) << "\n";
    FA_CHECK(f.good(), "make_synthetic_boxes: cannot write ", tmp.string());
  });
  return out;
}

}  // namespace fastai
