"""kill -9 left hidden temporary files that were never cleaned, and a run whose status kept saying "running"
with its process dead. Restora now removes its own leftovers over an hour old where it writes (run
checkpoints, batch outputs, partial downloads after a week) and calls such a run interrupted, also after it
was resumed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.fileio import LEFTOVER_AGE_S, remove_leftovers
from core.train.runs import layout
from core.train.runs.reader import RunReader
from core.train.runs.supervisor import STALE, RunSupervisor, run_key

OLD = time.time() - LEFTOVER_AGE_S - 60


def _touch(path: Path, when: float | None = None, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if when is not None:
        os.utime(path, (when, when))
    return path


def test_remove_leftovers_takes_only_old_files_of_restoras_own_names(tmp_path):
    old_tmp = _touch(tmp_path / ".a.png.x1y2.restora-tmp", OLD)
    young_tmp = _touch(tmp_path / ".b.png.x1y2.restora-tmp")
    old_part = _touch(tmp_path / "model.pth.part", OLD)
    hidden = _touch(tmp_path / ".hidden", OLD)
    mine = _touch(tmp_path / "photo.restora-tmp", OLD)  # not hidden: not an atomic write's temp file
    folder = tmp_path / ".c.restora-tmp"
    folder.mkdir()
    os.utime(folder, (OLD, OLD))
    assert remove_leftovers(tmp_path) == [old_tmp]
    assert young_tmp.exists() and old_part.exists() and hidden.exists() and mine.exists() and folder.is_dir()
    assert remove_leftovers(tmp_path, suffixes=(".part",)) == [old_part]
    assert remove_leftovers(tmp_path / "missing") == []


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_remove_leftovers_never_follows_a_link(tmp_path):
    target = _touch(tmp_path / "keep" / "precious.png", OLD)
    link = tmp_path / "out" / ".x.restora-tmp"
    link.parent.mkdir()
    link.symlink_to(target)
    os.utime(link, (OLD, OLD), follow_symlinks=False)
    assert remove_leftovers(link.parent) == [] and target.exists()


# ------------------------------------------------------------------------------------ run folders

def _run(tmp_path: Path, state: str = "running", pid: int | None = None, step: int = 40) -> Path:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.toml").write_text('preset = "x"\n', encoding="utf-8")
    record = layout.status_record(state, "Training.", step, 100, "training" if state == "running" else "",
                                  pid=pid if pid is not None else os.getpid())
    (run / "status.json").write_text(json.dumps(record), encoding="utf-8")
    return run


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_reading_a_run_cleans_its_checkpoint_leftovers(tmp_path):
    run = _run(tmp_path)
    ckpt = run / "checkpoints"
    latest = _touch(ckpt / "latest.pt", OLD)
    old = [_touch(ckpt / ".latest.pt.abc123.restora-tmp", OLD), _touch(ckpt / "latest.pt.tmp", OLD)]
    young = _touch(ckpt / ".best.pt.def456.restora-tmp")
    RunReader(run)
    assert not any(p.exists() for p in old)
    assert latest.exists() and young.exists()


def test_a_trainer_starting_in_a_folder_cleans_its_checkpoint_leftovers(tmp_path):
    run = _run(tmp_path, state="stopped")
    old = _touch(run / "checkpoints" / "best.pt.tmp", OLD)
    layout.write_status(run, "running", "Building the model.", 40, 100, layout.PHASE_STARTING)
    assert not old.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="process probing is not available on Windows")
def test_a_running_status_with_a_dead_pid_reads_interrupted(tmp_path):
    run = _run(tmp_path, pid=_dead_pid())
    _touch(run / "checkpoints" / "latest.pt")
    reader = RunReader(run)
    reader.poll()
    assert reader.stale() and reader.state == layout.INTERRUPTED == "interrupted"
    supervisor = RunSupervisor()
    key = run_key(run)
    assert supervisor.state_of(key, reader) == STALE == "interrupted"
    assert supervisor.can_resume(key, reader)
    note = supervisor.message_for(key, reader)
    assert note.error and note.text.startswith("Interrupted") and "Resume" in note.text


@pytest.mark.skipif(sys.platform == "win32", reason="process probing is not available on Windows")
def test_a_resumed_run_says_it_was_interrupted_before(tmp_path):
    run = _run(tmp_path, pid=_dead_pid(), step=40)
    layout.write_status(run, "running", "Building the model.", 40, 100, layout.PHASE_STARTING)  # the resume
    status = layout.read_status(run)
    assert status["interrupted"]["step"] == 40 and status["pid"] == os.getpid()
    layout.write_status(run, "running", "Training.", 55, 100, layout.PHASE_TRAINING)  # later writes keep it
    reader = RunReader(run)
    reader.poll()
    assert reader.state == "running" and reader.status.interrupted_step == 40
    assert reader.status.resumed_note == "Resumed after an interruption at step 40."
    note = RunSupervisor().message_for(run_key(run), reader)
    assert "Resumed after an interruption at step 40" in note.text and not note.error
    layout.write_status(run, "finished", "Done.", 100, 100)
    assert layout.read_status(run)["interrupted"]["step"] == 40  # the record of the run's history stays


def test_a_run_resumed_after_a_clean_stop_was_not_interrupted(tmp_path):
    run = _run(tmp_path, state="stopped", pid=_dead_pid())
    layout.write_status(run, "running", "Building the model.", 40, 100, layout.PHASE_STARTING)
    assert "interrupted" not in layout.read_status(run)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    layout.write_status(fresh, "running", "Building the model.", 0, 100, layout.PHASE_STARTING)
    assert "interrupted" not in layout.read_status(fresh)


# ------------------------------------------------------------------------------------------ batch

def test_a_batch_cleans_the_leftovers_of_a_killed_batch_in_its_output_folders(tmp_path):
    from core.batch import plan_batch, run_batch
    from core.engines.base import Engine, EngineResult

    class Same(Engine):
        id = "test.same"
        task = "general"
        title = "Same"

        def process(self, request):
            return EngineResult(request.photo.with_rgb(request.photo.rgb))

    for name in ("a.png", "sub/b.png"):
        (tmp_path / "in" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "in" / name)
    out = tmp_path / "out"
    old = [_touch(out / ".a.png.k1.restora-tmp", OLD), _touch(out / "sub" / ".b.png.k2.restora-tmp", OLD)]
    young = _touch(out / ".c.png.k3.restora-tmp")
    other = _touch(out / ".notes.txt", OLD)
    report = run_batch(plan_batch([tmp_path / "in"], out, recursive=True), Same())
    assert len(report.written) == 2
    assert not any(p.exists() for p in old) and young.exists() and other.exists()


# ------------------------------------------------------------------------------------- downloads

def test_a_partial_download_nobody_resumed_for_a_week_is_removed(tmp_path, monkeypatch):
    import core.store.catalog as catalog
    import core.store.downloads as downloads
    from core.errors import RestoraError
    from core.paths import cache_dir
    from core.store.store import STALE_DOWNLOAD_S, ModelStore

    folder = cache_dir() / "downloads"
    week_old = _touch(folder / "old-model.pth.part", time.time() - STALE_DOWNLOAD_S - 60)
    recent = _touch(folder / "zz-other.pth.part", OLD)  # an hour old: still worth resuming
    item = catalog.CatalogEntry("zz", "Z", "general", "x", "https://example.invalid/other.pth", None, None, "MIT")
    monkeypatch.setattr(catalog, "catalog_entry", lambda catalog_id: item)

    def offline(*args, **kwargs):
        raise RestoraError("offline")

    monkeypatch.setattr(downloads, "download", offline)
    with pytest.raises(RestoraError, match="offline"):
        ModelStore().download("zz")
    assert not week_old.exists() and recent.exists()
