// The loader interface the Learner trains from, and the in-memory tensor loader that
// implements it before the full data layer (threads, transforms, DataBlock) exists.
// The data layer's TfmdDL implements the same `DataLoader` interface.
#pragma once
#include "fastai/core/random.h"
#include "fastai/core/transform.h"
#include "fastai/core/types.h"

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fastai {

/// A collated batch: inputs first (`n_inp` of them), then targets, as fastai's tuple `b`.
using Batch = std::vector<at::Tensor>;

/// Abstract loader (fastai's DataLoader as the Learner sees it).
class DataLoader {
 public:
  virtual ~DataLoader() = default;
  /// Number of batches per epoch (fastai's len(dl)).
  virtual int64_t size() const = 0;
  /// Number of items (fastai's dl.n).
  virtual int64_t n() const = 0;
  virtual int64_t bs() const = 0;
  virtual int n_inp() const { return 1; }
  virtual bool shuffle() const = 0;
  virtual bool drop_last() const = 0;
  virtual c10::Device device() const = 0;
  virtual void to(c10::Device d) = 0;
  /// Starts an epoch (re-shuffles if shuffle). Then next() fills `b` until it returns false.
  virtual void begin_epoch() = 0;
  virtual bool next(Batch& b) = 0;
  /// A copy with other shuffle / drop_last (fastai's dl.new(shuffle=..., drop_last=...)).
  virtual std::shared_ptr<DataLoader> new_with(bool shuffle, bool drop_last) const = 0;
  /// Dataset indices in iteration order of the last epoch (for get_preds reordering);
  /// empty means identity order.
  virtual std::vector<int64_t> last_order() const { return {}; }
  /// The loss the targets imply (from the dataset's target pipeline), if known.
  virtual std::optional<LossHint> loss_hint() const { return std::nullopt; }
  /// The target's class labels (fastai dls.vocab), if the targets are categories.
  virtual const std::vector<std::string>* vocab() const { return nullptr; }
  /// The number of model outputs the targets imply (fastai get_c), if known.
  virtual std::optional<int64_t> c() const { return std::nullopt; }

  /// Range-for support: `for (Batch& b : dl)` runs one epoch.
  class iterator {
   public:
    iterator() = default;
    explicit iterator(DataLoader* dl) : dl_(dl) { advance(); }
    Batch& operator*() { return b_; }
    iterator& operator++() { advance(); return *this; }
    bool operator!=(const iterator& o) const { return dl_ != o.dl_; }
   private:
    void advance() { if (dl_ && !dl_->next(b_)) dl_ = nullptr; }
    DataLoader* dl_ = nullptr;
    Batch b_;
  };
  iterator begin() { begin_epoch(); return iterator(this); }
  iterator end() { return iterator(); }
};

struct TensorDataLoaderOptions {
  int64_t bs = 64;
  bool shuffle = false;
  bool drop_last = false;
  int n_inp = 1;
  std::optional<c10::Device> device = std::nullopt;  ///< default: CUDA if available, else CPU
  uint64_t seed = 0;                                  ///< 0: drawn from fastai's global RNG
  bool allow_empty = false;  ///< accept n == 0 (an empty validation set); otherwise n == 0 is an Error
};

/// Batches straight out of in-memory tensors (first dim = items), shuffled with its own
/// seeded RNG, moved to the device.
///
/// - Every tensor needs the same first dim (else Error naming the tensor index and both sizes);
///   bs > 0; 1 <= n_inp <= number of tensors; n == 0 is an Error unless o.allow_empty.
/// - Shuffled loaders draw a fresh permutation at every begin_epoch() from their own RNG, seeded
///   by o.seed (0: by next_global_seed() at construction, as fastai seeds a DataLoader's RNG
///   from Python's global one). Two loaders with the same seed give identical batches.
/// - Unshuffled batches from tensors already on the target device are views of the data
///   (narrow, no copy): do not modify them in place. Shuffled batches are index_select copies.
/// - Batches go to device() with non_blocking copies; when that is CUDA and the data is on the
///   CPU, each batch is gathered into pinned memory first.
/// - new_with() shares the tensors and options (o.seed as given: 0 draws a new seed again).
class TensorDataLoader : public DataLoader {
 public:
  TensorDataLoader(std::vector<at::Tensor> tensors, TensorDataLoaderOptions o = {});
  /// The seed actually used by this loader's RNG (o.seed, or the one drawn at construction).
  uint64_t seed() const { return seed_; }
  const TensorDataLoaderOptions& options() const { return o_; }
  int64_t size() const override;
  int64_t n() const override { return n_; }
  int64_t bs() const override { return o_.bs; }
  int n_inp() const override { return o_.n_inp; }
  bool shuffle() const override { return o_.shuffle; }
  bool drop_last() const override { return o_.drop_last; }
  c10::Device device() const override { return device_; }
  void to(c10::Device d) override;
  void begin_epoch() override;
  bool next(Batch& b) override;
  std::shared_ptr<DataLoader> new_with(bool shuffle, bool drop_last) const override;
  std::vector<int64_t> last_order() const override;
  const std::vector<at::Tensor>& tensors() const { return tensors_; }

 private:
  std::vector<at::Tensor> tensors_;
  TensorDataLoaderOptions o_;
  c10::Device device_;
  int64_t n_ = 0;
  uint64_t seed_ = 0;
  Rng rng_;
  at::Tensor order_;      // int64 CPU permutation of the current epoch (undefined = identity)
  at::Tensor order_dev_;  // order_ on the data's device when the data is not on the CPU
  int64_t pos_ = 0;
  int64_t end_ = 0;       // items served per epoch: n, or n rounded down to bs with drop_last
};

/// The default device: CUDA if LibTorch sees a GPU, else CPU (fastai's default_device()).
c10::Device default_device();

class TfmdDL;
struct ShowBatchOptions;

/// A train loader and one or more validation loaders (fastai's DataLoaders).
class DataLoaders {
 public:
  DataLoaders() = default;
  DataLoaders(std::shared_ptr<DataLoader> train, std::shared_ptr<DataLoader> valid, std::string path = ".");
  /// From tensors: train shuffled with drop_last, valid neither (fastai's dataloaders() defaults),
  /// both with o.bs and o.device (o.shuffle / o.drop_last are ignored). An empty `valid` (no
  /// tensors, or 0 items) gives an empty validation loader; an empty train set, or one with
  /// fewer than bs items (drop_last: no batch at all), is an Error saying which set.
  /// The valid loader's seed is o.seed + 1 when o.seed is set (it never shuffles anyway).
  static DataLoaders from_tensors(std::vector<at::Tensor> train, std::vector<at::Tensor> valid,
                                  TensorDataLoaderOptions o = {});
  DataLoader& train() const;
  DataLoader& valid() const;
  /// Loader i (0 train, 1 valid, ...); Error naming i and the number of loaders when out of range.
  std::shared_ptr<DataLoader> operator[](size_t i) const;
  size_t n_loaders() const { return loaders_.size(); }
  void add(std::shared_ptr<DataLoader> dl) { loaders_.push_back(std::move(dl)); }
  c10::Device device() const;
  void to(c10::Device d);
  const std::string& path() const { return path_; }
  int n_inp() const { return train().n_inp(); }

  // ---- with TfmdDL loaders (DataBlock, Datasets); Error naming the loader otherwise ----
  /// Loader i as a TfmdDL.
  std::shared_ptr<TfmdDL> tfmd(size_t i) const;
  /// A loader over new raw items with the validation transforms (fastai test_dl): the valid
  /// dataset's input pipelines (all of them when with_labels), the valid loader's pipelines.
  std::shared_ptr<TfmdDL> test_dl(std::vector<Item> items, bool with_labels = false,
                                  std::optional<int64_t> bs = std::nullopt) const;
  /// The training loader's target vocab (fastai dls.vocab); Error when it has none.
  const std::vector<std::string>& vocab() const;
  /// The number of outputs the target implies (fastai dls.c), if known.
  std::optional<int64_t> c() const;
  /// The loss the training targets imply, if known.
  std::optional<LossHint> loss_hint() const { return train().loss_hint(); }
  /// What predicting on new raw items needs, without the data (what learn.export keeps of the
  /// loaders): the validation loader's dataset pipelines (one per Datasets element, or the
  /// TfmdLists' one), n_inp, and its after_item / before_batch / after_batch pipelines, as JSON.
  /// Errors: the valid loader is not a TfmdDL over Datasets / TfmdLists, or one of its transforms
  /// cannot be rebuilt by name (not registered with make_transform), naming it.
  nlohmann::json inference_state() const;
  /// Loaders rebuilt from inference_state() (no items; train and valid are one empty loader) on
  /// `device` (default: default_device()), ready for test_dl. Error naming what is malformed.
  static DataLoaders from_inference_state(const nlohmann::json& s, std::optional<c10::Device> device = std::nullopt);
  /// The semantic type name of a sample's target element ("TensorCategory", "TensorMask", ...;
  /// "" when the samples have none): the validation set's first sample's (else the training
  /// set's), computed once; loaders from from_inference_state keep the exported name.
  const std::string& target_type() const;
  void set_target_type(std::string t) { target_type_ = std::move(t); target_type_known_ = true; }
  /// show_batch of the training loader (fastai dls.show_batch).
  void show_batch(const ShowBatchOptions& o) const;
  /// one_batch of the training loader.
  Tuple one_batch() const;

 private:
  std::vector<std::shared_ptr<DataLoader>> loaders_;
  std::string path_ = ".";
  mutable std::string target_type_;
  mutable bool target_type_known_ = false;
};

}  // namespace fastai
