// Tabular training throughput: one epoch of tabular_learner (layers [200,100], bs 1024,
// fit_one_cycle(1, 1e-2)) on diamonds with log(price) as the target, side by side with the same
// model and data in a raw LibTorch loop and in plain PyTorch (bench/tabular_baseline.py).
//
//   tabular_bench [tabular] [--rounds 5] [--warmup 1] [--threads N] [--bs 1024] [--lr 1e-2]
//                 [--seed 42] [--python /usr/bin/python3] [--py-script FILE] [--no-python]
//
// Prints, last: tabular_rows_per_s: ours=<x> raw=<r> baseline=<y> ratio=<x/y> tax=<r/x>
// (rows/s = training rows of the epoch's full batches / median epoch seconds, validation included).
#include "bench_common.h"

#include <fastai/core/compat.h>
#include <fastai/io/csv.h>
#include <fastai/core/random.h>
#include <fastai/io/table.h>
#include <fastai/data/external.h>
#include <fastai/learner/learner.h>
#include <fastai/learner/progress.h>
#include <fastai/layers/tabular_model.h>
#include <fastai/tabular.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#ifndef FASTAI_BENCH_DIR
#define FASTAI_BENCH_DIR "bench"
#endif

namespace {

struct Args {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int rounds = 5, warmup = 1;
  int64_t bs = 1024;
  double lr = 1e-2;
  uint64_t seed = 42;
  std::string python = "/usr/bin/python3";
  std::string py_script = std::string(FASTAI_BENCH_DIR) + "/tabular_baseline.py";
  bool run_python = true;
};

[[noreturn]] void usage(int rc) {
  std::printf("usage: tabular_bench [tabular] [--rounds 5] [--warmup 1] [--threads N] [--bs 1024] [--lr 1e-2]\n"
              "                     [--seed 42] [--python /usr/bin/python3] [--py-script FILE] [--no-python]\n");
  std::exit(rc);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (k == "tabular") continue;  // the benchmark's name, as bench/run passes it
    else if (k == "--rounds") a.rounds = std::max(1, std::stoi(val()));
    else if (k == "--warmup") a.warmup = std::max(0, std::stoi(val()));
    else if (k == "--threads") a.threads = std::stoi(val());
    else if (k == "--bs") a.bs = std::stoll(val());
    else if (k == "--lr") a.lr = std::stod(val());
    else if (k == "--seed") a.seed = std::stoull(val());
    else if (k == "--python") a.python = val();
    else if (k == "--py-script") a.py_script = val();
    else if (k == "--no-python") a.run_python = false;
    else if (k == "-h" || k == "--help") usage(0);
    else {
      std::fprintf(stderr, "tabular_bench: unknown argument %s\n", k.c_str());
      usage(2);
    }
  }
  return a;
}

const std::vector<std::string> kCats = {"cut", "color", "clarity"};
const std::vector<std::string> kConts = {"carat", "depth", "table", "x", "y", "z"};

// ---- data: the Table, the split, and the preprocessing of the raw and Python sides -------------

struct Prep {
  at::Tensor cat_t, cont_t, y_t, cat_v, cont_v, y_v;  ///< int64 [N,3], float [N,6], float [N,1]
  std::vector<int64_t> cards;                          ///< per cat column, #na# included
};

/// Validation rows: the last 20% of a splitmix64 permutation of the rows (sorted); train: the rest.
std::vector<int64_t> valid_rows(int64_t n, uint64_t seed) {
  bench::SplitMix64 rng{seed};
  at::Tensor perm = bench::shuffled_order(rng, n);
  const int64_t nv = n / 5;
  const int64_t* p = perm.data_ptr<int64_t>();
  std::vector<int64_t> v(p + (n - nv), p + n);
  std::sort(v.begin(), v.end());
  return v;
}

/// fastai's Categorify (sorted training values after "#na#", unseen -> 0) and Normalize (train
/// mean, std ddof=0 + 1e-7), done by hand on the Table; the target is log_price.
Prep preprocess(const fastai::Table& df, const std::vector<int64_t>& valid) {
  std::vector<int64_t> train;
  for (int64_t i = 0, j = 0; i < static_cast<int64_t>(df.n_rows()); ++i) {
    if (j < static_cast<int64_t>(valid.size()) && valid[static_cast<size_t>(j)] == i) ++j;
    else train.push_back(i);
  }
  const at::Tensor ti = torch::tensor(train), vi = torch::tensor(valid);
  Prep p;
  std::vector<at::Tensor> cats, conts;
  for (const auto& name : kCats) {
    const fastai::Column& col = df[name];
    std::set<std::string> vocab;
    for (int64_t i : train) vocab.insert(col.str(static_cast<size_t>(i)));
    std::map<std::string, int64_t> code;
    for (const auto& v : vocab) code.emplace(v, static_cast<int64_t>(code.size()) + 1);
    std::vector<int64_t> codes(df.n_rows());
    for (size_t i = 0; i < codes.size(); ++i) {
      auto it = code.find(col.str(i));
      codes[i] = it == code.end() ? 0 : it->second;
    }
    cats.push_back(torch::tensor(codes));
    p.cards.push_back(static_cast<int64_t>(vocab.size()) + 1);
  }
  for (const auto& name : kConts) {
    at::Tensor x = df[name].to_tensor({.dtype = at::kDouble}), xt = x.index_select(0, ti);
    const at::Tensor mean = xt.mean(), sd = (xt - mean).pow(2).mean().sqrt();  // ddof=0
    conts.push_back((x - mean) / (sd + 1e-7));
  }
  const at::Tensor cat = at::stack(cats, 1), cont = at::stack(conts, 1).to(at::kFloat);
  const at::Tensor y = df["log_price"].to_tensor({.dtype = at::kDouble}).to(at::kFloat).unsqueeze(1);
  p.cat_t = cat.index_select(0, ti), p.cont_t = cont.index_select(0, ti), p.y_t = y.index_select(0, ti);
  p.cat_v = cat.index_select(0, vi), p.cont_v = cont.index_select(0, vi), p.y_v = y.index_select(0, vi);
  return p;
}

/// What the Python side reads: "FTAB1 nt nv ncat ncont card..." then the six raw arrays.
void write_prep(const Prep& p, const std::string& file) {
  std::FILE* f = std::fopen(file.c_str(), "wb");
  if (!f) throw std::runtime_error("tabular_bench: cannot write " + file);
  std::fprintf(f, "FTAB1 %lld %lld 3 6", static_cast<long long>(p.cat_t.size(0)), static_cast<long long>(p.cat_v.size(0)));
  for (int64_t c : p.cards) std::fprintf(f, " %lld", static_cast<long long>(c));
  std::fprintf(f, "\n");
  for (const at::Tensor* t : {&p.cat_t, &p.cont_t, &p.y_t, &p.cat_v, &p.cont_v, &p.y_v})
    std::fwrite(t->data_ptr(), t->element_size(), static_cast<size_t>(t->numel()), f);
  if (std::fclose(f) != 0) throw std::runtime_error("tabular_bench: cannot write " + file);
}

// ---- the model: fastai::TabularModel (fastai 2.7, lin_first, no dropout), as tabular_learner builds it

fastai::TabularModel make_model(const Prep& d) {
  return fastai::TabularModel(fastai::emb_szs_for(d.cards), static_cast<int64_t>(kConts.size()), 1,
                              std::vector<int64_t>{200, 100});
}

/// The initial bias of the hidden blocks' BatchNorm1d (fastai's BatchNorm() sets 1e-3), passed to
/// the Python side so that it builds the very same init.
double hidden_bn_bias(torch::nn::Module& m) {
  for (auto& item : m.named_modules())
    if (item.key().rfind("layers.", 0) == 0 && item.value()->name().find("BatchNorm") != std::string::npos)
      return item.value()->named_parameters(false)["bias"][0].item<double>();
  return 0;
}

/// Order-independent init fingerprint: sum of |p| over all parameters (same on every side = same init).
double abs_sum(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  double s = 0;
  for (auto& p : m.parameters()) s += p.abs().sum().item<double>();
  return s;
}

struct Round {
  double epoch_s = NAN, cpu_s = NAN, valid_mse = NAN, checksum = NAN;
  std::vector<int64_t> order_head;
};

std::vector<int64_t> head(const int64_t* p, int64_t n) { return {p, p + std::min<int64_t>(8, n)}; }

// ---- raw side: the same ops, no framework ---------------------------------------------------------

Round raw_round(const Prep& d, const Args& a) {
  Round r;
  torch::manual_seed(a.seed);
  auto model = make_model(d);
  r.checksum = abs_sum(*model);
  bench::RawAdam opt(*model);
  bench::SplitMix64 rng{a.seed};
  const int64_t n = d.cat_t.size(0), nb = n / a.bs, nv = d.cat_v.size(0);
  const auto t0 = bench::Clock::now();
  const double c0 = bench::process_cpu_s();
  model->train();
  at::Tensor order = bench::shuffled_order(rng, n);
  for (int64_t i = 0; i < nb; ++i) {
    const double pos = static_cast<double>(i) / static_cast<double>(nb);
    const double lr = bench::combined_cos(0.25, a.lr / 25, a.lr, a.lr / 1e5, pos);
    const double mom = bench::combined_cos(0.25, 0.95, 0.85, 0.95, pos);
    at::Tensor idx = order.narrow(0, i * a.bs, a.bs);
    at::Tensor out = model->forward(d.cat_t.index_select(0, idx), d.cont_t.index_select(0, idx));
    at::Tensor loss = torch::mse_loss(out.view(-1), d.y_t.index_select(0, idx).view(-1));
    loss.backward();
    opt.step(lr, mom);
    opt.zero_grad();
  }
  model->eval();
  {
    torch::NoGradGuard ng;
    at::Tensor sum = torch::zeros({}, torch::kDouble);
    for (int64_t s = 0; s < nv; s += a.bs) {
      const int64_t len = std::min(a.bs, nv - s);
      at::Tensor out = model->forward(d.cat_v.narrow(0, s, len), d.cont_v.narrow(0, s, len));
      sum += torch::mse_loss(out.view(-1), d.y_v.narrow(0, s, len).view(-1)) * static_cast<double>(len);
    }
    r.valid_mse = sum.item<double>() / static_cast<double>(nv);
  }
  r.epoch_s = bench::seconds_since(t0);
  r.cpu_s = bench::process_cpu_s() - c0;
  r.order_head = head(order.data_ptr<int64_t>(), n);
  return r;
}

// ---- our side: the tabular application ------------------------------------------------------------

/// Epoch wall and process CPU time (before_epoch -> after_epoch, validation included); order
/// 1000 so the other callbacks' work is inside. Keeps epoch 0's shuffle.
struct EpochTimer : fastai::Callback {
  std::vector<double> secs, cpu_secs;
  std::vector<int64_t> first_order;
  bench::Clock::time_point t0;
  double c0 = 0;
  void before_epoch(fastai::Learner&) override {
    t0 = bench::Clock::now();
    c0 = bench::process_cpu_s();
  }
  void after_epoch(fastai::Learner& l) override {
    secs.push_back(bench::seconds_since(t0));
    cpu_secs.push_back(bench::process_cpu_s() - c0);
    if (l.epoch == 0) first_order = l.dls.train().last_order();
  }
  int order() const override { return 1000; }
};

Round ours_round(const fastai::Table& df, const std::vector<int64_t>& valid_idx, const Args& a) {
  using namespace fastai;
  Round r;
  set_seed(a.seed);
  auto dls = TabularDataLoaders::from_df(df, {.procs = {Categorify(), FillMissing(), Normalize()},
                                              .cat_names = kCats, .cont_names = kConts, .y_names = {"log_price"},
                                              .valid_idx = valid_idx, .bs = a.bs, .seed = a.seed});
  set_seed(a.seed);
  auto learn = tabular_learner(dls, {.layers = {200, 100}});
  r.checksum = abs_sum(*learn.model.module);
  auto timer = std::make_shared<EpochTimer>();
  learn.add_cb(timer);
  if (learn.progress) {  // default callbacks stay; the progress output goes to /dev/null, plain lines
    static std::FILE* devnull = std::fopen("/dev/null", "w");
    learn.progress->opts.out = devnull;
    learn.progress->opts.tty = 0;
  }
  learn.fit_one_cycle(1, a.lr);
  if (timer->secs.empty()) throw std::runtime_error("tabular_bench: fastai-cpp ran no epoch");
  r.epoch_s = timer->secs[0];
  r.cpu_s = timer->cpu_secs[0];
  if (learn.final_record.size() >= 2) r.valid_mse = learn.final_record[1];
  r.order_head = head(timer->first_order.data(), static_cast<int64_t>(timer->first_order.size()));
  return r;
}

// ---- Python side ----------------------------------------------------------------------------------

/// Runs tabular_baseline.py (warm-up + rounds in one process); its "ROUND k epoch_s=.. cpu_s=..
/// valid_mse=.. checksum=.. order_head=a,b,.." lines are the timed rounds.
std::vector<Round> python_rounds(const std::string& data_file, double bn_bias, const Args& a) {
  std::ostringstream cmd;
  cmd << "'" << a.python << "' '" << a.py_script << "' --data '" << data_file << "' --rounds " << a.rounds
      << " --warmup " << a.warmup << " --bs " << a.bs << " --lr " << a.lr << " --seed " << a.seed << " --threads "
      << a.threads << " --bn-bias " << bn_bias << " 2>&1";
  std::fflush(stdout);
  std::vector<Round> out;
  std::FILE* p = popen(cmd.str().c_str(), "r");
  if (!p) return out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) {
    std::string line(buf);
    if (line.rfind("ROUND ", 0) != 0) {
      std::printf("%s", line.c_str());
      continue;
    }
    std::map<std::string, std::string> kv;
    std::istringstream ss(line);
    for (std::string tok; ss >> tok;)
      if (auto eq = tok.find('='); eq != std::string::npos) kv[tok.substr(0, eq)] = tok.substr(eq + 1);
    Round r{std::stod(kv["epoch_s"]), std::stod(kv["cpu_s"]), std::stod(kv["valid_mse"]), std::stod(kv["checksum"]), {}};
    std::istringstream hs(kv["order_head"]);
    for (std::string v; std::getline(hs, v, ',');) r.order_head.push_back(std::stoll(v));
    out.push_back(r);
  }
  const int rc = pclose(p);
  if (rc != 0) {
    std::printf("  python: failed (exit status %d); baseline unavailable\n", rc);
    out.clear();
  }
  return out;
}

// ---- reporting ------------------------------------------------------------------------------------

void print_round(const char* side, int k, const Round& r) {
  std::printf("  %-7s round %d: epoch %.4f s (cpu %.4f s)  valid_mse %.5f  init abs-sum %.4f\n", side, k, r.epoch_s,
              r.cpu_s, r.valid_mse, r.checksum);
  std::fflush(stdout);
}

struct Med {
  double epoch_s = NAN, cpu_s = NAN, valid_mse = NAN;
};
Med medians(const std::vector<Round>& rs) {
  std::vector<double> e, c, m;
  for (auto& r : rs) e.push_back(r.epoch_s), c.push_back(r.cpu_s), m.push_back(r.valid_mse);
  return {bench::median(e), bench::median(c), bench::median(m)};
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse(argc, argv);
  torch::set_num_threads(a.threads);
  const int blas_threads = bench::set_blas_threads(a.threads);
  std::printf("tabular_bench: LibTorch %s, %d torch threads, %d OpenBLAS threads (%u cores), load average %s\n",
              fastai::compat::torch_version(), torch::get_num_threads(), blas_threads,
              std::thread::hardware_concurrency(), bench::load_average().c_str());

  const auto t_load = bench::Clock::now();
  fastai::Table df = fastai::read_csv(fastai::untar_data(fastai::URLs::DIAMONDS) / "diamonds.csv");
  std::vector<double> log_price;
  for (size_t i = 0; i < df.n_rows(); ++i) log_price.push_back(std::log(df["price"].as_double(i)));
  df.set_column(fastai::Column::from_floats("log_price", std::move(log_price)));
  const std::vector<int64_t> valid_idx = valid_rows(static_cast<int64_t>(df.n_rows()), a.seed);
  const Prep d = preprocess(df, valid_idx);
  const int64_t nb = d.cat_t.size(0) / a.bs, rows = nb * a.bs;
  std::printf("diamonds: %lld train rows, %lld valid; cards", static_cast<long long>(d.cat_t.size(0)),
              static_cast<long long>(d.cat_v.size(0)));
  for (int64_t c : d.cards) std::printf(" %lld", static_cast<long long>(c));
  std::printf(" (#na# included); %lld batches of %lld per epoch = %lld rows; loaded in %.2f s (not timed)\n",
              static_cast<long long>(nb), static_cast<long long>(a.bs), static_cast<long long>(rows),
              bench::seconds_since(t_load));
  std::printf("== tabular: [200,100], bs %lld, fit_one_cycle(1, %g), %d warm-up + %d timed round(s) per side ==\n",
              static_cast<long long>(a.bs), a.lr, a.warmup, a.rounds);

  std::vector<Round> py;
  if (a.run_python) {
    char tmpl[] = "/tmp/tabular_bench_XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd < 0) throw std::runtime_error("tabular_bench: mkstemp failed");
    close(fd);
    write_prep(d, tmpl);
    torch::manual_seed(a.seed);
    py = python_rounds(tmpl, hidden_bn_bias(*make_model(d)), a);
    std::remove(tmpl);
  }

  std::vector<Round> ours, raw;
  // Warm-up rounds are discarded; the side that goes first alternates from round to round.
  for (int k = 0; k < a.warmup + a.rounds; ++k) {
    for (int s = 0; s < 2; ++s) {
      if ((k + s) % 2 == 0) {
        Round r = raw_round(d, a);
        print_round(k < a.warmup ? "raw(w)" : "raw", k, r);
        if (k >= a.warmup) raw.push_back(r);
      } else {
        Round r = ours_round(df, valid_idx, a);
        print_round(k < a.warmup ? "ours(w)" : "ours", k, r);
        if (k >= a.warmup) ours.push_back(r);
      }
    }
  }
  auto same = [](double x, double y) { return std::abs(x - y) <= 1e-4 * std::max(1.0, std::abs(x)); };
  if (!py.empty() && (!same(py[0].checksum, raw[0].checksum) || py[0].order_head != raw[0].order_head))
    std::printf("  WARNING: python and raw differ in initial weights or epoch-0 shuffle\n");
  if (!ours.empty() && !same(ours[0].checksum, raw[0].checksum))
    std::printf("  note: fastai-cpp's initial weights differ from raw's (abs-sums above)\n");
  if (!ours.empty() && ours[0].order_head != raw[0].order_head)
    std::printf("  WARNING: fastai-cpp's epoch-0 shuffle differs from raw's\n");

  const Med o = medians(ours), r = medians(raw), y = medians(py);
  const double x_rps = static_cast<double>(rows) / o.epoch_s;
  const double r_rps = static_cast<double>(rows) / r.epoch_s, y_rps = static_cast<double>(rows) / y.epoch_s;
  std::printf("\n== summary (median of %d rounds; rows/s = %lld training rows / epoch seconds incl. validation) ==\n",
              a.rounds, static_cast<long long>(rows));
  std::printf("tabular_rows_per_s: ours=%.0f raw=%.0f baseline=%.0f", x_rps, r_rps, y_rps);
  std::printf(" ratio=%.3f tax=%.3f", x_rps / y_rps, r_rps / x_rps);
  std::printf("  (epoch_s ours=%.4f raw=%.4f baseline=%.4f; cpu_s ours=%.4f raw=%.4f baseline=%.4f;"
              " valid_mse ours=%.4f raw=%.4f baseline=%.4f)\n",
              o.epoch_s, r.epoch_s, y.epoch_s, o.cpu_s, r.cpu_s, y.cpu_s, o.valid_mse, r.valid_mse, y.valid_mse);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tabular_bench: %s\n", e.what());
  return 1;
}
