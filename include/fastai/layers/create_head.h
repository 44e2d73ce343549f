// create_head (fastai 2.7's vision head): pooling, Flatten, then LinBnDrop blocks, flattened into
// one Sequential exactly as fastai lays it out (so state-dict keys match: "2.weight", "4.weight", ...).
#pragma once
#include <torch/nn/modules/container/sequential.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace fastai {

struct CreateHeadOptions {
  std::vector<int64_t> lin_ftrs = {512};  ///< hidden widths between nf and n_out
  /// One value p: p/2 for every hidden block and p for the last; otherwise one per block.
  std::vector<double> ps = {0.5};
  bool pool = true;                       ///< pooling + Flatten first (nf doubles with concat_pool)
  bool concat_pool = true;                ///< AdaptiveConcatPool2d, else AdaptiveAvgPool2d(1)
  bool first_bn = true;                   ///< BatchNorm in the first block
  bool bn_final = false;                  ///< BatchNorm1d(n_out, momentum 0.01) at the end
  bool lin_first = false;                 ///< Dropout, then [Linear, ReLU, BN, Dropout] blocks, then Linear
  std::optional<std::pair<double, double>> y_range = std::nullopt;  ///< SigmoidRange at the end
};

/// fastai's create_head(nf, n_out, ...): for nf=512, n_out=2 and the defaults,
/// [AdaptiveConcatPool2d, Flatten, BN1d(1024), Dropout(0.25), Linear(1024, 512, no bias), ReLU,
///  BN1d(512), Dropout(0.5), Linear(512, 2, no bias)] — BatchNorms with fastai's init (bias 1e-3),
/// Linears with LibTorch's (fastai's add_head then calls apply_init(head, kaiming_normal)).
/// As in fastai, lin_first drops the first ps value into the leading Dropout, which leaves one
/// LinBnDrop block fewer before the closing Linear (with bias). Error for bad sizes or ps.
torch::nn::Sequential create_head(int64_t nf, int64_t n_out, CreateHeadOptions o = {});

}  // namespace fastai
