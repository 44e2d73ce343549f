#!/usr/bin/env bash
# Builds the library, examples and tests, then runs the whole test suite with ctest.
# This is the README's test command and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
start=$(date +%s)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTAI_BUILD_BENCH=OFF >/dev/null
cmake --build build -j2
echo "build: $(( $(date +%s) - start )) s"
ctest --test-dir build --output-on-failure -j2 "$@"
