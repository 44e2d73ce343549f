// TabularLearner::export_to / load_tabular_learner (fastai learn.export / load_learner) and the
// model specs they rebuild models from. The file is a LibTorch archive: "model.<name>" entries
// (parameters and buffers, as Learner::save writes them) and "fastai.export", the JSON of the
// data's state and the model spec as bytes.
#include "fastai/core/error.h"
#include "fastai/core/files.h"
#include "fastai/learner/export_file.h"
#include "fastai/layers/embedding_dot_bias.h"
#include "fastai/tabular/learner.h"

#include <ATen/ATen.h>
#include <torch/serialize.h>

namespace fastai {

namespace {

constexpr const char* kFormat = "fastai-cpp tabular learner";
constexpr int kVersion = 1;

std::optional<std::pair<double, double>> y_range_of(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  return std::pair{j.at(0).get<double>(), j.at(1).get<double>()};
}

}  // namespace

nlohmann::json tabular_model_spec(const std::vector<EmbSz>& emb_szs, int64_t n_cont, int64_t out_sz,
                                  const std::vector<int64_t>& layers, const TabularModelOptions& o) {
  nlohmann::json embs = nlohmann::json::array();
  for (const auto& e : emb_szs) embs.push_back({e.n_cat, e.size});
  return {{"kind", "TabularModel"}, {"emb_szs", embs}, {"n_cont", n_cont}, {"out_sz", out_sz}, {"layers", layers},
          {"ps", o.ps}, {"embed_p", o.embed_p},
          {"y_range", o.y_range ? nlohmann::json{o.y_range->first, o.y_range->second} : nlohmann::json()},
          {"use_bn", o.use_bn}, {"bn_final", o.bn_final}, {"bn_cont", o.bn_cont}, {"lin_first", o.lin_first}};
}

Model model_from_spec(const nlohmann::json& spec) {
  try {
    const std::string kind = spec.at("kind");
    if (kind == "TabularModel") {
      std::vector<EmbSz> embs;
      for (const auto& e : spec.at("emb_szs")) embs.push_back({e.at(0).get<int64_t>(), e.at(1).get<int64_t>()});
      TabularModelOptions o{.ps = spec.at("ps").get<std::vector<double>>(), .embed_p = spec.at("embed_p"),
                            .y_range = y_range_of(spec.at("y_range")), .use_bn = spec.at("use_bn"),
                            .bn_final = spec.at("bn_final"), .bn_cont = spec.at("bn_cont"),
                            .lin_first = spec.at("lin_first")};
      return TabularModel(embs, spec.at("n_cont").get<int64_t>(), spec.at("out_sz").get<int64_t>(),
                          spec.at("layers").get<std::vector<int64_t>>(), o);
    }
    if (kind == "EmbeddingDotBias")
      return EmbeddingDotBias(spec.at("n_factors").get<int64_t>(), spec.at("n_users").get<int64_t>(),
                              spec.at("n_items").get<int64_t>(), {.y_range = y_range_of(spec.at("y_range"))});
    fail("model spec: unknown model kind '", kind, "' (known: TabularModel, EmbeddingDotBias)");
  } catch (const nlohmann::json::exception& e) {
    fail("model spec: ", e.what(), " in ", spec.dump().substr(0, 200));
  }
}

std::filesystem::path TabularLearner::export_to(const std::filesystem::path& file) {
  FA_CHECK(!spec_.is_null(), "export_to: this learner has no model spec (it was not made by tabular_learner or "
           "collab_learner, nor loaded from an export), so its model could not be rebuilt");
  const auto dst = file.is_absolute() ? file : path / file;
  nlohmann::json meta = {{"format", kFormat}, {"version", kVersion}, {"to", to_->state()}, {"model", spec_},
                         {"loss", loss_func.name}, {"with_cont", with_cont_}};
  write_export_file(dst, meta, *model.module);
  return dst;
}

TabularLearner load_tabular_learner(const std::filesystem::path& file, std::optional<c10::Device> device) {
  ExportFile f = read_export_file(file, kFormat, kVersion, "load_tabular_learner");
  const nlohmann::json& meta = f.meta;
  auto to = std::make_shared<TabularPandas>(TabularPandas::from_state(meta.at("to")));
  auto dls = TabularDataLoaders::for_inference(to, meta.at("with_cont").get<bool>(), device);
  const nlohmann::json& spec = meta.at("model");
  LossFunc loss;
  try {
    loss = loss_from_hint(LossHint{meta.at("loss").get<std::string>()});
  } catch (const Error&) {  // a user's own loss: predictions only need the target's activation
    loss = loss_from_hint(*dls.loss_hint());
  }
  Model model = model_from_spec(spec);
  load_export_weights(f, *model.module, file, "load_tabular_learner");
  model.module->to(dls.device());
  return TabularLearner(dls, std::move(model), LearnerOptions{.loss_func = loss, .default_cbs = false}, spec);
}

}  // namespace fastai
