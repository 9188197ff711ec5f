"""Inputs a batch cannot use are each said, and the others go on: an unreadable folder, an unsearchable
sub-folder, a pipe, a name longer than file systems allow."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import main
from core.batch.inputs import expand_inputs


def _photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), 50, np.uint8)).save(path)
    return path


def _deny(monkeypatch: pytest.MonkeyPatch, denied: Path) -> None:
    """As a non-root user sees a folder without read permission (tests may run as root, who reads all)."""
    real = os.scandir

    def scandir(path=".", *a, **k):
        if Path(path).resolve() == denied.resolve():
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_folder_is_said_and_the_other_inputs_go_on(tmp_path: Path, monkeypatch, capsys):
    good = _photo(tmp_path / "good" / "a.png")
    locked = tmp_path / "locked"
    _photo(locked / "b.png")
    _deny(monkeypatch, locked)
    found, problems = expand_inputs([locked, good.parent])
    assert [f.source.name for f in found] == ["a.png"]
    assert len(problems) == 1 and "permission denied" in problems[0].reason
    out = tmp_path / "out"
    code = main.main(["restore", str(locked), str(good.parent), "--engine", "lowlight.auto_gamma", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1 and (out / "a.png").exists()
    assert "locked" in captured.err + captured.out and "Traceback" not in captured.err


def test_an_unsearchable_sub_folder_is_said_in_a_recursive_batch(tmp_path: Path, monkeypatch):
    _photo(tmp_path / "in" / "a.png")
    _photo(tmp_path / "in" / "day2" / "b.png")
    _deny(monkeypatch, tmp_path / "in" / "day2")
    found, problems = expand_inputs([tmp_path / "in"], recursive=True)
    assert [str(f.relative) for f in found] == ["a.png"]
    assert [p.name for p in problems] == [f"{tmp_path / 'in'}/day2"] and "permission denied" in problems[0].reason


@pytest.mark.skipif(sys.platform == "win32" or not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_pipe_and_an_overlong_name_are_said_without_opening_them(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe.png")
    found, problems = expand_inputs([tmp_path / "pipe.png", tmp_path / ("x" * 300 + ".png")])
    assert found == []
    reasons = [p.reason for p in problems]
    assert "a pipe" in reasons[0] and "too long" in reasons[1]
