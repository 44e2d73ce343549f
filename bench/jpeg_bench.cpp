// JPEG pipeline throughput: decode + RandomResizedCrop(224) + FlipItem over a folder of 500x375
// RGB JPEGs, bs 64, one shuffled epoch of the training loader, with 1 and 2 worker threads; side by
// side with torchvision + PIL in a torch DataLoader (bench/jpeg_baseline.py) on the same files.
// Ours runs twice: with lazy JPEG decoding (ImageCreate keeps the JPEG encoded and
// RandomResizedCrop decodes only its window at a reduced DCT scale) and without it
// (FASTAI_LAZY_DECODE=0 behaviour: full decode, then crop), so the gain of that path is known.
//
//   jpeg_bench [--dir DIR] [--n 512] [--workers 1 2] [--rounds 3] [--bs 64] [--no-baseline]
//
// DIR (default: jpeg_data beside this program, i.e. under the build folder) is filled once with
// DIR/{a,b}/<i>.jpg (quality 90; smooth gradients, random shapes, noise). Prints one line per side
// and worker count (best of --rounds epochs), then
// `jpeg_pipeline_img_per_s: ours=<x> baseline=<y> ratio=<x/y>` for 2 workers (and a 1-worker line).
#include <fastai/core/transforms.h>
#include <fastai/data/block.h>
#include <fastai/data/splitters.h>
#include <fastai/vision/augment.h>
#include <fastai/vision/data.h>
#include <fastai/vision/image.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace jpeg_bench {

namespace fs = std::filesystem;

struct Args {
  fs::path dir;
  int n = 512;
  std::vector<int> workers{1, 2};
  int rounds = 3;
  int64_t bs = 64;
  bool baseline = true;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--workers") {
      a.workers.clear();
      while (i + 1 < argc && argv[i + 1][0] != '-') a.workers.push_back(std::atoi(argv[++i]));
    } else if (s == "--dir" && i + 1 < argc) {
      a.dir = argv[++i];
    } else if (s == "--n" && i + 1 < argc) {
      a.n = std::atoi(argv[++i]);
    } else if (s == "--rounds" && i + 1 < argc) {
      a.rounds = std::max(1, std::atoi(argv[++i]));
    } else if (s == "--bs" && i + 1 < argc) {
      a.bs = std::atoll(argv[++i]);
    } else if (s == "--no-baseline") {
      a.baseline = false;
    } else if (s == "jpeg") {
      // the benchmark's own name, as bench/run passes it
    } else {
      std::cerr << "jpeg_bench: unknown option " << s << "\n";
      std::exit(2);
    }
  }
  if (a.dir.empty()) {
    std::error_code ec;
    auto self = fs::read_symlink("/proc/self/exe", ec);
    a.dir = (ec ? fs::current_path() : self.parent_path()) / "jpeg_data";
  }
  return a;
}

// A natural-looking 375 x 500 picture: a smooth colour gradient, a few filled ellipses and
// rectangles of random colours, and pixel noise.
at::Tensor picture(int64_t h, int64_t w, at::Generator& gen) {
  auto u = [&](double lo, double hi) { return at::empty({}, at::kDouble).uniform_(lo, hi, gen).item<double>(); };
  auto y = at::arange(h, at::kFloat).view({1, h, 1}).expand({3, h, w}) / static_cast<double>(h);
  auto x = at::arange(w, at::kFloat).view({1, 1, w}).expand({3, h, w}) / static_cast<double>(w);
  auto c0 = at::rand({3, 1, 1}, gen) * 255, cx = at::rand({3, 1, 1}, gen) * 160 - 80, cy = at::rand({3, 1, 1}, gen) * 160 - 80;
  at::Tensor img = c0 + cx * x + cy * y;
  const int shapes = static_cast<int>(u(4, 9));
  auto yy = at::arange(h, at::kFloat).view({h, 1}).expand({h, w});
  auto xx = at::arange(w, at::kFloat).view({1, w}).expand({h, w});
  for (int s = 0; s < shapes; ++s) {
    const double cxp = u(0, w), cyp = u(0, h), rx = u(20, 150), ry = u(20, 120);
    at::Tensor m = u(0, 1) < 0.5 ? (((xx - cxp) / rx).pow(2) + ((yy - cyp) / ry).pow(2)) < 1
                                 : ((xx - cxp).abs() < rx) & ((yy - cyp).abs() < ry);
    auto col = at::rand({3, 1, 1}, gen) * 255;
    auto shade = col + (xx - cxp).unsqueeze(0) * (u(-0.3, 0.3));
    img = at::where(m.unsqueeze(0), shade, img);
  }
  img = img + at::randn({3, h, w}, gen) * 6.0;
  return img.round().clamp(0, 255).to(at::kByte);
}

// The image folder, written once (a marker file says it is complete).
void ensure_data(const Args& a) {
  const fs::path done = a.dir / ("done_" + std::to_string(a.n));
  if (fs::exists(done)) return;
  std::printf("jpeg_bench: writing %d JPEGs (500x375, quality 90) to %s\n", a.n, a.dir.string().c_str());
  std::fflush(stdout);
  fs::remove_all(a.dir);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1234);
  for (int i = 0; i < a.n; ++i) {
    const fs::path f = a.dir / (i % 2 ? "b" : "a") / (std::to_string(i) + ".jpg");
    fs::create_directories(f.parent_path());
    fastai::save_image(f, picture(375, 500, gen), 90);
  }
  std::ofstream(done) << a.n << "\n";
}

// The fastai user code: a DataBlock over the folder, label = parent folder, item_tfms
// RandomResizedCrop(224) + FlipItem, no batch transforms (uint8 batches, as PILToTensor gives).
// Every file but one is in the training set; one shuffled epoch of the training loader.
double cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Images per second of wall time (best of the rounds); `per_cpu` gets images per CPU-second of
// the whole process (all threads), which a busy shared machine disturbs less.
double img_per_s(const Args& a, int nw, bool lazy, int64_t& count, double& per_cpu) {
  fastai::set_lazy_image_decode(lazy);
  fastai::TransformBlock images{.type_tfms = {std::make_shared<fastai::ImageCreate>()}, .name = "ImageBlock"};
  fastai::DataBlock block({.blocks = {images, fastai::CategoryBlock()},
                           .get_items = fastai::get_image_files,
                           .get_y = fastai::parent_label,
                           .splitter = fastai::IndexSplitter({0}),
                           .item_tfms = {std::make_shared<fastai::RandomResizedCrop>(224),
                                         std::make_shared<fastai::FlipItem>()}});
  double best = 0;
  per_cpu = 0;
  for (int r = 0; r < a.rounds; ++r) {
    auto dls = block.dataloaders(a.dir, {.bs = a.bs, .device = c10::Device(c10::kCPU), .num_workers = nw,
                                         .seed = static_cast<uint64_t>(42 + r)});
    auto& dl = dls.train();
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_s();
    dl.begin_epoch();
    fastai::Batch b;
    int64_t n = 0;
    while (dl.next(b)) {
      if (b[0].dim() != 4 || b[0].size(1) != 3 || b[0].size(2) != 224 || b[0].size(3) != 224) {
        std::cerr << "jpeg_bench: expected [B,3,224,224] batches, got " << b[0].sizes() << "\n";
        std::exit(1);
      }
      n += b[0].size(0);
    }
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double dc = cpu_s() - c0;
    count = n;
    best = std::max(best, static_cast<double>(n) / dt);
    per_cpu = std::max(per_cpu, static_cast<double>(n) / dc);
  }
  std::printf("ours img_per_s workers=%d lazy_decode=%s value=%.1f img_per_cpu_s=%.1f (%lld images/epoch, best of %d)\n",
              nw, lazy ? "on" : "off", best, per_cpu, static_cast<long long>(count), a.rounds);
  std::fflush(stdout);
  return best;
}

// Runs the Python baseline: its img/s per worker count (empty when it failed); `per_cpu` gets its
// images per CPU-second (main process + workers).
std::map<int, double> baseline(const Args& a, std::map<int, double>& per_cpu) {
  std::string cmd = "/usr/bin/python3 " FASTAI_BENCH_DIR "/jpeg_baseline.py '";
  cmd += a.dir.string();
  cmd += "' --bs ";
  cmd += std::to_string(a.bs);
  cmd += " --rounds ";
  cmd += std::to_string(a.rounds);
  cmd += " --workers";
  for (int w : a.workers) {
    cmd += ' ';
    cmd += std::to_string(w);
  }
  std::map<int, double> out;
  std::FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char line[512];
  const std::regex re(R"(img_per_s workers=([0-9]+) value=([0-9.eE+-]+) img_per_cpu_s=([0-9.eE+-]+))");
  while (std::fgets(line, sizeof line, p)) {
    std::string l = line;
    std::cout << "baseline " << l << std::flush;
    std::smatch m;
    if (std::regex_search(l, m, re)) {
      out[std::stoi(m[1])] = std::stod(m[2]);
      per_cpu[std::stoi(m[1])] = std::stod(m[3]);
    }
  }
  if (pclose(p) != 0) out.clear();
  return out;
}

void summary(const char* label, double ours, double base) {
  if (base > 0) {
    std::printf("%s: ours=%.1f baseline=%.1f ratio=%.2f\n", label, ours, base, ours / base);
  } else {
    std::printf("%s: ours=%.1f baseline=nan ratio=nan\n", label, ours);
  }
}

}  // namespace jpeg_bench

int main(int argc, char** argv) {
  auto a = jpeg_bench::parse(argc, argv);
  at::set_num_threads(1);  // item transforms run on the loader's threads; no intra-op threads on top
  jpeg_bench::ensure_data(a);
  std::printf("jpeg: %s, %d files 500x375, bs %lld, RandomResizedCrop(224) + FlipItem, workers", a.dir.string().c_str(),
              a.n, static_cast<long long>(a.bs));
  for (int w : a.workers) std::printf(" %d", w);
  std::printf("\n");
  std::map<int, double> on, off, on_cpu, off_cpu, base_cpu;
  int64_t count = 0;
  for (int w : a.workers) {
    on[w] = jpeg_bench::img_per_s(a, w, true, count, on_cpu[w]);
    off[w] = jpeg_bench::img_per_s(a, w, false, count, off_cpu[w]);
  }
  auto base = a.baseline ? jpeg_bench::baseline(a, base_cpu) : std::map<int, double>{};
  for (int w : a.workers) {
    std::printf("lazy decode gain workers=%d: %.2fx (%.1f vs %.1f img/s; per CPU-second %.1f vs %.1f)\n", w,
                on[w] / off[w], on[w], off[w], on_cpu[w], off_cpu[w]);
    if (base_cpu.count(w))
      std::printf("per CPU-second workers=%d: ours=%.1f baseline=%.1f ratio=%.2f\n", w, on_cpu[w], base_cpu[w],
                  on_cpu[w] / base_cpu[w]);
  }
  const int one = a.workers.front(), two = a.workers.back();
  std::string l1 = "jpeg_pipeline_img_per_s_";
  l1 += std::to_string(one);
  l1 += "thread";
  jpeg_bench::summary(l1.c_str(), on[one], base.count(one) ? base[one] : 0);
  jpeg_bench::summary("jpeg_pipeline_img_per_s", on[two], base.count(two) ? base[two] : 0);
  return 0;
}
