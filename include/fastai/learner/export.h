// Rebuilding models from their spec, and load_learner (fastai's load_learner): the reading side of
// Learner::export_to.
#pragma once
#include "fastai/learner/learner.h"
#include "fastai/learner/model.h"

#include <c10/core/Device.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace fastai {

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

}  // namespace fastai
