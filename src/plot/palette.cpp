// The overlay colours of image grids, in a file without cairo (a FASTAI_WITH_PLOTS=OFF build keeps it).
#include "fastai/plot/image_grid.h"

#include <cstdint>
#include <string>

namespace fastai {

std::string overlay_color(int64_t k) {
  // matplotlib's tab10.
  static const char* const kTab10[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                       "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  const int64_t i = ((k % 10) + 10) % 10;
  return kTab10[i];
}

}  // namespace fastai
