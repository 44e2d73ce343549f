// Batch augmentation throughput on the batch's device (CUDA when LibTorch sees a GPU, else CPU):
// fastai-cpp's aug_transforms() (flip, rotate, zoom, warp merged into one AffineCoordTfm grid +
// one grid_sample; brightness and contrast merged into one LightingTfm) on float batches of
// [bs, 3, size, size], side by side with the same augmentation written in plain PyTorch
// (bench/batch_aug_baseline.py: per-item affine matrices, affine_grid + perspective warp of the
// grid, grid_sample, logit-space lighting) on the same device, in the same run.
//
//   batch_aug_bench [--bs 64] [--size 224] [--iters 20] [--device cpu|cuda] [--no-baseline]
//
// Prints `batch_aug_img_per_s: ours=<x> baseline=<y> ratio=<x/y> device=<d>`.
#include <fastai/core/pipeline.h>
#include <fastai/core/random.h>
#include <fastai/data/dataloader.h>
#include <fastai/vision/batch_augment.h>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/Device.h>
#include <torch/cuda.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <regex>
#include <string>

namespace batch_aug_bench {

struct Args {
  int64_t bs = 64, size = 224;
  int iters = 20;
  std::string device = "";
  bool baseline = true;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "batch_aug_bench: %s needs a value\n", s.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (s == "--bs") a.bs = std::atoll(next().c_str());
    else if (s == "--size") a.size = std::atoll(next().c_str());
    else if (s == "--iters") a.iters = std::atoi(next().c_str());
    else if (s == "--device") a.device = next();
    else if (s == "--no-baseline") a.baseline = false;
    else if (s == "batch_aug") continue;  // the name bench/run passes
    else {
      std::fprintf(stderr, "usage: batch_aug_bench [--bs N] [--size N] [--iters N] [--device cpu|cuda] [--no-baseline]\n");
      std::exit(2);
    }
  }
  return a;
}

void sync(const c10::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

double ours(const Args& a, const c10::Device& dev) {
  fastai::Pipeline p(fastai::aug_transforms(), /*split_idx=*/0);
  at::NoGradGuard ng;
  auto x = at::rand({a.bs, 3, a.size, a.size}, at::TensorOptions().device(dev));
  fastai::Tuple b{fastai::TensorImage(x)};
  for (int i = 0; i < 3; ++i) (void)p(b);  // warm-up (kernels, caches)
  sync(dev);
  const auto t0 = std::chrono::steady_clock::now();
  at::Tensor out;
  for (int i = 0; i < a.iters; ++i) {
    fastai::seed_thread_rng(static_cast<uint64_t>(i) + 1);
    out = fastai::tensor_of(p(b)[0]);
  }
  sync(dev);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (out.sizes() != x.sizes()) std::fprintf(stderr, "batch_aug_bench: unexpected output shape\n");
  return static_cast<double>(a.bs) * a.iters / s;
}

double baseline(const Args& a, const std::string& dev) {
  std::string cmd = "/usr/bin/python3 " FASTAI_BENCH_DIR "/batch_aug_baseline.py --bs ";
  cmd += std::to_string(a.bs);
  cmd += " --size ";
  cmd += std::to_string(a.size);
  cmd += " --iters ";
  cmd += std::to_string(a.iters);
  cmd += " --device ";
  cmd += dev;
  std::FILE* p = popen(cmd.c_str(), "r");
  if (!p) return 0;
  char line[512];
  double v = 0;
  const std::regex re(R"(img_per_s value=([0-9.eE+-]+))");
  while (std::fgets(line, sizeof line, p)) {
    std::string l = line;
    std::cout << "baseline " << l << std::flush;
    std::smatch m;
    if (std::regex_search(l, m, re)) v = std::stod(m[1]);
  }
  return pclose(p) == 0 ? v : 0;
}

}  // namespace batch_aug_bench

int main(int argc, char** argv) {
  using namespace batch_aug_bench;
  const Args a = parse(argc, argv);
  const c10::Device dev = a.device.empty() ? fastai::default_device() : c10::Device(a.device);
  const std::string dname = dev.is_cuda() ? "cuda" : "cpu";
  std::printf("batch augmentation: aug_transforms() on [%lld, 3, %lld, %lld] float batches, device %s, %d iterations\n",
              static_cast<long long>(a.bs), static_cast<long long>(a.size), static_cast<long long>(a.size),
              dname.c_str(), a.iters);
  const double x = ours(a, dev);
  std::printf("ours img_per_s value=%.1f\n", x);
  const double y = a.baseline ? baseline(a, dname) : 0;
  if (y > 0) std::printf("batch_aug_img_per_s: ours=%.1f baseline=%.1f ratio=%.2f device=%s\n", x, y, x / y, dname.c_str());
  else std::printf("batch_aug_img_per_s: ours=%.1f baseline=nan ratio=nan device=%s\n", x, dname.c_str());
  return 0;
}
