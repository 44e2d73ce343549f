// Line plots written to PNG (or SVG, by extension) with cairo: loss curves, lr_find,
// schedules. Small and dependency-light on purpose; not a general plotting library.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace fastai {

struct Series {
  std::string label = "";       ///< legend text ("" = no legend entry)
  std::vector<double> xs = {}, ys = {};  ///< same length; non-finite points are skipped (a line breaks there)
  std::string color = "";       ///< "#rrggbb"; "" = next colour of the default cycle
  bool markers = false;         ///< draw a dot at each point instead of a line
};

struct PlotOptions {
  // Every member has a default initializer so designated initializers stay -Wextra clean.
  std::string title = "";
  std::string xlabel = "", ylabel = "";
  bool log_x = false;           ///< log10 axis; points with x <= 0 are skipped (like non-finite ones)
  bool log_y = false;           ///< log10 axis; points with y <= 0 are skipped
  int width = 800, height = 500;
  std::optional<double> ymin = std::nullopt, ymax = std::nullopt;  ///< fixed y range (default: data range with a margin)
};

/// Writes a line plot of `series` to `path` (.png or .svg, by extension, any case), creating
/// parent folders. The file is written beside its destination and renamed into place, so a
/// reader never sees a partial plot and a failed write leaves the old file untouched.
/// Throws fastai::Error naming the path when the extension is not .png/.svg, the file cannot be
/// written, no series has a plottable point, or a series' xs/ys lengths differ (names the series),
/// or a colour is not "#rrggbb"/"#rgb".
void plot_lines(const std::string& path, const std::vector<Series>& series, const PlotOptions& o = {});

}  // namespace fastai
