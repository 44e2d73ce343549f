#!/usr/bin/env bash
# The reduced configuration a deployment uses: no plots (no cairo), no vision, no collab. It
# configures and builds the library and the examples that remain, then checks that nothing links
# cairo and that a plot call says the build has no plots instead of failing to link.
set -euo pipefail
src=$1 work=$2
mkdir -p "$work"
cmake -S "$src" -B "$work" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTAI_WITH_PLOTS=OFF \
  -DFASTAI_BUILD_VISION=OFF -DFASTAI_BUILD_COLLAB=OFF -DFASTAI_BUILD_TESTS=OFF -DFASTAI_BUILD_BENCH=OFF \
  -DFASTAI_BUILD_TOOLS=OFF -DFASTAI_BUILD_EXAMPLES=ON \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
cmake --build "$work" -j"${REDUCED_JOBS:-2}" >/dev/null
for exe in fashion_mnist tabular_credit; do
  [ -x "$work/examples/$exe" ] || { echo "FAIL: examples/$exe was not built"; exit 1; }
  # its own NEEDED entries (Debian's libtorch itself pulls cairo in through OpenCV / ffmpeg)
  if readelf -d "$work/examples/$exe" | grep NEEDED | grep -q cairo; then echo "FAIL: $exe links cairo"; exit 1; fi
done
for exe in vision_fmnist collab_movielens; do
  [ ! -e "$work/examples/$exe" ] || { echo "FAIL: examples/$exe was built without its application"; exit 1; }
done
if nm -C "$work/libfastai_plot.a" | grep -q ' U cairo_'; then echo "FAIL: libfastai_plot.a needs cairo"; exit 1; fi
# A plot call in this build: the Error names the file and the option.
cat > "$work/plot_call.cpp" <<'CPP'
#include "fastai/plot/plot.h"
#include <iostream>
#include <stdexcept>
int main() {
  try {
    fastai::plot_lines("loss.png", {{.label = "x", .xs = {0, 1}, .ys = {1, 0}}});
  } catch (const std::runtime_error& e) {
    std::cout << e.what() << "\n";
    return 0;
  }
  return 1;
}
CPP
g++ -std=c++20 -I"$src/include" "$work/plot_call.cpp" "$work/libfastai_plot.a" -o "$work/plot_call" 2>"$work/plot_call.log" \
  || { echo "FAIL: the plot call does not link without cairo"; cat "$work/plot_call.log"; exit 1; }
msg=$("$work/plot_call") || { echo "FAIL: plot_lines did not throw"; exit 1; }
grep -q "loss.png" <<<"$msg" && grep -q "FASTAI_WITH_PLOTS" <<<"$msg" || { echo "FAIL: message: $msg"; exit 1; }
echo "reduced build: ok (no cairo; $msg)"
