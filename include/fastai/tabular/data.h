// fastai's TabularDataLoaders: a TabularPandas split into training and validation loaders that
// batch straight out of column tensors (cats int64, conts float, ys) — no per-row objects, as
// fastai's TabDataLoader builds a batch with one df.iloc.
#pragma once
#include "fastai/io/csv.h"
#include "fastai/data/dataloader.h"
#include "fastai/tabular/core.h"

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fastai {

/// A TensorDataLoader over a TabularPandas' tensors that knows what its targets are: the loss
/// they imply (CrossEntropyLossFlat for a category, MSELossFlat for regression), vocab and c.
class TabDataLoader : public TensorDataLoader {
 public:
  TabDataLoader(std::vector<at::Tensor> tensors, TensorDataLoaderOptions o, std::shared_ptr<const TabularPandas> to);
  std::optional<LossHint> loss_hint() const override;
  const std::vector<std::string>* vocab() const override;
  std::optional<int64_t> c() const override;
  std::shared_ptr<DataLoader> new_with(bool shuffle, bool drop_last) const override;

 private:
  std::shared_ptr<const TabularPandas> to_;
};

/// from_df / from_csv options (fastai's names and defaults: procs none, bs 64).
struct TabularDataLoadersOptions {
  std::vector<ProcRef> procs = {};
  std::vector<std::string> cat_names = {};
  /// Empty: every column that is neither categorical nor a target (in the table's order).
  std::vector<std::string> cont_names = {};
  std::vector<std::string> y_names = {};
  YBlock y_block = YBlock::Auto;
  /// Validation rows; empty: RandomSplitter(0.2, seed) over all rows.
  std::vector<int64_t> valid_idx = {};
  int64_t bs = 64;
  std::optional<int64_t> val_bs = std::nullopt;
  bool shuffle_train = true;
  std::optional<c10::Device> device = std::nullopt;
  /// Seeds the random split and the loaders' RNG; nullopt: drawn from fastai's global RNG.
  std::optional<uint64_t> seed = std::nullopt;
  std::string path = ".";
  /// Inputs the model gets: cats and conts (tabular) or cats only (collab's TabularCollab).
  bool with_cont = true;
};

/// Training and validation loaders over a TabularPandas (fastai TabularDataLoaders).
class TabularDataLoaders : public DataLoaders {
 public:
  /// From a TabularPandas built elsewhere.
  TabularDataLoaders(std::shared_ptr<const TabularPandas> to, const TabularDataLoadersOptions& o);
  /// Empty training and validation loaders over `to` (for a learner loaded from an export:
  /// predict and test_dl work, there is nothing to train on).
  static TabularDataLoaders for_inference(std::shared_ptr<const TabularPandas> to, bool with_cont,
                                          std::optional<c10::Device> device = std::nullopt);
  /// fastai TabularDataLoaders.from_df. Errors name the column / row (see TabularPandas).
  static TabularDataLoaders from_df(const Table& df, TabularDataLoadersOptions o = {});
  /// read_csv(file, csv) then from_df.
  static TabularDataLoaders from_csv(const std::filesystem::path& file, TabularDataLoadersOptions o = {},
                                     CsvOptions csv = {});

  const TabularPandas& to() const { return *to_; }
  const std::shared_ptr<const TabularPandas>& to_ptr() const { return to_; }
  bool with_cont() const { return with_cont_; }
  const std::vector<std::string>& cat_names() const { return to_->cat_names(); }
  const std::vector<std::string>& cont_names() const { return to_->cont_names(); }
  /// The categorical target's labels (fastai dls.vocab); Error for a regression target.
  const std::vector<std::string>& vocab() const;
  /// Number of model outputs (fastai get_c(dls)).
  int64_t c() const { return to_->c(); }
  /// The model's inputs (and targets, with_labels) for new raw rows, with the learned procs
  /// (fastai dls.test_dl(df)); bs defaults to the validation loader's.
  std::shared_ptr<DataLoader> test_dl(const Table& rows, bool with_labels = false,
                                      std::optional<int64_t> bs = std::nullopt) const;
  /// The first `max_n` training rows decoded as a table (fastai show_batch), written to `out`
  /// (std::cout when null).
  void show_batch(int max_n = 10, std::ostream* out = nullptr) const;

 private:
  TabularDataLoaders() = default;
  std::vector<at::Tensor> inputs_of(const TabularTensors& t) const;

  std::shared_ptr<const TabularPandas> to_;
  bool with_cont_ = true;
};

/// [start, stop) as row indices (Python's range, for valid_idx).
std::vector<int64_t> range(int64_t start, int64_t stop);

}  // namespace fastai
