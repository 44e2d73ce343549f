// Small models and data shared by the Learner tests.
#pragma once
#include "fastai/data/dataloader.h"
#include "fastai/learner/learner.h"
#include "fastai/learner/progress.h"
#include "fastai/learner/recorder.h"

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace fastai::testing {

/// The class centres of blobs(): 3 * e_k in 8-D.
inline at::Tensor blob_centers() { return torch::eye(4, 8) * 3.0; }

/// n points of 4 classes in 8-D: class k is a unit Gaussian around 3 * e_k. Returns {x, y}.
inline std::vector<at::Tensor> blob_tensors(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  auto y = torch::randint(0, 4, {n}, torch::kLong);
  auto x = blob_centers().index_select(0, y) + torch::randn({n, 8});
  return {x, y};
}

/// Two Gaussian blobs per class in 8-D, 4 classes: learnable in a few epochs. The validation set is
/// blob_tensors(n_valid, seed + 100).
inline DataLoaders blobs(int64_t n_train = 512, int64_t n_valid = 128, int64_t bs = 32, uint64_t seed = 1) {
  return DataLoaders::from_tensors(blob_tensors(n_train, seed), blob_tensors(n_valid, seed + 100),
                                   {.bs = bs, .device = torch::Device(torch::kCPU), .seed = seed});
}

/// Linear -> BatchNorm -> ReLU -> Linear, so freezing and norm handling can be checked.
struct MlpImpl : torch::nn::Module {
  MlpImpl(int64_t in = 8, int64_t hidden = 16, int64_t out = 4)
      : l1(register_module("l1", torch::nn::Linear(in, hidden))),
        bn(register_module("bn", torch::nn::BatchNorm1d(hidden))),
        l2(register_module("l2", torch::nn::Linear(hidden, out))) {}
  at::Tensor forward(const at::Tensor& x) { return l2(torch::relu(bn(l1(x)))); }
  torch::nn::Linear l1;
  torch::nn::BatchNorm1d bn;
  torch::nn::Linear l2;
};
TORCH_MODULE(Mlp);

/// Splits Mlp into [l1 + bn] and [l2] (a body and a head).
inline ParamList mlp_splitter(torch::nn::Module& m) {
  auto& mlp = dynamic_cast<MlpImpl&>(m);
  std::vector<at::Tensor> body, head;
  for (auto& p : mlp.l1->parameters()) body.push_back(p);
  for (auto& p : mlp.bn->parameters()) body.push_back(p);
  for (auto& p : mlp.l2->parameters()) head.push_back(p);
  return {body, head};
}

/// A fresh temp folder for one test.
inline std::filesystem::path temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("fastai_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

/// A Learner on blobs with progress output silenced.
inline std::unique_ptr<Learner> quiet_learner(DataLoaders dls, Model m, LearnerOptions o = {}) {
  if (!o.loss_func) o.loss_func = CrossEntropyLossFlat();
  auto l = std::make_unique<Learner>(std::move(dls), std::move(m), std::move(o));
  static std::FILE* devnull = std::fopen("/dev/null", "w");
  if (l->progress) l->progress->opts.out = devnull;
  if (l->recorder) l->recorder->logger = [](const LogRow&) {};
  return l;
}

}  // namespace fastai::testing
