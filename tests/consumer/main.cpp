// Trains a linear model for a few epochs through the installed library; exits non-zero unless it learns.
#include <fastai/data/dataloader.h>
#include <fastai/learner/learner.h>
#include <fastai/learner/metrics.h>

#include <torch/torch.h>

#include <cstdio>

int main() {
  using namespace fastai;
  set_seed(0);
  auto x = torch::randn({512, 4});
  auto y = (x.select(1, 0) + x.select(1, 1) > 0).to(torch::kLong);
  auto dls = DataLoaders::from_tensors({x.slice(0, 0, 384), y.slice(0, 0, 384)}, {x.slice(0, 384), y.slice(0, 384)},
                                       {.bs = 32, .device = torch::Device(torch::kCPU)});
  Learner learn(dls, torch::nn::Linear(4, 2), {.loss_func = CrossEntropyLossFlat(), .metrics = {accuracy}});
  learn.fit_one_cycle(3, 1e-1);
  const double acc = learn.final_record.back();
  std::printf("consumer: accuracy %.3f\n", acc);
  return acc > 0.9 ? 0 : 1;
}
