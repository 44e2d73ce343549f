// Shared pieces of the Fashion-MNIST benchmarks: data loading (own IDX reader, so the raw side
// needs nothing from fastai), the three models, and the hand-written raw LibTorch training loop
// that is the floor fastai-cpp is compared with: fastai's Adam (decoupled wd, debiased moments)
// and 1cycle schedule inline, and the same Fisher-Yates/splitmix64 shuffle as TensorDataLoader.
#pragma once
#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_foreach_addcdiv.h>
#include <ATen/ops/_foreach_addcmul.h>
#include <ATen/ops/_foreach_div.h>
#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_sqrt.h>
#include <torch/torch.h>
#include <dlfcn.h>
#include <zlib.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
/// CPU time of the whole process (all threads), seconds: steadier than wall time on a shared machine.
inline double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

inline double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? NAN : s / static_cast<double>(v.size());
}

inline double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
/// CPU time of the calling thread, seconds: the framework's own work all runs on this thread.
inline double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// ---- environment ------------------------------------------------------------------------------

/// The BLAS library mapped into this process (what LibTorch's matmuls really call).
inline std::string loaded_blas() {
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  while (std::getline(maps, line)) {
    auto pos = line.find('/');
    if (pos == std::string::npos) continue;
    std::string path = line.substr(pos);
    const std::string base = std::filesystem::path(path).filename().string();
    if (base.find("blas") != std::string::npos) {
      found = path;
      if (base.find("openblas") != std::string::npos) break;  // the real library behind libblas.so.3
    }
  }
  return found.empty() ? "unknown" : found;
}

/// Gives OpenBLAS's own thread pool n threads (LibTorch's set_num_threads does not reach it), in
/// this process through openblas_set_num_threads and in child processes (the Python baseline)
/// through OPENBLAS_NUM_THREADS. Returns OpenBLAS's thread count, or -1 if the BLAS is not OpenBLAS.
inline int set_blas_threads(int n) {
  using SetFn = void (*)(int);
  using GetFn = int (*)();
  auto set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  auto get = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (set) set(n);
  setenv("OPENBLAS_NUM_THREADS", std::to_string(n).c_str(), 1);
  return get ? get() : -1;
}

inline std::string blas_alternative() {
  std::error_code ec;
  auto p = std::filesystem::canonical("/etc/alternatives/libblas.so.3-x86_64-linux-gnu", ec);
  return ec ? "unknown" : p.string();
}

/// The first three fields of /proc/loadavg: other work on a shared machine skews wall times.
inline std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// ---- data -------------------------------------------------------------------------------------

/// Reads an IDX file (gzip'd or raw; zlib reads both) holding uint8 data.
inline at::Tensor read_idx_u8(const std::string& file) {
  gzFile f = gzopen(file.c_str(), "rb");
  if (!f) throw std::runtime_error("bench: cannot open " + file);
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  int got;
  while ((got = gzread(f, buf, sizeof buf)) > 0) bytes.insert(bytes.end(), buf, buf + got);
  gzclose(f);
  if (got < 0) throw std::runtime_error("bench: corrupt gzip data in " + file);
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08)
    throw std::runtime_error("bench: " + file + " is not a uint8 IDX file");
  const int nd = bytes[3];
  std::vector<int64_t> dims;
  size_t off = 4, total = 1;
  for (int i = 0; i < nd; ++i, off += 4) {
    if (off + 4 > bytes.size()) throw std::runtime_error("bench: truncated header in " + file);
    const int64_t d = (int64_t{bytes[off]} << 24) | (int64_t{bytes[off + 1]} << 16) | (int64_t{bytes[off + 2]} << 8) |
                      int64_t{bytes[off + 3]};
    dims.push_back(d);
    total *= static_cast<size_t>(d);
  }
  if (bytes.size() - off != total) throw std::runtime_error("bench: wrong data size in " + file);
  return torch::from_blob(bytes.data() + off, dims, torch::kUInt8).clone();
}

struct Data {
  at::Tensor xt, yt, xv, yv;  ///< float [N,1,28,28] normalized with the train mean/std; int64 [N]
  double mean = 0, std = 1;
};

inline std::string idx_file(const std::string& dir, const std::string& stem) {
  for (auto name : {stem + ".gz", stem}) {
    auto p = std::filesystem::path(dir) / name;
    if (std::filesystem::exists(p)) return p.string();
  }
  throw std::runtime_error("bench: no " + stem + "[.gz] in " + dir +
                           " (sudo apt-get install dataset-fashion-mnist, or bash scripts/setup.sh)");
}

/// Fashion-MNIST as float [N,1,28,28] / 255, normalized with the training set's mean and std
/// (as examples/fashion_mnist.cpp; the Python side does the same).
inline Data load_fmnist(const std::string& dir) {
  Data d;
  auto img = [&](const char* s) { return read_idx_u8(idx_file(dir, s)).to(torch::kFloat).div_(255).unsqueeze(1); };
  auto lbl = [&](const char* s) { return read_idx_u8(idx_file(dir, s)).to(torch::kLong); };
  d.xt = img("train-images-idx3-ubyte");
  d.yt = lbl("train-labels-idx1-ubyte");
  d.xv = img("t10k-images-idx3-ubyte");
  d.yv = lbl("t10k-labels-idx1-ubyte");
  d.mean = d.xt.mean().item<double>();
  d.std = d.xt.std().item<double>();
  d.xt = ((d.xt - d.mean) / d.std).contiguous();
  d.xv = ((d.xv - d.mean) / d.std).contiguous();
  return d;
}

// ---- models -----------------------------------------------------------------------------------
// Submodules are built in separate statements: C++ leaves the evaluation order of constructor
// arguments unspecified (GCC goes right to left), and the Python side builds them in order, so
// with the same seed every side starts from the same weights (checked with param_checksum).

/// conv(3x3, stride 2, pad 1, no bias) + BatchNorm + ReLU, appended to `seq` (fastai's ConvLayer).
inline void add_conv_bn(torch::nn::Sequential& seq, int64_t ni, int64_t nf) {
  seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(ni, nf, 3).stride(2).padding(1).bias(false)));
  seq->push_back(torch::nn::BatchNorm2d(nf));
  seq->push_back(torch::nn::ReLU());
}

/// "cnn": conv 1->16->32->64 (3x3, stride 2, pad 1, BN, ReLU), flatten (64*4*4 = 1024), linear 1024->10.
/// "mlp": 784-256-10 with ReLU. "linear": 784->10 (the per-batch overhead model).
/// One flat Sequential each (LibTorch cannot nest a Sequential in a Sequential).
inline torch::nn::Sequential make_model(const std::string& kind) {
  if (kind == "cnn") {
    torch::nn::Sequential seq;
    add_conv_bn(seq, 1, 16);
    add_conv_bn(seq, 16, 32);
    add_conv_bn(seq, 32, 64);
    seq->push_back(torch::nn::Flatten());
    seq->push_back(torch::nn::Linear(1024, 10));
    return seq;
  }
  if (kind == "mlp") {
    torch::nn::Linear l1(784, 256);
    torch::nn::Linear l2(256, 10);
    return torch::nn::Sequential(torch::nn::Flatten(), l1, torch::nn::ReLU(), l2);
  }
  if (kind == "linear") {
    torch::nn::Linear l(784, 10);
    return torch::nn::Sequential(torch::nn::Flatten(), l);
  }
  throw std::runtime_error("bench: unknown model '" + kind + "'");
}

/// sum_i (i+1) * sum|p_i| over the parameters in order: equal on every side means equal init.
inline double param_checksum(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  double s = 0;
  int i = 0;
  for (auto& p : m.parameters()) s += (++i) * p.abs().sum().item<double>();
  return s;
}

// ---- shuffling: TensorDataLoader's algorithm, written out ---------------------------------------

struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, bound) (Lemire's multiply-and-reject).
  uint64_t below(uint64_t bound) {
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * bound;
    auto lo = static_cast<uint64_t>(m);
    if (lo < bound) {
      const uint64_t t = (0 - bound) % bound;
      while (lo < t) {
        m = static_cast<unsigned __int128>(next()) * bound;
        lo = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }
};

/// A fresh permutation of 0..n-1 (Fisher-Yates from the top), as TensorDataLoader::begin_epoch.
inline at::Tensor shuffled_order(SplitMix64& rng, int64_t n) {
  at::Tensor order = at::empty({n}, at::TensorOptions().dtype(at::kLong));
  int64_t* p = order.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[static_cast<int64_t>(rng.below(static_cast<uint64_t>(i + 1)))]);
  return order;
}

// ---- 1cycle -----------------------------------------------------------------------------------

inline double cos_anneal(double start, double end, double pos) {
  return start + (1 + std::cos(std::numbers::pi * (1 - pos))) * (end - start) / 2;
}
/// Cosine start -> middle over the first pct, then middle -> end.
inline double combined_cos(double pct, double start, double middle, double end, double pos) {
  return pos < pct ? cos_anneal(start, middle, pos / pct) : cos_anneal(middle, end, (pos - pct) / (1 - pct));
}

// ---- fastai's Adam, inline --------------------------------------------------------------------

/// Decoupled weight decay (not on norm parameters and biases, as fastai's wd_bn_bias=False),
/// dampened moving averages of grad and grad^2, p -= lr/debias1 * avg / (sqrt(sqr_avg/debias2) + eps).
struct RawAdam {
  std::vector<at::Tensor> params, decay, grad_avg, sqr_avg;
  double sqr_mom = 0.99, eps = 1e-5, wd = 0.01;
  int64_t n_step = 0;

  explicit RawAdam(torch::nn::Module& model) {
    for (auto& item : model.named_modules()) {
      const bool norm = item.value()->name().find("BatchNorm") != std::string::npos;
      for (auto& np : item.value()->named_parameters(/*recurse=*/false)) {
        params.push_back(np.value());
        if (!norm && np.key() != "bias") decay.push_back(np.value());
        grad_avg.push_back(torch::zeros_like(np.value()));
        sqr_avg.push_back(torch::zeros_like(np.value()));
      }
    }
  }

  void step(double lr, double mom) {
    torch::NoGradGuard ng;
    std::vector<at::Tensor> grads;
    grads.reserve(params.size());
    for (auto& p : params) grads.push_back(p.grad());
    if (wd != 0) at::_foreach_mul_(decay, 1 - lr * wd);
    at::_foreach_mul_(grad_avg, mom);
    at::_foreach_add_(grad_avg, grads, 1 - mom);
    at::_foreach_mul_(sqr_avg, sqr_mom);
    at::_foreach_addcmul_(sqr_avg, grads, grads, 1 - sqr_mom);
    ++n_step;
    const double debias1 = 1 - std::pow(mom, static_cast<double>(n_step));
    const double debias2 = 1 - std::pow(sqr_mom, static_cast<double>(n_step));
    auto denom = at::_foreach_div(sqr_avg, debias2);
    at::_foreach_sqrt_(denom);
    at::_foreach_add_(denom, eps);
    at::_foreach_addcdiv_(params, grad_avg, denom, -lr / debias1);
  }

  void zero_grad() {
    for (auto& p : params) {
      at::Tensor& g = p.mutable_grad();
      if (g.defined()) g.zero_();
    }
  }
};

// ---- the raw loop -----------------------------------------------------------------------------

struct FitConfig {
  int epochs = 2;
  double lr = 1e-2;
  int64_t bs = 256;
  uint64_t seed = 42;         ///< the shuffle's splitmix64 seed (TensorDataLoader's o.seed)
  bool validate = true;
  double div = 25, div_final = 1e5, pct_start = 0.25;
  double mom_start = 0.95, mom_mid = 0.85, mom_end = 0.95;
};

struct FitResult {
  std::vector<double> epoch_s;  ///< per epoch: training batches + validation pass
  std::vector<double> epoch_cpu_s;  ///< the process's CPU time over the same spans
  std::vector<double> batch_s;  ///< wall time from the end of one training batch to the end of the next
  std::vector<double> batch_cpu_s;  ///< the calling thread's CPU time over the same spans
  double total_s = 0;
  int64_t train_batches = 0;
  double valid_loss = NAN, accuracy = NAN;  ///< of the last epoch
  at::Tensor first_order;       ///< the permutation of epoch 0 (to check the shuffles agree)
};

/// Trains `model` as fit_one_cycle(cfg.epochs, cfg.lr) would, with no framework: shuffled
/// drop_last batches, forward, cross entropy, backward, Adam step, zero_grad; then (validate)
/// a no-grad pass over the valid set accumulating loss and accuracy, read once per epoch.
/// The model, optimizer state and shuffle RNG persist across calls of fit(), as a Learner's do
/// across fit_one_cycle calls (the schedule restarts at each call).
struct RawTrainer {
  torch::nn::Sequential model;
  const Data& d;
  FitConfig cfg;
  RawAdam opt;
  SplitMix64 rng;
  RawTrainer(torch::nn::Sequential m, const Data& data, FitConfig c)
      : model(std::move(m)), d(data), cfg(c), opt(*model), rng{c.seed} {}
  FitResult fit();
};

inline FitResult RawTrainer::fit() {
  FitResult r;
  const int64_t n = d.xt.size(0), nb = n / cfg.bs, nv = d.xv.size(0);
  const double lr_start = cfg.lr / cfg.div, lr_end = cfg.lr / cfg.div_final;
  const auto t_fit = Clock::now();
  Clock::time_point last_batch_end{};
  double last_batch_cpu = 0;
  for (int epoch = 0; epoch < cfg.epochs; ++epoch) {
    const auto t0 = Clock::now();
    const double c0 = process_cpu_s();
    model->train();
    at::Tensor order = shuffled_order(rng, n);
    if (epoch == 0) r.first_order = order;
    for (int64_t i = 0; i < nb; ++i) {
      const double pos = (static_cast<double>(epoch) + static_cast<double>(i) / static_cast<double>(nb)) / cfg.epochs;
      const double lr = combined_cos(cfg.pct_start, lr_start, cfg.lr, lr_end, pos);
      const double mom = combined_cos(cfg.pct_start, cfg.mom_start, cfg.mom_mid, cfg.mom_end, pos);
      at::Tensor idx = order.narrow(0, i * cfg.bs, cfg.bs);
      at::Tensor x = d.xt.index_select(0, idx), y = d.yt.index_select(0, idx);
      at::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
      loss.backward();
      opt.step(lr, mom);
      opt.zero_grad();
      const auto now = Clock::now();
      const double cpu = thread_cpu_s();
      if (epoch > 0 || i > 0) {
        r.batch_s.push_back(std::chrono::duration<double>(now - last_batch_end).count());
        r.batch_cpu_s.push_back(cpu - last_batch_cpu);
      }
      last_batch_end = now;
      last_batch_cpu = cpu;
    }
    r.train_batches += nb;
    if (cfg.validate) {
      model->eval();
      torch::NoGradGuard ng;
      at::Tensor loss_sum = torch::zeros({}, torch::kDouble), correct = torch::zeros({}, torch::kLong);
      for (int64_t s = 0; s < nv; s += cfg.bs) {
        const int64_t len = std::min(cfg.bs, nv - s);
        at::Tensor x = d.xv.narrow(0, s, len), y = d.yv.narrow(0, s, len);
        at::Tensor out = model->forward(x);
        loss_sum += torch::nn::functional::cross_entropy(out, y) * static_cast<double>(len);
        correct += out.argmax(1).eq(y).sum();
      }
      r.valid_loss = loss_sum.item<double>() / static_cast<double>(nv);
      r.accuracy = static_cast<double>(correct.item<int64_t>()) / static_cast<double>(nv);
    }
    r.epoch_s.push_back(seconds_since(t0));
    r.epoch_cpu_s.push_back(process_cpu_s() - c0);
  }
  r.total_s = seconds_since(t_fit);
  return r;
}

inline FitResult raw_fit(torch::nn::Sequential& model, const Data& d, const FitConfig& cfg) {
  RawTrainer t(model, d, cfg);
  return t.fit();
}

/// A few batches through a throwaway model: thread pools, allocator and caches warm before timing.
inline void warm_up(const std::string& kind, const Data& d, int batches, int64_t bs) {
  auto m = make_model(kind);
  RawAdam opt(*m);
  for (int i = 0; i < batches; ++i) {
    auto x = d.xt.narrow(0, (i * bs) % (d.xt.size(0) - bs), bs);
    auto y = d.yt.narrow(0, (i * bs) % (d.xt.size(0) - bs), bs);
    torch::nn::functional::cross_entropy(m->forward(x), y).backward();
    opt.step(1e-3, 0.9);
    opt.zero_grad();
  }
}

}  // namespace bench
