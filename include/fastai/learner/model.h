// The model as the Learner sees it: a module and how to call it on a batch's inputs.
// Any LibTorch module holder converts to it implicitly.
#pragma once
#include <ATen/core/Tensor.h>

#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace torch::nn {
class Module;
}

namespace fastai {

/// A model as the Learner sees it: the module (parameters, train/eval, save) and how to call
/// it on the inputs of a batch. Built implicitly from any LibTorch module holder (`Net()`,
/// `torch::nn::Sequential(...)`) or shared_ptr to a module whose forward takes 1 or 2 tensors
/// or a std::vector<at::Tensor>.
struct Model {
  std::shared_ptr<torch::nn::Module> module;
  std::function<at::Tensor(const std::vector<at::Tensor>& xb)> forward;

  Model() = default;
  Model(std::shared_ptr<torch::nn::Module> m, std::function<at::Tensor(const std::vector<at::Tensor>&)> f)
      : module(std::move(m)), forward(std::move(f)) {}
  template <class M>
    requires std::derived_from<M, torch::nn::Module>
  Model(std::shared_ptr<M> m) : module(m), forward(make_forward(m)) {}
  template <class H>
    requires requires(H h) { { h.ptr() }; }
  Model(const H& holder) : Model(holder.ptr()) {}

  explicit operator bool() const { return module != nullptr; }
  at::Tensor operator()(const std::vector<at::Tensor>& xb) const { return forward(xb); }

 private:
  [[noreturn]] static void bad_arity(size_t n);
  template <class M>
  static std::function<at::Tensor(const std::vector<at::Tensor>&)> make_forward(std::shared_ptr<M> m) {
    return [m](const std::vector<at::Tensor>& xb) -> at::Tensor {
      if constexpr (requires(M& mm, const at::Tensor& t) { { mm.forward(t) } -> std::convertible_to<at::Tensor>; }) {
        if (xb.size() == 1) return m->forward(xb[0]);
      }
      if constexpr (requires(M& mm, const at::Tensor& t) { { mm.forward(t, t) } -> std::convertible_to<at::Tensor>; }) {
        if (xb.size() == 2) return m->forward(xb[0], xb[1]);
      }
      if constexpr (requires(M& mm, const std::vector<at::Tensor>& v) { { mm.forward(v) } -> std::convertible_to<at::Tensor>; }) {
        return m->forward(xb);
      }
      bad_arity(xb.size());
    };
  }
};

}  // namespace fastai
