// TfmdLists and Datasets (fastai.data.core): lazily transformed collections of raw items with
// train/valid splits. Transforms are set up on the training subset (incrementally: transform k
// learns from items already through 0..k-1); indexing applies them with the subset's split_idx.
// Both implement ItemDataset, the indexable interface the threaded TfmdDL loads from.
#pragma once
#include "fastai/core/pipeline.h"
#include "fastai/core/transform.h"
#include "fastai/core/types.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fastai {

/// Index lists, one per subset: splits[0] training, splits[1] validation, more are allowed.
using Splits = std::vector<std::vector<int64_t>>;

/// What a loader needs from a dataset (fastai: anything with __getitem__ and __len__).
class ItemDataset {
 public:
  virtual ~ItemDataset() = default;
  /// Number of samples.
  virtual int64_t size() const = 0;
  /// Sample i (0 <= i < size()): a Tuple of typed items, inputs first. Errors name i and the raw item.
  virtual Tuple get(int64_t i) const = 0;
  /// How many leading elements of a sample are inputs.
  virtual int n_inp() const { return 1; }
  /// The split whose transforms run (0 train, 1 valid, nullopt: none of the split-only ones).
  virtual std::optional<int> split_idx() const { return std::nullopt; }
  /// Undoes the item transforms of a sample (for display and prediction).
  virtual Tuple decode(const Tuple& x) const { return x; }
  /// The target's vocab (fastai dls.vocab), if any.
  virtual const std::vector<std::string>* vocab() const { return nullptr; }
  /// The number of outputs the target implies (fastai dls.c), if known.
  virtual std::optional<int64_t> c() const { return std::nullopt; }
  /// The loss the target type implies (fastai's loss_func attribute), if any.
  virtual std::optional<LossHint> loss_hint() const { return std::nullopt; }
  /// The raw item i as text, for error messages ("'images/cat_3.png'").
  virtual std::string describe_raw(int64_t i) const;
};

struct TfmdListsOptions {
  Splits splits = {};                        ///< empty: every item is in the training subset, validation empty
  bool do_setup = true;                      ///< set the transforms up on the training subset
  std::optional<int> split_idx = std::nullopt;  ///< of the whole list (subsets use their own index)
};

/// One pipeline lazily applied to a collection (fastai TfmdLists). Copies and subsets share the
/// items and the pipeline (so state learned in setup is seen by all of them).
class TfmdLists : public ItemDataset {
 public:
  TfmdLists() = default;
  /// Errors: a split index out of range (names the split, the position and the number of items).
  TfmdLists(std::vector<Item> items, std::vector<std::shared_ptr<Transform>> tfms, TfmdListsOptions o = {});
  TfmdLists(std::vector<Item> items, Pipeline tfms, TfmdListsOptions o = {});

  int64_t size() const override { return static_cast<int64_t>(idx_ ? idx_->size() : items_->size()); }
  /// Item i with the transforms applied (split_idx of this list). Error naming i, the raw item and
  /// the failing transform.
  Item operator[](int64_t i) const;
  /// The raw (untransformed) item i.
  const Item& raw(int64_t i) const;
  /// Item i as a Tuple (itself when it is one, else a 1-tuple), for loaders.
  Tuple get(int64_t i) const override;
  std::optional<int> split_idx() const override { return split_idx_; }
  Tuple decode(const Tuple& x) const override;
  Item decode(const Item& x) const { return tfms_->decode(x); }
  const std::vector<std::string>* vocab() const override { return tfms_->vocab(); }
  std::optional<int64_t> c() const override { return tfms_->c(); }
  std::optional<LossHint> loss_hint() const override;
  std::string describe_raw(int64_t i) const override;

  /// Subset i of the splits (0 train, 1 valid) with split_idx i. Error when i is out of range.
  TfmdLists subset(size_t i) const;
  TfmdLists train() const { return subset(0); }
  TfmdLists valid() const { return subset(1); }
  size_t n_subsets() const { return splits_.size(); }
  const Splits& splits() const { return splits_; }
  /// The same pipeline over other raw items (one subset, given split_idx): what test_dl uses.
  TfmdLists with_items(std::vector<Item> items, std::optional<int> split_idx) const;

  /// Sets the pipeline up on the training items (fastai setup(train_setup=True)).
  void setup();
  Pipeline& tfms() const { return *tfms_; }
  const std::shared_ptr<Pipeline>& tfms_ptr() const { return tfms_; }
  /// All raw items of the collection (not just this subset).
  const std::vector<Item>& all_items() const { return *items_; }
  /// Positions in all_items() of this view's items, or nullptr for all of them.
  const std::vector<int64_t>* view() const { return idx_.get(); }

 private:
  friend class Datasets;
  TfmdLists(std::shared_ptr<const std::vector<Item>> items, std::shared_ptr<Pipeline> tfms, TfmdListsOptions o);
  int64_t global(int64_t i) const;
  std::shared_ptr<const std::vector<Item>> items_ = std::make_shared<const std::vector<Item>>();
  std::shared_ptr<const std::vector<int64_t>> idx_;  // nullptr: identity
  std::shared_ptr<Pipeline> tfms_ = std::make_shared<Pipeline>();
  Splits splits_ = {{}, {}};
  std::optional<int> split_idx_;
};

struct DatasetsOptions {
  Splits splits = {};                        ///< as TfmdListsOptions::splits
  std::optional<int> n_inp = std::nullopt;   ///< default max(1, number of pipelines - 1)
  bool do_setup = true;
  std::optional<int> split_idx = std::nullopt;
};

/// Several pipelines over one collection (fastai Datasets): sample i is the tuple of each
/// pipeline's output for raw item i; inputs first (n_inp of them).
class Datasets : public ItemDataset {
 public:
  Datasets() = default;
  /// One TfmdLists per list of transforms. Error for no pipelines or an out-of-range n_inp.
  Datasets(std::vector<Item> items, std::vector<std::vector<std::shared_ptr<Transform>>> tfms, DatasetsOptions o = {});
  /// From existing TfmdLists (same items and splits). Error naming the mismatching list.
  explicit Datasets(std::vector<TfmdLists> tls, std::optional<int> n_inp = std::nullopt);

  int64_t size() const override { return tls_.empty() ? 0 : tls_[0].size(); }
  Tuple operator[](int64_t i) const { return get(i); }
  Tuple get(int64_t i) const override;
  int n_inp() const override { return n_inp_; }
  std::optional<int> split_idx() const override { return tls_.empty() ? std::nullopt : tls_[0].split_idx(); }
  /// Each element decoded by its own pipeline.
  Tuple decode(const Tuple& x) const override;
  /// The vocab of the last pipeline that has one (the target's, for image -> category).
  const std::vector<std::string>* vocab() const override;
  std::optional<int64_t> c() const override;
  /// The last pipeline's hint (the target's).
  std::optional<LossHint> loss_hint() const override;
  std::string describe_raw(int64_t i) const override { return tls_.at(0).describe_raw(i); }

  Datasets subset(size_t i) const;
  Datasets train() const { return subset(0); }
  Datasets valid() const { return subset(1); }
  size_t n_subsets() const { return tls_.empty() ? 0 : tls_[0].n_subsets(); }
  const Splits& splits() const { return tls_.at(0).splits(); }
  const std::vector<TfmdLists>& tls() const { return tls_; }
  /// The first `n_pipelines` pipelines (all when nullopt) over other raw items, with split_idx.
  Datasets with_items(std::vector<Item> items, std::optional<int> split_idx = 1,
                      std::optional<size_t> n_pipelines = std::nullopt) const;

 private:
  std::vector<TfmdLists> tls_;
  int n_inp_ = 1;
};

}  // namespace fastai
