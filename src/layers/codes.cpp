#include "codes.h"

#include "fastai/core/error.h"

#include <torch/torch.h>

#include <sstream>

namespace fastai::layers_detail {

std::string shape_str(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

at::Tensor long_codes(const at::Tensor& x, const std::string& who, const std::string& what) {
  FA_CHECK(at::isIntegralType(x.scalar_type(), /*includeBool=*/false), who, ": ", what,
           " must hold integer codes (int64), got ", x.scalar_type(), " of shape ", shape_str(x));
  return x.scalar_type() == torch::kLong ? x : x.to(torch::kLong);
}

void check_code_range(const at::Tensor& codes, const std::vector<int64_t>& limits, const std::string& who,
                      const std::string& what, const std::function<std::string(int64_t col)>& describe) {
  if (codes.numel() == 0) return;
  const auto lim = torch::tensor(limits, torch::TensorOptions().dtype(torch::kLong).device(codes.device()));
  const auto bad = codes.lt(0).logical_or(codes.ge(lim));
  if (!bad.any().item<bool>()) return;  // the one host sync; the details below only on failure
  const auto where = bad.nonzero().to(torch::kCPU);
  const int64_t r = where[0][0].item<int64_t>(), c = where[0][1].item<int64_t>();
  const int64_t v = codes[r][c].item<int64_t>();
  fail(who, ": ", what, " column ", c, " (row ", r, ") has code ", v, ", outside [0, ", limits[static_cast<size_t>(c)],
       ") ", describe(c));
}

}  // namespace fastai::layers_detail
