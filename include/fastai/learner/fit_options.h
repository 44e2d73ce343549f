// Options of fit and the scheduled fits (fit_one_cycle, fit_flat_cos, fit_sgdr, fine_tune), fastai's
// keyword arguments and defaults.
#pragma once
#include "fastai/learner/callback.h"

#include <optional>
#include <vector>

namespace fastai {

struct FitOptions {
  std::optional<double> wd = std::nullopt;
  std::vector<CallbackRef> cbs = {};       ///< added for this fit only
  bool reset_opt = false;
  int start_epoch = 0;
};
struct OneCycleOptions {
  double div = 25., div_final = 1e5, pct_start = 0.25;
  std::optional<double> wd = std::nullopt;
  std::vector<double> moms = {};           ///< empty: learn.moms
  std::vector<CallbackRef> cbs = {};
  bool reset_opt = false;
  int start_epoch = 0;
};
struct FlatCosOptions {
  double div_final = 1e5, pct_start = 0.75;
  std::optional<double> wd = std::nullopt;
  std::vector<CallbackRef> cbs = {};
  bool reset_opt = false;
};
struct SGDROptions {
  int cycle_mult = 2;
  std::optional<double> wd = std::nullopt;
  std::vector<CallbackRef> cbs = {};
  bool reset_opt = false;
};
struct FineTuneOptions {
  int freeze_epochs = 1;
  double lr_mult = 100, pct_start = 0.3, div = 5.0, div_final = 1e5;
  std::optional<double> wd = std::nullopt;
  std::vector<double> moms = {};
  std::vector<CallbackRef> cbs = {};
};

}  // namespace fastai
