#include "fastai/data/tfmd_dl.h"

#include "fastai/core/error.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/cuda.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <numeric>
#include <thread>
#include <utility>

namespace fastai {
namespace tfmd_dl_detail {

Item map_tensors(const Item& x, const std::function<at::Tensor(const at::Tensor&)>& f) {
  if (x.is<Tuple>()) {
    Tuple out;
    out.reserve(x.get<Tuple>().size());
    for (const auto& e : x.get<Tuple>()) out.push_back(map_tensors(e, f));
    return Item::make<Tuple>(std::move(out));
  }
  if (!x.is<at::Tensor>()) return x;
  return retain_type(Item(f(x.get<at::Tensor>())), x);
}

Tuple map_tensors(const Tuple& b, const std::function<at::Tensor(const at::Tensor&)>& f) {
  Tuple out;
  out.reserve(b.size());
  for (const auto& e : b) out.push_back(map_tensors(e, f));
  return out;
}

bool needs_data(const Pipeline& p) {
  for (const auto& t : p.transforms())
    if (t->needs_setup_data()) return true;
  return false;
}

std::string with_context(const std::exception& e, const std::string& ctx) {
  std::string m = e.what();
  m += "\n  ";
  m += ctx;
  return m;
}

std::string items_text(const std::vector<int64_t>& idxs) {
  std::string s = "[";
  for (size_t k = 0; k < idxs.size() && k < 8; ++k) {
    if (k) s += ", ";
    s += std::to_string(idxs[k]);
  }
  if (idxs.size() > 8) s += ", ...";
  return s + "]";
}

}  // namespace tfmd_dl_detail

int default_num_workers() {
  const unsigned hw = std::thread::hardware_concurrency();
  return static_cast<int>(std::min(16u, hw == 0 ? 1u : hw));
}

// The epoch in flight: index batches, the slots workers fill, and the threads.
struct TfmdDL::Engine {
  struct Slot {
    bool done = false;
    Tuple batch;
    std::exception_ptr err;
  };
  std::vector<std::vector<int64_t>> batches;
  std::vector<Slot> slots;
  std::mutex m;
  std::condition_variable cv;
  int64_t next = 0;    // next batch to serve
  int64_t window = 1;  // batches built ahead of `next`
  bool stopping = false;
  bool finished = false;  // after_iter ran
  std::vector<std::thread> threads;

  void worker(const TfmdDL* dl, int w, int nw) {
    at::NoGradGuard no_grad;
    const auto nb = static_cast<int64_t>(batches.size());
    std::exception_ptr wif_err;
    try {
      dl->wif(w);
    } catch (...) {
      wif_err = std::current_exception();
    }
    for (int64_t k = w; k < nb; k += nw) {
      {
        std::unique_lock<std::mutex> lk(m);
        cv.wait(lk, [&] { return stopping || k < next + window; });
        if (stopping) return;
      }
      Slot s;
      if (wif_err) {
        s.err = wif_err;
      } else {
        try {
          s.batch = dl->build_batch(k, batches[static_cast<size_t>(k)]);
        } catch (...) {
          s.err = std::current_exception();
        }
      }
      const bool failed = static_cast<bool>(s.err);
      {
        std::lock_guard<std::mutex> lk(m);
        s.done = true;
        slots[static_cast<size_t>(k)] = std::move(s);
      }
      cv.notify_all();
      if (failed) return;  // the caller rethrows when it reaches batch k, and stops everyone
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(m);
      stopping = true;
    }
    cv.notify_all();
    for (auto& t : threads)
      if (t.joinable()) t.join();
    threads.clear();
  }
};

// ---- construction -------------------------------------------------------------------------------

TfmdDL::TfmdDL(std::shared_ptr<const ItemDataset> dataset, TfmdDLOptions o)
    : dataset_(std::move(dataset)), o_(std::move(o)), device_(o_.device.value_or(default_device())) {
  init();
  after_item_ = std::make_shared<Pipeline>(o_.after_item);
  before_batch_ = std::make_shared<Pipeline>(o_.before_batch);
  after_batch_ = std::make_shared<Pipeline>(o_.after_batch);
  if (o_.do_setup) setup_pipelines();
}

TfmdDL::TfmdDL(std::shared_ptr<const ItemDataset> dataset, TfmdDLOptions o, const TfmdDL& like)
    : dataset_(std::move(dataset)), o_(std::move(o)), device_(o_.device.value_or(like.device_)) {
  init();
  after_item_ = like.after_item_;
  before_batch_ = like.before_batch_;
  after_batch_ = like.after_batch_;
}

void TfmdDL::init() {
  FA_CHECK(dataset_ != nullptr, "TfmdDL: the dataset is null");
  FA_CHECK(o_.bs > 0, "TfmdDL: bs must be > 0, got ", o_.bs);
  FA_CHECK(o_.prefetch_factor >= 1, "TfmdDL: prefetch_factor must be >= 1, got ", o_.prefetch_factor);
  n_ = o_.n.value_or(dataset_->size());
  FA_CHECK(n_ >= 0, "TfmdDL: n must be >= 0, got ", n_);
  FA_CHECK(n_ > 0 || o_.allow_empty, "TfmdDL: the dataset is empty (0 items); expected at least one item");
  nw_ = o_.num_workers < 0 ? default_num_workers() : o_.num_workers;
  seed_ = o_.seed != 0 ? o_.seed : next_global_seed();
  rng_.seed(seed_);
}

TfmdDL::~TfmdDL() { stop(); }

void TfmdDL::stop() {
  if (engine_) engine_->stop();
}

void TfmdDL::setup_pipelines() {
  // As fastai's TfmdDL.__init__ (Pipeline.setup(dl)), but only pipelines with a transform that
  // learns from data get data (building samples and a batch is not free).
  const int64_t k = std::min(n_, o_.bs);
  std::vector<Tuple> samples;
  auto get_samples = [&] {
    if (!samples.empty() || k == 0) return;
    for (int64_t i = 0; i < k; ++i)
      if (auto s = do_item(i)) samples.push_back(std::move(*s));
  };
  try {
    if (tfmd_dl_detail::needs_data(*after_item_)) {
      std::vector<Item> raw;
      for (int64_t i = 0; i < k; ++i) raw.push_back(Item::make<Tuple>(create_item(i)));
      after_item_->setup(raw);
    }
    if (tfmd_dl_detail::needs_data(*before_batch_)) {
      get_samples();
      Tuple lst;
      for (const auto& s : samples) lst.push_back(Item::make<Tuple>(s));
      before_batch_->setup({Item::make<Tuple>(std::move(lst))});
    }
    if (tfmd_dl_detail::needs_data(*after_batch_)) {
      get_samples();
      FA_CHECK(!samples.empty(), "no items to build a batch from");
      after_batch_->setup({Item::make<Tuple>(to_device(do_batch(samples)))});
    }
  } catch (const std::exception& e) {
    throw Error(tfmd_dl_detail::with_context(e, "while setting up the loader's transforms (TfmdDL do_setup)"));
  }
}

// ---- iteration ----------------------------------------------------------------------------------

int64_t TfmdDL::size() const { return n_ / o_.bs + ((n_ % o_.bs != 0 && !o_.drop_last) ? 1 : 0); }

void TfmdDL::to(c10::Device d) { device_ = d; }

void TfmdDL::begin_epoch() {
  stop();
  engine_.reset();
  ++epoch_;
  before_iter();
  auto e = std::make_unique<Engine>();
  e->batches = sample(get_idxs());
  e->slots.resize(e->batches.size());
  last_order_.clear();
  for (const auto& b : e->batches) last_order_.insert(last_order_.end(), b.begin(), b.end());
  e->window = std::max<int64_t>(1, static_cast<int64_t>(nw_) * o_.prefetch_factor);
  engine_ = std::move(e);
  for (int w = 0; w < nw_; ++w) engine_->threads.emplace_back([this, w] { engine_->worker(this, w, nw_); });
}

bool TfmdDL::next_batch(Tuple& out) {
  if (!engine_) return false;
  Engine& e = *engine_;
  const auto nb = static_cast<int64_t>(e.batches.size());
  while (true) {
    if (e.next >= nb) {
      if (!e.finished) {
        e.finished = true;
        e.stop();
        after_iter();
      }
      return false;
    }
    const int64_t k = e.next;
    Tuple b;
    if (nw_ == 0) {
      at::NoGradGuard no_grad;
      try {
        b = build_batch(k, e.batches[static_cast<size_t>(k)]);
      } catch (...) {
        e.next = nb;
        e.finished = true;
        throw;
      }
    } else {
      Engine::Slot s;
      {
        std::unique_lock<std::mutex> lk(e.m);
        e.cv.wait(lk, [&] { return e.slots[static_cast<size_t>(k)].done; });
        s = std::move(e.slots[static_cast<size_t>(k)]);
        e.slots[static_cast<size_t>(k)] = Engine::Slot{};
        ++e.next;
      }
      e.cv.notify_all();
      if (s.err) {
        e.stop();
        e.next = nb;
        e.finished = true;
        std::rethrow_exception(s.err);
      }
      b = std::move(s.batch);
    }
    if (nw_ == 0) ++e.next;
    if (b.empty()) continue;  // every item of this batch was skipped
    b = to_device(b);
    try {
      out = do_after_batch(std::move(b));
    } catch (const std::exception& ex) {
      e.stop();
      e.next = nb;
      e.finished = true;
      std::string ctx = "in after_batch ";
      ctx += after_batch_->to_string();
      ctx += ", batch ";
      ctx += std::to_string(k);
      throw Error(tfmd_dl_detail::with_context(ex, ctx));
    }
    return true;
  }
}

bool TfmdDL::next(Batch& b) {
  Tuple t;
  if (!next_batch(t)) return false;
  b = batch_tensors(t);
  return true;
}

Tuple TfmdDL::build_batch(int64_t k, const std::vector<int64_t>& idxs) const {
  seed_thread_rng(mix_seed(seed_, static_cast<uint64_t>(epoch_), static_cast<uint64_t>(k)));
  std::vector<Tuple> items;
  items.reserve(idxs.size());
  for (int64_t i : idxs) {
    try {
      if (auto s = do_item(i)) items.push_back(std::move(*s));
    } catch (const std::exception& e) {
      std::string ctx = "building batch ";
      ctx += std::to_string(k);
      ctx += ", item ";
      ctx += std::to_string(i);
      ctx += " (";
      ctx += dataset_->describe_raw(i);
      ctx += ")";
      throw Error(tfmd_dl_detail::with_context(e, ctx));
    }
  }
  if (items.empty()) return {};
  try {
    Tuple b = do_batch(std::move(items));
    if (device_.is_cuda() && o_.pin_memory.value_or(true))
      b = tfmd_dl_detail::map_tensors(b, [](const at::Tensor& t) { return t.is_cpu() ? t.pin_memory() : t; });
    return b;
  } catch (const std::exception& e) {
    std::string ctx = "collating batch ";
    ctx += std::to_string(k);
    ctx += " (items ";
    ctx += tfmd_dl_detail::items_text(idxs);
    ctx += ")";
    throw Error(tfmd_dl_detail::with_context(e, ctx));
  }
}

Tuple TfmdDL::to_device(const Tuple& b) const {
  const c10::Device d = device_;
  return tfmd_dl_detail::map_tensors(b, [d](const at::Tensor& t) {
    return t.device() == d ? t : t.to(d, /*non_blocking=*/true);
  });
}

Tuple TfmdDL::one_batch() {
  FA_CHECK(n_ > 0, "TfmdDL::one_batch: the loader has no items");
  std::vector<int64_t> idxs;
  if (o_.hooks.get_idxs) {
    idxs = o_.hooks.get_idxs(*this);
  } else {
    idxs.resize(static_cast<size_t>(n_));
    std::iota(idxs.begin(), idxs.end(), int64_t{0});
  }
  auto batches = sample(std::move(idxs));
  FA_CHECK(!batches.empty(), "TfmdDL::one_batch: no batch (", n_, " items, bs ", o_.bs,
           (o_.drop_last ? ", drop_last" : ""), ")");
  at::NoGradGuard no_grad;
  Tuple b = build_batch(0, batches.front());
  FA_CHECK(!b.empty(), "TfmdDL::one_batch: every item of the first batch was skipped");
  return do_after_batch(to_device(b));
}

// ---- copies ------------------------------------------------------------------------------------

std::shared_ptr<DataLoader> TfmdDL::new_with(bool shuffle, bool drop_last) const {
  TfmdDLOptions o = o_;
  o.shuffle = shuffle;
  o.drop_last = drop_last;
  o.device = device_;
  return new_dl(std::move(o));
}

std::shared_ptr<TfmdDL> TfmdDL::new_dl(TfmdDLOptions o) const { return new_dl(dataset_, std::move(o)); }

std::shared_ptr<TfmdDL> TfmdDL::new_dl(std::shared_ptr<const ItemDataset> ds, TfmdDLOptions o) const {
  return std::shared_ptr<TfmdDL>(new TfmdDL(std::move(ds), std::move(o), *this));
}

// ---- decoding ----------------------------------------------------------------------------------

Tuple TfmdDL::decode(const Tuple& b) const { return after_batch_->decode(b, split_idx()); }

std::vector<Tuple> TfmdDL::decode_batch(const Tuple& b, int max_n) const {
  Tuple d = tfmd_dl_detail::map_tensors(decode(b), [](const at::Tensor& t) { return t.cpu(); });
  int64_t bs = 0;
  for (const auto& t : batch_tensors(d))
    if (t.dim() >= 1) {
      bs = t.size(0);
      break;
    }
  const int64_t n = std::min<int64_t>(bs, max_n);
  std::vector<Tuple> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) {
    Tuple s = batch_item(d, i);
    if (!after_item_->empty()) s = after_item_->decode(s, split_idx());
    out.push_back(dataset_->decode(s));
  }
  return out;
}

// ---- the steps ---------------------------------------------------------------------------------

void TfmdDL::wif(int worker) const {
  if (o_.hooks.wif) o_.hooks.wif(*this, worker);
}
void TfmdDL::before_iter() {
  if (o_.hooks.before_iter) o_.hooks.before_iter(*this);
}
void TfmdDL::after_iter() {
  if (o_.hooks.after_iter) o_.hooks.after_iter(*this);
}

std::vector<int64_t> TfmdDL::get_idxs() const {
  if (o_.hooks.get_idxs) return o_.hooks.get_idxs(*this);
  std::vector<int64_t> idxs(static_cast<size_t>(n_));
  std::iota(idxs.begin(), idxs.end(), int64_t{0});
  if (o_.shuffle) idxs = shuffle_fn(std::move(idxs), rng_);
  return idxs;
}

std::vector<int64_t> TfmdDL::shuffle_fn(std::vector<int64_t> idxs, Rng& rng) const {
  if (o_.hooks.shuffle_fn) return o_.hooks.shuffle_fn(*this, std::move(idxs), rng);
  rng.shuffle(idxs);
  return idxs;
}

std::vector<std::vector<int64_t>> TfmdDL::sample(std::vector<int64_t> idxs) const {
  if (o_.hooks.sample) return o_.hooks.sample(*this, std::move(idxs));
  std::vector<std::vector<int64_t>> out;
  const auto bs = static_cast<size_t>(o_.bs);
  for (size_t s = 0; s < idxs.size(); s += bs) {
    const size_t e = std::min(idxs.size(), s + bs);
    if (e - s < bs && o_.drop_last) break;
    out.emplace_back(idxs.begin() + static_cast<std::ptrdiff_t>(s), idxs.begin() + static_cast<std::ptrdiff_t>(e));
  }
  return out;
}

Tuple TfmdDL::create_item(int64_t i) const {
  if (o_.hooks.create_item) return o_.hooks.create_item(*this, i);
  return dataset_->get(i);
}

Tuple TfmdDL::do_item_after(Tuple x) const {
  if (o_.hooks.after_item) return o_.hooks.after_item(*this, std::move(x));
  if (after_item_->empty()) return x;
  return (*after_item_)(x, split_idx());
}

std::optional<Tuple> TfmdDL::do_item(int64_t i) const {
  try {
    return do_item_after(create_item(i));
  } catch (const SkipItemException&) {
    return std::nullopt;
  }
}

std::vector<Tuple> TfmdDL::do_before_batch(std::vector<Tuple> b) const {
  if (o_.hooks.before_batch) return o_.hooks.before_batch(*this, std::move(b));
  if (before_batch_->empty()) return b;
  Tuple lst;
  lst.reserve(b.size());
  for (auto& s : b) lst.push_back(Item::make<Tuple>(std::move(s)));
  // before_batch transforms see the list of samples as one item (fastai: a list of tuples).
  Item r = (*before_batch_)(Item::make<Tuple>(std::move(lst)), split_idx());
  FA_CHECK(r.is<Tuple>(), "before_batch must return the list of samples, got a ", r.type_name());
  std::vector<Tuple> out;
  for (const auto& s : r.get<Tuple>()) out.push_back(s.is<Tuple>() ? s.get<Tuple>() : Tuple{s});
  return out;
}

Tuple TfmdDL::create_batch(const std::vector<Tuple>& b) const {
  if (o_.hooks.create_batch) return o_.hooks.create_batch(*this, b);
  return collate(b);
}

Tuple TfmdDL::retain(Tuple batch, const std::vector<Tuple>& b) const {
  if (o_.hooks.retain) return o_.hooks.retain(*this, std::move(batch), b);
  return retain_batch_types(std::move(batch), b);
}

Tuple TfmdDL::do_batch(std::vector<Tuple> b) const {
  if (o_.hooks.do_batch) return o_.hooks.do_batch(*this, std::move(b));
  return retain(create_batch(do_before_batch(b)), b);
}

Tuple TfmdDL::do_after_batch(Tuple b) {
  if (o_.hooks.after_batch) return o_.hooks.after_batch(*this, std::move(b));
  if (after_batch_->empty()) return b;
  return (*after_batch_)(b, split_idx());
}

}  // namespace fastai
