// DataLoader throughput on small real items: Fashion-MNIST as 28x28 PNG files (the tree
// tools/fmnist_to_png writes), each item decoded, labelled from its folder, turned into a float
// tensor, batched at bs 256 — with 1 and 2 worker threads, side by side with PyTorch's
// DataLoader + PIL (bench/dataloader_baseline.py, worker processes) in the same run.
//
//   dataloader_bench [ROOT] [--workers 1 2] [--bs 256] [--warmup 3] [--no-baseline]
//
// ROOT defaults to untar_data(URLs::FASHION_MNIST_PNG). Prints one line per side and worker count,
// then `dataloader_items_per_s: ours=<x> baseline=<y> ratio=<x/y>` (best worker count of each side).
#include <fastai/core/transforms.h>
#include <fastai/data/block.h>
#include <fastai/data/external.h>
#include <fastai/data/splitters.h>
#include <fastai/vision/data.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace dl_bench {

struct Args {
  std::string root;
  std::vector<int> workers{1, 2};
  int64_t bs = 256;
  int warmup = 3;
  bool baseline = true;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--workers") {
      a.workers.clear();
      while (i + 1 < argc && argv[i + 1][0] != '-') a.workers.push_back(std::atoi(argv[++i]));
    } else if (s == "--bs" && i + 1 < argc) {
      a.bs = std::atoll(argv[++i]);
    } else if (s == "--warmup" && i + 1 < argc) {
      a.warmup = std::atoi(argv[++i]);
    } else if (s == "--no-baseline") {
      a.baseline = false;
    } else if (s == "dataloader") {
      // the benchmark's own name, as bench/run passes it
    } else if (!s.empty() && s[0] != '-') {
      a.root = s;
    } else {
      std::cerr << "dataloader_bench: unknown option " << s << "\n";
      std::exit(2);
    }
  }
  if (a.root.empty()) a.root = fastai::untar_data(fastai::URLs::FASHION_MNIST_PNG).string();
  return a;
}

// One epoch of the training loader after `warmup` batches; items per second.
double items_per_s(const fastai::DataBlock& block, const std::string& root, int nw, const Args& a) {
  auto dls = block.dataloaders(std::filesystem::path(root), {.bs = a.bs,
                                                             .device = c10::Device(c10::kCPU),
                                                             .num_workers = nw,
                                                             .seed = 42});
  auto& dl = dls.train();
  dl.begin_epoch();
  fastai::Batch b;
  for (int i = 0; i < a.warmup; ++i)
    if (!dl.next(b)) return 0;
  int64_t n = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (dl.next(b)) n += b[0].size(0);
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (b[0].scalar_type() != at::kFloat || b[0].dim() != 4) {
    std::cerr << "dataloader_bench: expected float [B,1,28,28] batches, got " << b[0].sizes() << "\n";
    std::exit(1);
  }
  std::printf("ours items_per_s workers=%d value=%.0f (items=%lld, %.2f s)\n", nw, n / dt,
              static_cast<long long>(n), dt);
  std::fflush(stdout);
  return n / dt;
}

// Runs the Python baseline and returns its best items/s (0 when it failed).
double baseline(const Args& a) {
  std::string cmd = "/usr/bin/python3 " FASTAI_BENCH_DIR "/dataloader_baseline.py '";
  cmd += a.root;
  cmd += "' --bs ";
  cmd += std::to_string(a.bs);
  cmd += " --warmup ";
  cmd += std::to_string(a.warmup);
  cmd += " --workers";
  for (int w : a.workers) {
    cmd += ' ';
    cmd += std::to_string(w);
  }
  std::FILE* p = popen(cmd.c_str(), "r");
  if (!p) return 0;
  double best = 0;
  char line[512];
  const std::regex re(R"(best=([0-9.eE+-]+))");
  while (std::fgets(line, sizeof line, p)) {
    std::string l = line;
    std::cout << "baseline " << l << std::flush;
    std::smatch m;
    if (std::regex_search(l, m, re)) best = std::stod(m[1]);
  }
  return pclose(p) == 0 ? best : 0;
}

}  // namespace dl_bench

int main(int argc, char** argv) {
  auto a = dl_bench::parse(argc, argv);
  // The same pipeline as the baseline: PNG -> gray image, label = parent folder, float / 255.
  fastai::DataBlock block({.blocks = {fastai::ImageBlock(fastai::ImageMode::L), fastai::CategoryBlock()},
                           .get_items = fastai::get_image_files,
                           .get_y = fastai::parent_label,
                           .splitter = fastai::GrandparentSplitter("train", "valid")});
  std::printf("dataloader: %s, bs %lld, workers", a.root.c_str(), static_cast<long long>(a.bs));
  for (int w : a.workers) std::printf(" %d", w);
  std::printf("\n");
  double ours = 0;
  for (int w : a.workers) ours = std::max(ours, dl_bench::items_per_s(block, a.root, w, a));
  double base = a.baseline ? dl_bench::baseline(a) : 0;
  if (base > 0) {
    std::printf("dataloader_items_per_s: ours=%.0f baseline=%.0f ratio=%.2f\n", ours, base, ours / base);
  } else {
    std::printf("dataloader_items_per_s: ours=%.0f baseline=nan ratio=nan\n", ours);
  }
  return 0;
}
