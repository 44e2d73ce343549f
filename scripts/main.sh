#!/usr/bin/env bash
# The main job: installs what is missing, builds, and trains a CNN on Fashion-MNIST
# (progress bar + metrics table; PNG plots and the model under out/fashion_mnist/).
# Extra arguments go to the program: --epochs N --lr X --bs N --out DIR
set -euo pipefail
# OpenMP threads that wait passively instead of spinning between LibTorch's parallel regions: on
# these 2-vCPU machines a spinning worker makes small-tensor training (the tabular MLP) about 3x
# slower, for the PyTorch baseline too; big convolutions are unaffected (README "Performance").
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTAI_BUILD_BENCH=OFF >/dev/null
cmake --build build -j2 --target fashion_mnist
exec ./build/examples/fashion_mnist "$@"
