#!/usr/bin/env bash
# Installs the real fastai 2.7 (and what it imports) for Debian's /usr/bin/python3 + python3-torch
# into a git-ignored folder, for the generator scripts that write the expected values tests read
# (tests never need it: they read the committed outputs). Needs PyPI; prints the PYTHONPATH to use:
#   PYTHONPATH=$(bash scripts/fastai_reference.sh) /usr/bin/python3 tests/.../gen_*.py
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${FASTAI_REF_DIR:-$PWD/.gl/fastai-ref}
if ! PYTHONPATH="$dest" /usr/bin/python3 -c 'import fastai.tabular.all' >/dev/null 2>&1; then
  pkgs=(python3-matplotlib python3-requests python3-yaml python3-pip)
  missing=()
  for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  if ((${#missing[@]})); then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # fastprogress 1.0.3: later versions import fasthtml; pandas < 2.2 for Debian's numpy 1.24.
  /usr/bin/python3 -m pip install -q --no-deps --target "$dest" 'fastai==2.7.18' 'fastcore<1.8' \
    'fastprogress==1.0.3' fastdownload 'pandas<2.2' python-dateutil pytz tzdata packaging >&2
fi
echo "$dest"
