// The Learner's options (fastai's Learner keyword arguments), and the splitter type.
#pragma once
#include "fastai/learner/callback.h"
#include "fastai/learner/losses.h"
#include "fastai/learner/metric.h"
#include "fastai/optim/optimizer.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace torch::nn {
class Module;
}

namespace fastai {

/// Parameter groups of a model (fastai's splitter); the default is one group of every parameter.
using ParamSplitter = std::function<ParamList(torch::nn::Module&)>;
/// All parameters of the model in one group (fastai's trainable_params, which the default splitter is).
ParamList trainable_params(torch::nn::Module& m);

/// The Learner's options, written once: LearnerOptions and every application's learner options
/// struct (tabular_learner, collab_learner, vision_learner, unet_learner, ...) expand this list
/// after their model's own fields, so a user writes them flat, as fastai's keyword arguments:
/// `tabular_learner(dls, {.layers = {200, 100}, .metrics = {accuracy}})`. A new field or default
/// is written here only. (Why a field list and not a nested struct: docs/design.md, "Options".)
/// Designated initializers follow this order:
///   loss_func    empty: inferred from the targets (dls.loss_hint()), else an Error
///   opt_func     Adam (fastai's)
///   lr           1e-3
///   splitter     parameter groups; empty: trainable_params (one group), or the application's
///   cbs          callbacks added for the Learner's life
///   metrics
///   path         "" = dls.path()
///   model_dir    "models" (under path)
///   wd           nullopt: the optimizer's default
///   wd_bn_bias   false: no weight decay on norm-layer parameters and biases
///   train_bn     true: norm parameters stay trainable when frozen
///   moms         {0.95, 0.85, 0.95} (fit_one_cycle's)
///   default_cbs  true: Recorder and ProgressCallback (TrainEvalCallback is always there)
/// X(type, name, default...) is called once per field.
#define FASTAI_LEARNER_OPTION_FIELDS(X)                      \
  X(::fastai::LossFunc, loss_func, {})                       \
  X(::fastai::OptFunc, opt_func, ::fastai::Adam)             \
  X(double, lr, 1e-3)                                        \
  X(::fastai::ParamSplitter, splitter, {})                   \
  X(std::vector<::fastai::CallbackRef>, cbs, {})             \
  X(std::vector<::fastai::MetricRef>, metrics, {})           \
  X(std::string, path, "")                                   \
  X(std::string, model_dir, "models")                        \
  X(std::optional<double>, wd, std::nullopt)                 \
  X(bool, wd_bn_bias, false)                                 \
  X(bool, train_bn, true)                                    \
  X(std::vector<double>, moms, {0.95, 0.85, 0.95})           \
  X(bool, default_cbs, true)

/// Declares one field of an options struct from a field list: `type name = default;`.
#define FASTAI_DECLARE_OPTION(type, name, ...) type name = __VA_ARGS__;

/// fastai's Learner keyword arguments (the list above), and how to rebuild the model.
struct LearnerOptions {
  FASTAI_LEARNER_OPTION_FIELDS(FASTAI_DECLARE_OPTION)
  /// How to rebuild the model ({"kind": ..., constructor arguments}), for export_to / load_learner:
  /// set by the application learners (vision_learner, ...); see register_model_builder.
  nlohmann::json model_spec = nullptr;
};

/// The LearnerOptions of an application's learner options struct (its FASTAI_LEARNER_OPTION_FIELDS
/// part), with the application's splitter where the user gave none, and its model spec.
template <class O>
LearnerOptions learner_options_of(const O& o, ParamSplitter app_splitter = {}, nlohmann::json model_spec = nullptr) {
  LearnerOptions r;
#define FASTAI_COPY_LEARNER_OPTION(type, name, ...) r.name = o.name;
  FASTAI_LEARNER_OPTION_FIELDS(FASTAI_COPY_LEARNER_OPTION)
#undef FASTAI_COPY_LEARNER_OPTION
  if (!r.splitter) r.splitter = std::move(app_splitter);
  r.model_spec = std::move(model_spec);
  return r;
}

}  // namespace fastai
