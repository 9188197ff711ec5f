#!/usr/bin/env bash
# First README command: install whatever is missing, then start Restora (arguments go to the app).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh" ""
exec "$RESTORA_PY" "$ROOT/main.py" "$@"
