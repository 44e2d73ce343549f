// fastai's vision_learner (cnn_learner): a body cut from an architecture (torchvision ResNet or
// fastai XResNet) with fastai's model_meta (cut, splitter), a create_head head sized from a dummy
// forward, and a Learner whose parameter groups are [stem, rest of the body, head], so freeze()
// trains only the head (and BatchNorms) and fine_tune works.
#pragma once
#include "fastai/layers/resnet.h"
#include "fastai/layers/xresnet.h"
#include "fastai/learner/learner.h"

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fastai {

/// fastai's model_meta entry: where to cut the architecture and how to split the model.
struct ModelMeta {
  std::string name;            ///< "resnet" or "xresnet"
  int64_t cut = -2;            ///< children kept: [0, cut) (negative: from the end)
  int64_t split_at = 6;        ///< body[:split_at] is the first parameter group, body[split_at:] the second
};
/// resnet: cut -2, groups [body[:6], body[6:], head]; xresnet: cut -4, [body[:3], body[3:], head].
ModelMeta resnet_meta();
ModelMeta xresnet_meta();

/// The model vision_learner builds (fastai's nn.Sequential(body, head)): children "0" (body) and
/// "1" (head), so parameter names are fastai's ("0.0.weight", "1.2.weight", ...).
class VisionModelImpl : public torch::nn::Module {
 public:
  VisionModelImpl(torch::nn::Sequential body, torch::nn::Sequential head);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Sequential body{nullptr}, head{nullptr};
};
TORCH_MODULE(VisionModel);

/// vision_learner options: the model's (fastai's names and defaults) then the Learner's.
/// `pretrained` must stay false: no weights can be downloaded here (load them into learn.model
/// yourself); so, unlike fastai with pretrained=True, no ImageNet Normalize is added to the
/// loaders and the learner is not frozen.
struct VisionLearnerOptions {
  std::optional<int64_t> n_out = std::nullopt;   ///< default: dls.c()
  bool pretrained = false;
  std::optional<int64_t> cut = std::nullopt;     ///< default: the arch's meta
  int64_t n_in = 3;                              ///< input channels (first conv rebuilt when != 3)
  std::vector<int64_t> lin_ftrs = {512};
  std::vector<double> ps = {0.5};
  bool concat_pool = true;
  bool first_bn = true, bn_final = false, lin_first = false;
  bool init = true;                              ///< apply_init(head, kaiming_normal)
  std::optional<std::pair<double, double>> y_range = std::nullopt;
  // ---- LearnerOptions (splitter: the arch's meta) ----
  LossFunc loss_func = {};
  OptFunc opt_func = Adam;
  double lr = 1e-3;
  std::vector<CallbackRef> cbs = {};
  std::vector<MetricRef> metrics = {};
  std::string path = "";
  std::string model_dir = "models";
  std::optional<double> wd = std::nullopt;
  bool wd_bn_bias = false;
  bool train_bn = true;
  std::vector<double> moms = {0.95, 0.85, 0.95};
  bool default_cbs = true;
};

/// fastai's num_features_model: channels out of `body` on a dummy [1, n_in, 64, 64] batch (eval, no grad).
int64_t num_features_model(torch::nn::Sequential& body, int64_t n_in = 3);
/// The parameter groups [body[:split_at], body[split_at:], head] of a VisionModel.
ParamSplitter vision_splitter(int64_t split_at);

/// The body of an architecture: its children up to `cut` (default the meta's), the first conv
/// with n_in input channels. Error for a cut that keeps nothing.
torch::nn::Sequential create_body(ResNet arch, std::optional<int64_t> cut = std::nullopt, int64_t n_in = 3);
torch::nn::Sequential create_body(XResNet arch, std::optional<int64_t> cut = std::nullopt, int64_t n_in = 3);

/// fastai vision_learner(dls, arch, ...): `arch` is resnet18/34/50/101/152 or xresnet18/34/50/...
/// Errors: no n_out and none in the data; pretrained=true; n_in < 1.
Learner vision_learner(const DataLoaders& dls, ResNet (*arch)(int64_t), VisionLearnerOptions o = {});
Learner vision_learner(const DataLoaders& dls, XResNet (*arch)(XResNetOptions), VisionLearnerOptions o = {});
/// fastai's older name.
inline Learner cnn_learner(const DataLoaders& dls, ResNet (*arch)(int64_t), VisionLearnerOptions o = {}) {
  return vision_learner(dls, arch, std::move(o));
}

}  // namespace fastai
