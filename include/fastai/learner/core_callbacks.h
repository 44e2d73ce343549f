// The loop's own callbacks: TrainEvalCallback (always there) and TerminateOnNaNCallback.
#pragma once
#include "fastai/learner/callback.h"

namespace fastai {

/// fastai's TrainEvalCallback (order -10): pct_train / train_iter bookkeeping, train/eval mode.
class TrainEvalCallback : public Callback {
 public:
  void before_fit(Learner& l) override;
  void before_train(Learner& l) override;
  void after_batch(Learner& l) override;
  void before_validate(Learner& l) override;
  int order() const override { return -10; }
};

/// Raises CancelFitException when the loss is NaN or infinite (syncs once per batch).
class TerminateOnNaNCallback : public Callback {
 public:
  void after_batch(Learner& l) override;
};

}  // namespace fastai
