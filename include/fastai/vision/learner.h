// fastai's vision_learner (cnn_learner): a body cut from an architecture (torchvision ResNet or
// fastai XResNet) with fastai's model_meta (cut, splitter), a create_head head sized from a dummy
// forward, and a Learner whose parameter groups are [stem, rest of the body, head], so freeze()
// trains only the head (and BatchNorms) and fine_tune works.
#pragma once
#include "fastai/layers/resnet.h"
#include "fastai/layers/xresnet.h"
#include "fastai/core/transforms.h"
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
/// `pretrained` loads the architecture's weights from the file `weights` (nothing can be
/// downloaded here, so pretrained=true without weights is an Error), then, as fastai does, adds
/// Normalize.from_stats(imagenet_stats) to the loaders' batch transforms (when `normalize` and
/// they have no Normalize yet) and freezes the learner (only the head and BatchNorms train).
struct VisionLearnerOptions {
  std::optional<int64_t> n_out = std::nullopt;   ///< default: dls.c()
  bool pretrained = false;
  /// The pretrained weights: a torch.save .pth or a .safetensors file holding the architecture's
  /// state dict (torchvision's names for resnet, fastai's for xresnet: what Python's
  /// `torch.save(model.state_dict(), f)` writes), or a vision model's own ("0.*" body, "1.*"
  /// head: what `save_safetensors(state_dict(*learn.model.module), f)` writes, for transfer
  /// learning from a model trained here). Only the body is loaded; every body weight must be there.
  /// With n_in != 3 the first conv's weights are adapted as fastai does (summed for 1 channel,
  /// else channels repeated and scaled by 3/n_in).
  std::string weights = "";
  bool normalize = true;                         ///< add imagenet_stats Normalize when pretrained
  std::optional<int64_t> cut = std::nullopt;     ///< default: the arch's meta
  int64_t n_in = 3;                              ///< input channels (first conv rebuilt when != 3)
  std::vector<int64_t> lin_ftrs = {512};
  std::vector<double> ps = {0.5};
  bool concat_pool = true;
  bool first_bn = true, bn_final = false, lin_first = false;
  bool init = true;                              ///< apply_init(head, kaiming_normal)
  std::optional<std::pair<double, double>> y_range = std::nullopt;
  // ---- the Learner's options (learner_options.h); splitter empty: the arch's meta ----
  FASTAI_LEARNER_OPTION_FIELDS(FASTAI_DECLARE_OPTION)
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
/// The learner's model_spec records the arch by name, so export_to / load_learner work for these
/// (an arch function of your own trains, but cannot be exported).
/// Errors: no n_out and none in the data; pretrained without weights; a weights file that lacks a
/// body weight or has one of another shape (named); n_in < 1.
Learner vision_learner(const DataLoaders& dls, ResNet (*arch)(int64_t), VisionLearnerOptions o = {});
Learner vision_learner(const DataLoaders& dls, XResNet (*arch)(XResNetOptions), VisionLearnerOptions o = {});
/// Loads `weights` (see VisionLearnerOptions::weights) into a body made by create_body for
/// `arch_name` ("resnet34", "xresnet18", ...): names mapped, the first conv adapted to the body's
/// input channels. Error naming the file and the first missing or mismatched weight.
void load_body_weights(torch::nn::Sequential& body, const std::string& arch_name, const std::string& weights);

/// The name vision_learner records for a known architecture ("resnet34", "xresnet18"), or "" for
/// a function of your own (which trains, but cannot be exported).
std::string arch_name(ResNet (*arch)(int64_t));
std::string arch_name(XResNet (*arch)(XResNetOptions));
/// create_body of the architecture named `name` (fresh weights). Error naming an unknown name.
torch::nn::Sequential arch_body(const std::string& name, std::optional<int64_t> cut = std::nullopt, int64_t n_in = 3);
/// fastai's _add_norm: Normalize.from_stats(stats) appended to the batch transforms of each
/// TfmdDL of dls that has no Normalize yet (what vision_learner does when pretrained).
void add_normalize(const DataLoaders& dls, const Stats& stats);

/// Registers the "VisionModel" model builder used by load_learner (done by any program that
/// includes this header).
void register_vision_models();
inline const bool vision_models_registered = (register_vision_models(), true);

/// fastai's older name.
inline Learner cnn_learner(const DataLoaders& dls, ResNet (*arch)(int64_t), VisionLearnerOptions o = {}) {
  return vision_learner(dls, arch, std::move(o));
}

}  // namespace fastai
