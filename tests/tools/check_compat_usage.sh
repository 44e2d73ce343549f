#!/usr/bin/env bash
# Version-sensitive LibTorch API may only appear in include/fastai/core/compat.h
# (libtorch-notes §2.2). Fails listing every offending line.
set -euo pipefail
cd "$1"
pattern='TORCH_VERSION_MAJOR|TORCH_VERSION_MINOR|FA_TORCH_AT_LEAST|at::autocast::|c10::variant|c10::get<|torch/linalg\.h|torch::linalg::|const_data_ptr|set_autocast|torch/csrc/api/include/torch/version'
hits=$(grep -rnE "$pattern" include src examples bench tests --include='*.h' --include='*.cpp' \
        | grep -v '^include/fastai/core/compat.h:' | grep -v '^tests/tools/' || true)
if [ -n "$hits" ]; then
  echo "version-sensitive LibTorch API outside include/fastai/core/compat.h:"
  echo "$hits"
  exit 1
fi
echo "compat usage: ok"
