#include "fastai/tabular/data.h"

#include "fastai/core/error.h"
#include "fastai/data/splitters.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <iostream>

namespace fastai {

namespace {

std::optional<LossHint> hint_of(const TabularPandas& to) {
  if (to.y_names().empty()) return std::nullopt;
  return LossHint{to.y_is_category() ? "CrossEntropyLossFlat" : "MSELossFlat"};
}

}  // namespace

std::vector<int64_t> range(int64_t start, int64_t stop) {
  std::vector<int64_t> r;
  for (int64_t i = start; i < stop; ++i) r.push_back(i);
  return r;
}

TabDataLoader::TabDataLoader(std::vector<at::Tensor> tensors, TensorDataLoaderOptions o,
                             std::shared_ptr<const TabularPandas> to)
    : TensorDataLoader(std::move(tensors), o), to_(std::move(to)) {}

std::optional<LossHint> TabDataLoader::loss_hint() const { return to_ ? hint_of(*to_) : std::nullopt; }

const std::vector<std::string>* TabDataLoader::vocab() const {
  return to_ && to_->y_is_category() ? &to_->vocab() : nullptr;
}

std::optional<int64_t> TabDataLoader::c() const {
  return to_ && !to_->y_names().empty() ? std::optional<int64_t>(to_->c()) : std::nullopt;
}

std::shared_ptr<DataLoader> TabDataLoader::new_with(bool shuffle, bool drop_last) const {
  auto o = options();
  o.shuffle = shuffle;
  o.drop_last = drop_last;
  o.device = device();
  o.allow_empty = true;
  return std::make_shared<TabDataLoader>(tensors(), o, to_);
}

std::vector<at::Tensor> TabularDataLoaders::inputs_of(const TabularTensors& t) const {
  std::vector<at::Tensor> v{t.cats};
  if (with_cont_) v.push_back(t.conts);
  if (t.ys.defined()) v.push_back(t.ys);
  return v;
}

TabularDataLoaders::TabularDataLoaders(std::shared_ptr<const TabularPandas> to, const TabularDataLoadersOptions& o)
    : to_(std::move(to)), with_cont_(o.with_cont) {
  FA_CHECK(o.bs > 0, "TabularDataLoaders: bs must be positive, got ", o.bs);
  int n_inp = with_cont_ ? 2 : 1;
  uint64_t seed = o.seed ? *o.seed : next_global_seed();
  FA_CHECK(static_cast<int64_t>(to_->train_idx().size()) >= o.bs || !o.shuffle_train,
           "TabularDataLoaders: the training set has ", to_->train_idx().size(), " rows, fewer than bs = ", o.bs,
           ", so the shuffled, drop_last training loader would have no batch; lower bs");
  auto train = std::make_shared<TabDataLoader>(
      inputs_of(to_->tensors(to_->train_idx())),
      TensorDataLoaderOptions{.bs = o.bs, .shuffle = o.shuffle_train, .drop_last = o.shuffle_train, .n_inp = n_inp,
                              .device = o.device, .seed = seed},
      to_);
  TabularTensors vt = to_->valid_idx().empty() ? TabularTensors{} : to_->tensors(to_->valid_idx());
  std::vector<at::Tensor> vin;
  if (vt.cats.defined()) vin = inputs_of(vt);
  else vin = inputs_of({at::zeros({0, static_cast<int64_t>(to_->cat_names().size())}, at::kLong),
                        at::zeros({0, static_cast<int64_t>(to_->cont_names().size())}, at::kFloat),
                        to_->y_names().empty() ? at::Tensor() : to_->tensors({to_->train_idx()[0]}).ys.narrow(0, 0, 0)});
  auto valid = std::make_shared<TabDataLoader>(
      std::move(vin),
      TensorDataLoaderOptions{.bs = o.val_bs.value_or(o.bs), .shuffle = false, .drop_last = false, .n_inp = n_inp,
                              .device = o.device, .seed = seed + 1, .allow_empty = true},
      to_);
  static_cast<DataLoaders&>(*this) = DataLoaders(train, valid, o.path);
}

TabularDataLoaders TabularDataLoaders::for_inference(std::shared_ptr<const TabularPandas> to, bool with_cont,
                                                     std::optional<c10::Device> device) {
  TabularDataLoaders d;
  d.to_ = std::move(to);
  d.with_cont_ = with_cont;
  TabularTensors empty{at::zeros({0, static_cast<int64_t>(d.to_->cat_names().size())}, at::kLong),
                       at::zeros({0, static_cast<int64_t>(d.to_->cont_names().size())}, at::kFloat), at::Tensor()};
  TensorDataLoaderOptions o{.bs = 64, .shuffle = false, .drop_last = false, .n_inp = with_cont ? 2 : 1,
                            .device = device.value_or(c10::Device(c10::kCPU)), .seed = 1, .allow_empty = true};
  static_cast<DataLoaders&>(d) = DataLoaders(std::make_shared<TabDataLoader>(d.inputs_of(empty), o, d.to_),
                                             std::make_shared<TabDataLoader>(d.inputs_of(empty), o, d.to_));
  return d;
}

TabularDataLoaders TabularDataLoaders::from_df(const Table& df, TabularDataLoadersOptions o) {
  FA_CHECK(df.n_rows() > 0, "TabularDataLoaders.from_df: the table is empty (", df.n_cols(), " columns, no rows)");
  if (o.cont_names.empty()) {
    for (const auto& n : df.column_names()) {
      bool used = std::find(o.cat_names.begin(), o.cat_names.end(), n) != o.cat_names.end() ||
                  std::find(o.y_names.begin(), o.y_names.end(), n) != o.y_names.end();
      if (!used) o.cont_names.push_back(n);
    }
  }
  Splits splits;
  if (o.valid_idx.empty()) {
    std::vector<Item> rows(df.n_rows());
    splits = RandomSplitter(0.2, o.seed)(rows);
  } else {
    std::vector<uint8_t> is_valid(df.n_rows(), 0);
    for (int64_t i : o.valid_idx) {
      FA_CHECK(i >= 0 && static_cast<size_t>(i) < df.n_rows(), "TabularDataLoaders.from_df: valid_idx entry ", i,
               " is outside the table's ", df.n_rows(), " rows");
      is_valid[i] = 1;
    }
    splits.resize(2);
    for (size_t i = 0; i < df.n_rows(); ++i) if (!is_valid[i]) splits[0].push_back(static_cast<int64_t>(i));
    splits[1] = o.valid_idx;
  }
  auto to = std::make_shared<TabularPandas>(
      df, TabularOptions{.procs = o.procs, .cat_names = o.cat_names, .cont_names = o.cont_names,
                         .y_names = o.y_names, .y_block = o.y_block, .splits = std::move(splits)});
  return TabularDataLoaders(std::move(to), o);
}

TabularDataLoaders TabularDataLoaders::from_csv(const std::filesystem::path& file, TabularDataLoadersOptions o,
                                                CsvOptions csv) {
  return from_df(read_csv(file, std::move(csv)), std::move(o));
}

const std::vector<std::string>& TabularDataLoaders::vocab() const {
  FA_CHECK(to_->y_is_category(), "TabularDataLoaders.vocab: the target ",
           to_->y_names().empty() ? std::string("(none)") : "'" + to_->y_names()[0] + "'",
           " is not categorical, so there is no vocab");
  return to_->vocab();
}

std::shared_ptr<DataLoader> TabularDataLoaders::test_dl(const Table& rows, bool with_labels,
                                                        std::optional<int64_t> bs) const {
  TabularTensors t = to_->process(rows, with_labels);
  return std::make_shared<TabDataLoader>(
      inputs_of(t),
      TensorDataLoaderOptions{.bs = bs.value_or(valid().bs()), .shuffle = false, .drop_last = false,
                              .n_inp = with_cont_ ? 2 : 1, .device = device(), .seed = 1},
      to_);
}

void TabularDataLoaders::show_batch(int max_n, std::ostream* out) const {
  const auto& train = to_->train_idx();
  std::vector<int64_t> rows(train.begin(), train.begin() + std::min<size_t>(train.size(), std::max(max_n, 0)));
  TabularTensors t = to_->tensors(rows);
  Table decoded = to_->decode(t.cats, t.conts, t.ys);
  (out ? *out : std::cout) << decoded.to_string(static_cast<size_t>(std::max(max_n, 1))) << "\n";
}

}  // namespace fastai
