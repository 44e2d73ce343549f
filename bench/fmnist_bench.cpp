// Fashion-MNIST benchmarks: fastai-cpp against the floor (a hand-written raw LibTorch loop doing
// the same ops) and against the equivalent plain PyTorch Python loop (bench/fmnist_baseline.py),
// in one run, on the same data, model, init, shuffle, optimizer, schedule and thread count.
//
//   fmnist_bench [NAME...] [--threads N] [--epochs 2] [--lr 1e-2] [--bs 256] [--seed 42]
//                [--data DIR] [--python /usr/bin/python3] [--no-python]
//                [--overhead-epochs 1] [--rounds 10] [--model-rounds 1] [--warmup 20]
//                [--overhead-threads N] [--overhead-model linear|mlp|cnn]
//
// NAME: cnn_fmnist, mlp_fmnist, overhead (default: all). Prints, last, one summary line each:
//   cnn_fmnist_epoch_s: ours=<x> raw=<r> baseline=<y> ratio=<y/x> tax=<x/r>
//   mlp_fmnist_epoch_s: ...
//   overhead_us_per_batch: ours=<(fastai-cpp - raw) per training batch, microseconds>
//
// --rounds: pairs of overhead chunks; --overhead-epochs: epochs per chunk; --model-rounds:
// repetitions of the cnn / mlp comparisons (the fastest round and the median batch are reported).
#include "bench_common.h"

#include <fastai/core/compat.h>
#include <fastai/data/dataloader.h>
#include <fastai/learner/learner.h>
#include <fastai/learner/losses.h>
#include <fastai/learner/metrics.h>
#include <fastai/learner/progress.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef FASTAI_BENCH_DIR
#define FASTAI_BENCH_DIR "bench"
#endif

namespace {

struct Args {
  std::vector<std::string> names;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int epochs = 2;
  double lr = 1e-2;
  int64_t bs = 256;
  uint64_t seed = 42;
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string python = "/usr/bin/python3";
  std::string py_script = std::string(FASTAI_BENCH_DIR) + "/fmnist_baseline.py";
  bool run_python = true;
  int overhead_epochs = 1;   // epochs per overhead chunk
  int rounds = 10;           // overhead pairs of chunks: 10 x 234 = 2340 timed batches per side
  int model_rounds = 1;      // rounds of the cnn / mlp benchmarks (the fastest round counts)
  int overhead_threads = 0;  // 0: --threads
  std::string overhead_model = "linear";
  int warmup_batches = 20;
};

const std::vector<std::string> kAll = {"cnn_fmnist", "mlp_fmnist", "overhead"};

[[noreturn]] void usage(int rc) {
  std::printf(
      "usage: fmnist_bench [NAME...] [--threads N] [--epochs 2] [--lr 1e-2] [--bs 256] [--seed 42]\n"
      "                    [--data DIR] [--python /usr/bin/python3] [--py-script FILE] [--no-python]\n"
      "                    [--overhead-epochs 1] [--rounds 10] [--model-rounds 1] [--warmup 20]\n"
      "                    [--overhead-threads N (default: --threads)] [--overhead-model linear|mlp|cnn]\n"
      "NAME: cnn_fmnist mlp_fmnist overhead (default: all)\n");
  std::exit(rc);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "fmnist_bench: %s needs a value\n", k.c_str());
        usage(2);
      }
      return argv[++i];
    };
    if (k == "--threads") a.threads = std::stoi(val());
    else if (k == "--epochs") a.epochs = std::stoi(val());
    else if (k == "--lr") a.lr = std::stod(val());
    else if (k == "--bs") a.bs = std::stoll(val());
    else if (k == "--seed") a.seed = std::stoull(val());
    else if (k == "--data") a.data = val();
    else if (k == "--python") a.python = val();
    else if (k == "--py-script") a.py_script = val();
    else if (k == "--no-python") a.run_python = false;
    else if (k == "--overhead-epochs") a.overhead_epochs = std::stoi(val());
    else if (k == "--rounds") a.rounds = std::stoi(val());
    else if (k == "--model-rounds") a.model_rounds = std::stoi(val());
    else if (k == "--overhead-threads") a.overhead_threads = std::stoi(val());
    else if (k == "--overhead-model") a.overhead_model = val();
    else if (k == "--warmup") a.warmup_batches = std::stoi(val());
    else if (k == "-h" || k == "--help") usage(0);
    else if (!k.empty() && k[0] == '-') {
      std::fprintf(stderr, "fmnist_bench: unknown option %s\n", k.c_str());
      usage(2);
    } else if (std::find(kAll.begin(), kAll.end(), k) != kAll.end()) a.names.push_back(k);
    else {
      std::fprintf(stderr, "fmnist_bench: unknown benchmark '%s'\n", k.c_str());
      usage(2);
    }
  }
  if (a.names.empty()) a.names = kAll;
  if (a.overhead_threads <= 0) a.overhead_threads = a.threads;
  return a;
}

// ---- fastai-cpp side --------------------------------------------------------------------------

/// Wall and process CPU time of each epoch (training batches + validation pass), and the wall
/// (and main-thread CPU) time from the end of one training batch to the end of the next. Order 1000: its before_epoch
/// runs after the other callbacks' (cheap ones), its after_batch / after_epoch after everyone
/// else's (Recorder, ParamScheduler, progress), whose work is part of what is timed. Also keeps
/// the train loader's order of epoch 0 (after the clocks are read) to check the shuffles agree.
struct EpochTimer : fastai::Callback {
  std::vector<double> secs, cpu_secs, batch_s, batch_cpu_s;
  std::vector<int64_t> first_order;
  bench::Clock::time_point t0, last_batch_end;
  double c0 = 0, last_batch_cpu = 0;
  bool any_batch = false;
  void before_epoch(fastai::Learner&) override {
    t0 = bench::Clock::now();
    c0 = bench::process_cpu_s();
  }
  void after_batch(fastai::Learner& l) override {
    if (!l.training) return;
    const auto now = bench::Clock::now();
    const double cpu = bench::thread_cpu_s();
    if (any_batch) {
      batch_s.push_back(std::chrono::duration<double>(now - last_batch_end).count());
      batch_cpu_s.push_back(cpu - last_batch_cpu);
    }
    last_batch_end = now;
    last_batch_cpu = cpu;
    any_batch = true;
  }
  void after_epoch(fastai::Learner& l) override {
    secs.push_back(bench::seconds_since(t0));
    cpu_secs.push_back(bench::process_cpu_s() - c0);
    if (l.epoch == 0) first_order = l.dls.train().last_order();
  }
  int order() const override { return 1000; }
};

std::FILE* devnull() {
  static std::FILE* f = std::fopen("/dev/null", "w");
  return f;
}

/// Default callbacks stay (TrainEval, Recorder, Progress); the progress output goes to /dev/null
/// as plain lines so that the terminal is not what is measured.
void quiet(fastai::Learner& learn) {
  if (learn.progress) {
    learn.progress->opts.out = devnull();
    learn.progress->opts.tty = 0;
  }
}

struct SideResult {
  std::vector<double> epoch_s, cpu_s;
  double batch_med_s = NAN;  ///< median training batch (end of one batch to the end of the next)
  double accuracy = NAN, valid_loss = NAN, checksum = NAN;
  std::vector<int64_t> order_head;
  bool ok = false;
};

std::vector<int64_t> head(const std::vector<int64_t>& v, size_t n = 8) {
  return {v.begin(), v.begin() + static_cast<std::ptrdiff_t>(std::min(n, v.size()))};
}
std::vector<int64_t> head(const at::Tensor& t, size_t n = 8) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < std::min<int64_t>(static_cast<int64_t>(n), t.numel()); ++i) out.push_back(t[i].item<int64_t>());
  return out;
}

SideResult run_ours(const std::string& kind, const bench::Data& d, const Args& a) {
  using namespace fastai;
  SideResult r;
  set_seed(a.seed);
  auto model = bench::make_model(kind);
  r.checksum = bench::param_checksum(*model);
  bench::warm_up(kind, d, a.warmup_batches, a.bs);
  auto dls = DataLoaders::from_tensors({d.xt, d.yt}, {d.xv, d.yv},
                                       {.bs = a.bs, .device = c10::Device(c10::kCPU), .seed = a.seed});
  auto timer = std::make_shared<EpochTimer>();
  Learner learn(dls, model, {.loss_func = CrossEntropyLossFlat(), .cbs = {timer}, .metrics = {accuracy}});
  quiet(learn);
  learn.fit_one_cycle(a.epochs, a.lr);
  r.epoch_s = timer->secs;
  r.cpu_s = timer->cpu_secs;
  r.batch_med_s = bench::median(timer->batch_s);
  // final_record = [train_loss, valid_loss, accuracy]
  if (learn.final_record.size() >= 3) {
    r.valid_loss = learn.final_record[1];
    r.accuracy = learn.final_record.back();
  }
  r.order_head = head(timer->first_order);
  r.ok = true;
  return r;
}

// ---- raw side ---------------------------------------------------------------------------------

SideResult run_raw(const std::string& kind, const bench::Data& d, const Args& a) {
  SideResult r;
  torch::manual_seed(a.seed);
  auto model = bench::make_model(kind);
  r.checksum = bench::param_checksum(*model);
  bench::warm_up(kind, d, a.warmup_batches, a.bs);
  bench::FitConfig cfg{.epochs = a.epochs, .lr = a.lr, .bs = a.bs, .seed = a.seed};
  auto fr = bench::raw_fit(model, d, cfg);
  r.epoch_s = fr.epoch_s;
  r.cpu_s = fr.epoch_cpu_s;
  r.batch_med_s = bench::median(fr.batch_s);
  r.accuracy = fr.accuracy;
  r.valid_loss = fr.valid_loss;
  r.order_head = head(fr.first_order);
  r.ok = true;
  return r;
}

// ---- Python side ------------------------------------------------------------------------------

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

SideResult run_python(const std::string& kind, const Args& a) {
  SideResult r;
  std::ostringstream cmd;
  cmd << "'" << a.python << "' '" << a.py_script << "' --model " << kind << " --epochs " << a.epochs << " --lr "
      << a.lr << " --bs " << a.bs << " --seed " << a.seed << " --threads " << a.threads << " --warmup "
      << a.warmup_batches << " --data '" << a.data << "' 2>&1";
  std::fflush(stdout);
  std::FILE* p = popen(cmd.str().c_str(), "r");
  if (!p) {
    std::printf("  python: could not start %s\n", a.python.c_str());
    return r;
  }
  char buf[4096];
  std::string result;
  while (std::fgets(buf, sizeof buf, p)) {
    std::string line(buf);
    if (line.rfind("RESULT ", 0) == 0) result = line.substr(7);
    else std::printf("%s", line.c_str());
    std::fflush(stdout);
  }
  const int rc = pclose(p);
  if (rc != 0 || result.empty()) {
    std::printf("  python: failed (exit status %d); baseline unavailable\n", rc);
    return r;
  }
  std::map<std::string, std::string> kv;
  for (auto& tok : split(result, ' ')) {
    auto eq = tok.find('=');
    if (eq != std::string::npos) {
      std::string v = tok.substr(eq + 1);
      while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
      kv[tok.substr(0, eq)] = v;
    }
  }
  for (auto& e : split(kv["epoch_s"], ',')) r.epoch_s.push_back(std::stod(e));
  for (auto& e : split(kv["cpu_s"], ',')) r.cpu_s.push_back(std::stod(e));
  for (auto& e : split(kv["order_head"], ',')) r.order_head.push_back(std::stoll(e));
  r.batch_med_s = std::stod(kv["batch_med_s"]);
  r.accuracy = std::stod(kv["acc"]);
  r.valid_loss = std::stod(kv["valid_loss"]);
  r.checksum = std::stod(kv["checksum"]);
  if (std::stoi(kv["threads"]) != a.threads)
    std::printf("  WARNING: python ran with %s threads, not %d\n", kv["threads"].c_str(), a.threads);
  r.ok = !r.epoch_s.empty();
  return r;
}

// ---- reporting --------------------------------------------------------------------------------

std::string fmt_list(const std::vector<double>& v) {
  std::string s;
  char b[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(b, sizeof b, "%s%.3f", i ? ", " : "", v[i]);
    s += b;
  }
  return "[" + s + "]";
}

void print_side(const char* name, const SideResult& r) {
  if (!r.ok) {
    std::printf("  %-7s unavailable\n", name);
    return;
  }
  std::printf("  %-7s epochs %s s (cpu %s s)  median batch %.3f ms  valid_loss %.4f  accuracy %.4f  init checksum %.4f\n",
              name, fmt_list(r.epoch_s).c_str(), fmt_list(r.cpu_s).c_str(), r.batch_med_s * 1e3, r.valid_loss,
              r.accuracy, r.checksum);
  std::fflush(stdout);
}

/// Over rounds: the fastest round's mean epoch time (wall, and process CPU) -- other work on the
/// machine only ever adds time -- and the median of the rounds' median batch times.
struct Agg {
  std::vector<double> wall, cpu, batch;
  double accuracy = NAN;
  bool ok = false;
  void add(const SideResult& r) {
    if (!r.ok) return;
    wall.push_back(bench::mean(r.epoch_s));
    cpu.push_back(bench::mean(r.cpu_s));
    batch.push_back(r.batch_med_s);
    accuracy = r.accuracy;
    ok = true;
  }
  double w() const { return ok ? *std::min_element(wall.begin(), wall.end()) : NAN; }
  double c() const { return ok ? *std::min_element(cpu.begin(), cpu.end()) : NAN; }
  double b() const { return ok ? bench::median(batch) : NAN; }
};

std::string model_bench(const std::string& name, const std::string& kind, const bench::Data& d, const Args& a) {
  std::printf("\n== %s: %s, bs %lld, fit_one_cycle(%d, %g), %d threads, %d round(s) of fastai-cpp / raw / python ==\n",
              name.c_str(), kind.c_str(), static_cast<long long>(a.bs), a.epochs, a.lr, a.threads, a.model_rounds);
  std::fflush(stdout);
  Agg ours, raw, py;
  auto same = [](double x, double y) { return std::abs(x - y) <= 1e-4 * std::max(1.0, std::abs(x)); };
  for (int round = 0; round < a.model_rounds; ++round) {
    if (a.model_rounds > 1) std::printf(" round %d (load average %s)\n", round, bench::load_average().c_str());
    // The side that goes first rotates from round to round, so no side always runs first.
    SideResult o, r, p;
    for (int k = 0; k < 3; ++k) {
      switch ((round + k) % 3) {
        case 0: o = run_ours(kind, d, a); print_side("fastai", o); break;
        case 1: r = run_raw(kind, d, a); print_side("raw", r); break;
        default:
          if (a.run_python) {
            p = run_python(kind, a);
            print_side("python", p);
          }
      }
    }
    // Same init and same shuffle on every side, or the accuracies are not comparable.
    if (!same(o.checksum, r.checksum) || (p.ok && !same(p.checksum, r.checksum)))
      std::printf("  WARNING: the initial weights differ between sides (checksums above)\n");
    else if (o.order_head != r.order_head || (p.ok && p.order_head != r.order_head))
      std::printf("  WARNING: the epoch-0 shuffles differ between sides\n");
    else if (round == 0)
      std::printf("  same initial weights and same epoch-0 shuffle on every side\n");
    ours.add(o);
    raw.add(r);
    py.add(p);
  }
  const double x = ours.w(), r = raw.w(), y = py.w();
  const double xc = ours.c(), rc = raw.c(), yc = py.c();
  const double xb = ours.b() * 1e3, rb = raw.b() * 1e3, yb = py.b() * 1e3;
  char line[640];
  std::snprintf(line, sizeof line,
                "%s_epoch_s: ours=%.3f raw=%.3f baseline=%.3f ratio=%.3f tax=%.3f"
                "  (cpu_s ours=%.3f raw=%.3f baseline=%.3f; median batch ms ours=%.3f raw=%.3f baseline=%.3f"
                " ratio=%.3f tax=%.3f; acc ours=%.4f raw=%.4f baseline=%.4f)",
                name.c_str(), x, r, y, y / x, x / r, xc, rc, yc, xb, rb, yb, yb / xb, xb / rb, ours.accuracy,
                raw.accuracy, py.accuracy);
  std::printf("%s\n", line);
  return line;
}

/// Per-batch framework overhead: a Linear 784->10 model (so little compute that the loop's own
/// cost shows), no validation set, no metrics, default callbacks (progress to /dev/null).
/// One Learner (fit_one_cycle(overhead_epochs) per chunk) and one raw trainer (the same per
/// chunk) run `rounds` pairs of chunks, alternating which side goes first, after a warm-up chunk
/// each. Every training batch is timed, from the end of one batch to the end of the next (so
/// the loader, the events and the callbacks are in it). Per pair: median batch time of fastai-cpp
/// minus that of raw; the overhead is the median over pairs. Pairing cancels slow drifts of a
/// shared machine's load, medians ignore its preemptions. Main-thread CPU time and per-chunk means
/// (whole fit / batches, so epoch-level work is in) are computed the same way and shown too.
std::string overhead_bench(const bench::Data& full, const Args& a) {
  using namespace fastai;
  bench::Data d = full;
  d.xv = d.xv.narrow(0, 0, 0);
  d.yv = d.yv.narrow(0, 0, 0);
  const int64_t nb = d.xt.size(0) / a.bs;
  const int E = a.overhead_epochs;
  const int saved_threads = torch::get_num_threads();
  torch::set_num_threads(a.overhead_threads);
  bench::set_blas_threads(a.overhead_threads);
  std::printf("\n== overhead: model %s, bs %lld, %d pairs of %d x %lld training batches, %d threads ==\n",
              a.overhead_model == "linear" ? "linear 784->10" : a.overhead_model.c_str(), static_cast<long long>(a.bs),
              a.rounds, E, static_cast<long long>(nb), a.overhead_threads);
  std::fflush(stdout);

  struct Chunk {
    double med_s, med_cpu_s, mean_s;
  };
  torch::manual_seed(a.seed);
  bench::RawTrainer raw(bench::make_model(a.overhead_model), d,
                        bench::FitConfig{.epochs = E, .lr = a.lr, .bs = a.bs, .seed = a.seed, .validate = false});
  auto raw_chunk = [&] {
    auto fr = raw.fit();
    return Chunk{bench::median(fr.batch_s), bench::median(fr.batch_cpu_s),
                 fr.total_s / static_cast<double>(fr.train_batches)};
  };
  set_seed(a.seed);
  auto dls = DataLoaders::from_tensors({d.xt, d.yt}, {}, {.bs = a.bs, .device = c10::Device(c10::kCPU), .seed = a.seed});
  auto timer = std::make_shared<EpochTimer>();
  Learner learn(dls, bench::make_model(a.overhead_model), {.loss_func = CrossEntropyLossFlat(), .cbs = {timer}});
  quiet(learn);
  auto ours_chunk = [&] {
    timer->batch_s.clear();
    timer->batch_cpu_s.clear();
    timer->any_batch = false;
    const auto t0 = bench::Clock::now();
    learn.fit_one_cycle(E, a.lr);
    return Chunk{bench::median(timer->batch_s), bench::median(timer->batch_cpu_s),
                 bench::seconds_since(t0) / static_cast<double>(E * nb)};
  };

  raw_chunk();  // warm-up
  ours_chunk();
  std::vector<double> d_med, d_cpu, d_mean, raw_med, ours_med;
  for (int i = 0; i < a.rounds; ++i) {
    Chunk r{}, o{};
    if (i % 2 == 0) {
      r = raw_chunk();
      o = ours_chunk();
    } else {
      o = ours_chunk();
      r = raw_chunk();
    }
    d_med.push_back((o.med_s - r.med_s) * 1e6);
    d_cpu.push_back((o.med_cpu_s - r.med_cpu_s) * 1e6);
    d_mean.push_back((o.mean_s - r.mean_s) * 1e6);
    raw_med.push_back(r.med_s * 1e6);
    ours_med.push_back(o.med_s * 1e6);
    std::printf("  pair %2d (load %s): median batch raw %8.2f us, fastai %8.2f us, diff %7.2f | cpu diff %7.2f | mean diff %7.2f\n",
                i, bench::load_average().c_str(), r.med_s * 1e6, o.med_s * 1e6, d_med.back(), d_cpu.back(), d_mean.back());
    std::fflush(stdout);
  }
  torch::set_num_threads(saved_threads);
  bench::set_blas_threads(saved_threads);
  char line[512];
  std::snprintf(line, sizeof line,
                "overhead_us_per_batch: ours=%.2f  (%s, %d threads, %d pairs x %lld batches; median batch fastai %.2f, raw %.2f us; "
                "main-thread cpu diff %.2f us; per-chunk mean diff %.2f us)",
                bench::median(d_med), a.overhead_model.c_str(), a.overhead_threads, a.rounds, static_cast<long long>(E * nb),
                bench::median(ours_med), bench::median(raw_med), bench::median(d_cpu), bench::median(d_mean));
  std::printf("%s\n", line);
  return line;
}

}  // namespace

int main(int argc, char** argv) try {
  Args a = parse(argc, argv);
  torch::set_num_threads(a.threads);
  const int blas_threads = bench::set_blas_threads(a.threads);
  std::printf("fmnist_bench: LibTorch %s, %d torch threads, %d OpenBLAS threads (%u cores)\n",
              fastai::compat::torch_version(), torch::get_num_threads(), blas_threads,
              std::thread::hardware_concurrency());
  std::printf("BLAS loaded: %s (libblas.so.3 alternative: %s)\n", bench::loaded_blas().c_str(),
              bench::blas_alternative().c_str());
  std::printf("load average: %s\n", bench::load_average().c_str());
  std::printf("running: ");
  for (auto& n : a.names) std::printf("%s ", n.c_str());
  std::printf("\n");
  std::fflush(stdout);

  const auto t_load = bench::Clock::now();
  const bench::Data d = bench::load_fmnist(a.data);
  std::printf("Fashion-MNIST: %lld train, %lld valid (loaded in %.2f s, not timed)\n",
              static_cast<long long>(d.xt.size(0)), static_cast<long long>(d.xv.size(0)), bench::seconds_since(t_load));

  std::vector<std::string> summary;
  for (auto& n : a.names) {
    if (n == "cnn_fmnist") summary.push_back(model_bench(n, "cnn", d, a));
    else if (n == "mlp_fmnist") summary.push_back(model_bench(n, "mlp", d, a));
    else if (n == "overhead") summary.push_back(overhead_bench(d, a));
  }
  std::printf("\n== summary (BLAS %s, %d threads) ==\n", bench::loaded_blas().c_str(), torch::get_num_threads());
  for (auto& s : summary) std::printf("%s\n", s.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "fmnist_bench: %s\n", e.what());
  return 1;
}
