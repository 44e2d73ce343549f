// fastai's unet_learner / create_unet_model: a DynamicUnet grown on the body of a ResNet or
// XResNet (create_body with the arch's model_meta cut), its image size read from a batch of the
// data, and a Learner whose parameter groups are fastai's [encoder[:split], encoder[split:],
// decoder] (model_meta split applied to the U-Net: m[0][:split], m[0][split:], m[1:]).
#pragma once
#include "fastai/layers/unet.h"
#include "fastai/learner/learner.h"
#include "fastai/vision/learner.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fastai {

/// unet_learner options: the model's (fastai's names and defaults, DynamicUnet's kwargs) then
/// the Learner's. `pretrained` loads the encoder from `weights` as vision_learner does (see
/// VisionLearnerOptions::weights), adds ImageNet Normalize (when `normalize`) and freezes the
/// learner (the decoder and the BatchNorms train).
struct UnetLearnerOptions {
  std::optional<int64_t> n_out = std::nullopt;   ///< default: dls.c() (the MaskBlock's codes)
  bool pretrained = false;
  std::string weights = "";                      ///< .pth / .safetensors of the arch (or of a vision model)
  bool normalize = true;                         ///< add imagenet_stats Normalize when pretrained
  std::optional<int64_t> cut = std::nullopt;     ///< default: the arch's meta
  int64_t n_in = 3;                              ///< input channels (first conv rebuilt when != 3)
  /// default: the spatial size of dls.one_batch()'s input (fastai's img_size)
  std::optional<std::pair<int64_t, int64_t>> img_size = std::nullopt;
  // ---- DynamicUnet ----
  bool blur = false;
  bool blur_final = true;
  bool self_attention = false;
  std::optional<std::pair<double, double>> y_range = std::nullopt;
  bool last_cross = true;
  bool bottle = false;
  torch::nn::AnyModule act = torch::nn::AnyModule(torch::nn::ReLU());
  InitFn init = kaiming_normal_init;
  std::optional<NormType> norm_type = std::nullopt;
  // ---- the Learner's options (learner_options.h); loss_func empty: the targets' hint,
  // CrossEntropyLossFlat(axis=1) for masks; splitter empty: the arch's meta ----
  FASTAI_LEARNER_OPTION_FIELDS(FASTAI_DECLARE_OPTION)
};

/// The DynamicUnet options held by a UnetLearnerOptions.
DynamicUnetOptions dynamic_unet_options(const UnetLearnerOptions& o);

/// fastai's create_unet_model(arch, n_out, img_size, pretrained=False, cut, n_in, **kwargs):
/// DynamicUnet(create_body(arch, cut, n_in), n_out, img_size, ...).
DynamicUnet create_unet_model(ResNet (*arch)(int64_t), int64_t n_out, std::pair<int64_t, int64_t> img_size,
                              const UnetLearnerOptions& o = {});
DynamicUnet create_unet_model(XResNet (*arch)(XResNetOptions), int64_t n_out, std::pair<int64_t, int64_t> img_size,
                              const UnetLearnerOptions& o = {});

/// The parameter groups [encoder[:split_at], encoder[split_at:], the rest of the U-Net] of a
/// DynamicUnet (fastai's model_meta split applied to it). Error for another model.
ParamSplitter unet_splitter(int64_t split_at);

/// fastai unet_learner(dls, arch, ...): `arch` is resnet18/34/50/101/152 or xresnet18/34/50/...
/// The learner's model_spec ("DynamicUnet") lets export_to / load_learner rebuild it when `act`
/// is the default ReLU. Errors: no n_out and no codes in the data; pretrained without weights (or
/// weights that do not fit, named); no image size could be read from
/// the data (a batch whose input is not [bs, c, h, w]); n_in < 1.
Learner unet_learner(const DataLoaders& dls, ResNet (*arch)(int64_t), UnetLearnerOptions o = {});
Learner unet_learner(const DataLoaders& dls, XResNet (*arch)(XResNetOptions), UnetLearnerOptions o = {});

/// Registers the "DynamicUnet" model builder used by load_learner (done by any program that
/// includes this header).
void register_unet_models();
inline const bool unet_models_registered = (register_unet_models(), true);

}  // namespace fastai
