#!/usr/bin/env bash
# Second README command: install what the tests need, then run them (offscreen, CPU, offline).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh" test
cd "$ROOT"
export QT_QPA_PLATFORM=offscreen
export RESTORA_DEVICE="${RESTORA_DEVICE:-cpu}"
exec "$RESTORA_PY" -m pytest "$@"
