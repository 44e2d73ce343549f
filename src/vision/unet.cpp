// unet_learner / create_unet_model (see fastai/vision/unet.h).
#include "fastai/learner/export.h"
#include "fastai/vision/unet.h"

#include "fastai/core/error.h"
#include "fastai/core/transforms.h"

namespace fastai {

namespace unet_learner_detail {

void check_options(const UnetLearnerOptions& o) {
  FA_CHECK(!o.pretrained || !o.weights.empty(), "unet_learner: pretrained=true needs .weights, the path of a .pth or "
           ".safetensors file with the architecture's weights (nothing can be downloaded here)");
  FA_CHECK(o.pretrained || o.weights.empty(), "unet_learner: .weights is set but pretrained is false; set "
           ".pretrained = true to load them");
  FA_CHECK(o.n_in >= 1, "unet_learner: n_in must be at least 1, got ", o.n_in);
}

// The spec load_learner rebuilds the U-Net from; null when it cannot (an arch or act of the user's own).
nlohmann::json spec_of(const std::string& arch, int64_t n_out, std::pair<int64_t, int64_t> sz,
                       const UnetLearnerOptions& o) {
  if (arch.empty() || o.act.is_empty() || o.act.ptr()->name() != torch::nn::ReLU()->name()) return nullptr;
  return {{"kind", "DynamicUnet"}, {"arch", arch}, {"n_out", n_out}, {"img_size", {sz.first, sz.second}},
          {"n_in", o.n_in}, {"cut", o.cut ? nlohmann::json(*o.cut) : nlohmann::json()}, {"blur", o.blur},
          {"blur_final", o.blur_final}, {"self_attention", o.self_attention},
          {"y_range", o.y_range ? nlohmann::json{o.y_range->first, o.y_range->second} : nlohmann::json()},
          {"last_cross", o.last_cross}, {"bottle", o.bottle},
          {"norm_type", o.norm_type ? nlohmann::json(static_cast<int>(*o.norm_type)) : nlohmann::json()}};
}

std::vector<at::Tensor> params_of(const std::vector<std::shared_ptr<torch::nn::Module>>& mods) {
  std::vector<at::Tensor> out;
  for (const auto& m : mods)
    for (auto& p : m->parameters()) out.push_back(p);
  return out;
}

std::pair<int64_t, int64_t> img_size_of(const DataLoaders& dls, const UnetLearnerOptions& o) {
  if (o.img_size) return *o.img_size;
  Tuple b = dls.one_batch();
  FA_CHECK(!b.empty(), "unet_learner: image size could not be inferred from the data (empty batch); pass .img_size");
  at::Tensor x = tensor_of(b[0]);
  FA_CHECK(x.dim() == 4, "unet_learner: image size could not be inferred from the data: the batch's input has shape ",
           x.sizes(), ", expected [bs, c, h, w]; pass .img_size");
  return {x.size(2), x.size(3)};
}

Learner make_learner(const DataLoaders& dls, torch::nn::Sequential body, const std::string& arch, int64_t n_out,
                     std::pair<int64_t, int64_t> sz, const ModelMeta& meta, const UnetLearnerOptions& o) {
  if (o.pretrained) {
    load_body_weights(body, arch, o.weights);
    if (o.normalize) add_normalize(dls, imagenet_stats);
  }
  DynamicUnet model(std::move(body), n_out, sz, dynamic_unet_options(o));
  LearnerOptions lo = learner_options_of(o, unet_splitter(meta.split_at));
  lo.model_spec = spec_of(arch, n_out, sz, o);
  Learner learn(dls, Model(model), std::move(lo));
  if (o.pretrained) learn.freeze();
  return learn;
}

int64_t n_out_of(const DataLoaders& dls, const UnetLearnerOptions& o) {
  std::optional<int64_t> c = o.n_out;
  if (!c) c = dls.c();
  FA_CHECK(c && *c > 0, "unet_learner: n_out is not defined and could not be inferred from the data (no codes in the "
           "MaskBlock); pass .n_out or codes");
  return *c;
}

}  // namespace unet_learner_detail

DynamicUnetOptions dynamic_unet_options(const UnetLearnerOptions& o) {
  return DynamicUnetOptions{.blur = o.blur, .blur_final = o.blur_final, .self_attention = o.self_attention,
                            .y_range = o.y_range, .last_cross = o.last_cross, .bottle = o.bottle, .act = o.act,
                            .init = o.init, .norm_type = o.norm_type};
}

DynamicUnet create_unet_model(ResNet (*arch)(int64_t), int64_t n_out, std::pair<int64_t, int64_t> img_size,
                              const UnetLearnerOptions& o) {
  unet_learner_detail::check_options(o);
  return DynamicUnet(create_body(arch(1000), o.cut, o.n_in), n_out, img_size, dynamic_unet_options(o));
}

DynamicUnet create_unet_model(XResNet (*arch)(XResNetOptions), int64_t n_out, std::pair<int64_t, int64_t> img_size,
                              const UnetLearnerOptions& o) {
  unet_learner_detail::check_options(o);
  return DynamicUnet(create_body(arch({.c_in = o.n_in}), o.cut, o.n_in), n_out, img_size, dynamic_unet_options(o));
}

ParamSplitter unet_splitter(int64_t split_at) {
  return [split_at](torch::nn::Module& m) -> ParamList {
    auto* u = dynamic_cast<DynamicUnetImpl*>(&m);
    FA_CHECK(u != nullptr, "unet_splitter: the model is not a DynamicUnet");
    auto kids = u->encoder->children();
    auto at = std::min<size_t>(static_cast<size_t>(split_at), kids.size());
    std::vector<std::shared_ptr<torch::nn::Module>> a(kids.begin(), kids.begin() + static_cast<std::ptrdiff_t>(at));
    std::vector<std::shared_ptr<torch::nn::Module>> b(kids.begin() + static_cast<std::ptrdiff_t>(at), kids.end());
    auto layers = u->layers->children();
    std::vector<std::shared_ptr<torch::nn::Module>> rest(layers.begin() + 1, layers.end());
    return {unet_learner_detail::params_of(a), unet_learner_detail::params_of(b), unet_learner_detail::params_of(rest)};
  };
}

Learner unet_learner(const DataLoaders& dls, ResNet (*arch)(int64_t), UnetLearnerOptions o) {
  unet_learner_detail::check_options(o);
  const int64_t n_out = unet_learner_detail::n_out_of(dls, o);
  const auto sz = unet_learner_detail::img_size_of(dls, o);
  return unet_learner_detail::make_learner(dls, create_body(arch(1000), o.cut, o.n_in), arch_name(arch), n_out, sz,
                                           resnet_meta(), o);
}

Learner unet_learner(const DataLoaders& dls, XResNet (*arch)(XResNetOptions), UnetLearnerOptions o) {
  unet_learner_detail::check_options(o);
  const int64_t n_out = unet_learner_detail::n_out_of(dls, o);
  const auto sz = unet_learner_detail::img_size_of(dls, o);
  return unet_learner_detail::make_learner(dls, create_body(arch({.c_in = o.n_in}), o.cut, o.n_in), arch_name(arch),
                                           n_out, sz, xresnet_meta(), o);
}

void register_unet_models() {
  static const bool done = [] {
    register_model_builder("DynamicUnet", [](const nlohmann::json& spec) -> Model {
      UnetLearnerOptions o;
      o.n_in = spec.at("n_in").get<int64_t>();
      if (!spec.at("cut").is_null()) o.cut = spec.at("cut").get<int64_t>();
      o.blur = spec.at("blur").get<bool>();
      o.blur_final = spec.at("blur_final").get<bool>();
      o.self_attention = spec.at("self_attention").get<bool>();
      if (!spec.at("y_range").is_null())
        o.y_range = std::pair{spec.at("y_range").at(0).get<double>(), spec.at("y_range").at(1).get<double>()};
      o.last_cross = spec.at("last_cross").get<bool>();
      o.bottle = spec.at("bottle").get<bool>();
      if (!spec.at("norm_type").is_null()) o.norm_type = static_cast<NormType>(spec.at("norm_type").get<int>());
      const std::pair<int64_t, int64_t> sz{spec.at("img_size").at(0).get<int64_t>(), spec.at("img_size").at(1).get<int64_t>()};
      auto body = arch_body(spec.at("arch").get<std::string>(), o.cut, o.n_in);
      return Model(DynamicUnet(std::move(body), spec.at("n_out").get<int64_t>(), sz, dynamic_unet_options(o)));
    });
    return true;
  }();
  (void)done;
}

}  // namespace fastai
