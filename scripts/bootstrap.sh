#!/usr/bin/env bash
# Creates (or reuses) Restora's virtual environment and installs what is missing.
# Usage: source scripts/bootstrap.sh EXTRA   -> sets RESTORA_PY to the venv's python. Pass "" for no extra:
# a sourced script sees the caller's arguments when given none, and a photo path is not an extra.
# Idempotent: one stamp (a hash of pyproject.toml + this script, and the extras installed with it) skips pip
# when nothing changed; an install with the test extra also satisfies a plain start.
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

case "$EXTRA" in
  ""|test) ;;
  *) echo "restora: unknown set-up extra '$EXTRA' (expected nothing or 'test')" >&2; return 2 2>/dev/null || exit 2 ;;
esac

stamp_file="$VENV/.restora-stamp"
stamp="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/bootstrap.sh" | sha256sum | cut -d' ' -f1)"
installed_extras=""
if [ -f "$stamp_file" ]; then
  read -r stamp_hash installed_extras < "$stamp_file" || true
  if [ "${stamp_hash:-}" = "$stamp" ]; then
    case " ${installed_extras:-} " in
      *" ${EXTRA:-base} "*|*" test "*) return 0 2>/dev/null || exit 0 ;;
    esac
  else
    installed_extras=""
  fi
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
echo "$stamp ${installed_extras:-} ${EXTRA:-base}" > "$stamp_file"
