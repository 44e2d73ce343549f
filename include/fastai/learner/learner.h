// fastai's Learner: a model, its data, a loss, an optimizer and the callbacks of the training
// loop. Its public members are the loop state callbacks read and replace (xb, yb, pred, loss...).
#pragma once
#include "fastai/data/dataloader.h"
#include "fastai/learner/callback.h"
#include "fastai/learner/losses.h"
#include "fastai/learner/metric.h"
#include "fastai/optim/optimizer.h"

#include <array>
#include <concepts>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace torch::nn {
class Module;
}

namespace fastai {

class Recorder;
class ProgressCallback;

/// A model as the Learner sees it: the module (parameters, train/eval, save) and how to call
/// it on the inputs of a batch. Built implicitly from any LibTorch module holder (`Net()`,
/// `torch::nn::Sequential(...)`) or shared_ptr to a module whose forward takes 1 or 2 tensors
/// or a std::vector<at::Tensor>.
struct Model {
  std::shared_ptr<torch::nn::Module> module;
  std::function<at::Tensor(const std::vector<at::Tensor>& xb)> forward;

  Model() = default;
  Model(std::shared_ptr<torch::nn::Module> m, std::function<at::Tensor(const std::vector<at::Tensor>&)> f)
      : module(std::move(m)), forward(std::move(f)) {}
  template <class M>
    requires std::derived_from<M, torch::nn::Module>
  Model(std::shared_ptr<M> m) : module(m), forward(make_forward(m)) {}
  template <class H>
    requires requires(H h) { { h.ptr() }; }
  Model(const H& holder) : Model(holder.ptr()) {}

  explicit operator bool() const { return module != nullptr; }
  at::Tensor operator()(const std::vector<at::Tensor>& xb) const { return forward(xb); }

 private:
  [[noreturn]] static void bad_arity(size_t n);
  template <class M>
  static std::function<at::Tensor(const std::vector<at::Tensor>&)> make_forward(std::shared_ptr<M> m) {
    return [m](const std::vector<at::Tensor>& xb) -> at::Tensor {
      if constexpr (requires(M& mm, const at::Tensor& t) { { mm.forward(t) } -> std::convertible_to<at::Tensor>; }) {
        if (xb.size() == 1) return m->forward(xb[0]);
      }
      if constexpr (requires(M& mm, const at::Tensor& t) { { mm.forward(t, t) } -> std::convertible_to<at::Tensor>; }) {
        if (xb.size() == 2) return m->forward(xb[0], xb[1]);
      }
      if constexpr (requires(M& mm, const std::vector<at::Tensor>& v) { { mm.forward(v) } -> std::convertible_to<at::Tensor>; }) {
        return m->forward(xb);
      }
      bad_arity(xb.size());
    };
  }
};

/// A learning rate as fastai takes it: one value for every group, `slice(stop)`
/// ([stop/10, ..., stop/10, stop]), `slice(start, stop)` (geometric from start to stop), or one
/// value per group. Default-constructed means "the Learner's lr".
class Lr {
 public:
  Lr() = default;
  Lr(double v) : vals_{v} {}
  Lr(std::initializer_list<double> per_group) : vals_(per_group), list_(true) {}
  explicit Lr(std::vector<double> per_group) : vals_(std::move(per_group)), list_(true) {}
  static Lr slice(double stop);
  static Lr slice(double start, double stop);
  bool empty() const { return vals_.empty(); }
  /// The value for each of `n_groups` groups; Error when a per-group list has another length.
  std::vector<double> per_group(size_t n_groups) const;
  /// The largest value (what fastai prints and what lr_find suggestions are compared to).
  double max() const;
  Lr operator/(double d) const;

 private:
  std::vector<double> vals_;
  bool list_ = false;   // explicit per-group list
  bool slice_ = false;  // slice(start, stop) or slice(stop)
  bool start_ = false;  // slice had a start
};
/// fastai's `slice(stop)` and `slice(start, stop)` as learning rates.
inline Lr slice(double stop) { return Lr::slice(stop); }
inline Lr slice(double start, double stop) { return Lr::slice(start, stop); }
/// Geometric sequence of n values from start to stop (fastai's even_mults).
std::vector<double> even_mults(double start, double stop, size_t n);

/// Parameter groups of a model (fastai's splitter); the default is one group of every parameter.
using ParamSplitter = std::function<ParamList(torch::nn::Module&)>;
/// All parameters of the model in one group (fastai's trainable_params, which the default splitter is).
ParamList trainable_params(torch::nn::Module& m);

struct LearnerOptions {
  LossFunc loss_func = {};                 ///< empty: inferred from the targets (dls.loss_hint()), else an Error
  OptFunc opt_func = Adam;
  double lr = 1e-3;
  ParamSplitter splitter = {};                ///< empty: trainable_params
  std::vector<CallbackRef> cbs = {};
  std::vector<MetricRef> metrics = {};
  std::string path = "";                   ///< "" = dls.path()
  std::string model_dir = "models";
  std::optional<double> wd = std::nullopt; ///< nullopt: the optimizer's default
  bool wd_bn_bias = false;                 ///< weight decay on norm and bias parameters too
  bool train_bn = true;                    ///< norm parameters stay trainable when frozen
  std::vector<double> moms = {0.95, 0.85, 0.95};
  bool default_cbs = true;                 ///< TrainEval, Recorder, Progress
  /// How to rebuild the model ({"kind": ..., constructor arguments}), for export_to / load_learner:
  /// set by the application learners (vision_learner, ...); see register_model_builder.
  nlohmann::json model_spec = nullptr;
};

/// The LearnerOptions part of an application's learner options struct (tabular_learner,
/// collab_learner, vision_learner), whose Learner fields have the same names; the splitter is
/// the application's own. (Designated initializers cannot reach base-class fields, so the
/// application structs repeat the fields instead of deriving from LearnerOptions.)
template <class O>
LearnerOptions learner_options_of(const O& o, ParamSplitter splitter = {}) {
  return LearnerOptions{.loss_func = o.loss_func, .opt_func = o.opt_func, .lr = o.lr, .splitter = std::move(splitter),
                        .cbs = o.cbs, .metrics = o.metrics, .path = o.path, .model_dir = o.model_dir, .wd = o.wd,
                        .wd_bn_bias = o.wd_bn_bias, .train_bn = o.train_bn, .moms = o.moms,
                        .default_cbs = o.default_cbs};
}

struct FitOptions {
  std::optional<double> wd = std::nullopt;
  std::vector<CallbackRef> cbs = {};       ///< added for this fit only
  bool reset_opt = false;
  int start_epoch = 0;
};
struct OneCycleOptions {
  double div = 25., div_final = 1e5, pct_start = 0.25;
  std::optional<double> wd = std::nullopt;
  std::vector<double> moms = {};           ///< empty: learn.moms
  std::vector<CallbackRef> cbs = {};
  bool reset_opt = false;
  int start_epoch = 0;
};
struct FlatCosOptions {
  double div_final = 1e5, pct_start = 0.75;
  std::optional<double> wd = std::nullopt;
  std::vector<CallbackRef> cbs = {};
  bool reset_opt = false;
};
struct SGDROptions {
  int cycle_mult = 2;
  std::optional<double> wd = std::nullopt;
  std::vector<CallbackRef> cbs = {};
  bool reset_opt = false;
};
struct FineTuneOptions {
  int freeze_epochs = 1;
  double lr_mult = 100, pct_start = 0.3, div = 5.0, div_final = 1e5;
  std::optional<double> wd = std::nullopt;
  std::vector<double> moms = {};
  std::vector<CallbackRef> cbs = {};
};
struct LrFindOptions {
  double start_lr = 1e-7, end_lr = 10;
  int num_it = 100;
  bool stop_div = true;
  std::string plot_path = "";              ///< "" = no plot; else the lr_find plot (PNG/SVG) goes here
};
/// lr_find's result: every suggestion fastai 2.7 offers, and the recorded curve.
struct SuggestedLRs {
  double valley = 0, slide = 0, minimum = 0, steep = 0;
  std::vector<double> lrs, losses;
};
/// Suggestions on a recorded (lr, smoothed loss) curve, as fastai 2.7 (skips the first 10% and last 5 points).
SuggestedLRs suggest_lrs(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it);
double valley(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it);
double minimum(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it);
double steep(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it);
double slide(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it,
             double lr_diff = 15, double thresh = .005, double adjust_value = 1.);

struct GetPredsOptions {
  int ds_idx = 1;                          ///< 0 train, 1 valid
  std::shared_ptr<DataLoader> dl = nullptr;///< overrides ds_idx
  bool with_input = false, with_decoded = false, with_loss = false;
  std::function<at::Tensor(const at::Tensor&)> act = {};  ///< empty: loss_func.activation
  bool reorder = true;                     ///< back to dataset order
};
struct Preds {
  at::Tensor preds, targs;                 ///< activated predictions, targets (undefined if none)
  at::Tensor decoded, losses;              ///< when asked for
  std::vector<at::Tensor> inputs;          ///< when with_input
};
/// predict()'s answer: decoded prediction, activated prediction (fastai's probs), raw output.
struct Prediction {
  at::Tensor decoded, probs, raw;
};
/// predict() on a raw item (fastai's (decoded, pred, probs)): `auto [label, pred, probs] = learn.predict(x);`
struct ItemPrediction {
  std::string label;  ///< the decoded prediction as show_batch writes it ("cat", "cat;dog", numbers...)
  at::Tensor pred;    ///< the decoded prediction tensor (class index, multi-hot, values, mask)
  at::Tensor probs;   ///< the activated output (class probabilities, ...), CPU, no batch dimension
};

class Learner {
 public:
  Learner(DataLoaders dls, Model model, LearnerOptions o = {});
  virtual ~Learner();
  Learner(const Learner&) = delete;
  Learner& operator=(const Learner&) = delete;
  /// Moves a learner that is not fitting (callbacks get the learner as an argument, never keep it).
  Learner(Learner&&) noexcept;

  // ---- training -------------------------------------------------------------------------
  void fit(int n_epoch, Lr lr = {}, FitOptions o = {});
  void fit_one_cycle(int n_epoch, Lr lr_max = {}, OneCycleOptions o = {});
  void fit_flat_cos(int n_epoch, Lr lr = {}, FlatCosOptions o = {});
  void fit_sgdr(int n_cycles, int cycle_len, Lr lr_max = {}, SGDROptions o = {});
  void fine_tune(int epochs, double base_lr = 2e-3, FineTuneOptions o = {});
  SuggestedLRs lr_find(LrFindOptions o = {});

  // ---- evaluation ------------------------------------------------------------------------
  /// [valid_loss, metrics...] over one pass of dl (default: dls[ds_idx]), no logging.
  std::vector<double> validate(int ds_idx = 1, std::shared_ptr<DataLoader> dl = nullptr);
  Preds get_preds(GetPredsOptions o = {});
  /// One item (no batch dimension) through the model in eval mode.
  Prediction predict(const at::Tensor& item);
  /// A raw item (a file path, a row, a TensorImage...) through the validation-time pipelines
  /// (test_dl), the model, and back through the target's decodes (fastai learn.predict).
  /// Errors: loaders without transforms (tensors), a bad item (named by the pipeline's error).
  ItemPrediction predict(const Item& raw);

  // ---- parameters, persistence -----------------------------------------------------------
  void create_opt();
  void freeze_to(int n);
  void freeze() { freeze_to(-1); }
  void unfreeze() { freeze_to(0); }
  /// Writes model (+ optimizer) state to path/model_dir/<name>.pth atomically; returns the file.
  std::filesystem::path save(const std::string& name, bool with_opt = true);
  /// Reads what save() wrote; Error naming the file and entry when it does not match the model.
  void load(const std::string& name, std::optional<bool> with_opt = std::nullopt, bool strict = true);
  /// Writes what predicting needs to one file, atomically (fastai learn.export): the model spec,
  /// its weights, the loss and the validation-time pipelines (dls.inference_state()); a relative
  /// `file` is under path. load_learner reads it in a program without the data or training code.
  /// Errors: no model_spec (a model not built by an application learner), untransformed loaders.
  virtual std::filesystem::path export_to(const std::filesystem::path& file = "export.fai");

  // ---- callbacks -------------------------------------------------------------------------
  void add_cb(CallbackRef cb);
  void add_cbs(const std::vector<CallbackRef>& cbs);
  void remove_cb(const std::shared_ptr<Callback>& cb);
  /// First callback whose name() is `name` (fastai's learn.<name>), nullptr if none.
  std::shared_ptr<Callback> cb(const std::string& name) const;
  template <class C>
  std::shared_ptr<C> cb() const {
    for (auto& c : cbs_) if (auto p = std::dynamic_pointer_cast<C>(c)) return p;
    return nullptr;
  }
  const std::vector<std::shared_ptr<Callback>>& cbs() const { return cbs_; }
  /// Fires `e` on every callback that implements it, in order (fastai's learn(event_name)).
  void operator()(Event e);

  /// Names of the metrics table's columns (epoch, train_loss, valid_loss, metrics..., time).
  std::vector<std::string> metric_names() const;
  /// A short description: model parameter counts, optimizer, loss, frozen groups, callbacks.
  std::string summary() const;

  // ---- configuration (fastai attribute names) --------------------------------------------
  DataLoaders dls;
  Model model;
  LossFunc loss_func;
  OptFunc opt_func;
  std::shared_ptr<Optimizer> opt;
  double lr;
  ParamSplitter splitter;
  std::vector<std::shared_ptr<Metric>> metrics;
  std::filesystem::path path, model_dir;
  std::optional<double> wd;
  bool wd_bn_bias, train_bn;
  std::vector<double> moms;
  std::shared_ptr<Recorder> recorder;          ///< the default Recorder (null if default_cbs false)
  std::shared_ptr<ProgressCallback> progress;  ///< the default progress callback (null if none)
  nlohmann::json model_spec;                   ///< how to rebuild the model (LearnerOptions::model_spec)

  // ---- loop state (read and replace from callbacks) --------------------------------------
  DataLoader* dl = nullptr;   ///< the loader of the current pass
  Batch b;                    ///< the current batch as the loader gave it
  std::vector<at::Tensor> xb, yb;
  at::Tensor pred;
  at::Tensor loss_grad;       ///< the loss with its graph (what backward() is called on)
  at::Tensor loss;            ///< loss_grad detached (for logging and metrics)
  bool training = false;
  int epoch = 0, n_epoch = 1;
  int64_t iter = 0, n_iter = 0, train_iter = 0;
  double pct_train = 0;
  std::vector<double> final_record;  ///< [train_loss, valid_loss, metrics...] of the last epoch
  double smooth_loss = 0;            ///< last smoothed training loss read by the Recorder

 private:
  void sort_cbs();
  void do_fit(int n_epoch, int start_epoch);
  void do_epoch();
  void all_batches();
  void one_batch(int64_t i, Batch& batch);
  void do_one_batch();
  void do_epoch_train();
  void do_epoch_validate(int ds_idx, DataLoader* dl);
  void set_lr_wd(const Lr& lr, std::optional<double> wd);
  /// One validation pass over d with the logging callbacks silenced and `extra` added.
  void quiet_validate(DataLoader* d, const std::shared_ptr<Callback>& extra);

  std::vector<std::shared_ptr<Callback>> cbs_;
  std::array<std::vector<Callback*>, kNumEvents> by_event_;
  bool sorted_ = false;
};

/// Rebuilds a model from its spec (the JSON an application learner records; see LearnerOptions::model_spec).
using ModelBuilder = std::function<Model(const nlohmann::json& spec)>;
/// Makes load_learner able to rebuild models whose spec has {"kind": kind}. The applications
/// register theirs (vision: "VisionModel"); registering a kind again replaces its builder.
void register_model_builder(const std::string& kind, ModelBuilder f);
/// The model a spec describes, with fresh weights. Error naming an unregistered kind (and the known ones).
Model build_model(const nlohmann::json& spec);

/// Reads what Learner::export_to wrote (fastai load_learner) into a Learner ready for predict /
/// get_preds on test_dl(...) on `device` (default: CPU). Errors name the file: missing, not an
/// export, a model kind no linked application registered, weights that do not fit the model.
/// (Tabular exports are read by load_tabular_learner.)
Learner load_learner(const std::filesystem::path& file, std::optional<c10::Device> device = std::nullopt);

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
