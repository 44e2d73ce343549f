// The Learner's event loop (fastai 2.7's Learner.fit / _do_epoch / _do_one_batch) and its
// callback bookkeeping: callbacks are sorted once per change and indexed by event, so firing
// an event touches only the callbacks that implement it.
#include "fastai/learner/core_callbacks.h"
#include "fastai/learner/learner.h"

#include "fastai/core/error.h"
#include "fastai/learner/progress.h"
#include "fastai/learner/recorder.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <queue>
#include <set>
#include <sstream>

namespace fastai {

void Model::bad_arity(size_t n) {
  fail("the model's forward cannot take ", n, " input tensor(s): give it a forward(Tensor), "
       "forward(Tensor, Tensor) or forward(std::vector<Tensor>) overload, or set the loaders' n_inp");
}

ParamList trainable_params(torch::nn::Module& m) {
  std::vector<at::Tensor> ps;
  for (auto& p : m.parameters()) ps.push_back(p);
  return {ps};
}

namespace learner_detail {

std::string shape_str(const at::Tensor& t) {
  if (!t.defined()) return "(undefined)";
  std::ostringstream os;
  os << t.sizes() << " " << t.scalar_type();
  return os.str();
}

std::string shapes_str(const std::vector<at::Tensor>& ts) {
  std::string s;
  for (size_t i = 0; i < ts.size(); ++i) s += (i ? ", " : "") + shape_str(ts[i]);
  return s;
}

using EventFn = void (Callback::*)(Learner&);
constexpr EventFn kEventFns[kNumEvents] = {
    &Callback::after_create, &Callback::before_fit, &Callback::before_epoch, &Callback::before_train,
    &Callback::before_batch, &Callback::after_pred, &Callback::after_loss, &Callback::before_backward,
    &Callback::after_cancel_backward, &Callback::after_backward, &Callback::before_step,
    &Callback::after_cancel_step, &Callback::after_step, &Callback::after_cancel_batch,
    &Callback::after_batch, &Callback::after_cancel_train, &Callback::after_train,
    &Callback::before_validate, &Callback::after_cancel_validate, &Callback::after_validate,
    &Callback::after_cancel_epoch, &Callback::after_epoch, &Callback::after_cancel_fit, &Callback::after_fit};

}  // namespace learner_detail

Learner::Learner(DataLoaders dls_, Model model_, LearnerOptions o)
    : dls(std::move(dls_)), model(std::move(model_)), loss_func(std::move(o.loss_func)),
      opt_func(std::move(o.opt_func)), lr(o.lr), splitter(std::move(o.splitter)),
      wd(o.wd), wd_bn_bias(o.wd_bn_bias), train_bn(o.train_bn), moms(std::move(o.moms)), model_spec(std::move(o.model_spec)) {
  FA_CHECK(model.module != nullptr, "Learner: the model is empty (pass a LibTorch module)");
  FA_CHECK(static_cast<bool>(model.forward), "Learner: the model has no forward function");
  FA_CHECK(dls.n_loaders() >= 1, "Learner: the DataLoaders hold no loader (expected a train and a valid loader)");
  if (!loss_func) {
    // fastai's `loss_func = getattr(dls.train_ds, 'loss_func', None)`: the target type's loss.
    auto hint = dls.loss_hint();
    FA_CHECK(hint.has_value(),
             "Learner: could not infer a loss function from the data (its targets imply none); pass one, e.g. "
             "{.loss_func = CrossEntropyLossFlat()}");
    loss_func = loss_from_hint(*hint);
  }
  FA_CHECK(static_cast<bool>(opt_func), "Learner: opt_func is empty (the default is Adam)");
  FA_CHECK(moms.size() == 3, "Learner: moms must have 3 values (start, middle, end), got ", moms.size());
  path = o.path.empty() ? std::filesystem::path(dls.path()) : std::filesystem::path(o.path);
  model_dir = o.model_dir;
  for (auto& m : o.metrics) metrics.push_back(m.m);
  add_cb(TrainEvalCallback());
  if (o.default_cbs) {
    recorder = std::make_shared<Recorder>();
    progress = std::make_shared<ProgressCallback>();
    add_cb(recorder);
    add_cb(progress);
  }
  add_cbs(o.cbs);
  (*this)(Event::after_create);
}

Learner::~Learner() = default;
Learner::Learner(Learner&&) noexcept = default;

// ---- callbacks ---------------------------------------------------------------------------

void Learner::add_cb(CallbackRef c) {
  FA_CHECK(c.cb != nullptr, "add_cb: the callback is null");
  for (auto& e : cbs_)
    FA_CHECK(e != c.cb, "add_cb: callback '", c.cb->name(), "' was already added to this Learner");
  cbs_.push_back(std::move(c.cb));
  sorted_ = false;
}

void Learner::add_cbs(const std::vector<CallbackRef>& cs) {
  for (auto& c : cs) add_cb(c);
}

void Learner::remove_cb(const std::shared_ptr<Callback>& c) {
  auto it = std::find(cbs_.begin(), cbs_.end(), c);
  if (it == cbs_.end()) return;
  cbs_.erase(it);
  sorted_ = false;
}

std::shared_ptr<Callback> Learner::cb(const std::string& name) const {
  for (auto& c : cbs_)
    if (c->name() == name) return c;
  return nullptr;
}

// Sort by `order` (stable), then honour run_before / run_after with a topological sort whose
// ties keep that order. A cycle is a user error and is reported with the callbacks involved.
void Learner::sort_cbs() {
  std::stable_sort(cbs_.begin(), cbs_.end(), [](auto& a, auto& b) { return a->order() < b->order(); });
  const size_t n = cbs_.size();
  std::vector<std::string> names(n);
  std::multimap<std::string, size_t> by_name;
  for (size_t i = 0; i < n; ++i) by_name.emplace(names[i] = cbs_[i]->name(), i);
  std::vector<std::set<size_t>> succ(n);
  std::vector<int> indeg(n, 0);
  auto edge = [&](size_t a, size_t b) {  // a runs before b
    if (a != b && succ[a].insert(b).second) ++indeg[b];
  };
  for (size_t i = 0; i < n; ++i) {
    for (auto& nm : cbs_[i]->run_before()) {
      auto [lo, hi] = by_name.equal_range(nm);
      for (auto it = lo; it != hi; ++it) edge(i, it->second);
    }
    for (auto& nm : cbs_[i]->run_after()) {
      auto [lo, hi] = by_name.equal_range(nm);
      for (auto it = lo; it != hi; ++it) edge(it->second, i);
    }
  }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < n; ++i)
    if (indeg[i] == 0) ready.push(i);
  std::vector<std::shared_ptr<Callback>> out;
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    out.push_back(cbs_[i]);
    for (size_t j : succ[i])
      if (--indeg[j] == 0) ready.push(j);
  }
  if (out.size() != n) {
    std::string cyc;
    for (size_t i = 0; i < n; ++i)
      if (indeg[i] > 0) cyc += (cyc.empty() ? "" : ", ") + names[i];
    fail("callbacks' run_before/run_after constraints form a cycle among: ", cyc);
  }
  cbs_ = std::move(out);
  for (auto& v : by_event_) v.clear();
  for (auto& c : cbs_)
    for (int e = 0; e < kNumEvents; ++e)
      if (c->events_mask & (1u << e)) by_event_[e].push_back(c.get());
  sorted_ = true;
}

void Learner::operator()(Event e) {
  if (!sorted_) sort_cbs();
  const int i = static_cast<int>(e);
  const bool inner = is_inner_event(e);
  for (Callback* c : by_event_[i]) {
    if (!c->run) continue;
    if (inner && !((c->run_train && training) || (c->run_valid && !training))) continue;
    (c->*learner_detail::kEventFns[i])(*this);
  }
  if (e == Event::after_fit)
    for (auto& c : cbs_) c->run = true;
}

// ---- the loop ----------------------------------------------------------------------------

namespace learner_detail {
// fastai's _with_events: before; f; on Exc -> after_cancel; then after. Any other exception
// propagates without the after event (fastai 2.7).
template <class Exc, class F>
void with_events(Learner& l, F&& f, Event before, Event cancel, Event after) {
  try {
    l(before);
    f();
  } catch (const Exc&) {
    l(cancel);
  }
  l(after);
}
}  // namespace learner_detail

void Learner::do_one_batch() {
  try {
    pred = model.forward(xb);
  } catch (const c10::Error& e) {
    fail("the model's forward failed on input(s) ", learner_detail::shapes_str(xb), ": ", e.what_without_backtrace());
  }
  (*this)(Event::after_pred);
  if (!yb.empty()) {
    try {
      loss_grad = loss_func(pred, yb[0]);
    } catch (const c10::Error& e) {
      fail("loss_func ", loss_func.name, " failed on predictions ", learner_detail::shape_str(pred),
           " and targets ", learner_detail::shape_str(yb[0]), ": ", e.what_without_backtrace());
    }
    loss = loss_grad.detach();
  }
  (*this)(Event::after_loss);
  if (!training || yb.empty()) return;
  learner_detail::with_events<CancelBackwardException>(*this, [&] { loss_grad.backward(); },
      Event::before_backward, Event::after_cancel_backward, Event::after_backward);
  learner_detail::with_events<CancelStepException>(*this, [&] { opt->step(); },
      Event::before_step, Event::after_cancel_step, Event::after_step);
  opt->zero_grad();
}

void Learner::one_batch(int64_t i, Batch& batch) {
  iter = i;
  const int n_inp = (dl && dl->n_inp() > 0) ? dl->n_inp() : (batch.size() == 1 ? 1 : static_cast<int>(batch.size()) - 1);
  FA_CHECK(static_cast<int>(batch.size()) >= n_inp, "batch ", i, " has ", batch.size(),
           " tensor(s) but the loader says n_inp = ", n_inp);
  xb.assign(batch.begin(), batch.begin() + n_inp);
  yb.assign(batch.begin() + n_inp, batch.end());
  learner_detail::with_events<CancelBatchException>(*this, [&] { do_one_batch(); },
      Event::before_batch, Event::after_cancel_batch, Event::after_batch);
}

void Learner::all_batches() {
  n_iter = dl->size();
  dl->begin_epoch();
  int64_t i = 0;
  while (dl->next(b)) one_batch(i++, b);
}

void Learner::do_epoch_train() {
  dl = &dls.train();
  learner_detail::with_events<CancelTrainException>(*this, [&] { all_batches(); },
      Event::before_train, Event::after_cancel_train, Event::after_train);
}

void Learner::do_epoch_validate(int ds_idx, DataLoader* vdl) {
  dl = vdl ? vdl : dls[static_cast<size_t>(ds_idx)].get();
  torch::NoGradGuard no_grad;
  learner_detail::with_events<CancelValidException>(*this, [&] { all_batches(); },
      Event::before_validate, Event::after_cancel_validate, Event::after_validate);
}

void Learner::do_epoch() {
  do_epoch_train();
  if (dls.n_loaders() > 1) do_epoch_validate(1, nullptr);
}

void Learner::do_fit(int n, int start_epoch) {
  for (int e = start_epoch; e < n; ++e) {
    epoch = e;
    learner_detail::with_events<CancelEpochException>(*this, [&] { do_epoch(); },
        Event::before_epoch, Event::after_cancel_epoch, Event::after_epoch);
  }
}

namespace learner_detail {
// Callbacks given to one fit: added on entry, removed on every exit path.
struct ScopedCbs {
  Learner& l;
  std::vector<std::shared_ptr<Callback>> added;
  ScopedCbs(Learner& learn, const std::vector<CallbackRef>& cbs) : l(learn) {
    for (auto& c : cbs) {
      l.add_cb(c);
      added.push_back(c.cb);
    }
  }
  ~ScopedCbs() {
    for (auto& c : added) l.remove_cb(c);
  }
};
}  // namespace learner_detail

void Learner::set_lr_wd(const Lr& lr_, std::optional<double> wd_) {
  if (!wd_) wd_ = wd;
  if (wd_) opt->set_hyper("wd", *wd_);
  const Lr& use = lr_.empty() ? Lr(lr) : lr_;
  opt->set_hyper("lr", use.per_group(opt->n_groups()));
}

void Learner::fit(int n, Lr lr_, FitOptions o) {
  FA_CHECK(n >= 0, "fit: n_epoch must be >= 0, got ", n);
  FA_CHECK(o.start_epoch >= 0 && o.start_epoch <= n, "fit: start_epoch ", o.start_epoch, " is outside [0, ", n, "]");
  FA_CHECK(dls.train().size() > 0, "fit: the training loader yields no batch (", dls.train().n(),
           " items, bs ", dls.train().bs(), dls.train().drop_last() ? ", drop_last" : "", ")");
  if (o.reset_opt || !opt) create_opt();
  set_lr_wd(lr_, o.wd);
  learner_detail::ScopedCbs scoped(*this, o.cbs);
  n_epoch = n;
  learner_detail::with_events<CancelFitException>(*this, [&] { do_fit(n, o.start_epoch); },
      Event::before_fit, Event::after_cancel_fit, Event::after_fit);
  dl = nullptr;
  b.clear();
  xb.clear();
  yb.clear();
  pred = at::Tensor();
  loss_grad = at::Tensor();
}

// ---- default callbacks -------------------------------------------------------------------

void TrainEvalCallback::before_fit(Learner& l) {
  l.train_iter = 0;
  l.pct_train = 0;
  l.model.module->to(l.dls.device());
}

void TrainEvalCallback::before_train(Learner& l) {
  l.pct_train = static_cast<double>(l.epoch) / l.n_epoch;
  l.model.module->train();
  l.training = true;
}

void TrainEvalCallback::after_batch(Learner& l) {
  if (!l.training) return;
  l.pct_train += 1.0 / (static_cast<double>(l.n_iter) * l.n_epoch);
  l.train_iter += 1;
}

void TrainEvalCallback::before_validate(Learner& l) {
  l.model.module->eval();
  l.training = false;
}

void TerminateOnNaNCallback::after_batch(Learner& l) {
  if (!l.loss.defined()) return;
  double v = l.loss.item<double>();
  if (!std::isfinite(v)) throw CancelFitException();
}

}  // namespace fastai
