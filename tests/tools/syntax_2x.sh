#!/usr/bin/env bash
# Compiles every library source, example, tool, benchmark and test against LibTorch 2.11's headers
# with -fsyntax-only (no 2.x libraries exist on CPU machines). Exit 77 (skip) when the headers
# are not there (a user's clone has no ../shared).
set -euo pipefail
src=$1 work=$2
jobs=${SYNTAX_JOBS:-2}
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

# One translation unit per folder (the sources are unity-build safe), so the headers parse a few
# times only; programs with their own main() (bench/, tools/, examples/) get one each.
rm -f "$work"/unity_*.cpp "$work"/unity_*.log
add() {  # add NAME FILE...
  local tu="$work/unity_$1.cpp"; shift
  : > "$tu"
  for f in "$@"; do echo "#include \"$src/$f\"" >> "$tu"; done
}
for dir in $(cd "$src" && ls -d src/*/ src/*/*/ tests/*/ | sed 's#/$##' | grep -v -e '^tests/tools$' -e '^tests/consumer$'); do
  files=$(cd "$src" && ls $dir/*.cpp 2>/dev/null || true)
  [ -n "$files" ] && add "$(echo $dir | tr / _)" $files
done
for f in $(cd "$src" && ls bench/*.cpp tools/*.cpp examples/*.cpp 2>/dev/null || true); do
  add "$(echo ${f%.cpp} | tr / _)" "$f"
done

check() {  # check TU: prints one line; the errors go to TU.log
  local tu=$1 name; name=$(basename "$tu" .cpp); name=${name#unity_}
  if g++ -std=c++20 -fsyntax-only -Wall -Wextra -D_GLIBCXX_USE_CXX11_ABI=1 \
        -I"$src/include" -I"$src/tests" -I"$src/bench" -isystem "$inc" -isystem "$inc/torch/csrc/api/include" \
        -DFASTAI_TEST_SOURCE_DIR="\"$src/tests\"" -DFASTAI_TEST_BINARY_DIR="\"$work\"" \
        -DFASTAI_BENCH_DIR="\"$src/bench\"" \
        $(pkg-config --cflags cairo) "$tu" 2> "$tu.log"; then
    echo "ok against LibTorch 2.11 headers: $name"
  else
    echo "FAILED against LibTorch 2.11 headers: $name"
    grep -E "error" "$tu.log" | head -20
    return 1
  fi
}
export -f check; export src inc work
ls "$work"/unity_*.cpp | xargs -P "$jobs" -I{} bash -c 'check "$@"' _ {}
