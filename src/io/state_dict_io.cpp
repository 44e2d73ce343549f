// load_state_dict: a state dict into a module's parameters and buffers, by name.
#include "fastai/io/state_dict_io.h"

#include "fastai/core/error.h"

#include <torch/nn/module.h>
#include <torch/utils.h>

#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace fastai::state_dict_detail {

/// "'a', 'b', 'c' and 2 more": the first few names of a list (quoted unless `quote` is false).
inline std::string sd_few(const std::vector<std::string>& names, bool quote = true, size_t max = 5) {
  const char* q = quote ? "'" : "";
  std::ostringstream os;
  for (size_t k = 0; k < names.size() && k < max; ++k) os << (k ? ", " : "") << q << names[k] << q;
  if (names.size() > max) os << " and " << names.size() - max << " more";
  return os.str();
}

}  // namespace fastai::state_dict_detail

namespace fastai {

std::map<std::string, at::Tensor> state_dict_map(const StateDict& sd) {
  std::map<std::string, at::Tensor> m;
  for (const auto& [k, v] : sd) m[k] = v;
  return m;
}

StateDict load_weights(const std::filesystem::path& file) {
  std::string ext = file.extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".safetensors" ? load_safetensors(file) : load_pth(file);
}

StateDict state_dict(const torch::nn::Module& m) {
  StateDict sd;
  for (const auto& kv : m.named_parameters(/*recurse=*/true))
    if (kv.value().defined()) sd.emplace_back(kv.key(), kv.value().detach().cpu());
  for (const auto& kv : m.named_buffers(/*recurse=*/true))
    if (kv.value().defined()) sd.emplace_back(kv.key(), kv.value().detach().cpu());
  return sd;
}

LoadStateDictResult load_state_dict(torch::nn::Module& m, const StateDict& sd, LoadStateDictOptions opts) {
  using state_dict_detail::sd_few;
  std::map<std::string, at::Tensor> targets;
  std::vector<std::string> order;
  for (const auto& kv : m.named_parameters(/*recurse=*/true))
    if (kv.value().defined()) targets.emplace(kv.key(), kv.value()), order.push_back(kv.key());
  for (const auto& kv : m.named_buffers(/*recurse=*/true))
    if (kv.value().defined()) targets.emplace(kv.key(), kv.value()), order.push_back(kv.key());

  LoadStateDictResult r;
  std::vector<std::string> mismatched;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // (target, source)
  std::set<std::string> seen;
  for (const auto& [name, t] : sd) {
    auto it = targets.find(name);
    if (it == targets.end()) {
      r.unexpected_keys.push_back(name);
      continue;
    }
    seen.insert(name);
    if (!t.defined() || t.sizes() != it->second.sizes()) {
      std::ostringstream os;
      os << "'" << name << "' (checkpoint " << (t.defined() ? t.sizes() : at::IntArrayRef{}) << ", module " << it->second.sizes() << ")";
      mismatched.push_back(os.str());
      continue;
    }
    copies.emplace_back(it->second, t);
  }
  for (const auto& name : order)
    if (!seen.count(name)) r.missing_keys.push_back(name);

  const std::string what = "load_state_dict (" + std::to_string(sd.size()) + " entries into a module with " +
                           std::to_string(targets.size()) + " parameters and buffers)";
  FA_CHECK(mismatched.empty(), what, ": shape mismatch for ", sd_few(mismatched, false));
  if (opts.strict) {
    FA_CHECK(r.missing_keys.empty() && r.unexpected_keys.empty(), what, ": ",
             r.missing_keys.empty() ? "" : "missing keys " + sd_few(r.missing_keys),
             !r.missing_keys.empty() && !r.unexpected_keys.empty() ? "; " : "",
             r.unexpected_keys.empty() ? "" : "unexpected keys " + sd_few(r.unexpected_keys),
             " (pass {.strict = false} to load the matching ones)");
  }
  torch::NoGradGuard no_grad;
  for (auto& [dst, src] : copies) dst.copy_(src);
  return r;
}

}  // namespace fastai
