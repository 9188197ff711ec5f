"""The Qt-free document: versions with their parents, renames and deletes, unsaved work, the mask's undo
history and grey levels, masks per photo size, face regions, and the events the desktop renders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.photo import Photo, PhotoMeta
from core.regions import Region
from core.session.document import Document
from core.session.mask import MaskDocument
from core.session.versions import VersionError


def _photo(h: int = 12, w: int = 16, value: float = 0.5, source: Path | None = None) -> Photo:
    return Photo(rgb=np.full((h, w, 3), value, np.float32), meta=PhotoMeta(source_path=source))


def test_versions_record_their_parent_and_describe_it():
    doc = Document(_photo())
    events: list[str] = []
    doc.versions.events.on("changed", lambda: events.append("changed"))
    original = doc.current
    a = doc.versions.add(_photo(value=0.6), "Brighten", engine_id="lowlight.auto_gamma", params={"target": 0.5})
    b = doc.versions.add(_photo(value=0.7), "Brighten")  # made from the shown version, a
    c = doc.versions.add(_photo(value=0.8), "Brighten", parent=original)  # two runs, one engine, other inputs
    assert (a.parent_id, b.parent_id, c.parent_id) == (original.id, a.id, original.id)
    assert [v.id for v in doc.versions] == [1, 2, 3, 4] and doc.current is c and events
    assert doc.versions.describe(b) == "3. Brighten  ← from 2"
    assert doc.versions.describe(c) == "4. Brighten  ← from the original"
    assert doc.versions.describe(original) == "1. Original"


def test_rename_and_delete_keep_the_history_consistent():
    doc = Document(_photo())
    versions = doc.versions
    a = versions.add(_photo(value=0.6), "A")
    b = versions.add(_photo(value=0.7), "B")
    versions.set_reference(a)
    versions.rename(b, "  my   favourite ")
    assert b.title == "my favourite" and versions.describe(b).startswith("3. my favourite")
    versions.delete(a)  # b was made from a: now it is made from a's parent, the original
    assert b.parent_id == versions.original().id and versions.reference is versions.original()
    versions.set_current(b)
    versions.delete(b)
    assert versions.current is versions.original() and len(versions) == 1
    with pytest.raises(VersionError, match="original"):
        versions.delete(versions.original())


def test_unsaved_versions_are_what_closing_would_lose(tmp_path: Path):
    doc = Document(_photo(source=tmp_path / "photo.png"))
    assert not doc.has_unsaved_work()  # the original is its own file
    a = doc.versions.add(_photo(value=0.6), "A")
    b = doc.versions.add(_photo(value=0.7), "B")
    assert doc.versions.unsaved() == [a, b] and doc.has_unsaved_work()
    doc.versions.mark_saved(a, tmp_path / "a.png")
    assert doc.versions.unsaved() == [b] and a.saved_to == tmp_path / "a.png"


def test_version_numbers_start_at_one_for_every_photo():
    first = Document(_photo())
    first.versions.add(_photo(value=0.2), "A")
    second = Document(_photo())
    assert [v.id for v in second.versions] == [1]
    assert second.versions.add(_photo(value=0.3), "B").id == 2


def test_the_mask_follows_the_shown_versions_size():
    doc = Document(_photo(12, 16))
    seen: list[MaskDocument] = []
    doc.events.on("mask", seen.append)
    small = doc.mask
    small.fill_rect((2, 2, 4, 4))
    big = doc.versions.add(_photo(24, 32), "Upscaled x2")
    assert seen and seen[-1] is doc.mask and doc.mask.shape == (24, 32) and doc.mask.is_empty()
    doc.versions.set_current(doc.versions.original())
    assert doc.mask is small and not small.is_empty()  # the painted mask comes back with its size
    assert doc.mask_for(big.photo.height, big.photo.width) is seen[0]  # and the big one is kept too


def test_mask_edits_undo_exactly_and_report_what_changed():
    mask = MaskDocument(40, 60)
    changed: list[tuple] = []
    history: list[int] = []
    mask.events.on("changed", changed.append)
    mask.events.on("history", lambda: history.append(1))
    mask.begin_stroke(10, 10, radius=4, hardness=0.5)
    mask.stroke_to(30, 20)
    mask.end_stroke()
    painted = mask.array.copy()
    assert painted.any() and changed and history and 0 < len(np.unique(painted)) - 1
    mask.fill_rect((40, 0, 10, 10))
    mask.invert()
    mask.undo()
    mask.undo()
    assert np.array_equal(mask.array, painted)
    mask.undo()
    assert mask.is_empty() and not mask.history.can_undo()
    mask.redo()
    assert np.array_equal(mask.array, painted)
    assert mask.engine_mask().max() == 255 and set(np.unique(mask.engine_mask())) <= {0, 255}


def test_a_feathered_mask_comes_back_with_its_grey_levels(tmp_path: Path):
    mask = MaskDocument(512, 512)
    mask.begin_stroke(100, 100, radius=60, hardness=0.2)
    mask.stroke_to(400, 380)
    mask.end_stroke()
    assert len(np.unique(mask.array)) > 100  # really feathered
    path = mask.save(tmp_path / "mask.png")
    loaded = MaskDocument(512, 512)
    loaded.load(path)
    assert np.array_equal(loaded.array, mask.array)  # not one pixel changed (the old loader thresholded)
    loaded.undo()
    assert loaded.is_empty()  # loading is an undoable edit


def test_face_regions_announce_every_change():
    doc = Document(_photo())
    seen: list[list[Region]] = []
    doc.faces.events.on("changed", seen.append)
    doc.faces.add(Region((1.0, 2.0, 5.0, 5.0)))
    doc.faces.set([Region((0.0, 0.0, 4.0, 4.0), source="detected"), Region((5.0, 5.0, 3.0, 3.0))])
    doc.faces.remove([0])
    assert [len(s) for s in seen] == [1, 2, 1] and doc.faces.regions[0].box == (5.0, 5.0, 3.0, 3.0)


def test_the_session_package_needs_neither_qt_nor_torch():
    import subprocess
    import sys

    code = ("import sys; import core.session.document, core.session.mask; "
            "assert 'torch' not in sys.modules and 'PySide6' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)
