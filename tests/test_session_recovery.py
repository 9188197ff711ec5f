"""Session recovery: what autosave writes comes back exactly, a kill -9 during a stroke or during an autosave
leaves a session that opens, and the studio offers it at the next start and removes it after a normal close."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from core.photo import Photo, PhotoMeta
from core.regions import Region
from core.session.autosave import SessionWriter
from core.session.document import Document
from core.session.recovery import discard_session, list_sessions, load_session
from core.session.recovery_format import INDEX

ROOT = Path(__file__).resolve().parent.parent
DEAD_PID = 2 ** 22 + 17  # beyond Linux's default pid range: no process has it


def _photo(seed: int, h: int = 24, w: int = 32, alpha: bool = False) -> Photo:
    rng = np.random.default_rng(seed)
    meta = PhotoMeta(source_path=Path("/photos/a.tif"), format="TIFF", bit_depth=16, icc_profile=b"\x00icc",
                     exif=b"Exif\x00\x00MM", notes=("16-bit",))
    return Photo(rgb=rng.random((h, w, 3), dtype=np.float32),
                 alpha=rng.random((h, w), dtype=np.float32) if alpha else None, meta=meta)


def _as_dead(folder: Path) -> None:
    index = json.loads((folder / INDEX).read_text())
    index["pid"] = DEAD_PID
    (folder / INDEX).write_text(json.dumps(index))


def test_everything_autosave_writes_comes_back_exactly(tmp_path: Path):
    doc = Document(_photo(0, alpha=True))
    writer = SessionWriter(doc, tmp_path)
    a = doc.versions.add(_photo(1, alpha=True), "Fill", engine_id="inpaint.telea", params={"radius": 3, "x": 0.5},
                         notes=["note"], seconds=1.5, regions=[Region((1.0, 2.0, 3.0, 4.0))])
    doc.versions.add(_photo(2, 48, 64), "Upscale", parent=doc.versions.original())
    doc.versions.rename(a, "mine")
    doc.versions.mark_saved(a, tmp_path / "a.png")
    doc.versions.set_current(a)
    doc.versions.set_reference(doc.versions.original())
    mask = doc.mask
    for i in range(4):
        mask.begin_stroke(3 + 5 * i, 4, radius=3, hardness=0.3)
        mask.stroke_to(6 + 5 * i, 20)
        mask.end_stroke()
    mask.undo()  # an undone stroke stays redoable after recovery
    doc.mask_for(48, 64).fill_rect((10, 10, 20, 20))
    doc.faces.set([Region((5.0, 5.0, 10.0, 12.0), ((7.0, 8.0), (11.0, 8.0), (9.0, 13.0)), "detected", 0.9)])
    writer.save_now({"zoom": 1.5, "x": 10.0, "y": 12.0, "mode": "split"})

    back = load_session(writer.folder)
    assert [v.id for v in back.versions] == [1, 2, 3] and back.current.id == a.id
    for v, w in zip(doc.versions.versions, back.versions.versions):
        assert np.array_equal(v.photo.rgb, w.photo.rgb) and v.photo.meta == w.photo.meta
        assert (v.label, v.engine_id, v.params, v.parent_id, v.notes, v.seconds, v.name, v.saved_to, v.regions) == \
            (w.label, w.engine_id, w.params, w.parent_id, w.notes, w.seconds, w.name, w.saved_to, w.regions)
        assert (v.photo.alpha is None) == (w.photo.alpha is None)
    assert np.array_equal(back.versions.by_id(2).photo.alpha, doc.versions.by_id(2).photo.alpha)
    assert np.array_equal(back.mask.array, mask.array)
    undo, redo = back.mask.history.stacks()
    assert (len(undo), len(redo)) == (3, 1)  # the same undo depth
    back.mask.redo()
    back.mask.undo()
    back.mask.undo()
    mask.redo()
    mask.undo()
    mask.undo()
    assert np.array_equal(back.mask.array, mask.array)
    assert np.array_equal(back.mask_for(48, 64).array, doc.mask_for(48, 64).array)
    assert back.faces.regions == doc.faces.regions and back.view["mode"] == "split"
    assert back.versions.add(_photo(4), "next").id == 4  # numbering goes on


def test_autosave_is_incremental_and_forgets_what_is_gone(tmp_path: Path):
    doc = Document(_photo(0))
    writer = SessionWriter(doc, tmp_path)
    writer.save_now()
    v = doc.versions.add(_photo(1), "A")
    snap = writer.snapshot()
    assert [stem for stem, _ in snap.photos] == ["v2"]  # only the new version's pixels
    writer.write(snap)
    doc.mask.fill_rect((1, 1, 5, 5))
    snap = writer.snapshot()
    assert not snap.photos and len(snap.edits) == 1  # a finished stroke writes only its patch
    writer.write(snap)
    doc.versions.delete(v)
    writer.save_now()
    assert not (writer.folder / "v2-rgb.npy").exists()
    writer.discard()
    assert not writer.folder.exists()


CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    from pathlib import Path
    from core.photo import Photo
    from core.session.document import Document
    from core.session.autosave import SessionWriter

    root, mode = Path(sys.argv[1]), sys.argv[2]
    doc = Document(Photo(rgb=np.full((300, 400, 3), 0.25, np.float32)))
    writer = SessionWriter(doc, root)
    writer.save_now()
    print(writer.folder, flush=True)
    if mode == "stroke":
        i = 0
        while True:  # paint forever: a stroke, an autosave, a version now and then
            m = doc.mask
            m.begin_stroke(i % 400, (7 * i) % 300, radius=6)
            for k in range(30):
                m.stroke_to((i + k) % 400, (7 * i + 3 * k) % 300)
                time.sleep(0.001)
            m.end_stroke()
            if i % 5 == 4:
                doc.versions.add(Photo(rgb=np.full((300, 400, 3), (i % 100) / 100, np.float32)), f"v{i}")
            writer.save_now()
            print("saved", i, flush=True)
            i += 1
    else:  # one huge version: the kill lands while its pixels are being written
        doc.versions.add(Photo(rgb=np.full((3000, 4000, 3), 0.5, np.float32)), "huge")
        print("writing", flush=True)
        writer.save_now()
        print("done", flush=True)
""")


def _child(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), mode], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.stdout is not None
    folder = Path(proc.stdout.readline().strip())
    return proc, folder


def test_kill_minus_9_during_strokes_leaves_a_session_that_opens(tmp_path: Path):
    proc, folder = _child(tmp_path, "stroke")
    assert proc.stdout is not None
    for _ in range(8):  # a few saves in, then at an arbitrary moment mid-stroke
        proc.stdout.readline()
    time.sleep(0.037)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    [session] = list_sessions(tmp_path)  # the dead process's session is offered
    doc = load_session(session.folder)
    undo, _ = doc.mask.history.stacks()
    assert len(undo) >= 8 and doc.mask.array.any()
    for v in doc.versions.versions[1:]:  # every version named in the index is complete
        assert v.photo.rgb.shape == (300, 400, 3) and np.all(v.photo.rgb == v.photo.rgb[0, 0, 0])


def test_kill_minus_9_during_an_autosave_keeps_the_previous_session(tmp_path: Path):
    proc, folder = _child(tmp_path, "write")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    deadline = time.time() + 30
    while time.time() < deadline and not any(p.name.endswith(".restora-tmp") for p in folder.iterdir()):
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)  # half of the huge version is on disk, in a temp file
    proc.wait()
    doc = load_session(folder)
    assert len(doc.versions) == 1  # the last good index: the original only, and it opens
    [session] = list_sessions(tmp_path)
    discard_session(session)
    assert not folder.exists()


def test_a_damaged_index_is_not_offered_and_a_damaged_file_is_a_clear_error(tmp_path: Path):
    from core.session.recovery_format import SessionFileError

    doc = Document(_photo(0))
    writer = SessionWriter(doc, tmp_path)
    doc.versions.add(_photo(1), "A")
    writer.save_now()
    _as_dead(writer.folder)
    (writer.folder / "v2-rgb.npy").write_bytes(b"not an array")
    with pytest.raises(SessionFileError, match="cannot be read"):
        load_session(writer.folder)
    (writer.folder / INDEX).write_text("{")
    assert list_sessions(tmp_path) == []


def test_the_studio_offers_the_session_and_restores_it_exactly(qtbot, tmp_path: Path):
    from PySide6.QtWidgets import QDialog

    from desktop.canvas.display import make_display
    from desktop.window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_photo(Photo.from_uint8((np.arange(40 * 60 * 3) % 251).astype(np.uint8).reshape(40, 60, 3)))
    photo = window.photo.with_rgb(1 - window.photo.rgb)
    window.versions.add(photo, make_display(photo), "Inverted")
    window.canvas.mask_layer.fill_rect((5, 5, 10, 10))
    window.canvas.mask_layer.fill_rect((20, 5, 10, 10))
    window.canvas.mask_layer.undo()
    window.canvas.set_zoom(2.0)
    window.autosave.flush()
    folder = window.autosave.writer.folder
    window.autosave.stop(discard=False)  # as if this window's process had been killed: nothing more is written
    _as_dead(folder)

    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    offered = again.offer_recovery()
    qtbot.waitUntil(lambda: offered.delivered, timeout=5000)
    dialog = again.findChild(QDialog, "recovery-dialog")
    assert dialog is not None and dialog.isVisible()  # offered at start
    sessions = list_sessions()
    assert [s.folder for s in sessions] == [folder]
    handle = again.restore_session(sessions[0])
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    assert handle.state == "succeeded", handle.error
    assert len(again.versions) == 2 and again.versions.current.label == "Inverted"
    assert np.array_equal(again.photo.rgb, photo.rgb)
    assert np.array_equal(again.canvas.mask_layer.mask, window.canvas.mask_layer.mask)
    assert again.canvas.mask_layer.history.can_redo()  # the same undo depth
    assert abs(again.canvas.zoom() - 2.0) < 1e-6
    assert not folder.exists() and again.autosave.writer.folder.exists()  # it autosaves on, in a new folder
    again.ask_unsaved = lambda count, doing: "discard"
    again.close()
    assert not again.autosave.writer or not again.autosave.writer.folder.exists()
    assert list_sessions() == []  # closed normally: nothing left to recover


def test_the_recovery_dialog_discards_one_by_one_and_closes_when_none_is_left(qtbot):
    from desktop.dialogs.recovery_dialog import RecoveryDialog

    for seed in (1, 2):
        writer = SessionWriter(Document(_photo(seed)))
        writer.save_now()
        _as_dead(writer.folder)
    dialog = RecoveryDialog(list_sessions())
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.list.count() == 2
    dialog.list.setCurrentRow(0)
    dialog.discard_button.click()
    assert dialog.isVisible() and dialog.list.count() == 1 and len(list_sessions()) == 1
    dialog.list.setCurrentRow(0)
    dialog.discard_button.click()
    assert not dialog.isVisible() and list_sessions() == []
