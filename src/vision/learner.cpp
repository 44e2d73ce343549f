// vision_learner: body + create_head with fastai's model_meta (see fastai/vision/learner.h).
#include "fastai/learner/export.h"
#include "fastai/vision/learner.h"

#include "fastai/core/error.h"
#include "fastai/io/state_dict_io.h"
#include "fastai/core/transforms.h"
#include "fastai/data/tfmd_dl.h"
#include "fastai/layers/create_head.h"
#include "fastai/layers/init.h"

#include <torch/nn/modules/conv.h>

#include <cstdlib>
#include <torch/torch.h>

namespace fastai {

namespace vision_learner_detail {

int64_t resolve_cut(int64_t cut, int64_t n_children, const char* arch) {
  int64_t c = cut < 0 ? n_children + cut : cut;
  FA_CHECK(c > 0 && c <= n_children, "create_body(", arch, "): cut ", cut, " keeps no layer of the ", n_children,
           " children");
  return c;
}

std::vector<at::Tensor> params_of(const std::vector<std::shared_ptr<torch::nn::Module>>& mods) {
  std::vector<at::Tensor> out;
  for (const auto& m : mods)
    for (auto& p : m->parameters()) out.push_back(p);
  return out;
}

// The architectures vision_learner knows by name (what model_spec records).
struct Arch {
  const char* name;
  ResNet (*resnet)(int64_t);
  XResNet (*xresnet)(XResNetOptions);
};
const std::vector<Arch>& archs() {
  static const std::vector<Arch> a = {
      {"resnet18", resnet18, nullptr},   {"resnet34", resnet34, nullptr},   {"resnet50", resnet50, nullptr},
      {"resnet101", resnet101, nullptr}, {"resnet152", resnet152, nullptr}, {"xresnet18", nullptr, xresnet18},
      {"xresnet34", nullptr, xresnet34}, {"xresnet50", nullptr, xresnet50}, {"xresnet101", nullptr, xresnet101},
      {"xresnet152", nullptr, xresnet152},
      {"xresnet18_deep", nullptr, xresnet18_deep}, {"xresnet34_deep", nullptr, xresnet34_deep},
      {"xresnet50_deep", nullptr, xresnet50_deep}, {"xresnet18_deeper", nullptr, xresnet18_deeper},
      {"xresnet34_deeper", nullptr, xresnet34_deeper}, {"xresnet50_deeper", nullptr, xresnet50_deeper},
      {"xse_resnet18", nullptr, xse_resnet18}, {"xse_resnet34", nullptr, xse_resnet34},
      {"xse_resnet50", nullptr, xse_resnet50}, {"xse_resnet101", nullptr, xse_resnet101},
      {"xse_resnet152", nullptr, xse_resnet152}, {"xresnext18", nullptr, xresnext18},
      {"xresnext34", nullptr, xresnext34}, {"xresnext50", nullptr, xresnext50},
      {"xresnext101", nullptr, xresnext101}, {"xresnext152", nullptr, xresnext152},
      {"xse_resnext18", nullptr, xse_resnext18}, {"xse_resnext34", nullptr, xse_resnext34},
      {"xse_resnext50", nullptr, xse_resnext50}, {"xse_resnext101", nullptr, xse_resnext101},
      {"xse_resnext152", nullptr, xse_resnext152}, {"xsenet154", nullptr, xsenet154}};
  return a;
}
const Arch& arch_named(const std::string& name) {
  for (const auto& a : archs()) if (name == a.name) return a;
  std::string known;
  for (const auto& a : archs()) {
    if (!known.empty()) known += ", ";
    known += a.name;
  }
  fail("vision model: unknown architecture '", name, "' (known: ", known, ")");
}

// The spec load_learner rebuilds the model from (null for an architecture not known by name).
nlohmann::json spec_of(const std::string& arch, int64_t n_out, const VisionLearnerOptions& o) {
  if (arch.empty()) return nullptr;
  return {{"kind", "VisionModel"}, {"arch", arch}, {"n_out", n_out}, {"n_in", o.n_in},
          {"cut", o.cut ? nlohmann::json(*o.cut) : nlohmann::json()},
          {"lin_ftrs", o.lin_ftrs}, {"ps", o.ps}, {"concat_pool", o.concat_pool}, {"first_bn", o.first_bn},
          {"bn_final", o.bn_final}, {"lin_first", o.lin_first},
          {"y_range", o.y_range ? nlohmann::json{o.y_range->first, o.y_range->second} : nlohmann::json()}};
}

VisionModel model_of(torch::nn::Sequential body, int64_t n_out, int64_t n_in, const VisionLearnerOptions& o) {
  int64_t nf = num_features_model(body, n_in);  // create_head doubles it for concat_pool
  auto head = create_head(nf, n_out,
                          {.lin_ftrs = o.lin_ftrs, .ps = o.ps, .pool = true, .concat_pool = o.concat_pool,
                           .first_bn = o.first_bn, .bn_final = o.bn_final, .lin_first = o.lin_first,
                           .y_range = o.y_range});
  if (o.init) apply_init(*head, kaiming_normal_init);
  return VisionModel(std::move(body), std::move(head));
}

Learner make_learner(const DataLoaders& dls, torch::nn::Sequential body, const std::string& arch, const ModelMeta& meta,
                     const VisionLearnerOptions& o) {
  std::optional<int64_t> c = o.n_out;
  if (!c) c = dls.c();
  FA_CHECK(c && *c > 0, "vision_learner: n_out is not defined and could not be inferred from the data; pass .n_out");
  if (o.pretrained) {
    FA_CHECK(!arch.empty(), "vision_learner: pretrained weights need an architecture known by name (resnet18..152, "
             "xresnet18..152 and their _deep / _deeper / xse_ / xresnext / xse_resnext variants)");
    load_body_weights(body, arch, o.weights);
    if (o.normalize) add_normalize(dls, imagenet_stats);
  }
  VisionModel model = model_of(std::move(body), *c, o.n_in, o);
  LearnerOptions lo = learner_options_of(o, vision_splitter(meta.split_at));
  lo.model_spec = spec_of(arch, *c, o);
  Learner learn(dls, Model(model), std::move(lo));
  if (o.pretrained) learn.freeze();
  return learn;
}

void check_options(const VisionLearnerOptions& o) {
  FA_CHECK(!o.pretrained || !o.weights.empty(), "vision_learner: pretrained=true needs .weights, the path of a .pth "
           "or .safetensors file with the architecture's weights (nothing can be downloaded here)");
  FA_CHECK(o.pretrained || o.weights.empty(), "vision_learner: .weights is set but pretrained is false; set "
           ".pretrained = true to load them");
  FA_CHECK(o.n_in >= 1, "vision_learner: n_in must be at least 1, got ", o.n_in);
}

// A weight name of the architecture's state dict -> its name in the body ("": not in the body).
std::string body_name(const std::string& key, bool resnet) {
  if (!resnet) return key;  // xresnet: the body keeps the arch's first children under their indices
  static const std::vector<std::pair<std::string, std::string>> map = {
      {"conv1.", "0."}, {"bn1.", "1."}, {"layer1.", "4."}, {"layer2.", "5."}, {"layer3.", "6."}, {"layer4.", "7."}};
  for (const auto& [from, to] : map)
    if (key.rfind(from, 0) == 0) return to + key.substr(from.size());
  return "";
}

// fastai _load_pretrained_weights: a 3-channel first conv for n_in channels (summed for 1, else
// channels repeated and scaled by 3 / n_in).
at::Tensor adapt_first_conv(const at::Tensor& w, int64_t n_in) {
  if (n_in == 1) return w.sum(1, /*keepdim=*/true);
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < n_in; ++i) idx.push_back(i % 3);
  return w.index_select(1, at::tensor(idx, at::kLong)) * (3.0 / static_cast<double>(n_in));
}

}  // namespace vision_learner_detail

ModelMeta resnet_meta() { return {.name = "resnet", .cut = -2, .split_at = 6}; }
ModelMeta xresnet_meta() { return {.name = "xresnet", .cut = -4, .split_at = 3}; }

VisionModelImpl::VisionModelImpl(torch::nn::Sequential b, torch::nn::Sequential h)
    : body(register_module("0", std::move(b))), head(register_module("1", std::move(h))) {}

at::Tensor VisionModelImpl::forward(const at::Tensor& x) { return head->forward(body->forward(x)); }

int64_t num_features_model(torch::nn::Sequential& body, int64_t n_in) {
  torch::NoGradGuard ng;
  bool was_training = body->is_training();
  body->eval();
  auto p = body->parameters();
  auto opts = p.empty() ? at::TensorOptions().dtype(at::kFloat) : p[0].options();
  at::Tensor y = body->forward(torch::zeros({1, n_in, 64, 64}, opts));
  body->train(was_training);
  return y.size(1);
}

ParamSplitter vision_splitter(int64_t split_at) {
  return [split_at](torch::nn::Module& m) -> ParamList {
    auto* vm = dynamic_cast<VisionModelImpl*>(&m);
    FA_CHECK(vm != nullptr, "vision_splitter: the model is not a VisionModel (body, head)");
    auto kids = vm->body->children();
    auto at = std::min<size_t>(static_cast<size_t>(split_at), kids.size());
    std::vector<std::shared_ptr<torch::nn::Module>> a(kids.begin(), kids.begin() + static_cast<std::ptrdiff_t>(at));
    std::vector<std::shared_ptr<torch::nn::Module>> b(kids.begin() + static_cast<std::ptrdiff_t>(at), kids.end());
    return {vision_learner_detail::params_of(a), vision_learner_detail::params_of(b), vm->head->parameters()};
  };
}

torch::nn::Sequential create_body(ResNet arch, std::optional<int64_t> cut, int64_t n_in) {
  auto& r = *arch;
  torch::nn::Conv2d conv1 = r.conv1;
  if (n_in != 3) {  // fastai _update_first_layer without pretrained weights: a fresh conv
    conv1 = torch::nn::Conv2d(torch::nn::Conv2dOptions(n_in, r.conv1->options.out_channels(), 7)
                                  .stride(2).padding(3).bias(false));
    torch::NoGradGuard ng;
    torch::nn::init::kaiming_normal_(conv1->weight, 0., torch::kFanOut, torch::kReLU);
  }
  // layer1..4 are Sequentials (templated forward): re-wrap their blocks (shared) in XResNetStages.
  auto stage = [](const torch::nn::Sequential& layer) {
    XResNetStage st;
    size_t i = 0;
    for (const auto& m : *layer) st->push_back(std::to_string(i++), m);
    return st;
  };
  torch::nn::Sequential all(conv1, r.bn1, r.relu, r.maxpool, stage(r.layer1), stage(r.layer2), stage(r.layer3),
                            stage(r.layer4));
  // ResNet's children are these 8 then avgpool and fc: the cut counts from the 10.
  int64_t c = vision_learner_detail::resolve_cut(cut.value_or(resnet_meta().cut), 10, "resnet");
  FA_CHECK(c <= 8, "create_body(resnet): cut ", *cut, " would keep the pooling / fc layers; use a cut of at most 8");
  torch::nn::Sequential body;
  auto it = all->begin();
  for (int64_t i = 0; i < c; ++i, ++it) body->push_back(std::to_string(i), *it);
  return body;
}

torch::nn::Sequential create_body(XResNet arch, std::optional<int64_t> cut, int64_t n_in) {
  FA_CHECK(arch->c_in == n_in, "create_body(xresnet): the architecture takes ", arch->c_in,
           " channels, n_in is ", n_in);
  auto n = static_cast<int64_t>(arch->size());
  int64_t c = vision_learner_detail::resolve_cut(cut.value_or(xresnet_meta().cut), n, "xresnet");
  torch::nn::Sequential body;
  auto it = arch->begin();
  for (int64_t i = 0; i < c; ++i, ++it) body->push_back(std::to_string(i), *it);
  return body;
}

Learner vision_learner(const DataLoaders& dls, ResNet (*arch)(int64_t), VisionLearnerOptions o) {
  vision_learner_detail::check_options(o);
  auto body = create_body(arch(1000), o.cut, o.n_in);
  return vision_learner_detail::make_learner(dls, std::move(body), arch_name(arch),
                                             resnet_meta(), o);
}

Learner vision_learner(const DataLoaders& dls, XResNet (*arch)(XResNetOptions), VisionLearnerOptions o) {
  vision_learner_detail::check_options(o);
  auto body = create_body(arch({.c_in = o.n_in}), o.cut, o.n_in);
  return vision_learner_detail::make_learner(dls, std::move(body), arch_name(arch),
                                             xresnet_meta(), o);
}

void load_body_weights(torch::nn::Sequential& body, const std::string& arch_name, const std::string& weights) {
  const bool resnet = vision_learner_detail::arch_named(arch_name).resnet != nullptr;
  const StateDict sd = load_weights(weights);
  FA_CHECK(!sd.empty(), "vision_learner: the weights file ", weights, " holds no tensor");
  bool own = true;  // a vision model's own state dict: "0.*" body, "1.*" head
  for (const auto& [k, t] : sd) own = own && (k.rfind("0.", 0) == 0 || k.rfind("1.", 0) == 0);
  const auto targets = state_dict_map(state_dict(*body));
  StateDict mapped;
  for (const auto& [k, t] : sd) {
    const std::string name =
        own ? (k.rfind("0.", 0) == 0 ? k.substr(2) : std::string()) : vision_learner_detail::body_name(k, resnet);
    if (name.empty()) continue;  // fc, or the head of a vision model
    auto it = targets.find(name);
    if (it == targets.end()) {
      // Past the cut (a child the body does not keep) is fine; inside the body it is another architecture.
      const auto child = std::strtol(name.substr(0, name.find('.')).c_str(), nullptr, 10);
      FA_CHECK(child >= static_cast<long>(body->size()), "vision_learner: weight '", k, "' in ", weights,
               " has no place in the ", arch_name, " body (no '", name, "'): are these weights of another architecture?");
      continue;
    }
    const at::Tensor& want = it->second;
    at::Tensor v = t;
    if (v.dim() == 4 && want.dim() == 4 && v.size(1) == 3 && want.size(1) != 3 && v.size(0) == want.size(0))
      v = vision_learner_detail::adapt_first_conv(v, want.size(1));
    FA_CHECK(v.sizes() == want.sizes(), "vision_learner: weight '", k, "' in ", weights, " has shape ", v.sizes(),
             " but the ", arch_name, " body's '", name, "' is ", want.sizes());
    mapped.emplace_back(name, v);
  }
  auto r = load_state_dict(*body, mapped, {.strict = false});
  if (!r.missing_keys.empty()) {
    std::string few;
    for (size_t i = 0; i < std::min<size_t>(5, r.missing_keys.size()); ++i) {
      if (i) few += ", ";
      few += r.missing_keys[i];
    }
    fail("vision_learner: ", weights, " lacks ", r.missing_keys.size(), " weight(s) of the ", arch_name, " body (",
         few, "); expected ",
         own ? "a vision model's state dict (\"0.*\" body entries)"
             : (resnet ? "torchvision's resnet names (conv1, bn1, layer1..4)" : "fastai's xresnet names (0.0.weight...)"));
  }
}

std::string arch_name(ResNet (*arch)(int64_t)) {
  for (const auto& a : vision_learner_detail::archs()) if (a.resnet == arch) return a.name;
  return "";
}
std::string arch_name(XResNet (*arch)(XResNetOptions)) {
  for (const auto& a : vision_learner_detail::archs()) if (a.xresnet == arch) return a.name;
  return "";
}

torch::nn::Sequential arch_body(const std::string& name, std::optional<int64_t> cut, int64_t n_in) {
  const auto& a = vision_learner_detail::arch_named(name);
  return a.resnet ? create_body(a.resnet(1000), cut, n_in) : create_body(a.xresnet({.c_in = n_in}), cut, n_in);
}

void add_normalize(const DataLoaders& dls, const Stats& stats) {
  for (size_t i = 0; i < dls.n_loaders(); ++i) {
    auto dl = std::dynamic_pointer_cast<TfmdDL>(dls[i]);
    if (!dl) continue;
    bool has = false;
    for (const auto& t : dl->after_batch().transforms()) has = has || t->name() == "Normalize";
    if (!has) dl->after_batch().add(Normalize::from_stats(stats));
  }
}

void register_vision_models() {
  static const bool done = [] {
    register_model_builder("VisionModel", [](const nlohmann::json& spec) -> Model {
      VisionLearnerOptions o;
      o.n_in = spec.at("n_in").get<int64_t>();
      if (!spec.at("cut").is_null()) o.cut = spec.at("cut").get<int64_t>();
      o.lin_ftrs = spec.at("lin_ftrs").get<std::vector<int64_t>>();
      o.ps = spec.at("ps").get<std::vector<double>>();
      o.concat_pool = spec.at("concat_pool").get<bool>();
      o.first_bn = spec.at("first_bn").get<bool>();
      o.bn_final = spec.at("bn_final").get<bool>();
      o.lin_first = spec.at("lin_first").get<bool>();
      if (!spec.at("y_range").is_null())
        o.y_range = std::pair{spec.at("y_range").at(0).get<double>(), spec.at("y_range").at(1).get<double>()};
      o.init = false;  // the weights are loaded next
      auto body = arch_body(spec.at("arch").get<std::string>(), o.cut, o.n_in);
      return Model(vision_learner_detail::model_of(std::move(body), spec.at("n_out").get<int64_t>(), o.n_in, o));
    });
    return true;
  }();
  (void)done;
}

}  // namespace fastai
