// fastai's Optimizer: groups, hypers, per-parameter state, freezing and a flat state dict.
#include "fastai/optim/optimizer.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/zeros_like.h>

#include <charconv>
#include <cmath>
#include <set>
#include <string_view>

#include "fastai/core/compat.h"
#include "fastai/core/error.h"

namespace fastai {

namespace optim_core_detail {

std::string hyper_names(const Hypers& h) {
  std::string out;
  for (const auto& [k, v] : h) out += (out.empty() ? "" : ", ") + k;
  return out.empty() ? "none" : out;
}

/// Parses "<digits>." at the start of s into idx and returns the rest; false if malformed.
bool parse_index(std::string_view s, size_t& idx, std::string_view& rest) {
  auto dot = s.find('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + dot, idx);
  if (ec != std::errc() || ptr != s.data() + dot) return false;
  rest = s.substr(dot + 1);
  return true;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

/// A 0-dim (or one-element) entry of the state dict, as a number; Error naming the entry otherwise.
double scalar_entry(const std::string& name, const at::Tensor& t) {
  FA_CHECK(t.numel() == 1, "load_state_dict: entry '", name, "' should hold one number, found shape ", t.sizes());
  return t.item<double>();
}

}  // namespace optim_core_detail

// ---- StepBatch -------------------------------------------------------------------------------

double StepBatch::hp(const std::string& name) const {
  auto it = group.hypers.find(name);
  if (it == group.hypers.end())
    fail("hyper-parameter '", name, "' is not set in parameter group ", group_index,
         " (its hyper-parameters: ", optim_core_detail::hyper_names(group.hypers), ")");
  return it->second;
}

std::vector<at::Tensor> StepBatch::state(const std::string& name) {
  std::vector<at::Tensor> out;
  out.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    auto& slot = states[i]->tensors[name];
    if (!slot.defined()) slot = at::zeros_like(params[i], at::MemoryFormat::Preserve);
    out.push_back(slot);
  }
  return out;
}

// ---- Optimizer -------------------------------------------------------------------------------

Optimizer::Optimizer(ParamList groups, std::vector<Stepper> steppers, Hypers defaults)
    : steppers_(std::move(steppers)) {
  groups_.reserve(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    ParamGroup pg;
    pg.params = std::move(groups[g]);
    for (size_t i = 0; i < pg.params.size(); ++i)
      FA_CHECK(pg.params[i].defined(), "Optimizer: parameter ", i, " of group ", g, " is an undefined tensor");
    pg.state.resize(pg.params.size());
    pg.hypers = defaults;
    groups_.push_back(std::move(pg));
  }
  for (size_t i = 0; i < steppers_.size(); ++i)
    FA_CHECK(static_cast<bool>(steppers_[i]), "Optimizer: stepper ", i, " is empty");
  // A parameter listed twice would be updated twice per step.
  std::map<const void*, std::pair<size_t, size_t>> seen;
  for (size_t g = 0; g < groups_.size(); ++g)
    for (size_t i = 0; i < groups_[g].params.size(); ++i) {
      auto [it, fresh] = seen.emplace(groups_[g].params[i].unsafeGetTensorImpl(), std::make_pair(g, i));
      FA_CHECK(fresh, "Optimizer: the same tensor is parameter ", it->second.second, " of group ", it->second.first,
               " and parameter ", i, " of group ", g);
    }
  rebuild_index();
}

void Optimizer::step() {
  at::NoGradGuard no_grad;
  for (size_t g = 0; g < groups_.size(); ++g) {
    ParamGroup& pg = groups_[g];
    StepBatch b{pg, {}, {}, {}, g};
    for (size_t i = 0; i < pg.params.size(); ++i) {
      const at::Tensor& grad = pg.params[i].grad();
      if (!grad.defined()) continue;
      b.params.push_back(pg.params[i]);
      b.grads.push_back(grad);
      b.states.push_back(&pg.state[i]);
    }
    if (b.params.empty()) continue;
    for (auto& s : steppers_) s(b);
  }
}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& g : groups_)
    for (auto& p : g.params) compat::zero_grad(p, set_to_none);
}

void Optimizer::clear_state() {
  for (auto& g : groups_)
    for (auto& s : g.state) {
      s.tensors.clear();
      s.step = 0;
    }
}

std::vector<at::Tensor> Optimizer::all_params() const {
  std::vector<at::Tensor> out;
  for (const auto& g : groups_) out.insert(out.end(), g.params.begin(), g.params.end());
  return out;
}

void Optimizer::set_hyper(const std::string& name, double v) {
  for (auto& g : groups_) g.hypers[name] = v;
}

void Optimizer::set_hyper(const std::string& name, const std::vector<double>& per_group) {
  FA_CHECK(per_group.size() == 1 || per_group.size() == groups_.size(), "set_hyper('", name, "'): expected 1 or ",
           groups_.size(), " values (one per parameter group), got ", per_group.size());
  for (size_t g = 0; g < groups_.size(); ++g) groups_[g].hypers[name] = per_group.size() == 1 ? per_group[0] : per_group[g];
}

double Optimizer::hyper(const std::string& name, int group) const {
  const long n = static_cast<long>(groups_.size());
  const long g = group < 0 ? n + group : group;
  FA_CHECK(g >= 0 && g < n, "hyper('", name, "', group ", group, "): the optimizer has ", n, " parameter groups");
  const Hypers& h = groups_[static_cast<size_t>(g)].hypers;
  auto it = h.find(name);
  if (it == h.end())
    fail("hyper-parameter '", name, "' is not set in parameter group ", g,
         " (its hyper-parameters: ", optim_core_detail::hyper_names(h), ")");
  return it->second;
}

bool Optimizer::has_hyper(const std::string& name) const {
  if (groups_.empty()) return false;
  for (const auto& g : groups_)
    if (!g.hypers.count(name)) return false;
  return true;
}

void Optimizer::rebuild_index() {
  index_.clear();
  for (size_t g = 0; g < groups_.size(); ++g)
    for (size_t i = 0; i < groups_[g].params.size(); ++i)
      index_.emplace(groups_[g].params[i].unsafeGetTensorImpl(), std::make_pair(g, i));
}

ParamState& Optimizer::state(const at::Tensor& p) {
  FA_CHECK(p.defined(), "Optimizer::state: undefined tensor");
  const void* key = p.unsafeGetTensorImpl();
  auto valid = [&](const std::pair<size_t, size_t>& gi) {
    return gi.first < groups_.size() && gi.second < groups_[gi.first].params.size() &&
           groups_[gi.first].params[gi.second].unsafeGetTensorImpl() == key &&
           groups_[gi.first].state.size() == groups_[gi.first].params.size();
  };
  auto it = index_.find(key);
  if (it == index_.end() || !valid(it->second)) {
    rebuild_index();  // param_groups() is mutable, so the index may be stale
    it = index_.find(key);
  }
  FA_CHECK(it != index_.end(), "Optimizer::state: tensor of shape ", p.sizes(), " is not a parameter of this optimizer");
  auto [g, i] = it->second;
  FA_CHECK(groups_[g].state.size() == groups_[g].params.size(), "Optimizer::state: group ", g, " has ",
           groups_[g].params.size(), " parameters but ", groups_[g].state.size(), " states");
  return groups_[g].state[i];
}

void Optimizer::freeze_to(int n) {
  const int n_groups = static_cast<int>(groups_.size());
  frozen_idx_ = n >= 0 ? n : n_groups + n;
  for (int g = 0; g < n_groups; ++g) {
    auto& pg = groups_[static_cast<size_t>(g)];
    for (size_t i = 0; i < pg.params.size(); ++i) {
      const bool force = i < pg.state.size() && pg.state[i].force_train;
      pg.params[i].requires_grad_(g >= frozen_idx_ || force);
    }
  }
  clear_state();
}

// ---- state dict ------------------------------------------------------------------------------

StateDict Optimizer::state_dict() const {
  StateDict sd;
  auto num = [](double v) { return at::scalar_tensor(v, at::kDouble); };
  auto count = [](int64_t v) { return at::scalar_tensor(v, at::kLong); };
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string pre = "group." + std::to_string(g) + ".";
    sd.emplace_back(pre + "n_params", count(static_cast<int64_t>(groups_[g].params.size())));
    for (const auto& [k, v] : groups_[g].hypers) sd.emplace_back(pre + "hyper." + k, num(v));
  }
  size_t idx = 0;
  for (const auto& g : groups_)
    for (size_t i = 0; i < g.params.size(); ++i, ++idx) {
      const std::string pre = "param." + std::to_string(idx) + ".";
      const ParamState& s = g.state[i];
      sd.emplace_back(pre + "step", count(s.step));
      sd.emplace_back(pre + "do_wd", count(s.do_wd ? 1 : 0));
      sd.emplace_back(pre + "force_train", count(s.force_train ? 1 : 0));
      for (const auto& [k, t] : s.tensors)
        if (t.defined()) sd.emplace_back(pre + "state." + k, t.detach().clone());
    }
  return sd;
}

void Optimizer::load_state_dict(const StateDict& sd) {
  namespace d = optim_core_detail;
  // Flat (group, index) of every parameter, in state_dict() order.
  std::vector<std::pair<size_t, size_t>> flat;
  for (size_t g = 0; g < groups_.size(); ++g)
    for (size_t i = 0; i < groups_[g].params.size(); ++i) flat.emplace_back(g, i);

  // Build everything first so a bad entry leaves the optimizer untouched.
  std::vector<Hypers> hypers(groups_.size());
  std::vector<ParamState> states(flat.size());
  std::vector<bool> group_seen(groups_.size(), false);
  std::set<std::string> names;

  // Group and parameter counts first, so a state dict from another model says so plainly.
  {
    size_t sd_groups = 0, sd_params = 0;
    std::string last_group, last_param;
    for (const auto& [name, t] : sd) {
      std::string_view rest;
      size_t idx = 0;
      if (d::starts_with(name, "group.") && d::parse_index(std::string_view(name).substr(6), idx, rest) &&
          idx + 1 > sd_groups) {
        sd_groups = idx + 1;
        last_group = name;
      }
      if (d::starts_with(name, "param.") && d::parse_index(std::string_view(name).substr(6), idx, rest) &&
          idx + 1 > sd_params) {
        sd_params = idx + 1;
        last_param = name;
      }
    }
    if (sd_groups > groups_.size())
      fail("load_state_dict: entry '", last_group, "' is for parameter group ", sd_groups - 1, " but the optimizer has ",
           groups_.size(), " parameter groups");
    if (sd_params > flat.size())
      fail("load_state_dict: entry '", last_param, "' is for parameter ", sd_params - 1, " but the optimizer has ",
           flat.size(), " parameters");
  }

  for (const auto& [name, t] : sd) {
    FA_CHECK(names.insert(name).second, "load_state_dict: entry '", name, "' appears twice");
    FA_CHECK(t.defined(), "load_state_dict: entry '", name, "' holds an undefined tensor");
    std::string_view rest;
    size_t idx = 0;
    if (d::starts_with(name, "group.")) {
      FA_CHECK(d::parse_index(std::string_view(name).substr(6), idx, rest), "load_state_dict: malformed entry name '",
               name, "'");
      FA_CHECK(idx < groups_.size(), "load_state_dict: entry '", name, "' is for parameter group ", idx,
               " but the optimizer has ", groups_.size(), " parameter groups");
      if (rest == "n_params") {
        const auto n = static_cast<int64_t>(d::scalar_entry(name, t));
        FA_CHECK(n == static_cast<int64_t>(groups_[idx].params.size()), "load_state_dict: entry '", name,
                 "': the state dict has ", n, " parameters in group ", idx, ", the optimizer has ",
                 groups_[idx].params.size());
        group_seen[idx] = true;
      } else if (d::starts_with(rest, "hyper.")) {
        hypers[idx][std::string(rest.substr(6))] = d::scalar_entry(name, t);
      } else {
        fail("load_state_dict: unknown entry '", name, "'");
      }
    } else if (d::starts_with(name, "param.")) {
      FA_CHECK(d::parse_index(std::string_view(name).substr(6), idx, rest), "load_state_dict: malformed entry name '",
               name, "'");
      FA_CHECK(idx < flat.size(), "load_state_dict: entry '", name, "' is for parameter ", idx,
               " but the optimizer has ", flat.size(), " parameters");
      ParamState& s = states[idx];
      if (rest == "step") {
        s.step = static_cast<int64_t>(d::scalar_entry(name, t));
      } else if (rest == "do_wd") {
        s.do_wd = d::scalar_entry(name, t) != 0;
      } else if (rest == "force_train") {
        s.force_train = d::scalar_entry(name, t) != 0;
      } else if (d::starts_with(rest, "state.")) {
        const at::Tensor& p = groups_[flat[idx].first].params[flat[idx].second];
        // State is either shaped like its parameter (moments, slow weights) or one number per
        // parameter (local_lr, counters).
        const bool like_param = t.sizes() == p.sizes();
        FA_CHECK(like_param || t.dim() == 0, "load_state_dict: entry '", name, "' has shape ", t.sizes(),
                 " but parameter ", idx, " (group ", flat[idx].first, ") has shape ", p.sizes());
        at::Tensor v = t.detach().clone();
        if (like_param && v.device() != p.device()) v = v.to(p.device());
        s.tensors[std::string(rest.substr(6))] = v;
      } else {
        fail("load_state_dict: unknown entry '", name, "'");
      }
    } else {
      fail("load_state_dict: unknown entry '", name, "'");
    }
  }
  for (size_t g = 0; g < groups_.size(); ++g)
    FA_CHECK(group_seen[g], "load_state_dict: the state dict has no entry 'group.", g, ".n_params' (the optimizer has ",
             groups_.size(), " parameter groups)");

  for (size_t g = 0; g < groups_.size(); ++g) groups_[g].hypers = std::move(hypers[g]);
  for (size_t k = 0; k < flat.size(); ++k) groups_[flat[k].first].state[flat[k].second] = std::move(states[k]);
}

double debias(double mom, double damp, int64_t step) {
  return damp * (1 - std::pow(mom, static_cast<double>(step))) / (1 - mom);
}

}  // namespace fastai
