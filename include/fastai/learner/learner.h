// fastai's Learner: a model, its data, a loss, an optimizer and the callbacks of the training
// loop. Its public members are the loop state callbacks read and replace (xb, yb, pred, loss...).
#pragma once
#include "fastai/data/dataloader.h"
#include "fastai/learner/callback.h"
#include "fastai/learner/fit_options.h"
#include "fastai/learner/learner_options.h"
#include "fastai/learner/losses.h"
#include "fastai/learner/lr.h"
#include "fastai/learner/lr_find.h"
#include "fastai/learner/metric.h"
#include "fastai/learner/model.h"
#include "fastai/learner/predict.h"
#include "fastai/optim/optimizer.h"

#include <array>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fastai {

class Recorder;
class ProgressCallback;

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

}  // namespace fastai
