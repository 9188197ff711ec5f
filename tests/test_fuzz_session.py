"""Fuzzing the session document loader (core.session.recovery.load_session): a recovery folder written by
autosave, then its index's values replaced by other JSON, its pixel (.npy) and mask edit (.npz) files damaged
byte by byte. Every folder gives a Document or a typed RestoraError (SessionFileError)."""

from __future__ import annotations

import json
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import byte_mutations, time_limit


@lru_cache(maxsize=None)
def template() -> Path:
    """One autosaved session: two versions (one with alpha), a mask with strokes, an undone one, faces."""
    from core.photo import Photo
    from core.regions import Region
    from core.session.autosave import SessionWriter
    from core.session.document import Document

    rng = np.random.default_rng(0)
    doc = Document(Photo(rgb=rng.random((12, 10, 3), dtype=np.float32)))
    doc.versions.add(Photo(rgb=rng.random((12, 10, 3), dtype=np.float32),
                           alpha=rng.random((12, 10), dtype=np.float32)), "Fill", engine_id="inpaint.telea",
                     params={"radius": 3})
    for i in range(3):
        doc.mask.begin_stroke(2 + 2 * i, 3, radius=2, hardness=0.5)
        doc.mask.stroke_to(4 + 2 * i, 9)
        doc.mask.end_stroke()
    doc.mask.undo()
    doc.faces.set([Region((1.0, 1.0, 5.0, 6.0), ((2.0, 3.0), (4.0, 3.0), (3.0, 5.0)), "detected", 0.9)])
    writer = SessionWriter(doc, Path(tempfile.mkdtemp(prefix="restora-fuzz-session-")))
    writer.save_now()
    return writer.folder


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                 max_size=3), max_leaves=6)


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside the index."""
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, prefix + (i,))
    return found


def _replace(value: object, path: tuple, new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)  # type: ignore[call-overload]
    copy[head] = _replace(copy[head], rest, new)
    return copy


def _check(folder: Path) -> None:
    from core.errors import RestoraError
    from core.session.recovery import load_session

    try:
        with time_limit():
            load_session(folder)
    except RestoraError as e:
        assert str(e) and " object at 0x" not in str(e), f"unclear message: {e}"


def _copy() -> Path:
    target = Path(tempfile.mkdtemp(prefix="restora-fuzz-session-case-")) / "s"
    shutil.copytree(template(), target)
    return target


@given(st.data())
def test_session_index_values_replaced(data: st.DataObject):
    folder = _copy()
    index = json.loads((folder / "session.json").read_text())
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(index)[1:]))
        index = _replace(index, path, data.draw(_JSON))
    (folder / "session.json").write_text(json.dumps(index))
    try:
        _check(folder)
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


@given(st.data())
def test_session_files_damaged(data: st.DataObject):
    folder = _copy()
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    name = data.draw(st.sampled_from(files))
    (folder / name).write_bytes(data.draw(byte_mutations((folder / name).read_bytes())))
    try:
        _check(folder)
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
