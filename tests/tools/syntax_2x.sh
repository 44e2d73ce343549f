#!/usr/bin/env bash
# Compiles every library source, example and test against LibTorch 2.11's headers with
# -fsyntax-only (no 2.x libraries exist on CPU machines). Exit 77 (skip) when the headers
# are not there (a user's clone has no ../shared).
set -euo pipefail
src=$1 work=$2
tarball="$src/../shared/toolchains/libtorch-2.11-headers.tar.xz"
if [ ! -f "$tarball" ]; then echo "skip: $tarball not found"; exit 77; fi
mkdir -p "$work"
if [ ! -f "$work/.extracted" ] || [ "$tarball" -nt "$work/.extracted" ]; then
  rm -rf "$work/include"
  tar -xJf "$tarball" -C "$work"
  touch "$work/.extracted"
fi
inc=$(dirname "$(find "$work" -path '*/torch/csrc/api/include' -type d | head -1)")
inc=${inc%/torch/csrc/api}
[ -d "$inc" ] || { echo "no include/ folder in $tarball"; exit 1; }
# One translation unit per folder (the sources are unity-build safe), so the headers parse a few times only.
status=0
for dir in src/core src/data src/optim src/learner tests/core tests/data tests/optim tests/learner examples; do
  files=$(cd "$src" && ls $dir/*.cpp 2>/dev/null || true)
  [ -n "$files" ] || continue
  tu="$work/unity_$(echo $dir | tr / _).cpp"
  : > "$tu"
  for f in $files; do echo "#include \"$src/$f\"" >> "$tu"; done
  if ! g++ -std=c++20 -fsyntax-only -Wall -Wextra -D_GLIBCXX_USE_CXX11_ABI=1 \
        -I"$src/include" -I"$src/tests" -isystem "$inc" -isystem "$inc/torch/csrc/api/include" \
        -DFASTAI_TEST_SOURCE_DIR="\"$src/tests\"" -DFASTAI_TEST_BINARY_DIR="\"$work\"" \
        $(pkg-config --cflags cairo) "$tu" 2> "$tu.log"; then
    echo "FAILED against LibTorch 2.11 headers: $dir"
    grep -E "error" "$tu.log" | head -20
    status=1
  else
    echo "ok against LibTorch 2.11 headers: $dir"
  fi
done
exit $status
