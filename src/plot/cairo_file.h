// Internal to the core layer: what every cairo figure shares (plots, image grids, heat maps) —
// owning pointers, the .png / .svg choice by extension, and the atomic write with cairo's
// status checked at each step.
#pragma once
#include <cairo.h>

#include <functional>
#include <memory>
#include <string>

namespace fastai::cairo_file {

struct SurfaceDel {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct CairoDel {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};
using SurfacePtr = std::unique_ptr<cairo_surface_t, SurfaceDel>;
using CairoPtr = std::unique_ptr<cairo_t, CairoDel>;

/// The file's extension, lower-cased, with the dot (".png").
std::string lower_ext(const std::string& path);
/// Error "<who> <path>: unknown extension ..." unless the path ends in .png or .svg (any case).
void check_ext(const std::string& path, const char* who);
/// Draws a width x height figure with `draw` and writes it to `path` as PNG or SVG (by extension),
/// beside the destination first and renamed into place; Errors name `who` and the path.
void write(const std::string& path, int width, int height, const char* who, const std::function<void(cairo_t*)>& draw);

}  // namespace fastai::cairo_file
