// Private to the layers layer: checks on the integer codes fed to embeddings, so a bad code is a
// fastai::Error naming the column and value rather than an index error deep inside LibTorch.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fastai::layers_detail {

/// x as int64; Error "<who>: <what> must hold integer codes, got <dtype> of shape [..]" otherwise.
at::Tensor long_codes(const at::Tensor& x, const std::string& who, const std::string& what);

/// Error when codes[r, c] is outside [0, limits[c]) for some r, c (codes is [bs, limits.size()]
/// int64): names who, what, the column, row, value, range and describe(c).
void check_code_range(const at::Tensor& codes, const std::vector<int64_t>& limits, const std::string& who,
                      const std::string& what, const std::function<std::string(int64_t col)>& describe);

/// "[2, 3]" (an undefined tensor is "undefined").
std::string shape_str(const at::Tensor& t);

}  // namespace fastai::layers_detail
