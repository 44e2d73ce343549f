// The plot layer of a FASTAI_WITH_PLOTS=OFF build (no cairo): every drawing function says that
// this build cannot draw, naming the file it was asked for, instead of failing to link.
#include "fastai/core/error.h"
#include "fastai/plot/heatmap.h"
#include "fastai/plot/image_grid.h"
#include "fastai/plot/plot.h"

namespace fastai {
namespace no_plots_detail {
[[noreturn]] void no_plots(const char* who, const std::string& path) {
  fail(who, " ", path, ": this build of fastai-cpp has no plots (configured with FASTAI_WITH_PLOTS=OFF); "
       "rebuild with -DFASTAI_WITH_PLOTS=ON (needs cairo) to draw");
}
}  // namespace no_plots_detail

void plot_lines(const std::string& path, const std::vector<Series>&, const PlotOptions&) {
  no_plots_detail::no_plots("plot_lines", path);
}

void plot_heatmap(const std::string& path, const std::vector<std::vector<double>>&, const std::vector<std::string>&,
                  const std::vector<std::string>&, const HeatmapOptions&) {
  no_plots_detail::no_plots("plot_heatmap", path);
}

void save_image_grid(const std::string& path, const std::vector<GridCell>&, const GridOptions&) {
  no_plots_detail::no_plots("save_image_grid", path);
}

}  // namespace fastai
