// Learner::export_to / load_learner (fastai learn.export / load_learner), the model-builder
// registry they rebuild models with, and predict on a raw item. The export is a LibTorch archive:
// "model.<name>" entries (parameters and buffers, as Learner::save writes them) and
// "fastai.export", the JSON of the model spec, the loss and the loaders' inference state, as bytes.
#include "fastai/learner/export.h"
#include "fastai/core/error.h"
#include "fastai/core/files.h"
#include "fastai/data/tfmd_dl.h"
#include "fastai/learner/export_file.h"
#include "fastai/learner/learner.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/module.h>
#include <torch/serialize.h>

#include <map>
#include <mutex>
#include <utility>

namespace fastai {

namespace learner_export_detail {

constexpr const char* kFormat = "fastai-cpp learner";
constexpr int kVersion = 1;

struct Registry {
  std::mutex mu;
  std::map<std::string, ModelBuilder> builders;
};
Registry& registry() {
  static Registry r;
  return r;
}

// A decoded prediction tensor wrapped in the semantic type the target pipeline decodes from.
Item as_type(const std::string& type_name, at::Tensor t) {
  if (type_name == "TensorCategory") return TensorCategory(std::move(t));
  if (type_name == "TensorMultiCategory") return TensorMultiCategory(std::move(t));
  if (type_name == "TensorMask") return TensorMask(std::move(t));
  if (type_name == "TensorFloat") return TensorFloat(std::move(t));
  if (type_name == "TensorImage") return TensorImage(std::move(t));
  if (type_name == "TensorImageBW") return TensorImageBW(std::move(t));
  if (type_name == "TensorPoint") return TensorPoint(std::move(t));
  if (type_name == "TensorBBox") return TensorBBox(std::move(t));
  return t;
}

}  // namespace learner_export_detail

void register_model_builder(const std::string& kind, ModelBuilder f) {
  FA_CHECK(!kind.empty() && f, "register_model_builder: needs a kind name and a builder");
  auto& r = learner_export_detail::registry();
  std::lock_guard<std::mutex> lk(r.mu);
  r.builders[kind] = std::move(f);
}

Model build_model(const nlohmann::json& spec) {
  FA_CHECK(spec.is_object() && spec.contains("kind") && spec.at("kind").is_string(),
           "build_model: the model spec has no 'kind' string: ", spec.dump().substr(0, 200));
  const std::string kind = spec.at("kind");
  ModelBuilder f;
  std::string known;
  {
    auto& r = learner_export_detail::registry();
    std::lock_guard<std::mutex> lk(r.mu);
    if (auto it = r.builders.find(kind); it != r.builders.end()) f = it->second;
    for (const auto& [k, b] : r.builders) known += (known.empty() ? "" : ", ") + k;
  }
  FA_CHECK(f != nullptr, "build_model: no builder for model kind '", kind, "' (registered: ",
           known.empty() ? std::string("none") : known,
           "); link the application that makes it (e.g. include fastai/vision.h for VisionModel)");
  try {
    return f(spec);
  } catch (const nlohmann::json::exception& e) {
    fail("build_model: the '", kind, "' spec is malformed: ", e.what(), " in ", spec.dump().substr(0, 200));
  }
}

std::filesystem::path Learner::export_to(const std::filesystem::path& file) {
  FA_CHECK(!model_spec.is_null(), "export_to: this learner has no model_spec (its model was not built by an "
           "application learner such as vision_learner, nor loaded with load_learner), so a program without the "
           "training code could not rebuild it; set learn.model_spec and register_model_builder for its kind");
  const auto dst = file.is_absolute() ? file : path / file;
  nlohmann::json meta = {{"format", learner_export_detail::kFormat},
                         {"version", learner_export_detail::kVersion},
                         {"model", model_spec},
                         {"loss", loss_func.name},
                         {"loss_params", loss_func.params},
                         {"target_type", dls.target_type()},
                         {"dls", dls.inference_state()}};
  write_export_file(dst, meta, *model.module);
  return dst;
}

Learner load_learner(const std::filesystem::path& file, std::optional<c10::Device> device) {
  namespace d = learner_export_detail;
  ExportFile f = read_export_file(file, "", 0, "load_learner");
  const nlohmann::json& meta = f.meta;
  // A tabular export has its own format: say so instead of "another format".
  FA_CHECK(meta.value("format", "") != "fastai-cpp tabular learner", "load_learner: ", file,
           " is a tabular export: read it with load_tabular_learner");
  check_export_format(f, file, d::kFormat, d::kVersion, "load_learner");
  const c10::Device dev = device.value_or(c10::Device(c10::kCPU));
  DataLoaders dls;
  try {
    dls = DataLoaders::from_inference_state(meta.at("dls"), dev);
  } catch (const Error& e) {
    fail("load_learner: ", file, ": ", e.what());
  }
  const nlohmann::json& spec = meta.at("model");
  Model model = build_model(spec);
  load_export_weights(f, *model.module, file, "load_learner");
  model.module->to(dev);
  LossFunc loss;
  try {
    loss = loss_from_hint(LossHint{meta.value("loss", ""), meta.value("loss_params", nlohmann::json::object())});
  } catch (const Error&) {  // a user's own loss: predictions only need the target's activation
    auto hint = dls.loss_hint();
    FA_CHECK(hint.has_value(), "load_learner: ", file, " was exported with the loss '", meta.value("loss", ""),
             "', which cannot be rebuilt, and its targets imply none");
    loss = loss_from_hint(*hint);
  }
  dls.set_target_type(meta.value("target_type", ""));
  return Learner(std::move(dls), std::move(model),
                 LearnerOptions{.loss_func = loss, .default_cbs = false, .model_spec = spec});
}

ItemPrediction Learner::predict(const Item& raw) {
  auto tdl = dls.test_dl({raw}, /*with_labels=*/false, /*bs=*/1);
  const int n_inp = tdl->n_inp();
  Tuple b;
  tdl->begin_epoch();
  FA_CHECK(tdl->next_batch(b), "predict: the test loader made no batch from the item");
  Batch t = batch_tensors(b);
  std::vector<at::Tensor> xs(t.begin(), t.begin() + std::min<std::ptrdiff_t>(n_inp, static_cast<std::ptrdiff_t>(t.size())));
  at::Tensor out;
  {
    torch::NoGradGuard no_grad;
    model.module->to(dls.device());
    const bool was_training = model.module->is_training();
    model.module->eval();
    try {
      out = model(xs);
    } catch (const c10::Error& e) {
      model.module->train(was_training);
      fail("predict: the model failed on the item ", describe(raw), ": ", e.what_without_backtrace());
    }
    model.module->train(was_training);
  }
  at::Tensor probs = loss_func.activation ? loss_func.activation(out) : out;
  at::Tensor dec = loss_func.decodes ? loss_func.decodes(probs) : probs;
  ItemPrediction p;
  p.probs = probs.squeeze(0).cpu();
  p.pred = dec.squeeze(0).cpu();
  // Back through the target's pipeline (the full validation dataset's, which knows the target).
  auto v = dls.tfmd(dls.n_loaders() > 1 ? 1 : 0);
  const std::string& type = dls.target_type();
  Tuple with_pred(b.begin(), b.begin() + n_inp);
  with_pred.push_back(learner_export_detail::as_type(type, dec));
  auto decoded = v->decode_batch(with_pred, 1);
  if (!decoded.empty() && static_cast<int>(decoded[0].size()) > n_inp)
    p.label = show_text(decoded[0][static_cast<size_t>(n_inp)]);
  return p;
}

void write_export_file(const std::filesystem::path& file, const nlohmann::json& meta, torch::nn::Module& m) {
  const std::string text = meta.dump();
  torch::serialize::OutputArchive ar;
  ar.write("fastai.export", at::tensor(std::vector<uint8_t>(text.begin(), text.end()), at::kByte));
  for (auto& p : m.named_parameters()) ar.write("model." + p.key(), p.value().detach().cpu());
  for (auto& b : m.named_buffers()) ar.write("model." + b.key(), b.value().cpu(), /*is_buffer=*/true);
  atomic_write(file, [&](const std::filesystem::path& tmp) { ar.save_to(tmp.string()); });
}

ExportFile read_export_file(const std::filesystem::path& file, const std::string& format, int version,
                            const std::string& who) {
  FA_CHECK(std::filesystem::exists(file), who, ": no file ", file, " (export_to writes it)");
  ExportFile f;
  try {
    f.archive.load_from(file.string());
  } catch (const c10::Error& e) {
    fail(who, ": cannot read ", file, " as an export: ", e.what_without_backtrace());
  }
  at::Tensor bytes;
  FA_CHECK(f.archive.try_read("fastai.export", bytes), who, ": ", file,
           " has no 'fastai.export' entry: it is not a file written by export_to");
  bytes = bytes.contiguous();
  const std::string text(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), static_cast<size_t>(bytes.numel()));
  try {
    f.meta = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(who, ": the metadata in ", file, " is not valid JSON: ", e.what());
  }
  FA_CHECK(f.meta.is_object(), who, ": the metadata in ", file, " is not a JSON object");
  if (!format.empty()) check_export_format(f, file, format, version, who);
  return f;
}

void check_export_format(const ExportFile& f, const std::filesystem::path& file, const std::string& format, int version,
                         const std::string& who) {
  FA_CHECK(f.meta.value("format", "") == format && f.meta.value("version", 0) == version, who, ": ", file,
           " is not a version-", version, " '", format, "' export (format '", f.meta.value("format", ""),
           "', version ", f.meta.value("version", 0), ")");
}

void load_export_weights(ExportFile& f, torch::nn::Module& m, const std::filesystem::path& file, const std::string& who) {
  torch::NoGradGuard no_grad;
  auto read = [&](const std::string& key, at::Tensor& dst, bool buffer) {
    at::Tensor t;
    FA_CHECK(f.archive.try_read("model." + key, t, buffer), who, ": ", file, " has no entry 'model.", key,
             "' that the model needs");
    FA_CHECK(t.sizes() == dst.sizes(), who, ": entry 'model.", key, "' in ", file, " has shape ", t.sizes(),
             " but the model's is ", dst.sizes());
    dst.copy_(t);
  };
  for (auto& p : m.named_parameters()) read(p.key(), p.value(), false);
  for (auto& b : m.named_buffers()) read(b.key(), b.value(), true);
}

}  // namespace fastai
