"""Faults a user's machine has: a full disk while saving a photo, a mask, a session or the model store's
manifest loses neither the source nor the previous file and leaves no temporary files; a GPU out of memory
is reported and the studio keeps working; a model file deleted while the app runs gives a clear message."""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from core.errors import DiskFullError
from core.photo import Photo
from core.session.document import Document
from core.session.mask import MaskDocument
from tests.test_store import save_compact


@contextmanager
def full_disk(monkeypatch: pytest.MonkeyPatch, after_bytes: int = 100) -> Iterator[None]:
    """Every file Restora writes through core.fileio fills the disk after `after_bytes` bytes."""
    real_fdopen = os.fdopen

    class Filling:
        def __init__(self, fh) -> None:
            self.fh, self.written = fh, 0

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.fh.close()

        def write(self, data) -> int:
            self.written += len(data)
            if self.written > after_bytes:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.fh.write(data)

        def __getattr__(self, name):
            return getattr(self.fh, name)

    with monkeypatch.context() as m:
        m.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: Filling(real_fdopen(fd, mode, *a, **k)))
        yield


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith((".restora-tmp", ".part", ".tmp"))]


def test_a_full_disk_while_saving_a_mask_keeps_the_previous_mask(tmp_path: Path, monkeypatch):
    mask = MaskDocument(64, 64)
    mask.fill_rect((5, 5, 20, 20))
    target = mask.save(tmp_path / "mask.png")
    before = target.read_bytes()
    mask.fill_rect((30, 30, 20, 20))
    with full_disk(monkeypatch), pytest.raises(DiskFullError, match="full"):
        mask.save(target)
    assert target.read_bytes() == before and _no_temp_files(tmp_path)


def test_a_full_disk_during_an_autosave_keeps_the_last_good_session(tmp_path: Path, monkeypatch):
    from core.session.autosave import SessionWriter
    from core.session.recovery import load_session

    doc = Document(Photo(rgb=np.full((40, 50, 3), 0.3, np.float32)))
    writer = SessionWriter(doc, tmp_path)
    writer.save_now()
    doc.versions.add(Photo(rgb=np.full((40, 50, 3), 0.6, np.float32)), "A")
    with full_disk(monkeypatch, after_bytes=1000), pytest.raises(DiskFullError):
        writer.save_now()
    assert len(load_session(writer.folder).versions) == 1 and _no_temp_files(tmp_path)
    writer.save_now()  # the disk has room again: the version that failed is written now
    assert len(load_session(writer.folder).versions) == 2


def test_a_full_disk_during_an_import_leaves_neither_a_model_file_nor_a_broken_manifest(tmp_path: Path, monkeypatch):
    from core.store import ModelStore, StoreError

    store = ModelStore(tmp_path / "store")
    store.import_file(save_compact(tmp_path / "a.pth", seed=1))
    manifest_before = store.manifest_path.read_bytes()
    source = save_compact(tmp_path / "b.pth", seed=2)
    with full_disk(monkeypatch, after_bytes=2000), pytest.raises((StoreError, DiskFullError)):
        store.import_file(source)
    assert store.manifest_path.read_bytes() == manifest_before
    assert sorted(p.name for p in store.root.iterdir()) == ["a.pth", "manifest.json"]


def test_a_full_disk_while_saving_a_photo_keeps_the_source(tmp_path: Path, monkeypatch):
    from core.imageio import load_photo, save_photo

    source = tmp_path / "photo.png"
    save_photo(Photo(rgb=np.full((30, 30, 3), 0.5, np.float32)), source)
    original = source.read_bytes()
    photo = load_photo(source)
    result = tmp_path / "result.png"
    with full_disk(monkeypatch, after_bytes=10), pytest.raises(DiskFullError):
        save_photo(photo.with_rgb(np.zeros((30, 30, 3), np.float32)), result)
    assert source.read_bytes() == original and not result.exists() and _no_temp_files(tmp_path)


def test_running_out_of_memory_is_reported_and_the_studio_keeps_working(qtbot):
    from core.engines.base import Engine, EngineResult
    from desktop.window import MainWindow

    class Greedy(Engine):
        id, task, title = "test.greedy", "general", "Greedy"

        def process(self, request):
            from core.models.runner import InferenceMemoryError

            raise InferenceMemoryError("not enough memory to run Greedy on a 40 x 60 image on the CPU; close other "
                                       "programs or use a smaller image")

    class Fine(Engine):
        id, task, title = "test.fine", "general", "Fine"

        def process(self, request):
            return EngineResult(request.photo.with_rgb(request.photo.rgb * 0.5))

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_photo(Photo(rgb=np.full((40, 60, 3), 0.8, np.float32)))
    handle = window.run_engine(Greedy(), {})
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    assert handle.state == "failed" and "not enough memory" in window.restore_panel.banner.text()
    handle = window.run_engine(Fine(), {})
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    assert handle.state == "succeeded" and len(window.versions) == 2


def test_a_model_file_deleted_while_the_app_runs_gives_a_clear_message(tmp_path: Path, rng):
    from core.engines.model_engine import ModelEngine
    from core.engines.request import EngineRequest
    from core.store import ModelStore, StoreError

    store = ModelStore()
    entry = store.import_file(save_compact(tmp_path / "a.pth"))
    engine = ModelEngine(entry, store, device="cpu")  # listed in the restore panel
    store.path(entry).unlink()  # removed behind Restora's back
    with pytest.raises(StoreError, match="is missing; import it again"):
        engine.run(EngineRequest(Photo(rgb=rng.random((16, 16, 3), dtype=np.float32))))
