"""The README's set-up commands: a photo path reaches the app (it is not an install extra), and a test
install satisfies a plain start, so start.sh after test.sh installs nothing."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fake_venv(tmp_path: Path, extras: str) -> Path:
    """A venv whose python only prints its arguments, stamped as installed with `extras`."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text("#!/bin/sh\necho \"python $*\"\n")
    python.chmod(0o755)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + (ROOT / "scripts" / "bootstrap.sh").read_bytes())
    (venv / ".restora-stamp").write_text(f"{digest.hexdigest()} {extras}\n")
    return venv


def _start(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RESTORA_VENV=str(venv))
    return subprocess.run(["bash", str(ROOT / "scripts" / "start.sh"), *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_start_passes_the_photo_to_the_app_and_a_test_install_satisfies_it(tmp_path: Path):
    venv = _fake_venv(tmp_path, "test")  # what test.sh leaves behind
    done = _start(venv, "photo.jpg")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"python {ROOT / 'main.py'} photo.jpg"
    assert "installing" not in done.stderr  # no pip run: the stamps do not fight


def test_a_plain_install_does_not_satisfy_the_tests(tmp_path: Path):
    venv = _fake_venv(tmp_path, "base")
    env = dict(os.environ, RESTORA_VENV=str(venv))
    script = f'source "{ROOT}/scripts/bootstrap.sh" test; echo reached'
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert "installing" in done.stderr  # the test extra is missing, so it would install it
