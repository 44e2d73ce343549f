#include "fastai/data/torch_data.h"

#include "fastai/core/error.h"

#include <ATen/ATen.h>

#include <sstream>
#include <string>
#include <utility>

namespace fastai {

namespace torch_data_detail {

std::string shape_of(const at::Tensor& t) {
  std::ostringstream os;
  if (!t.defined()) return "undefined";
  os << t.sizes() << " " << t.scalar_type();
  return os.str();
}

// Stacks one field ("data" or "target") of the examples; Error naming the mismatching example.
at::Tensor stack_field(const std::vector<at::Tensor>& ts, const char* field) {
  for (size_t i = 0; i < ts.size(); ++i) {
    FA_CHECK(ts[i].defined(), "TorchLoader: example ", i, " of the batch has no ", field, " (undefined tensor)");
    FA_CHECK(ts[i].sizes() == ts[0].sizes() && ts[i].scalar_type() == ts[0].scalar_type(), "TorchLoader: example ", i,
             " of the batch has ", field, " ", shape_of(ts[i]), " but example 0 has ", shape_of(ts[0]),
             " (expected the same shape and dtype to stack them)");
  }
  return at::stack(ts);
}

Batch stack_examples(const std::vector<at::Tensor>& xs, const std::vector<at::Tensor>& ys) {
  FA_CHECK(!xs.empty(), "TorchLoader: the loader produced an empty batch (no examples)");
  Batch b{stack_field(xs, "data")};
  if (!ys.empty()) b.push_back(stack_field(ys, "target"));
  return b;
}

void null_loader() { fail("wrap_torch_loader: the loader is null (expected the unique_ptr from torch::data::make_data_loader)"); }

void rethrow_loading(const std::exception& e, int64_t batch) {
  std::string msg = e.what();
  if (const auto* w = dynamic_cast<const torch::data::WorkerException*>(&e)) {
    try {
      std::rethrow_exception(w->original_exception);
    } catch (const std::exception& orig) {
      msg = orig.what();
    } catch (...) {
      msg = "an exception that is not a std::exception";
    }
  }
  fail("torch::data loader: loading batch ", batch, " of the epoch failed: ", msg);
}

int64_t checked_size(bool has_size, size_t size, const char* where) {
  FA_CHECK(has_size, where, ": the torch::data dataset has no size (a stream dataset?); expected a map-style "
                     "dataset whose size() returns the number of examples");
  return static_cast<int64_t>(size);
}

}  // namespace torch_data_detail

TorchLoaderBase::TorchLoaderBase(std::optional<int64_t> dataset_n, size_t workers, size_t bs, bool shuffle,
                                 bool drop_last, const TorchLoaderOptions& o)
    : bs_(static_cast<int64_t>(bs)),
      n_inp_(o.n_inp),
      shuffle_(shuffle),
      drop_last_(drop_last),
      device_(o.device.value_or(default_device())) {
  FA_CHECK(o.n || dataset_n, "wrap_torch_loader: the loader runs ", workers,
           " worker thread(s), whose copies of the dataset are out of reach, so the number of items is unknown; "
           "pass it: wrap_torch_loader(std::move(loader), {.n = dataset_size})");
  n_ = o.n ? *o.n : *dataset_n;
  FA_CHECK(n_ >= 0, "wrap_torch_loader: n = ", n_, " (expected the number of items, >= 0)");
  FA_CHECK(bs_ > 0, "wrap_torch_loader: the loader's batch_size is 0 (expected > 0)");
  FA_CHECK(n_inp_ >= 1, "wrap_torch_loader: n_inp = ", n_inp_, " (expected >= 1)");
}

int64_t TorchLoaderBase::size() const { return drop_last_ ? n_ / bs_ : (n_ + bs_ - 1) / bs_; }

void TorchLoaderBase::cannot_copy(bool shuffle, bool drop_last) const {
  fail("TorchLoader::new_with(shuffle=", shuffle ? "true" : "false", ", drop_last=", drop_last ? "true" : "false",
       "): a torch::data loader cannot be copied or reconfigured (it owns its dataset, sampler and worker threads), "
       "and this one has shuffle=", shuffle_ ? "true" : "false", ", drop_last=", drop_last_ ? "true" : "false",
       "; build a loader with the settings you need (e.g. a SequentialSampler for get_preds) and pass it, "
       "wrapped with wrap_torch_loader, as the `dl` option");
}

void TorchLoaderBase::deliver(Batch& b, Batch ts) const {
  for (auto& t : ts)
    if (t.defined() && t.device() != device_) t = t.to(device_, /*non_blocking=*/true);
  b = std::move(ts);
}

}  // namespace fastai
