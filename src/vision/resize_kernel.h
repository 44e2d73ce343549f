// Internal to src/vision: the separable antialiased resize of uint8 images on the CPU (what
// RandomResizedCrop / Resize run on loader threads), kept apart from the transforms' geometry.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace fastai::vision_resize {

/// uint8 [..., H, W] (CPU) -> uint8 [..., oh, ow]: PIL's / at::_upsample_bilinear2d_aa's
/// antialiased bilinear, computed in float and rounded half up (within float rounding of LibTorch's
/// float kernel followed by round()). With flip_w the output's columns come out mirrored (FlipItem
/// folded into the resize's last write).
at::Tensor resize_u8(const at::Tensor& x, int64_t oh, int64_t ow, bool flip_w = false);

}  // namespace fastai::vision_resize
