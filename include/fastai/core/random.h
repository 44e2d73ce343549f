// Random numbers: fastai's global RNG (set_seed seeds it and LibTorch's), and a per-thread RNG
// for random transforms. The DataLoader reseeds the thread RNG before every batch from
// (loader seed, epoch, batch index), so a random item transform draws the same numbers for a
// batch whichever worker thread builds it: batches are identical for any number of workers.
#pragma once
#include <ATen/core/Generator.h>

#include <cstdint>
#include <vector>

namespace fastai {

/// Seeds fastai's global RNG and LibTorch's (fastai's set_seed). Without it the global RNG
/// starts from std::random_device, so unseeded shuffles differ between runs, as in fastai.
void set_seed(uint64_t seed);
/// Next value of fastai's global RNG (seeds loaders and splitters built without a seed); never 0.
uint64_t next_global_seed();

/// splitmix64: a small, fast, full-period generator whose whole state is one uint64.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}
  void seed(uint64_t s) { state_ = s; }
  uint64_t state() const { return state_; }
  /// Next 64 random bits.
  uint64_t next();
  /// Uniform integer in [0, bound) without modulo bias; bound > 0.
  uint64_t below(uint64_t bound);
  /// Uniform integer in [lo, hi] (inclusive, as Python's random.randint).
  int64_t randint(int64_t lo, int64_t hi);
  /// Uniform double in [0, 1).
  double uniform();
  /// Uniform double in [a, b).
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  /// Standard normal (Box-Muller).
  double normal(double mean = 0.0, double std = 1.0);
  /// True with probability p.
  bool bernoulli(double p) { return uniform() < p; }
  /// Fisher-Yates shuffle in place.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }
  /// A random permutation of 0..n-1.
  std::vector<int64_t> permutation(int64_t n);

 private:
  uint64_t state_;
};

/// This thread's RNG for random transforms (fastai's RandTransform draws from Python's `random`).
/// Seeded from std::random_device the first time a thread uses it (set_seed seeds the calling thread's); the DataLoader reseeds it per batch.
Rng& thread_rng();
/// A LibTorch CPU generator for this thread, reseeded together with thread_rng() (for random
/// tensor ops inside item transforms: at::rand(..., thread_generator())).
at::Generator thread_generator();
/// Reseeds thread_rng() and thread_generator() (what the DataLoader does before each batch).
void seed_thread_rng(uint64_t seed);
/// Mixes values into one well-spread 64-bit seed (e.g. loader seed, epoch, batch index).
uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c = 0);

/// Restores thread_rng()'s state on scope exit (for code that must not disturb the caller's draws).
class ThreadRngGuard {
 public:
  ThreadRngGuard() : saved_(thread_rng().state()) {}
  ~ThreadRngGuard() { thread_rng().seed(saved_); }
  ThreadRngGuard(const ThreadRngGuard&) = delete;
  ThreadRngGuard& operator=(const ThreadRngGuard&) = delete;

 private:
  uint64_t saved_;
};

}  // namespace fastai
