"""Two CPU processes (gloo) train one run; only rank 0 writes it.

The processes are forked from the test (same environment variables torchrun sets: RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR, MASTER_PORT), so they skip re-importing torch; the CLI entry point is the same
one `torchrun --nproc_per_node 2 main.py train CONFIG` runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.train.config import dump_toml
from tests.test_train_support import cli_rank, run_two_ranks, write_pairs


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks the worker processes")
def test_two_process_gloo_run_writes_one_log(tmp_path, rng):
    data = write_pairs(tmp_path / "d", rng, n=4)
    config = tmp_path / "tiny.toml"
    config.write_text(dump_toml({
        "preset": "image_unet",
        "model": {"base": 4, "depth": 2},
        "data": {"train": str(data), "crop": 32, "batch_size": 1, "val_batch_size": 2, "workers": 0,
                 "val_count": 2, "previews": 1},
        "train": {"max_steps": 3, "log_every": 1, "val_every": 100, "checkpoint_every": 100, "device": "cpu"},
    }))
    run_dir = tmp_path / "run"
    got, procs = run_two_ranks(cli_rank, str(config), str(run_dir), timeout=90)
    codes = dict(got)
    assert codes == {0: 0, 1: 0}
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "train"] == [1, 2, 3]  # one writer, no duplicates
    assert sum(r["kind"] == "val" for r in records) == 1
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "finished" and status["pid"] == procs[0].pid
    assert (run_dir / "checkpoints" / "latest.pt").is_file()
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["d", "run", "tiny.toml"]  # rank 1 wrote nothing else
