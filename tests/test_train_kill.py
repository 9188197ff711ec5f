"""A training process killed with SIGKILL at any moment (mid-step, mid-checkpoint) leaves a run that reads
"interrupted" and resumes from its last complete checkpoint."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.train.config import dump_toml
from core.train.runfolder import RunFolder
from core.train.runs import layout
from core.train.runs.reader import RunReader
from tests.test_train_support import records, write_pairs

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _config(path: Path, data: Path) -> Path:
    path.write_text(dump_toml({
        "preset": "image_unet", "model": {"base": 4, "depth": 2},
        "data": {"train": str(data), "crop": 32, "batch_size": 1, "val_batch_size": 1, "workers": 0,
                 "val_count": 1, "previews": 1},
        # a checkpoint every step: a kill lands inside a checkpoint write as often as between them
        "train": {"max_steps": 100000, "log_every": 1, "val_every": 100000, "checkpoint_every": 1, "amp": False},
    }))
    return path


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    with open(log, "a") as out:
        return subprocess.Popen([sys.executable, "-m", "core.cli.train", *args, "--device", "cpu"], cwd=REPO,
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_for_step(proc: subprocess.Popen[bytes], run: Path, beyond: int, log: Path) -> int:
    deadline = time.monotonic() + 120
    while True:
        steps = records(run, "train") if (run / "metrics.jsonl").exists() else {}
        if steps and max(steps) > beyond:
            return max(steps)
        assert proc.poll() is None, f"the run ended early:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no step beyond {beyond} within 120 s:\n{log.read_text()}"
        time.sleep(0.02)


def test_a_run_killed_at_any_moment_says_interrupted_and_resumes_from_its_last_checkpoint(tmp_path, rng):
    data = write_pairs(tmp_path / "d", rng, n=2)
    config = _config(tmp_path / "run.toml", data)
    run, log = tmp_path / "run", tmp_path / "train.log"
    pick = random.Random(0)
    reached = 0
    for attempt in range(2):
        proc = _start([str(config), "--run-dir", str(run)] if attempt == 0 else ["--resume", str(run)], log)
        try:
            reached = _wait_for_step(proc, run, reached, log)
            time.sleep(pick.uniform(0.0, 0.2))  # somewhere inside a later step or its checkpoint write
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        reader = RunReader(run)
        reader.poll()
        assert reader.state == layout.INTERRUPTED, reader.state
        latest = RunFolder(run).load_checkpoint("latest")  # complete: atomic writes, never half a file
        assert 1 <= latest["step"]
        reached = max(reached, latest["step"])

    resumed_from = RunFolder(run).load_checkpoint("latest")["step"]
    logged = max(records(run, "train"))  # a killed run may have logged steps past its last checkpoint
    proc = _start(["--resume", str(run)], log)  # and it goes on from there
    try:
        _wait_for_step(proc, run, logged, log)  # a step this process made: its signal handlers are in place
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    status = RunFolder(run).read_status()
    assert status["state"] == "stopped" and status["step"] > max(resumed_from, logged)
    assert status.get("interrupted", {}).get("step") is not None  # the run's history says it was interrupted
    assert RunFolder(run).load_checkpoint("latest")["step"] == status["step"]
