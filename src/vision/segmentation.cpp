// SegmentationDataLoaders and the synthetic segmentation set (see fastai/vision/segmentation.h).
#include "fastai/vision/segmentation.h"

#include "fastai/core/error.h"
#include "fastai/core/files.h"
#include "fastai/data/external.h"
#include "fastai/data/idx.h"
#include "fastai/data/splitters.h"
#include "fastai/vision/image.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <numbers>
#include <random>
#include <utility>

namespace fastai {

namespace fs = std::filesystem;

// ---- SegmentationDataLoaders ------------------------------------------------------------------

DataLoaders SegmentationDataLoaders::from_label_func(const fs::path& path, std::vector<fs::path> fnames,
                                                     std::function<fs::path(const fs::path&)> label_func,
                                                     SegmentationDataLoadersOptions o) {
  FA_CHECK(!fnames.empty(), "SegmentationDataLoaders::from_label_func: no file names given");
  FA_CHECK(label_func != nullptr, "SegmentationDataLoaders::from_label_func: label_func is empty");
  std::vector<fs::path> files;
  files.reserve(fnames.size());
  for (auto& f : fnames) files.push_back(path / f);
  auto get_y = [f = std::move(label_func)](const fs::path& img) {
    fs::path lbl = f(img);
    FA_CHECK(fs::is_regular_file(lbl), "SegmentationDataLoaders::from_label_func: label_func(", img.string(), ") gave ",
             lbl.string(), ", which is not an existing file");
    return lbl;
  };
  DataBlockOptions b{.blocks = {ImageBlock(o.img_mode), MaskBlock(o.codes)},
                     .get_items = [files](const Item&) { return files; },
                     .get_y = ItemFn(std::move(get_y), "label_func"),
                     .splitter = RandomSplitter(o.valid_pct, o.seed),
                     .item_tfms = o.item_tfms,
                     .batch_tfms = o.batch_tfms};
  DataBlock db(std::move(b));
  return db.dataloaders(Item(path), {.bs = o.bs, .val_bs = o.val_bs, .shuffle_train = o.shuffle, .device = o.device,
                                     .num_workers = o.num_workers, .seed = o.seed.value_or(0), .path = path.string()});
}

// ---- synthetic segmentation set ---------------------------------------------------------------

namespace synthetic_seg_detail {

struct SynthRng {
  std::mt19937_64 g;
  explicit SynthRng(uint64_t seed) : g(seed) {}
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(g); }
  int64_t randint(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(g); }
};

// Boolean [S,S] region of a procedural shape of class k (1 circle, 2 rectangle, 3 triangle).
at::Tensor shape_region(int64_t k, int64_t s, SynthRng& rng) {
  const double r = rng.uniform(s / 10.0, s / 4.0);
  const double cx = rng.uniform(r, s - r), cy = rng.uniform(r, s - r);
  at::Tensor ys = at::arange(s, at::kFloat).view({s, 1}).expand({s, s});
  at::Tensor xs = at::arange(s, at::kFloat).view({1, s}).expand({s, s});
  at::Tensor dx = xs - cx, dy = ys - cy;
  if (k == 1) return dx * dx + dy * dy <= r * r;
  if (k == 2) {
    const double hw = r * rng.uniform(0.6, 1.0), hh = r * rng.uniform(0.6, 1.0);
    return (dx.abs() <= hw) & (dy.abs() <= hh);
  }
  // triangle: vertices at angles t, t+120°, t+240° on a circle of radius r; inside = same side of every edge
  const double t = rng.uniform(0, 2 * std::numbers::pi);
  double vx[3], vy[3];
  for (int i = 0; i < 3; ++i) {
    vx[i] = cx + r * std::cos(t + i * 2 * std::numbers::pi / 3);
    vy[i] = cy + r * std::sin(t + i * 2 * std::numbers::pi / 3);
  }
  at::Tensor inside = at::ones({s, s}, at::kBool);
  for (int i = 0; i < 3; ++i) {
    const int j = (i + 1) % 3;
    // counter-clockwise vertices (increasing angle): inside is to the left of each edge
    at::Tensor cross = (vx[j] - vx[i]) * (ys - vy[i]) - (vy[j] - vy[i]) * (xs - vx[i]);
    inside = inside & (cross >= 0);
  }
  return inside;
}

}  // namespace synthetic_seg_detail

SyntheticSegmentation make_synthetic_segmentation(const fs::path& dir, int64_t n, SyntheticSegmentationOptions o) {
  using namespace synthetic_seg_detail;
  FA_CHECK(n >= 1, "make_synthetic_segmentation: expected n >= 1 images, got ", n);
  FA_CHECK(o.size >= 16, "make_synthetic_segmentation: expected a canvas size >= 16, got ", o.size);
  FA_CHECK(o.min_items >= 1 && o.max_items >= o.min_items, "make_synthetic_segmentation: expected 1 <= min_items <= "
           "max_items, got ", o.min_items, " and ", o.max_items);
  FA_CHECK(o.noise >= 0, "make_synthetic_segmentation: expected noise >= 0, got ", o.noise);
  SyntheticSegmentation out;
  out.path = dir;
  FashionMNIST fm;
  if (o.fashion_mnist) {
    FA_CHECK(o.item_scale >= 1 && 28 * o.item_scale <= o.size, "make_synthetic_segmentation: Fashion-MNIST items of 28 x ",
             o.item_scale, " pixels do not fit on a ", o.size, " canvas");
    fm = load_fashion_mnist(o.fashion_mnist_dir);
    out.codes = {"background"};
    for (const auto& c : FashionMNIST::classes) out.codes.push_back(c);
  } else {
    out.codes = {"background", "circle", "rectangle", "triangle"};
  }
  SynthRng rng(o.seed);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed ^ 0x5eedULL);
  const int64_t s = o.size;
  for (int64_t i = 0; i < n; ++i) {
    const double bg = rng.uniform(50, 200);
    at::Tensor img = at::full({3, s, s}, bg, at::kFloat) + at::randn({3, s, s}, gen) * o.noise;
    at::Tensor mask = at::zeros({s, s}, at::kLong);
    const int64_t k = rng.randint(o.min_items, o.max_items);
    for (int64_t j = 0; j < k; ++j) {
      at::Tensor col = at::empty({3, 1, 1}, at::kFloat);
      int64_t cls = 0;
      int64_t fm_idx = 0;
      if (o.fashion_mnist) {
        fm_idx = rng.randint(0, fm.train_x.size(0) - 1);
        cls = fm.train_y[fm_idx].item<int64_t>() + 1;
      } else {
        cls = rng.randint(1, 3);
      }
      if (o.class_colours) {
        static constexpr double kPalette[10][3] = {{220, 40, 40},  {40, 200, 60},  {50, 60, 230},  {230, 210, 40},
                                                   {200, 50, 210}, {40, 210, 210}, {250, 140, 30}, {120, 40, 160},
                                                   {20, 20, 20},   {250, 250, 250}};
        for (int c = 0; c < 3; ++c) col[c] = kPalette[(cls - 1) % 10][c];
      } else {
        // a colour at least 60 grey levels away from the background in every channel
        for (int c = 0; c < 3; ++c) {
          const double d = rng.uniform(60, 120) * (rng.uniform(0, 1) < 0.5 ? -1 : 1);
          double v = bg + d;
          if (v < 0 || v > 255) v = bg - d;
          col[c] = v;
        }
      }
      at::Tensor region, shade;
      if (o.fashion_mnist) {
        const int64_t idx = fm_idx;
        const int64_t w = 28 * o.item_scale;
        at::Tensor item = fm.train_x[idx].to(at::kFloat).repeat_interleave(o.item_scale, 0).repeat_interleave(o.item_scale, 1);
        const int64_t y0 = rng.randint(0, s - w), x0 = rng.randint(0, s - w);
        at::Tensor full = at::zeros({s, s}, at::kFloat);
        full.narrow(0, y0, w).narrow(1, x0, w).copy_(item);
        region = full > 40;
        shade = full / 255.0;
      } else {
        region = shape_region(cls, s, rng);
        shade = at::ones({s, s}, at::kFloat);
      }
      at::Tensor tex = col * shade + at::randn({3, s, s}, gen) * o.noise;
      img = at::where(region.unsqueeze(0), tex, img);
      mask.masked_fill_(region, cls);
    }
    char name[32];
    std::snprintf(name, sizeof(name), "img_%04lld", static_cast<long long>(i));
    const fs::path ip = dir / "images" / (std::string(name) + ".png");
    save_image(ip, img.round().clamp(0, 255).to(at::kByte));
    save_image(dir / "labels" / (std::string(name) + "_P.png"), mask.to(at::kByte));
    out.images.push_back(ip);
  }
  atomic_write(dir / "codes.txt", [&](const fs::path& tmp) {
    std::ofstream f(tmp, std::ios::binary);
    for (const auto& c : out.codes) f << c << "\n";
    FA_CHECK(f.good(), "make_synthetic_segmentation: could not write ", tmp.string());
  });
  return out;
}

fs::path synthetic_label_func(const fs::path& image) {
  fs::path stem = image.stem();
  return image.parent_path().parent_path() / "labels" / (stem.string() + "_P.png");
}

}  // namespace fastai
