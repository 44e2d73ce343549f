// fastai's generic optimizer: parameter groups with per-group hyper-parameters, per-parameter
// state, and a list of "steppers" (stats + update rules) run in order on each step.
// Steppers get the parameters of one group as parallel lists, so updates are multi-tensor
// (`_foreach_*`) operations rather than a Python-style loop over parameters.
#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fastai {

/// Hyper-parameters of one group by fastai name: lr, mom, sqr_mom, eps, wd, ...
using Hypers = std::map<std::string, double>;
/// Parameters split into groups (fastai's splitter output).
using ParamList = std::vector<std::vector<at::Tensor>>;
/// Flat, ordered name -> tensor map used to save and load optimizer state.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

/// Per-parameter state (fastai's `opt.state[p]`).
struct ParamState {
  std::map<std::string, at::Tensor> tensors;  ///< grad_avg, sqr_avg, slow_p, ...
  int64_t step = 0;                           ///< number of updates this parameter received
  bool do_wd = true;                          ///< false for norm/bias params unless wd_bn_bias
  bool force_train = false;                   ///< norm params stay trainable when frozen (train_bn)
};

struct ParamGroup {
  std::vector<at::Tensor> params;
  std::vector<ParamState> state;  ///< aligned with params
  Hypers hypers;
};

/// What a stepper sees: the parameters of one group that have a gradient, as parallel lists.
struct StepBatch {
  ParamGroup& group;
  std::vector<at::Tensor> params, grads;
  std::vector<ParamState*> states;
  size_t group_index = 0;  ///< index of `group` in the optimizer (for error messages)
  /// The group's hyper-parameter `name`; throws fastai::Error naming it if the group has none.
  double hp(const std::string& name) const;
  /// The state tensor `name` of every parameter in the batch, created as zeros_like(param) if missing.
  std::vector<at::Tensor> state(const std::string& name);
};
using Stepper = std::function<void(StepBatch&)>;

class Optimizer {
 public:
  Optimizer(ParamList groups, std::vector<Stepper> steppers, Hypers defaults);
  virtual ~Optimizer() = default;

  /// Runs every stepper, in order, on the parameters that have a gradient.
  void step();
  /// Zeroes (or drops, set_to_none) all gradients.
  void zero_grad(bool set_to_none = false);
  /// Drops all state tensors and step counts; keeps do_wd / force_train.
  void clear_state();
  void add_stepper(Stepper s) { steppers_.push_back(std::move(s)); }
  /// The steppers, in the order step() runs them (lookahead() wraps them).
  std::vector<Stepper>& steppers() { return steppers_; }

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  size_t n_groups() const { return groups_.size(); }
  std::vector<at::Tensor> all_params() const;

  /// Sets hyper `name` in every group.
  void set_hyper(const std::string& name, double v);
  /// One value per group (size 1 means every group); any other size is an error.
  void set_hyper(const std::string& name, const std::vector<double>& per_group);
  /// Hyper `name` of group `group` (default: the last group, as fastai's Recorder reads lr).
  double hyper(const std::string& name, int group = -1) const;
  bool has_hyper(const std::string& name) const;

  /// The state of parameter p (matched by identity); Error if p is not in the optimizer.
  ParamState& state(const at::Tensor& p);

  /// Groups before n stop training (except force_train params); n < 0 counts from the end.
  void freeze_to(int n);
  void freeze() { freeze_to(-1); }
  void unfreeze() { freeze_to(0); }
  int frozen_idx() const { return frozen_idx_; }

  /// Hypers, flags, step counts and state tensors as a flat name -> tensor list.
  StateDict state_dict() const;
  /// Restores state_dict(); Error naming the entry when groups, params or shapes differ.
  void load_state_dict(const StateDict& sd);

 protected:
  std::vector<ParamGroup> groups_;
  std::vector<Stepper> steppers_;
  int frozen_idx_ = 0;

 private:
  /// TensorImpl* -> (group, index) for state(p); rebuilt when stale.
  std::unordered_map<const void*, std::pair<size_t, size_t>> index_;
  void rebuild_index();
};

using OptFunc = std::function<std::shared_ptr<Optimizer>(ParamList, double lr)>;

// ---- options, fastai's defaults ------------------------------------------------------------
struct SGDOptions { double mom = 0.; double wd = 0.; bool decouple_wd = true; };
struct RMSPropOptions { double sqr_mom = 0.99; double mom = 0.; double eps = 1e-8; double wd = 0.; bool decouple_wd = true; };
struct AdamOptions { double mom = 0.9; double sqr_mom = 0.99; double eps = 1e-5; double wd = 0.01; bool decouple_wd = true; };
struct RAdamOptions { double mom = 0.9; double sqr_mom = 0.99; double eps = 1e-5; double wd = 0.; double beta = 0.; bool decouple_wd = true; };
struct QHAdamOptions { double mom = 0.999; double sqr_mom = 0.999; double nu_1 = 0.7; double nu_2 = 1.0; double eps = 1e-8; double wd = 0.; bool decouple_wd = true; };
struct LarcOptions { double mom = 0.9; bool clip = true; double trust_coeff = 0.02; double eps = 1e-8; double wd = 0.; bool decouple_wd = true; };
struct LambOptions { double mom = 0.9; double sqr_mom = 0.99; double eps = 1e-5; double wd = 0.; bool decouple_wd = true; };
struct LookaheadOptions { int k = 6; double alpha = 0.5; };
struct RangerOptions { double mom = 0.95; double sqr_mom = 0.99; double eps = 1e-6; double wd = 0.01; double beta = 0.; int k = 6; double alpha = 0.5; bool decouple_wd = true; };

std::shared_ptr<Optimizer> make_sgd(ParamList groups, double lr, const SGDOptions& o);
std::shared_ptr<Optimizer> make_rmsprop(ParamList groups, double lr, const RMSPropOptions& o);
std::shared_ptr<Optimizer> make_adam(ParamList groups, double lr, const AdamOptions& o);
std::shared_ptr<Optimizer> make_radam(ParamList groups, double lr, const RAdamOptions& o);
std::shared_ptr<Optimizer> make_qhadam(ParamList groups, double lr, const QHAdamOptions& o);
std::shared_ptr<Optimizer> make_larc(ParamList groups, double lr, const LarcOptions& o);
std::shared_ptr<Optimizer> make_lamb(ParamList groups, double lr, const LambOptions& o);
std::shared_ptr<Optimizer> make_ranger(ParamList groups, double lr, const RangerOptions& o);
/// fastai's Lookahead: every k steps, slow += alpha * (fast - slow); fast = slow. Adds hypers k and
/// alpha to every group and wraps inner's steppers; slow weights and the step counter are
/// per-parameter state ("slow_p", "lookahead_count"), so clear_state() and the state dict cover them.
std::shared_ptr<Optimizer> lookahead(std::shared_ptr<Optimizer> inner, const LookaheadOptions& o = {});

/// `Adam` is both a factory (`.opt_func = Adam` or `Adam({.mom = 0.8})`) and a constructor
/// (`Adam(params, lr)`), as fastai's `opt_func=Adam` / `partial(Adam, mom=0.8)`.
template <class Opts, std::shared_ptr<Optimizer> (*Make)(ParamList, double, const Opts&)>
struct OptFactory {
  Opts opts{};
  std::shared_ptr<Optimizer> operator()(ParamList groups, double lr) const { return Make(std::move(groups), lr, opts); }
  std::shared_ptr<Optimizer> operator()(std::vector<at::Tensor> params, double lr) const {
    return Make(ParamList{std::move(params)}, lr, opts);
  }
  OptFactory operator()(Opts o) const { return OptFactory{o}; }
};

inline constexpr OptFactory<SGDOptions, make_sgd> SGD{};
inline constexpr OptFactory<RMSPropOptions, make_rmsprop> RMSProp{};
inline constexpr OptFactory<AdamOptions, make_adam> Adam{};
inline constexpr OptFactory<RAdamOptions, make_radam> RAdam{};
inline constexpr OptFactory<QHAdamOptions, make_qhadam> QHAdam{};
inline constexpr OptFactory<LarcOptions, make_larc> Larc{};
inline constexpr OptFactory<LambOptions, make_lamb> Lamb{};
inline constexpr OptFactory<RangerOptions, make_ranger> ranger{};
/// Lookahead over any optimizer factory: `.opt_func = Lookahead(SGD({.mom = 0.9}))`.
OptFunc Lookahead(OptFunc inner, LookaheadOptions o = {});

// ---- steppers (fastai's optimizer callbacks), usable to build new optimizers ---------------
namespace steppers {
void weight_decay(StepBatch& b);   ///< p *= 1 - lr*wd            (decoupled; do_wd params only)
void l2_reg(StepBatch& b);         ///< g += wd*p                 (do_wd params only)
void average_grad(StepBatch& b, bool dampening);      ///< grad_avg = mom*grad_avg + (1-mom|1)*g
void average_sqr_grad(StepBatch& b, bool dampening);  ///< sqr_avg = sqr_mom*sqr_avg + (1-sqr_mom|1)*g^2
void step_stat(StepBatch& b);      ///< step += 1
void sgd_step(StepBatch& b);       ///< p -= lr*g
void momentum_step(StepBatch& b);  ///< p -= lr*grad_avg
void rms_prop_step(StepBatch& b);  ///< p -= lr * (grad_avg|g) / (sqrt(sqr_avg) + eps)
void adam_step(StepBatch& b);
void radam_step(StepBatch& b);
void qhadam_step(StepBatch& b);
void larc_layer_lr(StepBatch& b);  ///< state local_lr (0-dim); hyper clip (1/0, default 1) as fastai's clip=True
void larc_step(StepBatch& b);
void lamb_step(StepBatch& b);
}  // namespace steppers

/// debias(mom, damp, step) = damp * (1 - mom^step) / (1 - mom)
double debias(double mom, double damp, int64_t step);

}  // namespace fastai
