// The one place that knows LibTorch versions apart (1.13 Debian CPU vs 2.x CUDA).
// Every other file calls these helpers; a CI test greps that no version-sensitive API
// is used outside this header (tests/check_compat_usage.sh).
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/version.h>

#include <type_traits>
#include <utility>

#define FA_TORCH_AT_LEAST(maj, min) \
  (TORCH_VERSION_MAJOR > (maj) || (TORCH_VERSION_MAJOR == (maj) && TORCH_VERSION_MINOR >= (min)))

namespace fastai::compat {

/// "1.13" / "2.11": the LibTorch the program was compiled against.
inline const char* torch_version() { return TORCH_VERSION; }

/// Sets a gradient to zero (set_to_none=false) or drops it. Module/Optimizer::zero_grad changed
/// their default between 1.13 and 2.x, so the project never calls them without going through here.
inline void zero_grad(at::Tensor& p, bool set_to_none) {
  at::Tensor& g = p.mutable_grad();
  if (!g.defined()) return;
  if (set_to_none) {
    g = at::Tensor();
  } else {
    if (g.grad_fn()) g = g.detach();
    else g.requires_grad_(false);
    g.zero_();
  }
}

/// Typed raw pointer to a tensor's data (const_data_ptr only exists in 2.x).
template <class T>
T* data_ptr(const at::Tensor& t) { return t.data_ptr<T>(); }

}  // namespace fastai::compat
