// Two-way callbacks (fastai's Callback): one virtual method per event, each given the Learner
// so it can read and replace its state; control flow by the Cancel*Exception types.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace fastai {

class Learner;

/// fastai 2.7's 24 events, in the order they can first fire.
enum class Event : int {
  after_create, before_fit, before_epoch, before_train, before_batch, after_pred, after_loss,
  before_backward, after_cancel_backward, after_backward, before_step, after_cancel_step, after_step,
  after_cancel_batch, after_batch, after_cancel_train, after_train, before_validate,
  after_cancel_validate, after_validate, after_cancel_epoch, after_epoch, after_cancel_fit, after_fit,
};
inline constexpr int kNumEvents = 24;
const char* event_name(Event e);
/// Events of the inner (per-batch) loop: run_train / run_valid apply to these only.
bool is_inner_event(Event e);

// Control-flow exceptions. Not derived from std::exception on purpose: a stray
// `catch (const std::exception&)` in user code must not swallow them.
struct CancelException {
  virtual ~CancelException() = default;
  virtual const char* what() const noexcept = 0;
};
#define FASTAI_CANCEL(Name, text) \
  struct Name : CancelException { const char* what() const noexcept override { return text; } };
FASTAI_CANCEL(CancelBatchException, "skip the rest of this batch and go to after_batch")
FASTAI_CANCEL(CancelBackwardException, "skip the backward pass and go to after_backward")
FASTAI_CANCEL(CancelStepException, "skip the optimizer step and go to after_step")
FASTAI_CANCEL(CancelTrainException, "skip the rest of the training part of the epoch")
FASTAI_CANCEL(CancelValidException, "skip the rest of the validation part of the epoch")
FASTAI_CANCEL(CancelEpochException, "skip the rest of this epoch and go to after_epoch")
FASTAI_CANCEL(CancelFitException, "interrupt training and go to after_fit")
#undef FASTAI_CANCEL

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void after_create(Learner&) {}
  virtual void before_fit(Learner&) {}
  virtual void before_epoch(Learner&) {}
  virtual void before_train(Learner&) {}
  virtual void before_batch(Learner&) {}
  virtual void after_pred(Learner&) {}
  virtual void after_loss(Learner&) {}
  virtual void before_backward(Learner&) {}
  virtual void after_cancel_backward(Learner&) {}
  virtual void after_backward(Learner&) {}
  virtual void before_step(Learner&) {}
  virtual void after_cancel_step(Learner&) {}
  virtual void after_step(Learner&) {}
  virtual void after_cancel_batch(Learner&) {}
  virtual void after_batch(Learner&) {}
  virtual void after_cancel_train(Learner&) {}
  virtual void after_train(Learner&) {}
  virtual void before_validate(Learner&) {}
  virtual void after_cancel_validate(Learner&) {}
  virtual void after_validate(Learner&) {}
  virtual void after_cancel_epoch(Learner&) {}
  virtual void after_epoch(Learner&) {}
  virtual void after_cancel_fit(Learner&) {}
  virtual void after_fit(Learner&) {}

  /// snake_case class name without "Callback" (TrainEvalCallback -> "train_eval"), as fastai.
  virtual std::string name() const;
  /// Smaller runs first (fastai 2.7: TrainEval -10, MixedPrecision 10, Recorder 50, ParamScheduler 60).
  virtual int order() const { return 0; }
  /// Names of callbacks this one must run before / after; checked when a fit starts.
  virtual std::vector<std::string> run_before() const { return {}; }
  virtual std::vector<std::string> run_after() const { return {}; }

  bool run = true;        ///< false: skipped for the rest of the current fit (reset at after_fit)
  bool run_train = true;  ///< inner-loop events while training
  bool run_valid = true;  ///< inner-loop events while validating
  /// Bit i set: the class overrides event i. Filled from the static type when the callback is
  /// added through CallbackRef; all bits when only a Callback pointer was known.
  uint32_t events_mask = ~0u;
};

/// Which events class C overrides, read off the static type (no run-time cost per event).
template <class C>
uint32_t implemented_events() {
  using Base = void (Callback::*)(Learner&);
  uint32_t m = 0;
  int i = 0;
  auto bit = [&](bool overridden) { if (overridden) m |= (1u << i); ++i; };
#define FA_EV(ev) bit(!std::is_same_v<decltype(&C::ev), Base>);
  FA_EV(after_create) FA_EV(before_fit) FA_EV(before_epoch) FA_EV(before_train) FA_EV(before_batch)
  FA_EV(after_pred) FA_EV(after_loss) FA_EV(before_backward) FA_EV(after_cancel_backward)
  FA_EV(after_backward) FA_EV(before_step) FA_EV(after_cancel_step) FA_EV(after_step)
  FA_EV(after_cancel_batch) FA_EV(after_batch) FA_EV(after_cancel_train) FA_EV(after_train)
  FA_EV(before_validate) FA_EV(after_cancel_validate) FA_EV(after_validate)
  FA_EV(after_cancel_epoch) FA_EV(after_epoch) FA_EV(after_cancel_fit) FA_EV(after_fit)
#undef FA_EV
  return m;
}

/// What `cbs = {...}` holds: a callback value (copied into a shared_ptr) or a shared_ptr.
struct CallbackRef {
  std::shared_ptr<Callback> cb;
  template <class C, std::enable_if_t<std::is_base_of_v<Callback, C>, int> = 0>
  CallbackRef(std::shared_ptr<C> p) : cb(std::move(p)) {
    if (cb && !std::is_same_v<C, Callback>) cb->events_mask = implemented_events<C>();
  }
  template <class C, std::enable_if_t<std::is_base_of_v<Callback, std::decay_t<C>>, int> = 0>
  CallbackRef(C&& v) : CallbackRef(std::make_shared<std::decay_t<C>>(std::forward<C>(v))) {}
};

}  // namespace fastai
