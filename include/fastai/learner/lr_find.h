// lr_find's options and suggestions (fastai 2.7's valley / slide / minimum / steep).
#pragma once
#include <string>
#include <vector>

namespace fastai {

struct LrFindOptions {
  double start_lr = 1e-7, end_lr = 10;
  int num_it = 100;
  bool stop_div = true;
  std::string plot_path = "";              ///< "" = no plot; else the lr_find plot (PNG/SVG) goes here
};
/// lr_find's result: every suggestion fastai 2.7 offers, and the recorded curve.
struct SuggestedLRs {
  double valley = 0, slide = 0, minimum = 0, steep = 0;
  std::vector<double> lrs, losses;
};
/// Suggestions on a recorded (lr, smoothed loss) curve, as fastai 2.7 (skips the first 10% and last 5 points).
SuggestedLRs suggest_lrs(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it);
double valley(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it);
double minimum(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it);
double steep(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it);
double slide(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it,
             double lr_diff = 15, double thresh = .005, double adjust_value = 1.);

}  // namespace fastai
