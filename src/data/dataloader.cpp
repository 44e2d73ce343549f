#include "fastai/data/dataloader.h"

#include "fastai/core/compat.h"
#include "fastai/core/error.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <mutex>
#include <random>
#include <utility>

namespace fastai {

namespace dl_detail {

// One batch tensor: rows [pos, pos+len) of `t` (or rows `idx` when shuffled), on `dev`.
at::Tensor take(const at::Tensor& t, const at::Tensor& idx, int64_t pos, int64_t len, c10::Device dev) {
  const bool gather = idx.defined();
  if (t.device() != dev && dev.is_cuda() && t.device().is_cpu()) {
    // Gather straight into pinned memory so the host->device copy can be asynchronous.
    auto sizes = t.sizes().vec();
    sizes[0] = len;
    at::Tensor staged = at::empty(sizes, t.options().pinned_memory(true));
    if (gather) at::index_select_out(staged, t, 0, idx);
    else staged.copy_(t.narrow(0, pos, len));
    return staged.to(dev, /*non_blocking=*/true);
  }
  at::Tensor r = gather ? t.index_select(0, idx) : t.narrow(0, pos, len);
  return r.device() == dev ? r : r.to(dev, /*non_blocking=*/true);
}

}  // namespace dl_detail

// ---- global RNG, device ---------------------------------------------------------------------

c10::Device default_device() { return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU); }

// ---- TensorDataLoader -----------------------------------------------------------------------

TensorDataLoader::TensorDataLoader(std::vector<at::Tensor> tensors, TensorDataLoaderOptions o)
    : tensors_(std::move(tensors)), o_(o), device_(o.device.value_or(default_device())) {
  FA_CHECK(!tensors_.empty(), "TensorDataLoader needs at least one tensor, got none");
  FA_CHECK(o_.bs > 0, "TensorDataLoader: bs must be > 0, got ", o_.bs);
  const auto nt = static_cast<int>(tensors_.size());
  FA_CHECK(o_.n_inp >= 1 && o_.n_inp <= nt, "TensorDataLoader: n_inp must be in [1, ", nt,
           "] (the number of tensors), got ", o_.n_inp);
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const at::Tensor& t = tensors_[i];
    FA_CHECK(t.defined(), "TensorDataLoader: tensor ", i, " is undefined");
    FA_CHECK(t.dim() >= 1, "TensorDataLoader: tensor ", i,
             " is a scalar; every tensor needs a first dimension of items");
    if (i == 0) n_ = t.size(0);
    FA_CHECK(t.size(0) == n_, "TensorDataLoader: tensor ", i, " has ", t.size(0),
             " items (first dim, shape ", t.sizes(), ") but tensor 0 has ", n_,
             "; all tensors need the same first dim");
  }
  FA_CHECK(n_ > 0 || o_.allow_empty, "TensorDataLoader: the dataset is empty (0 items, tensor 0 has shape ",
           tensors_[0].sizes(), ")");
  end_ = o_.drop_last ? (n_ / o_.bs) * o_.bs : n_;
  pos_ = end_;  // nothing to serve until begin_epoch()
  seed_ = o_.seed != 0 ? o_.seed : next_global_seed();
  rng_.seed(seed_);
}

int64_t TensorDataLoader::size() const { return n_ / o_.bs + ((n_ % o_.bs != 0 && !o_.drop_last) ? 1 : 0); }

void TensorDataLoader::to(c10::Device d) { device_ = d; }

void TensorDataLoader::begin_epoch() {
  pos_ = 0;
  if (!o_.shuffle) {
    order_ = at::Tensor();
    order_dev_ = at::Tensor();
    return;
  }
  // A fresh tensor each epoch (one allocation per epoch): last_order() and any index slice a
  // caller still holds keep describing the epoch they came from.
  order_ = at::empty({n_}, at::TensorOptions().dtype(at::kLong));
  int64_t* p = compat::data_ptr<int64_t>(order_);
  for (int64_t i = 0; i < n_; ++i) p[i] = i;
  for (int64_t i = n_ - 1; i > 0; --i) {  // Fisher-Yates
    auto j = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(i + 1)));
    std::swap(p[i], p[j]);
  }
  const c10::Device data_dev = tensors_[0].device();
  order_dev_ = data_dev.is_cpu() ? order_ : order_.to(data_dev);
}

bool TensorDataLoader::next(Batch& b) {
  if (pos_ >= end_) return false;
  const int64_t len = std::min(o_.bs, end_ - pos_);
  b.resize(tensors_.size());
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const at::Tensor& t = tensors_[i];
    at::Tensor idx;
    if (o_.shuffle) {
      const at::Tensor& ord = t.device() == order_dev_.device() ? order_dev_ : order_;
      idx = ord.device() == t.device() ? ord.narrow(0, pos_, len) : ord.narrow(0, pos_, len).to(t.device());
    }
    b[i] = dl_detail::take(t, idx, pos_, len, device_);
  }
  pos_ += len;
  return true;
}

std::shared_ptr<DataLoader> TensorDataLoader::new_with(bool shuffle, bool drop_last) const {
  TensorDataLoaderOptions o = o_;
  o.shuffle = shuffle;
  o.drop_last = drop_last;
  o.device = device_;
  return std::make_shared<TensorDataLoader>(tensors_, o);
}

std::vector<int64_t> TensorDataLoader::last_order() const {
  if (!order_.defined()) return {};
  const int64_t* p = compat::data_ptr<int64_t>(order_);
  return std::vector<int64_t>(p, p + order_.numel());
}

// ---- DataLoaders ----------------------------------------------------------------------------

DataLoaders::DataLoaders(std::shared_ptr<DataLoader> train, std::shared_ptr<DataLoader> valid, std::string path)
    : path_(std::move(path)) {
  FA_CHECK(train != nullptr, "DataLoaders: the train loader is null");
  FA_CHECK(valid != nullptr, "DataLoaders: the valid loader is null");
  loaders_.push_back(std::move(train));
  loaders_.push_back(std::move(valid));
}

DataLoaders DataLoaders::from_tensors(std::vector<at::Tensor> train, std::vector<at::Tensor> valid,
                                      TensorDataLoaderOptions o) {
  FA_CHECK(!train.empty(), "DataLoaders::from_tensors: the train set has no tensors");
  auto rethrow = [](const char* which, const Error& e) -> Error {
    std::string msg = e.what();
    const std::string prefix = "fastai: ";
    if (msg.rfind(prefix, 0) == 0) msg.erase(0, prefix.size());
    return Error(detail::cat("fastai: DataLoaders::from_tensors: ", which, " set: ", msg));
  };
  if (valid.empty()) {  // no validation set: an empty loader shaped like the train set
    for (const auto& t : train)
      valid.push_back(t.defined() && t.dim() >= 1 ? t.narrow(0, 0, 0) : t);
  }

  TensorDataLoaderOptions to = o;
  to.shuffle = true;
  to.drop_last = true;
  to.allow_empty = false;
  std::shared_ptr<TensorDataLoader> tdl;
  try {
    tdl = std::make_shared<TensorDataLoader>(std::move(train), to);
  } catch (const Error& e) {
    throw rethrow("train", e);
  }
  FA_CHECK(tdl->size() > 0, "DataLoaders::from_tensors: the train set has ", tdl->n(),
           " items, fewer than bs=", o.bs, ", and the train loader drops the last partial batch: it would yield "
           "no batch at all (use a smaller bs)");

  TensorDataLoaderOptions vo = o;
  vo.shuffle = false;
  vo.drop_last = false;
  vo.allow_empty = true;
  if (o.seed != 0) vo.seed = o.seed + 1;
  std::shared_ptr<TensorDataLoader> vdl;
  try {
    vdl = std::make_shared<TensorDataLoader>(std::move(valid), vo);
  } catch (const Error& e) {
    throw rethrow("valid", e);
  }
  return DataLoaders(std::move(tdl), std::move(vdl));
}

DataLoader& DataLoaders::train() const { return *(*this)[0]; }
DataLoader& DataLoaders::valid() const { return *(*this)[1]; }

std::shared_ptr<DataLoader> DataLoaders::operator[](size_t i) const {
  FA_CHECK(i < loaders_.size(), "DataLoaders: no loader at index ", i, " (there are ", loaders_.size(), " loaders",
           i == 1 ? "; index 1 is the validation loader)" : ")");
  FA_CHECK(loaders_[i] != nullptr, "DataLoaders: loader ", i, " is null");
  return loaders_[i];
}

c10::Device DataLoaders::device() const { return train().device(); }

void DataLoaders::to(c10::Device d) {
  for (auto& dl : loaders_)
    if (dl) dl->to(d);
}

}  // namespace fastai
