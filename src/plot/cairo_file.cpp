#include "cairo_file.h"

#include "fastai/core/error.h"
#include "fastai/core/files.h"

#include <cairo-svg.h>

#include <cctype>
#include <filesystem>

namespace fastai::cairo_file {

std::string lower_ext(const std::string& path) {
  std::string e = std::filesystem::path(path).extension().string();
  for (auto& ch : e) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return e;
}

void check_ext(const std::string& path, const char* who) {
  const std::string ext = lower_ext(path);
  FA_CHECK(ext == ".png" || ext == ".svg", who, " ", path, ": unknown extension '", ext, "' (expected .png or .svg)");
}

void write(const std::string& path, int width, int height, const char* who, const std::function<void(cairo_t*)>& draw) {
  check_ext(path, who);
  const bool svg = lower_ext(path) == ".svg";
  atomic_write(path, [&](const std::filesystem::path& tmp) {
    const std::string t = tmp.string();
    SurfacePtr surf(svg ? cairo_svg_surface_create(t.c_str(), width, height)
                        : cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height));
    auto check = [&](cairo_status_t st, const char* what) {
      FA_CHECK(st == CAIRO_STATUS_SUCCESS, who, " ", path, ": cannot write the file (", what, ": ",
               cairo_status_to_string(st), ")");
    };
    check(cairo_surface_status(surf.get()), "creating the surface");
    if (svg) cairo_svg_surface_set_document_unit(surf.get(), CAIRO_SVG_UNIT_PX);
    {
      CairoPtr cr(cairo_create(surf.get()));
      draw(cr.get());
      check(cairo_status(cr.get()), "drawing");
    }
    if (!svg) check(cairo_surface_write_to_png(surf.get(), t.c_str()), "writing the PNG");
    cairo_surface_finish(surf.get());
    check(cairo_surface_status(surf.get()), "finishing the file");
  });
}

}  // namespace fastai::cairo_file
