"""scripts/prepare_sice.py: the id split (no held-out scene in training) and the exposure folders."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "prepare_sice.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("prepare_sice", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _photo(path: Path, level: float, rng: np.random.Generator) -> None:
    """A textured photo whose mean brightness is about `level`, with nothing clipped."""
    noise = rng.uniform(-0.1, 0.1, (64, 64, 3)) * min(level, 1 - level)
    Image.fromarray(np.clip((level + noise) * 255, 0, 255).astype(np.uint8)).save(path, quality=95)


def test_split_by_id_and_exposure(tmp_path, rng):
    prepare = _load_script()
    source = tmp_path / "sice"
    source.mkdir()
    levels = {1: 0.1, 2: 0.45, 3: 0.8, 1580: 0.25, 1590: 0.45, 1601: 0.45, 1602: 0.1, 1603: 0.25, 1604: 0.9}
    for ident, level in levels.items():
        _photo(source / f"{ident}.jpg", level, rng)
    (source / "notes.jpg").write_bytes(b"not numbered: ignored")
    out = tmp_path / "split"
    assert prepare.main([str(source), str(out)]) == 0

    def ids(folder: str) -> set[int]:
        return {int(p.stem) for p in (out / folder).iterdir()}

    assert ids("zero-ref-train") == {1, 2, 3, 1580}  # 1590 lies in the guard gap
    assert ids("well-exposed-train") == {2}
    assert ids("under-exposed-train") == {1, 1580}
    assert ids("dark-train") == {1}  # chosen like dark-holdout: 1580 (0.25) is under-exposed but not that dark
    assert ids("well-exposed-holdout") == {1601}
    assert ids("dark-holdout") == {1602}
    assert all((out / "zero-ref-train" / f"{i}.jpg").is_symlink() for i in (1, 2, 3, 1580))
    # running again replaces the folders' contents instead of adding to them
    (source / "2.jpg").unlink()
    assert prepare.main([str(source), str(out)]) == 0
    assert ids("zero-ref-train") == {1, 3, 1580} and not ids("well-exposed-train")
