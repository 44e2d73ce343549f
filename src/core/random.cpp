#include "fastai/core/random.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <cmath>
#include <mutex>
#include <numbers>
#include <random>

namespace fastai {
namespace random_detail {

// fastai's global RNG (Python's `random`): seeds loaders and splitters built without a seed.
struct GlobalRng {
  std::mutex m;
  std::mt19937_64 gen{std::random_device{}()};
};
GlobalRng& global_rng() {
  static GlobalRng g;
  return g;
}

// A thread's first seed comes from std::random_device, not the global RNG: drawing from the
// global RNG here would make set_seed's stream depend on which threads touched it first.
struct ThreadState {
  Rng rng{(static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()};
  at::Generator gen;  // created on first use
};
ThreadState& thread_state() {
  thread_local ThreadState s;
  return s;
}

}  // namespace random_detail

void set_seed(uint64_t seed) {
  auto& g = random_detail::global_rng();
  {
    std::lock_guard<std::mutex> lk(g.m);
    g.gen.seed(seed);
  }
  at::manual_seed(seed);  // CPU and, when present, CUDA generators
  seed_thread_rng(mix_seed(seed, 0x7468726561640000ULL));  // this thread's transforms, too
}

uint64_t next_global_seed() {
  auto& g = random_detail::global_rng();
  std::lock_guard<std::mutex> lk(g.m);
  uint64_t s = 0;
  while (s == 0) s = g.gen();
  return s;
}

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t Rng::below(uint64_t bound) {
  // Lemire's multiply-and-reject: unbiased, one multiplication in the common case.
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

int64_t Rng::randint(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double Rng::normal(double mean, double std) {
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  return mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::vector<int64_t> Rng::permutation(int64_t n) {
  std::vector<int64_t> p(static_cast<size_t>(n > 0 ? n : 0));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  shuffle(p);
  return p;
}

Rng& thread_rng() { return random_detail::thread_state().rng; }

at::Generator thread_generator() {
  auto& s = random_detail::thread_state();
  if (!s.gen.defined()) s.gen = at::detail::createCPUGenerator(s.rng.next());
  return s.gen;
}

void seed_thread_rng(uint64_t seed) {
  auto& s = random_detail::thread_state();
  s.rng.seed(seed);
  if (s.gen.defined()) {
    std::lock_guard<std::mutex> lk(s.gen.mutex());
    s.gen.set_current_seed(mix_seed(seed, 1));
  } else {
    s.gen = at::detail::createCPUGenerator(mix_seed(seed, 1));
  }
}

uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c) {
  Rng r(a);
  uint64_t h = r.next();
  r.seed(h ^ b);
  h = r.next();
  r.seed(h ^ c);
  return r.next();
}

}  // namespace fastai
