// vision_learner: body + create_head with fastai's model_meta (see fastai/vision/learner.h).
#include "fastai/vision/learner.h"

#include "fastai/core/error.h"
#include "fastai/layers/create_head.h"
#include "fastai/layers/init.h"

#include <torch/nn/modules/conv.h>
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

Learner make_learner(const DataLoaders& dls, torch::nn::Sequential body, const ModelMeta& meta,
                     const VisionLearnerOptions& o) {
  std::optional<int64_t> c = o.n_out;
  if (!c) c = dls.c();
  FA_CHECK(c && *c > 0, "vision_learner: n_out is not defined and could not be inferred from the data; pass .n_out");
  int64_t nf = num_features_model(body, o.n_in);  // create_head doubles it for concat_pool
  auto head = create_head(nf, *c,
                          {.lin_ftrs = o.lin_ftrs, .ps = o.ps, .pool = true, .concat_pool = o.concat_pool,
                           .first_bn = o.first_bn, .bn_final = o.bn_final, .lin_first = o.lin_first,
                           .y_range = o.y_range});
  if (o.init) apply_init(*head, kaiming_normal_init);
  VisionModel model(std::move(body), std::move(head));
  return Learner(dls, Model(model), learner_options_of(o, vision_splitter(meta.split_at)));
}

void check_options(const VisionLearnerOptions& o) {
  FA_CHECK(!o.pretrained, "vision_learner: pretrained=true needs downloaded weights, which are not available "
           "here; build with pretrained=false and load weights into learn.model");
  FA_CHECK(o.n_in >= 1, "vision_learner: n_in must be at least 1, got ", o.n_in);
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
  return vision_learner_detail::make_learner(dls, std::move(body), resnet_meta(), o);
}

Learner vision_learner(const DataLoaders& dls, XResNet (*arch)(XResNetOptions), VisionLearnerOptions o) {
  vision_learner_detail::check_options(o);
  auto body = create_body(arch({.c_in = o.n_in}), o.cut, o.n_in);
  return vision_learner_detail::make_learner(dls, std::move(body), xresnet_meta(), o);
}

}  // namespace fastai
