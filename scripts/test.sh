#!/usr/bin/env bash
# Second README command: install what the tests need, then run them (offscreen, CPU, offline).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh" test
cd "$ROOT"
export QT_QPA_PLATFORM=offscreen
export RESTORA_DEVICE="${RESTORA_DEVICE:-cpu}"
VENV_BIN="$(dirname "$RESTORA_PY")"
# The habits the code keeps: its tiers (import-linter), lint (ruff) and types (mypy), then the tests.
echo "restora: checking the import contracts, lint and types" >&2
contracts="$("$VENV_BIN/lint-imports" --no-cache 2>&1)" || { echo "$contracts"; exit 1; }
echo "$contracts" | grep -E "^Contracts:" >&2
"$VENV_BIN/ruff" check --quiet .
"$VENV_BIN/mypy"
exec "$RESTORA_PY" -m pytest "$@"
