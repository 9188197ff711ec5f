#!/usr/bin/env bash
# Creates (or reuses) Restora's virtual environment and installs what is missing.
# Usage: source scripts/bootstrap.sh [extra]   -> sets RESTORA_PY to the venv's python.
# Idempotent: a stamp of pyproject.toml + this script skips pip when nothing changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RESTORA_VENV:-$ROOT/.venv}"
EXTRA="${1:-}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "restora: creating virtual environment in $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
RESTORA_PY="$VENV/bin/python"
export RESTORA_PY

stamp_file="$VENV/.restora-stamp${EXTRA:+-$EXTRA}"
stamp="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/bootstrap.sh" | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
  return 0 2>/dev/null || exit 0
fi

pip_install() { "$RESTORA_PY" -m pip install --disable-pip-version-check --progress-bar off "$@"; }

# Pick the torch/torchvision pair first, so that resolving the rest installs no second torch.
# x86_64 Linux: the pair whose wheels this workplace keeps on disk (no multi-GB download);
# aarch64 Linux: the CPU pair from PyPI; elsewhere (macOS, Windows) PyPI's default build.
if ! "$RESTORA_PY" -c "import torch, torchvision" >/dev/null 2>&1; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64)  TORCH_PAIR=(torch==2.14.1 torchvision==0.29.1) ;;
    Linux-aarch64) TORCH_PAIR=(torch==2.9.1 torchvision==0.24.1) ;;
    *)             TORCH_PAIR=(torch torchvision) ;;
  esac
  echo "restora: installing ${TORCH_PAIR[*]}" >&2
  pip_install -qq "${TORCH_PAIR[@]}"
fi

echo "restora: installing Restora${EXTRA:+ [$EXTRA]} and its dependencies" >&2
pip_install -qq -e "$ROOT${EXTRA:+[$EXTRA]}"
echo "$stamp" > "$stamp_file"
