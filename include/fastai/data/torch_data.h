// Incremental adoption of existing LibTorch data code (design.md §2): a torch::data dataset gets
// fastai's threaded TfmdDL (TorchDataset, from_torch_dataset), and an existing torch::data loader
// is wrapped as a fastai DataLoader (wrap_torch_loader), so either trains with a Learner:
//   auto dls = DataLoaders(wrap_torch_loader(std::move(train_loader)), wrap_torch_loader(std::move(valid_loader)));
// The only header of the library that includes <torch/data.h> (it is heavy): include it only
// where torch::data code is adopted.
#pragma once
#include "fastai/core/error.h"
#include "fastai/core/types.h"
#include "fastai/data/dataloader.h"
#include "fastai/data/datasets.h"
#include "fastai/data/tfmd_dl.h"

#include <torch/data.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace fastai {

namespace torch_data_detail {
/// Stacks the examples of one batch (torch::data::transforms::Stack's job); `ys` empty when the
/// examples have no target. Error naming the example and both shapes when they differ.
Batch stack_examples(const std::vector<at::Tensor>& xs, const std::vector<at::Tensor>& ys);
/// Error saying the loader given to wrap_torch_loader is null.
[[noreturn]] void null_loader();
/// `e` (thrown while loading batch `batch`) as a fastai::Error, unwrapping torch's WorkerException.
[[noreturn]] void rethrow_loading(const std::exception& e, int64_t batch);
/// The dataset size as an int64, or an Error naming `where` when the dataset is unsized.
int64_t checked_size(bool has_size, size_t size, const char* where);

// The torch example types a sample or a batch can be.
template <class T>
struct is_example : std::false_type {};
template <>
struct is_example<torch::data::Example<at::Tensor, at::Tensor>> : std::true_type {};
template <>
struct is_example<torch::data::TensorExample> : std::true_type {};

// The sampler of a StatelessDataLoader (void for other loaders): it tells whether it shuffles.
template <class L>
struct sampler_of {
  using type = void;
};
template <class D, class S>
struct sampler_of<torch::data::StatelessDataLoader<D, S>> {
  using type = S;
};
template <class L>
constexpr bool shuffles() {
  using S = typename sampler_of<L>::type;
  return std::is_same_v<S, torch::data::samplers::RandomSampler> ||
         std::is_same_v<S, torch::data::samplers::DistributedRandomSampler>;
}

// torch's loaders keep their dataset in the protected member main_thread_dataset_ when they run
// no worker threads (with workers, each thread holds a copy out of reach). Reading it through a
// derived class is how its size is found without asking the user.
template <class L>
struct MainDataset : L {
  static auto* get(const L& l) { return (l.*(&MainDataset::main_thread_dataset_)).get(); }
};
}  // namespace torch_data_detail

// ---- a torch::data dataset as an ItemDataset (it gets TfmdDL's threads and batching) ----------

/// A map-style torch::data dataset (`get(i)` returning Example<Tensor, Tensor> or TensorExample,
/// `size()` known) as an ItemDataset: sample i is Tuple{data, target} (or Tuple{data}), plain
/// tensors, one input. Like torch's loader, which copies the dataset into each worker, each
/// loading thread works on its own copy of a copyable dataset (made when first needed, then
/// reused), so `get` need not be thread-safe; a non-copyable dataset is called under a lock.
template <class D>
class TorchDataset : public ItemDataset {
 public:
  using Example = decltype(std::declval<D&>().get(size_t{0}));
  static_assert(torch_data_detail::is_example<Example>::value,
                "TorchDataset<D>: D::get(i) must return torch::data::Example<at::Tensor, at::Tensor> or TensorExample");

  /// Wraps `ds`. Error when the dataset has no size (a stream dataset).
  explicit TorchDataset(D ds) : proto_(std::make_shared<D>(std::move(ds))) {
    auto s = proto_->size();
    n_ = torch_data_detail::checked_size(s.has_value(), s.has_value() ? *s : 0, "TorchDataset");
  }
  /// Number of examples (the dataset's size()).
  int64_t size() const override { return n_; }
  /// Sample i as Tuple{data, target} or Tuple{data}. Errors name i and the dataset's message.
  Tuple get(int64_t i) const override {
    FA_CHECK(i >= 0 && i < n_, "TorchDataset: index ", i, " out of range (", n_, " items)");
    Lease lease(*this);
    Example e = lease.ds->get(static_cast<size_t>(i));
    if constexpr (std::is_same_v<Example, torch::data::TensorExample>) {
      return Tuple{Item(e.data)};
    } else {
      return Tuple{Item(e.data), Item(e.target)};
    }
  }
  /// "torch::data example i" (what loader errors call the item).
  std::string describe_raw(int64_t i) const override {
    std::string s = "torch::data example ";
    s += std::to_string(i);
    return s;
  }
  /// The wrapped dataset (the original; loading threads may use copies of it).
  const D& dataset() const { return *proto_; }

 private:
  // One dataset instance for the calling thread's use; returned to the pool when done.
  struct Lease {
    const TorchDataset& owner;
    std::shared_ptr<D> ds;
    explicit Lease(const TorchDataset& o) : owner(o) {
      if constexpr (std::is_copy_constructible_v<D>) {
        std::lock_guard<std::mutex> lk(owner.m_);
        if (owner.pool_.empty()) {
          ds = std::make_shared<D>(*owner.proto_);
        } else {
          ds = std::move(owner.pool_.back());
          owner.pool_.pop_back();
        }
      } else {
        owner.m_.lock();
        ds = owner.proto_;
      }
    }
    ~Lease() {
      if constexpr (std::is_copy_constructible_v<D>) {
        std::lock_guard<std::mutex> lk(owner.m_);
        owner.pool_.push_back(std::move(ds));
      } else {
        owner.m_.unlock();
      }
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
  };

  std::shared_ptr<D> proto_;
  int64_t n_ = 0;
  mutable std::mutex m_;
  mutable std::vector<std::shared_ptr<D>> pool_;
};

/// A TfmdDL over a torch::data dataset (TorchDataset): fastai's worker threads, seeded shuffling,
/// batching, device transfer and transforms for an existing dataset.
template <class D>
std::shared_ptr<TfmdDL> from_torch_dataset(D ds, TfmdDLOptions o = {}) {
  return std::make_shared<TfmdDL>(std::make_shared<const TorchDataset<D>>(std::move(ds)), std::move(o));
}

/// Train and valid TfmdDLs over torch::data datasets, as fastai's dataloaders(): the train loader
/// shuffled with drop_last, the valid one neither (its seed o.seed + 1 when o.seed is set).
template <class D, class V>
DataLoaders dataloaders_from_torch(D train, V valid, TfmdDLOptions o = {}) {
  TfmdDLOptions to = o, vo = o;
  to.shuffle = to.drop_last = true;
  vo.shuffle = vo.drop_last = false;
  vo.allow_empty = true;
  if (o.seed != 0) vo.seed = o.seed + 1;
  auto tdl = from_torch_dataset(std::move(train), std::move(to));
  vo.device = tdl->device();
  return DataLoaders(tdl, from_torch_dataset(std::move(valid), std::move(vo)));
}

// ---- an existing torch::data loader as a fastai DataLoader ------------------------------------

struct TorchLoaderOptions {
  /// Items per epoch. Default: the loader's dataset size, which can be read when the loader runs
  /// no worker threads; with workers it must be given (e.g. `dataset.size().value()`).
  std::optional<int64_t> n = std::nullopt;
  std::optional<c10::Device> device = std::nullopt;  ///< default: CUDA if available, else CPU
  int n_inp = 1;  ///< leading tensors of a batch that are inputs
};

/// The part of TorchLoader that does not depend on the loader's type.
class TorchLoaderBase : public DataLoader {
 public:
  /// Batches per epoch: n / bs, rounded up unless drop_last.
  int64_t size() const override;
  int64_t n() const override { return n_; }
  int64_t bs() const override { return bs_; }
  int n_inp() const override { return n_inp_; }
  bool shuffle() const override { return shuffle_; }
  bool drop_last() const override { return drop_last_; }
  c10::Device device() const override { return device_; }
  /// Later batches go to `d`.
  void to(c10::Device d) override { device_ = d; }

 protected:
  /// Error naming the loader's settings when n is unknown or bs / n_inp are out of range.
  TorchLoaderBase(std::optional<int64_t> dataset_n, size_t workers, size_t bs, bool shuffle, bool drop_last,
                  const TorchLoaderOptions& o);
  /// The Error new_with gives for settings other than the loader's own.
  [[noreturn]] void cannot_copy(bool shuffle, bool drop_last) const;
  /// `b` = the batch's tensors moved to the device.
  void deliver(Batch& b, Batch ts) const;

  int64_t n_ = 0, bs_ = 1;
  int n_inp_ = 1;
  bool shuffle_ = false, drop_last_ = false;
  c10::Device device_ = c10::Device(c10::kCPU);
};

/// An existing torch::data loader (what torch::data::make_data_loader returns) as a fastai
/// DataLoader. Batches may be Example<Tensor, Tensor> / TensorExample (a dataset mapped with
/// torch::data::transforms::Stack) or vectors of them (stacked here); they become Batch{data,
/// target} (or {data}) on device(). begin_epoch() restarts the loader (finishing an interrupted
/// epoch first when it runs worker threads, as torch requires). shuffle() is true for a
/// RandomSampler or DistributedRandomSampler. An exception while loading is rethrown by next()
/// as fastai::Error with the batch index and the original message.
/// torch::data loaders cannot be copied or reconfigured: new_with() with the loader's own
/// shuffle / drop_last returns a second handle on the same loader (so get_preds works on an
/// unshuffled validation loader); other settings are an Error.
template <class L>
class TorchLoader : public TorchLoaderBase {
 public:
  using TorchBatch = typename L::BatchType;

  /// Wraps `loader` (not null). Errors: see TorchLoaderOptions::n.
  explicit TorchLoader(std::unique_ptr<L> loader, TorchLoaderOptions o = {})
      : TorchLoaderBase(dataset_n(must(loader)), must(loader).options().workers, must(loader).options().batch_size,
                        torch_data_detail::shuffles<L>(), must(loader).options().drop_last, o),
        s_(std::make_shared<State>()) {
    s_->loader = std::move(loader);
  }

  /// Restarts the torch loader (reading the rest of an unfinished epoch first when it has workers).
  void begin_epoch() override {
    State& s = *s_;
    if (s.it && !s.exhausted && s.loader->options().workers > 0) drain();
    s.it.reset();
    try {
      s.it.emplace(s.loader->begin());
    } catch (const std::exception& e) {
      torch_data_detail::rethrow_loading(e, 0);
    }
    if (!s.end) s.end.emplace(s.loader->end());
    s.first = true;
    s.exhausted = false;
    s.batch = 0;
  }

  /// The next batch as {data, target} (or {data}) on device(); false at the end of the epoch.
  bool next(Batch& b) override {
    State& s = *s_;
    FA_CHECK(s.it.has_value(), "TorchLoader::next: call begin_epoch() first");
    if (s.exhausted) return false;
    try {
      if (!s.first) {
        ++s.batch;
        ++*s.it;
      }
      const bool at_end = *s.it == *s.end;  // fetches the first batch lazily
      s.first = false;
      if (at_end) {
        s.exhausted = true;
        return false;
      }
      deliver(b, convert(**s.it));
    } catch (const std::exception& e) {
      torch_data_detail::rethrow_loading(e, s.batch);
    }
    return true;
  }

  /// A second handle on the same loader for its own settings; Error for others (see above).
  std::shared_ptr<DataLoader> new_with(bool shuffle, bool drop_last) const override {
    if (shuffle != shuffle_ || drop_last != drop_last_) cannot_copy(shuffle, drop_last);
    return std::make_shared<TorchLoader>(*this);
  }

  /// The wrapped loader.
  L& loader() const { return *s_->loader; }

 private:
  using Iter = decltype(std::declval<L&>().begin());
  struct State {
    std::unique_ptr<L> loader;
    std::optional<Iter> it, end;
    bool first = true, exhausted = true;
    int64_t batch = 0;
  };

  static const L& must(const std::unique_ptr<L>& l) {
    if (!l) torch_data_detail::null_loader();
    return *l;
  }

  static std::optional<int64_t> dataset_n(const L& l) {
    if (l.options().workers > 0) return std::nullopt;
    const auto* ds = torch_data_detail::MainDataset<L>::get(l);
    if (!ds) return std::nullopt;
    auto sz = ds->size();
    if (!sz.has_value()) return std::nullopt;
    return static_cast<int64_t>(*sz);
  }

  // Reads the rest of an interrupted epoch, so that the loader's worker threads are idle again.
  void drain() {
    State& s = *s_;
    while (true) {
      try {
        if (*s.it == *s.end) break;  // fetches the first batch lazily when none was read yet
        ++*s.it;
      } catch (...) {  // a failed batch of the abandoned epoch: nothing to report any more
      }
    }
    s.exhausted = true;
  }

  static Batch convert(const TorchBatch& tb) {
    if constexpr (std::is_same_v<TorchBatch, torch::data::Example<at::Tensor, at::Tensor>>) {
      return Batch{tb.data, tb.target};
    } else if constexpr (std::is_same_v<TorchBatch, torch::data::TensorExample>) {
      return Batch{tb.data};
    } else {
      using E = typename TorchBatch::value_type;
      static_assert(torch_data_detail::is_example<E>::value,
                    "TorchLoader: batches must be Example<Tensor, Tensor>, TensorExample, or vectors of them");
      std::vector<at::Tensor> xs, ys;
      xs.reserve(tb.size());
      for (const auto& e : tb) {
        xs.push_back(e.data);
        if constexpr (std::is_same_v<E, torch::data::Example<at::Tensor, at::Tensor>>) ys.push_back(e.target);
      }
      return torch_data_detail::stack_examples(xs, ys);
    }
  }

  std::shared_ptr<State> s_;  // shared with the handles new_with returns
};

/// An existing torch::data loader (the unique_ptr torch::data::make_data_loader returns) as a
/// fastai DataLoader: `DataLoaders(wrap_torch_loader(std::move(train)), wrap_torch_loader(std::move(valid)))`.
template <class L>
std::shared_ptr<DataLoader> wrap_torch_loader(std::unique_ptr<L> loader, TorchLoaderOptions o = {}) {
  return std::make_shared<TorchLoader<L>>(std::move(loader), std::move(o));
}

}  // namespace fastai
