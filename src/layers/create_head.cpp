#include "fastai/layers/create_head.h"

#include "fastai/core/error.h"
#include "fastai/layers/lin_bn_drop.h"
#include "fastai/layers/pooling.h"
#include "fastai/layers/sigmoid_range.h"

#include <torch/torch.h>

#include <algorithm>

namespace fastai {

torch::nn::Sequential create_head(int64_t nf, int64_t n_out, CreateHeadOptions o) {
  FA_CHECK(nf >= 1 && n_out >= 1, "create_head: expected nf >= 1 and n_out >= 1, got (", nf, ", ", n_out, ")");
  for (size_t i = 0; i < o.lin_ftrs.size(); ++i)
    FA_CHECK(o.lin_ftrs[i] >= 1, "create_head: lin_ftrs[", i, "] must be >= 1, got ", o.lin_ftrs[i]);
  for (double p : o.ps) FA_CHECK(p >= 0. && p < 1., "create_head: expected ps in [0, 1), got ", p);
  if (o.pool && o.concat_pool) nf *= 2;
  std::vector<int64_t> ftrs{nf};
  ftrs.insert(ftrs.end(), o.lin_ftrs.begin(), o.lin_ftrs.end());
  ftrs.push_back(n_out);
  const size_t n_blocks = ftrs.size() - 1;
  std::vector<double> ps = o.ps;
  if (ps.size() == 1) {
    ps.assign(n_blocks - 1, o.ps[0] / 2);
    ps.push_back(o.ps[0]);
  }
  FA_CHECK(ps.size() == n_blocks, "create_head: expected ps with 1 or ", n_blocks, " values (one per block), got ",
           o.ps.size());

  torch::nn::Sequential head;
  if (o.pool) {
    if (o.concat_pool) head->push_back(AdaptiveConcatPool2d());
    else head->push_back(torch::nn::AdaptiveAvgPool2d(1));
    head->push_back(Flatten());
  }
  if (o.lin_first) {
    head->push_back(torch::nn::Dropout(ps.front()));
    ps.erase(ps.begin());
  }
  // fastai zips (ftrs pairs, bns, ps, acts): the shortest list (ps after the lin_first pop) wins.
  const size_t n = std::min(n_blocks, ps.size());
  for (size_t i = 0; i < n; ++i) {
    const bool last = i + 1 == n_blocks;
    LinBnDrop block(ftrs[i], ftrs[i + 1],
                    {.bn = i == 0 ? o.first_bn : true,
                     .p = ps[i],
                     .act = last ? torch::nn::AnyModule()
                                 : torch::nn::AnyModule(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true))),
                     .lin_first = o.lin_first});
    for (const auto& m : *block) head->push_back(m);  // fastai: layers += LinBnDrop(...)
  }
  if (o.lin_first) head->push_back(torch::nn::Linear(ftrs[n_blocks - 1], n_out));
  if (o.bn_final) head->push_back(torch::nn::BatchNorm1d(torch::nn::BatchNormOptions(ftrs.back()).momentum(0.01)));
  if (o.y_range) head->push_back(SigmoidRange(o.y_range->first, o.y_range->second));
  return head;
}

}  // namespace fastai
