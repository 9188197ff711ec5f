"""The run-folder format in one torch-free place: the trainer's writer (core.train.runfolder) and the reader
(core.train.runs.reader) agree on it, and a running trainer reports its progress from the first step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.kinds import CHECKPOINT_SUFFIXES
from core.train.runs import layout
from core.train.runs.reader import RunReader
from core.train.runs.supervisor import RunSupervisor, run_key

REPO = Path(__file__).resolve().parents[1]


def test_core_train_runs_imports_neither_torch_nor_qt():
    script = """
import importlib, pkgutil, sys
import core.train.runs
names = [m.name for m in pkgutil.iter_modules(core.train.runs.__path__, 'core.train.runs.')]
for name in names:
    importlib.import_module(name)
assert {'layout', 'series', 'reader', 'commands', 'figures', 'supervisor'} <= {n.rsplit('.', 1)[1] for n in names}
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph'))
assert not heavy, heavy
print('ok')
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"


def test_the_old_module_is_gone():
    assert not (REPO / "core" / "train_runs.py").exists()
    done = subprocess.run([sys.executable, "-c", "import core.train_runs"], capture_output=True, text=True,
                          timeout=60, cwd=REPO)
    assert done.returncode != 0


def test_names_of_the_layout():
    assert layout.preview_folder_name(120) == "step_00000120"
    assert layout.preview_step_of("step_00000120") == 120 and layout.preview_step_of("not_a_step") is None
    assert layout.preview_file_name(3, "output") == "03_output.png"
    assert layout.parse_preview_file("03_OUTPUT.png") == (3, "output") and layout.parse_preview_file("x.png") is None
    assert layout.preview_relpath(5) == "previews/step_00000005"
    assert layout.checkpoint_name(layout.LATEST) == layout.LATEST_CHECKPOINT == "latest.pt"
    assert layout.CHECKPOINT_SUFFIXES is CHECKPOINT_SUFFIXES  # one definition, in core.kinds
    assert layout.is_checkpoint_file("best.safetensors") and not layout.is_checkpoint_file(".best.pt")
    assert layout.FINISHED_STATES == set(layout.STATES) - {"running"}
    with pytest.raises(ValueError):
        layout.status_record("paused", "", 0, 1)
    with pytest.raises(ValueError):
        layout.status_record("running", "", 0, 1, phase="dreaming")
    assert layout.status_record("finished", "", 1, 1, phase=layout.PHASE_TRAINING)["phase"] == ""
    assert layout.status_time("2025-01-01T00:00:00+00:00") == 1735689600.0
    assert layout.status_time("") is None and layout.status_time("yesterday") is None


def test_what_the_writer_writes_the_reader_reads(tmp_path):
    torch = pytest.importorskip("torch")
    from core.train.runfolder import RunFolder, is_run_folder

    folder = RunFolder(tmp_path / "run").create()
    folder.write_config('preset = "zero_dce"\n\n[train]\nmax_steps = 10\n')
    before = time.time()
    folder.write_status("running", "Training: step 5 of 10.", 5, 10, layout.PHASE_TRAINING)
    folder.append_metrics({"kind": "train", "step": 5, "epoch": 0, "wall_time": 1.5, "losses": {"total": 0.25},
                           "lr": {"g": 1e-4}, "it_per_s": 4.0, "data_wait_s": 0.01, "gpu_mem_mb": None})
    folder.append_metrics({"kind": "val", "step": 5, "epoch": 0, "wall_time": 2.0,
                           "metrics": {"psnr": None, "ssim": None, "val_loss": 0.5},
                           "previews": layout.preview_relpath(5)})
    written = folder.save_preview(5, 0, "output", np.full((8, 8, 3), 0.5, np.float32))
    folder.save_checkpoint({"step": 5}, "latest")
    folder.export_weights({"w": torch.ones(2)}, {"architecture": "A"})
    assert is_run_folder(folder.path)

    reader = RunReader(folder.path)
    result = reader.poll()
    assert result.status_changed and result.previews_changed and result.checkpoints_changed
    status = reader.status
    assert (status.state, status.phase, status.step, status.total_steps) == ("running", "training", 5, 10)
    assert status.message == "Training: step 5 of 10." and status.pid == os.getpid()
    assert before - 1 <= status.updated_at <= time.time() + 1
    assert reader.metrics.get("loss/total").values.tolist() == [0.25]
    assert reader.metrics.get("val/val_loss").values.tolist() == [0.5]
    assert reader.metrics.get("val/psnr") is None  # a zero-reference validation has no PSNR
    assert reader.metrics.val_previews == {5: "previews/step_00000005"}
    (step,) = reader.preview_steps()
    assert step.step == 5 and step.folder == folder.preview_dir(5)
    assert step.samples()[0].output == written
    assert [c.name for c in reader.checkpoints()] == ["best.safetensors", "latest.pt"]
    assert reader.latest_checkpoint == folder.latest_checkpoint
    assert reader.config()["train"]["max_steps"] == 10
    reader.request_stop()
    assert folder.stop_requested()
    folder.clear_stop()
    assert not folder.stop_requested()
    folder.request_stop()
    assert layout.stop_requested(folder.path)
    assert folder.read_status() == layout.read_status(folder.path) == json.loads(folder.status_path.read_text())


# ------------------------------------------------------------------------------------- progress of a run


def _tiny_trainer(tmp_path, **train):
    pytest.importorskip("torch")
    from core.train.trainer import Trainer
    from tests.test_train_support import tiny_config, write_pairs

    data = write_pairs(tmp_path / "d", np.random.default_rng(0), n=2)
    cfg = tiny_config("image_unet", data, model={"base": 4, "depth": 2}, train={"log_every": 50, **train})
    return Trainer(cfg, tmp_path / "run", echo=lambda line: None)


def _record_statuses(monkeypatch) -> list[tuple[str, int, str, str]]:
    from core.train import runfolder

    seen: list[tuple[str, int, str, str]] = []
    real = runfolder.RunFolder.write_status

    def spy(self, state, message, step, total_steps, phase=""):
        seen.append((state, step, phase, message))
        real(self, state, message, step, total_steps, phase)

    monkeypatch.setattr(runfolder.RunFolder, "write_status", spy)
    return seen


def test_status_moves_from_the_first_step_before_any_log_line(tmp_path, monkeypatch):
    from core.train import trainer as trainer_module

    seen = _record_statuses(monkeypatch)
    monkeypatch.setattr(trainer_module, "STATUS_EVERY_S", 1e9)  # only the first step and the log steps
    trainer = _tiny_trainer(tmp_path, max_steps=4)
    assert seen[0][:3] == ("running", 0, layout.PHASE_STARTING)  # before the model is even built
    assert trainer.run().state == "finished"
    phases = [(state, step, phase) for state, step, phase, _ in seen]
    assert ("running", 0, layout.PHASE_LOADING) in phases
    first_training = phases.index(("running", 1, layout.PHASE_TRAINING))
    assert first_training < phases.index(("running", 4, layout.PHASE_TRAINING))  # step 4 is the last, logged
    assert not any(step in (2, 3) for _state, step, _phase in phases), "no status between the throttled steps"
    assert phases[-1] == ("finished", 4, "")
    assert not any(r["step"] < 4 for r in _train_records(tmp_path / "run"))  # log_every 50: step 1 is not logged


def test_status_is_rewritten_every_few_seconds(tmp_path, monkeypatch):
    from core.train import trainer as trainer_module

    seen = _record_statuses(monkeypatch)
    monkeypatch.setattr(trainer_module, "STATUS_EVERY_S", 0.0)  # "a few seconds" have always passed
    _tiny_trainer(tmp_path, max_steps=4).run()
    training_steps = [step for state, step, phase, _ in seen if phase == layout.PHASE_TRAINING]
    assert training_steps[:4] == [1, 2, 3, 4]  # (4 again after the final validation)


def test_the_panel_state_reads_starting_loading_and_step_n_of_m(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    supervisor = RunSupervisor()
    supervisor.process_started(runs_folder=tmp_path)
    layout.write_status(run, "running", "Building the model.", 0, 300, layout.PHASE_STARTING)
    assert supervisor.look_for_new_run(os.getpid()) == run
    key = run_key(run)
    reader = RunReader(run)
    reader.poll()
    assert supervisor.progress_text(key, reader) == "starting…"
    layout.write_status(run, "running", "Loading the first batch.", 0, 300, layout.PHASE_LOADING)
    reader.poll()
    assert supervisor.progress_text(key, reader) == "loading data…"
    layout.write_status(run, "running", "Training: step 1 of 300.", 1, 300, layout.PHASE_TRAINING)
    reader.poll()
    assert supervisor.progress_text(key, reader) == "step 1 of 300 (0.3 %)"
    layout.write_status(run, "running", "Validating at step 150.", 150, 300, layout.PHASE_VALIDATING)
    reader.poll()
    assert supervisor.progress_text(key, reader, percent=False) == "step 150 of 300 · validating…"


def _train_records(run: Path) -> list[dict]:
    lines = (run / layout.METRICS_FILE).read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == "train"]


def test_a_trainer_that_cannot_start_says_failed_not_running(tmp_path):
    pytest.importorskip("torch")
    from core.train.config import ConfigError
    from core.train.trainer import Trainer
    from tests.test_train_support import tiny_config, write_flat

    data = write_flat(tmp_path / "d", np.random.default_rng(0), n=2)
    cfg = tiny_config("zero_dce", data, gan={"enabled": True})  # zero_dce has no discriminator
    with pytest.raises(ConfigError):
        Trainer(cfg, tmp_path / "run", echo=lambda line: None)
    status = layout.read_status(tmp_path / "run")
    assert status["state"] == "failed" and "discriminator" in status["message"]
