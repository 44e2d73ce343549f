#!/usr/bin/env bash
# Fails when a file includes a header of a layer above its own (see check_layering.py).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/check_layering.py" "$1"
