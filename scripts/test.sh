#!/usr/bin/env bash
# Builds the library, examples and tests, then runs the whole test suite with ctest.
# This is the README's test command and what .ci/run calls.
set -euo pipefail
# OpenMP threads that wait passively instead of spinning between LibTorch's parallel regions: on
# these 2-vCPU machines a spinning worker makes small-tensor training (the tabular MLP) about 3x
# slower, for the PyTorch baseline too; big convolutions are unaffected (README "Performance").
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
start=$(date +%s)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTAI_BUILD_BENCH=OFF >/dev/null
cmake --build build -j2
echo "build: $(( $(date +%s) - start )) s"
ctest --test-dir build --output-on-failure -j2 "$@"
