// TfmdDL: fastai's DataLoader + TfmdDL in one class, loading from any ItemDataset with worker
// threads. Each epoch: get_idxs (shuffle_fn when shuffle) -> sample (index batches, drop_last)
// -> on worker threads, per batch: create_item -> after_item (per item) -> before_batch ->
// create_batch (collate) -> retain (semantic types) -> pinned when bound for CUDA -> back on the
// calling thread, in order: moved to the device (non-blocking) -> after_batch -> served.
// Every step is a virtual method of the same name, and each can also be replaced by passing a
// function in TfmdDLOptions::hooks (fastai's keyword callbacks); new_dl() carries them over.
#pragma once
#include "fastai/core/pipeline.h"
#include "fastai/core/random.h"
#include "fastai/data/dataloader.h"
#include "fastai/data/datasets.h"

#include <c10/core/Device.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fastai {

class TfmdDL;

/// Replacements for the loader's steps (fastai's DataLoader keyword callbacks). An empty function
/// keeps the default. Functions taking `const TfmdDL&` may run on worker threads concurrently.
struct DataLoaderHooks {
  /// Once in each worker thread when it starts (worker id).
  std::function<void(const TfmdDL&, int worker)> wif = nullptr;
  /// Start / end of each epoch, on the calling thread.
  std::function<void(TfmdDL&)> before_iter = nullptr;
  std::function<void(TfmdDL&)> after_iter = nullptr;
  /// The epoch's item indices (default 0..n-1, then shuffle_fn when shuffle).
  std::function<std::vector<int64_t>(const TfmdDL&)> get_idxs = nullptr;
  /// Shuffles the indices with the loader's epoch RNG.
  std::function<std::vector<int64_t>(const TfmdDL&, std::vector<int64_t>, Rng&)> shuffle_fn = nullptr;
  /// The epoch's index batches (default: chunks of bs, the last one dropped when drop_last and short).
  std::function<std::vector<std::vector<int64_t>>(const TfmdDL&, std::vector<int64_t>)> sample = nullptr;
  /// Index -> raw sample (default dataset.get(i)).
  std::function<Tuple(const TfmdDL&, int64_t)> create_item = nullptr;
  /// Per sample after create_item (default: the after_item pipeline).
  std::function<Tuple(const TfmdDL&, Tuple)> after_item = nullptr;
  /// Samples -> samples before collation (default: the before_batch pipeline, e.g. padding).
  std::function<std::vector<Tuple>(const TfmdDL&, std::vector<Tuple>)> before_batch = nullptr;
  /// Samples -> batch (default: collate()).
  std::function<Tuple(const TfmdDL&, const std::vector<Tuple>&)> create_batch = nullptr;
  /// Collated batch, samples -> batch with the samples' semantic types (default: retain_batch_types()).
  std::function<Tuple(const TfmdDL&, Tuple, const std::vector<Tuple>&)> retain = nullptr;
  /// Samples -> final batch (default retain(create_batch(before_batch(b)), b)).
  std::function<Tuple(const TfmdDL&, std::vector<Tuple>)> do_batch = nullptr;
  /// Batch on the device -> batch (default: the after_batch pipeline), on the calling thread.
  std::function<Tuple(TfmdDL&, Tuple)> after_batch = nullptr;
};

/// Worker threads used when num_workers < 0: min(16, hardware threads) as fastai's default.
int default_num_workers();

struct TfmdDLOptions {
  int64_t bs = 64;
  bool shuffle = false;
  bool drop_last = false;
  /// Item/batch-building threads: 0 = on the calling thread; < 0 = default_num_workers().
  int num_workers = -1;
  /// Batches built ahead per worker.
  int prefetch_factor = 2;
  /// Gather batches in pinned memory (nullopt: exactly when the device is CUDA).
  std::optional<bool> pin_memory = std::nullopt;
  std::optional<c10::Device> device = std::nullopt;  ///< default: CUDA if available, else CPU
  uint64_t seed = 0;                                  ///< 0: drawn from the global RNG (fastai's rule)
  std::optional<int64_t> n = std::nullopt;            ///< items per epoch (default dataset size)
  std::vector<std::shared_ptr<Transform>> after_item = {};    ///< item transforms (worker threads)
  std::vector<std::shared_ptr<Transform>> before_batch = {};  ///< on the list of samples
  std::vector<std::shared_ptr<Transform>> after_batch = {};   ///< batch transforms (on the device)
  bool do_setup = true;  ///< set the three pipelines up on the dataset (after_batch on one batch)
  bool allow_empty = false;  ///< accept an empty dataset (else an Error)
  DataLoaderHooks hooks = {};
};

/// decode_batch / show_batch options.
struct ShowBatchOptions {
  int max_n = 9;              ///< samples shown
  std::string path = "";      ///< image inputs: PNG grid written here (required for images)
  int ncols = 0;              ///< grid columns (0: ceil(sqrt(max_n)))
  std::ostream* out = nullptr;///< text table for non-image inputs (nullptr: std::cout)
};

/// fastai's DataLoader and TfmdDL over an ItemDataset, with worker threads. Batches are identical
/// for any num_workers given the seed: the epoch's order comes from the loader's RNG, and before
/// each batch the building thread's thread_rng() is reseeded from (seed, epoch, batch index).
/// An exception in any step is rethrown by next() on the calling thread with the batch index and
/// item (index and raw item) in its message, and the workers are stopped.
class TfmdDL : public DataLoader {
 public:
  TfmdDL(std::shared_ptr<const ItemDataset> dataset, TfmdDLOptions o = {});
  ~TfmdDL() override;
  TfmdDL(const TfmdDL&) = delete;
  TfmdDL& operator=(const TfmdDL&) = delete;

  // ---- the DataLoader interface (what the Learner uses) ----
  int64_t size() const override;
  int64_t n() const override { return n_; }
  int64_t bs() const override { return o_.bs; }
  int n_inp() const override { return dataset_->n_inp(); }
  bool shuffle() const override { return o_.shuffle; }
  bool drop_last() const override { return o_.drop_last; }
  c10::Device device() const override { return device_; }
  /// Moves later batches, and the after_batch transforms' tensors, to `d`.
  void to(c10::Device d) override;
  void begin_epoch() override;
  /// The next batch as tensors (each element's tensor, nested tuples flattened).
  bool next(Batch& b) override;
  std::shared_ptr<DataLoader> new_with(bool shuffle, bool drop_last) const override;
  std::vector<int64_t> last_order() const override { return last_order_; }
  std::optional<LossHint> loss_hint() const override { return dataset_->loss_hint(); }
  const std::vector<std::string>* vocab() const override { return dataset_->vocab(); }
  std::optional<int64_t> c() const override { return dataset_->c(); }

  /// The next batch with its semantic types (after after_batch).
  bool next_batch(Tuple& b);
  /// The first batch of a fresh, unshuffled pass (fastai one_batch).
  Tuple one_batch();
  /// A loader like this one with other options (fastai new): dataset, pipelines and hooks kept.
  virtual std::shared_ptr<TfmdDL> new_dl(TfmdDLOptions o) const;
  /// Same options and pipelines over another dataset (test_dl).
  virtual std::shared_ptr<TfmdDL> new_dl(std::shared_ptr<const ItemDataset> ds, TfmdDLOptions o) const;

  /// Undoes after_batch (fastai decode).
  Tuple decode(const Tuple& b) const;
  /// Decodes a batch fully (after_batch, before_batch... and the dataset's transforms) into at most
  /// max_n samples (fastai decode_batch).
  std::vector<Tuple> decode_batch(const Tuple& b, int max_n = 9) const;
  /// Shows decoded samples of `b` (one_batch() when empty): a PNG grid of images with their
  /// targets as captions, or a text table (fastai show_batch).
  void show_batch(const Tuple& b = {}, ShowBatchOptions o = {});

  const ItemDataset& dataset() const { return *dataset_; }
  const std::shared_ptr<const ItemDataset>& dataset_ptr() const { return dataset_; }
  const TfmdDLOptions& options() const { return o_; }
  uint64_t seed() const { return seed_; }
  int num_workers() const { return nw_; }
  Pipeline& after_item() const { return *after_item_; }
  Pipeline& before_batch() const { return *before_batch_; }
  Pipeline& after_batch() const { return *after_batch_; }
  /// The dataset's split_idx, which the three pipelines run with.
  std::optional<int> split_idx() const { return dataset_->split_idx(); }
  /// Epochs started so far (the per-batch seeds depend on it).
  int64_t epoch() const { return epoch_; }

  // ---- the steps (fastai's customization points); override, or pass hooks ----
  virtual void wif(int worker) const;
  virtual void before_iter();
  virtual void after_iter();
  virtual std::vector<int64_t> get_idxs() const;
  virtual std::vector<int64_t> shuffle_fn(std::vector<int64_t> idxs, Rng& rng) const;
  virtual std::vector<std::vector<int64_t>> sample(std::vector<int64_t> idxs) const;
  virtual Tuple create_item(int64_t i) const;
  virtual Tuple do_item_after(Tuple x) const;  // after_item
  virtual std::vector<Tuple> do_before_batch(std::vector<Tuple> b) const;  // before_batch
  virtual Tuple create_batch(const std::vector<Tuple>& b) const;
  virtual Tuple retain(Tuple batch, const std::vector<Tuple>& b) const;
  virtual Tuple do_batch(std::vector<Tuple> b) const;
  virtual Tuple do_after_batch(Tuple b);  // after_batch
  /// create_item + after_item; nullopt when the item is skipped (SkipItemException).
  virtual std::optional<Tuple> do_item(int64_t i) const;

 protected:
  /// A loader over `dataset` sharing `like`'s pipelines and hooks (already set up): what new_dl
  /// uses; subclasses overriding new_dl call it.
  TfmdDL(std::shared_ptr<const ItemDataset> dataset, TfmdDLOptions o, const TfmdDL& like);
  /// Builds batch `k` of the current epoch from its indices (what a worker does).
  Tuple build_batch(int64_t k, const std::vector<int64_t>& idxs) const;

 private:
  struct Engine;
  void init();
  void stop();
  void setup_pipelines();
  Tuple to_device(const Tuple& b) const;

  std::shared_ptr<const ItemDataset> dataset_;
  TfmdDLOptions o_;
  c10::Device device_;
  int nw_ = 0;
  int64_t n_ = 0;
  uint64_t seed_ = 0;
  mutable Rng rng_;  // the epoch order's RNG (used on the calling thread only)
  int64_t epoch_ = 0;
  std::shared_ptr<Pipeline> after_item_, before_batch_, after_batch_;
  std::vector<int64_t> last_order_;
  std::unique_ptr<Engine> engine_;
};

/// An element of a decoded sample as show_batch writes it: a label, labels joined by ";", a
/// small tensor's values, or a description (type and shape) of a large one.
std::string show_text(const Item& x);

/// Stacks each position of the samples into one batch tensor (fastai fa_collate): tensors and
/// semantic tensors are stacked (the type of the first sample's element is kept), numbers
/// (double, float, int64_t, int, bool) become a tensor, nested tuples are collated recursively.
/// Error naming the position, the sample and both shapes/types when samples do not match.
Tuple collate(const std::vector<Tuple>& samples);
/// Each element of a batch converted back to the semantic type of the samples' element
/// (fastai retain_types); `batch` unchanged where the types already match.
Tuple retain_batch_types(Tuple batch, const std::vector<Tuple>& samples);
/// The tensors of a batch, nested tuples flattened in order (what the Learner trains on).
Batch batch_tensors(const Tuple& b);
/// Sample i of a collated batch (fastai batch_to_samples for one index): element-wise [i].
Tuple batch_item(const Tuple& b, int64_t i);

/// Builds the training loader (fastai dl_type); validation loaders are its new_dl() copies.
using DlFactory = std::function<std::shared_ptr<TfmdDL>(std::shared_ptr<const ItemDataset>, TfmdDLOptions)>;

/// fastai's dataloaders(): a train loader (shuffle, drop_last) and one loader per other subset
/// (neither; bs = val_bs or bs), sharing the pipelines. Error when the training subset is empty
/// or has fewer than bs items (no batch with drop_last), naming the sizes.
struct DataLoadersOptions {
  int64_t bs = 64;
  std::optional<int64_t> val_bs = std::nullopt;
  bool shuffle_train = true;
  std::optional<c10::Device> device = std::nullopt;
  int num_workers = -1;
  uint64_t seed = 0;
  std::vector<std::shared_ptr<Transform>> after_item = {};
  std::vector<std::shared_ptr<Transform>> before_batch = {};
  std::vector<std::shared_ptr<Transform>> after_batch = {};
  DataLoaderHooks hooks = {};
  DlFactory dl_type = nullptr;  ///< default: TfmdDL
  std::string path = ".";
};
DataLoaders dataloaders_from(const Datasets& dsets, DataLoadersOptions o = {});

}  // namespace fastai
