// A grid of titled images written to PNG (or SVG) with cairo: what show_batch, show_results and
// plot_top_losses draw (fastai's show_images / show_titled_image on a get_grid of axes).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace fastai {

/// One image of a grid and the title drawn above it.
struct GridCell {
  /// uint8 (0..255) or floating (0..1, clipped) image: [C,H,W] with C 1 or 3, or [H,W] (grey).
  at::Tensor image;
  /// Text above the image ("" = none); '\n' starts a new line; lines too wide are cut with "...".
  std::string title = "";
  /// "#rrggbb" or "#rgb"; "" = black (fastai show_results colours right/wrong predictions).
  std::string title_color = "";

  // ---- optional overlays, in the image's own pixel coordinates, scaled with it into the cell ----
  /// Segmentation mask: integer class indices [H,W] (any size: stretched over the image). Class 0
  /// (background) stays transparent; class k > 0 is tinted with overlay_color(k) at mask_alpha, so
  /// the image stays visible under it (fastai shows masks with cmap tab20, alpha 0.5).
  at::Tensor mask = {};
  double mask_alpha = 0.5;
  /// Boxes [n,4] (x0, y0, x1, y1; pixel i covers [i, i+1)), each outlined 2 px wide in its colour
  /// over a black 4 px outline (as fastai's _draw_rect), with its label (if any) on a tag of the
  /// box colour on its top-left corner (above the box, or inside it at the image's top edge).
  at::Tensor boxes = {};
  /// One label per box ("" = none), or empty for no labels.
  std::vector<std::string> box_labels = {};
  /// One "#rrggbb" / "#rgb" colour per box, or empty: box i gets overlay_color(i).
  std::vector<std::string> box_colors = {};
  /// Points [n,2] (x, y) drawn as dots of point_color with a black rim (fastai: red dots).
  at::Tensor points = {};
  std::string point_color = "#ff0000";
};

/// The colour of class / box k in overlays, "#rrggbb": matplotlib's tab10 colours by k % 10
/// (k = 0 is tab10's blue; masks leave class 0 transparent).
std::string overlay_color(int64_t k);

struct GridOptions {
  int ncols = 0;             ///< columns (0: ceil(sqrt(number of cells)))
  int cell_px = 128;         ///< each image is scaled, aspect kept, to fit a cell_px square
  std::string title = "";    ///< title of the whole figure ("" = none)
};

/// Writes `cells` as a grid of images with their titles to `path` (.png or .svg, by extension,
/// any case), creating parent folders; written beside the destination and renamed into place.
/// Images smaller than the cell are enlarged with nearest-neighbour sampling (pixels stay sharp),
/// larger ones reduced smoothly; each is centred in its cell on a white background.
/// Errors (fastai::Error) name the path, and for a bad cell its index, shape and dtype: no cells,
/// an unknown extension, an undefined or empty image, a shape that is not [C,H,W] (C 1 or 3) or
/// [H,W], a dtype that is neither uint8 nor floating, a bad colour, ncols < 0, cell_px outside 8..4096,
/// an overlay of the wrong shape or dtype (mask not integer [H,W], boxes not [n,4], points not
/// [n,2]), box_labels / box_colors whose size is neither 0 nor the number of boxes, mask_alpha outside 0..1.
void save_image_grid(const std::string& path, const std::vector<GridCell>& cells, const GridOptions& o = {});

}  // namespace fastai
