#!/usr/bin/env bash
# Installs every system dependency from Debian packages, idempotently: only what is missing.
# Used by scripts/main.sh and scripts/test.sh, so a fresh Debian machine needs nothing else.
set -euo pipefail

# package: why it is here (README "Dependencies" says the same)
pkgs=(
  g++ cmake ninja-build pkg-config ccache   # toolchain; ccache makes rebuilds ~20x faster
  libtorch-dev                              # LibTorch 1.13 (CPU): tensors, autograd, nn
  libopenblas0-pthread                      # fast BLAS for libtorch's Linear layers (reference BLAS is several x slower)
  libcairo2-dev                             # PNG/SVG plots: loss curves, lr_find, schedules
  zlib1g-dev                                # gzip'd IDX files (Fashion-MNIST)
  libpng-dev libjpeg62-turbo-dev            # image I/O: PNG (libpng), JPEG (libjpeg-turbo)
  nlohmann-json3-dev                        # JSON: test fixtures, metadata
  libgtest-dev libbenchmark-dev             # test suite, micro-benchmarks
  dataset-fashion-mnist                     # the main job's real data
  python3-torch python3-sklearn python3-pil # baselines for benchmarks (PyTorch, PIL), sklearn reference values for tests
  python3-torchvision                       # the weight-parity test: torchvision models saved from Python load in C++
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's libtorch uses whatever libblas.so.3 the alternatives system points to; prefer OpenBLAS.
cur=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || true)
if [[ "$cur" != *openblas* ]]; then
  ob=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas | head -1 || true)
  [ -n "$ob" ] && { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo; $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu "$ob" >/dev/null; }
fi
# The dataset registry (untar_data, include/fastai/data/external.h) under $FASTAI_HOME/data (default
# ~/.fastai-cpp/data): links to the Fashion-MNIST IDX files, and the tables the tabular and collab
# examples and tests use, converted from Debian's R data packages (installs r-base-core and three
# r-cran-* data packages the first time, about 100 MB and 30 s).
bash "$(dirname "$0")/data.sh" fashion_mnist credit_data diamonds movielens >/dev/null
echo "setup: dependencies present (BLAS: $(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || echo unknown))"
