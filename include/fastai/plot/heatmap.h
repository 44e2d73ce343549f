// A labelled heat map of a matrix written to PNG or SVG with cairo: what
// ClassificationInterpretation.plot_confusion_matrix draws (fastai's matplotlib imshow with the
// counts written in the cells).
#pragma once
#include <string>
#include <vector>

namespace fastai {

struct HeatmapOptions {
  std::string title = "";
  std::string xlabel = "";   ///< below the column labels
  std::string ylabel = "";   ///< left of the row labels, rotated
  int cell_px = 0;           ///< side of a cell; 0: about 560 pixels for the whole matrix (24..80 each)
  int decimals = -1;         ///< digits in the cells; -1: none when every value is whole, else 2
};

/// Writes `m` (rows x cols, every row the same length) as a heat map to `path` (.png or .svg),
/// atomically: white for the smallest value to dark blue for the largest, each cell's value
/// written in it, the row labels on the left and the column labels below. Errors name the path:
/// an empty or ragged matrix, label counts that differ from the matrix's, a non-finite value, an
/// unknown extension.
void plot_heatmap(const std::string& path, const std::vector<std::vector<double>>& m,
                  const std::vector<std::string>& row_labels, const std::vector<std::string>& col_labels,
                  const HeatmapOptions& o = {});

}  // namespace fastai
