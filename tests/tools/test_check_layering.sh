#!/usr/bin/env bash
# The layering check itself: it passes a tree whose includes point down, and fails, naming the
# file, line and layers, on an upward include, and on a private dependency in a public header.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
mkdir -p "$t/include/fastai/core" "$t/include/fastai/data" "$t/include/fastai/plot" "$t/src/data"
cat > "$t/CMakeLists.txt" <<'CM'
fastai_layer(core DEPS torch)
fastai_layer(plot DEPS fastai_core)
fastai_layer(data DEPS fastai_core
             PRIVATE_DEPS fastai_plot)
CM
echo '#include "fastai/core/a.h"' > "$t/include/fastai/data/b.h"
echo '#include "fastai/plot/p.h"' > "$t/src/data/b.cpp"
out=$(/usr/bin/python3 "$here/check_layering.py" "$t") || { echo "FAIL: a good tree was rejected: $out"; exit 1; }
echo '#include "fastai/data/b.h"' > "$t/include/fastai/core/a.h"
if out=$(/usr/bin/python3 "$here/check_layering.py" "$t"); then echo "FAIL: an upward include passed"; exit 1; fi
grep -q "include/fastai/core/a.h:1: a public header of layer 'core' includes layer 'data'" <<<"$out" \
  || { echo "FAIL: the message does not name the file and layers: $out"; exit 1; }
echo '#include "fastai/core/x.h"' > "$t/include/fastai/core/a.h"
echo '#include "fastai/plot/p.h"' > "$t/include/fastai/data/b.h"
if out=$(/usr/bin/python3 "$here/check_layering.py" "$t"); then echo "FAIL: a private dependency in a public header passed"; exit 1; fi
grep -q "include/fastai/data/b.h:1" <<<"$out" || { echo "FAIL: $out"; exit 1; }
echo "check_layering: passes down-pointing includes, rejects upward and private-in-public ones"
