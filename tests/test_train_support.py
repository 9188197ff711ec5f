"""Shared helpers for the training tests (no tests here): tiny image folders and configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.imageio import save_photo
from core.photo import Photo
from core.train.config import RunConfig, merge
from core.train.presets import get_preset


def smooth_image(rng: np.random.Generator, h: int = 36, w: int = 40) -> np.ndarray:
    """A smooth random colour picture (PNG round trip is exact at 8 bits)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0.2, 0.8, size=3).astype(np.float32)
    fx, fy = rng.uniform(0.05, 0.3, size=2)
    img = np.stack([a[c] + 0.2 * np.sin(fx * x + c) * np.cos(fy * y - c) for c in range(3)], axis=2)
    return (np.round(np.clip(img, 0, 1) * 255) / 255).astype(np.float32)


def write_flat(folder: Path, rng: np.random.Generator, n: int = 4, h: int = 36, w: int = 40) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        save_photo(Photo(rgb=smooth_image(rng, h, w)), folder / f"img{i}.png")
    return folder


def write_pairs(folder: Path, rng: np.random.Generator, n: int = 4, h: int = 36, w: int = 40,
                darken: float = 0.3) -> Path:
    (folder / "low").mkdir(parents=True, exist_ok=True)
    (folder / "high").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = smooth_image(rng, h, w)
        save_photo(Photo(rgb=img), folder / "high" / f"img{i}.png")
        save_photo(Photo(rgb=(img * darken).astype(np.float32)), folder / "low" / f"img{i}.png")
    return folder


def tiny_config(preset: str, folder: Path, **sections: dict[str, Any]) -> RunConfig:
    """The preset's defaults made tiny: 32 px crops, batch 2, no workers, a handful of steps."""
    values: dict[str, Any] = {
        "data": {"train": str(folder), "crop": 32, "batch_size": 2, "val_batch_size": 2, "workers": 0,
                 "previews": 2, "val_count": 2},
        "train": {"max_steps": 3, "log_every": 1, "val_every": 100, "checkpoint_every": 100, "amp": False,
                  "device": "cpu"},
    }
    for key, extra in sections.items():
        values.setdefault(key, {}).update(extra)
    return merge(get_preset(preset).defaults(), values)


def records(run_dir: Path, kind: str) -> dict[int, dict[str, Any]]:
    """A run folder's metrics.jsonl records of one kind ("train" or "val"), by step."""
    from core.train.runfolder import RunFolder

    return {r["step"]: r for r in RunFolder(run_dir).read_metrics() if r["kind"] == kind}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_rank(rank: int, world: int, port: int, config: str, run_dir: str, results: Any) -> None:
    """One DDP rank of `main.py train CONFIG --run-dir RUN_DIR` on the CPU; puts (rank, exit code)."""
    import os

    import torch

    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    from core.cli.train import main

    results.put((rank, main([config, "--run-dir", run_dir, "--device", "cpu"])))


def run_two_ranks(target: Any, *args: Any, timeout: float = 120) -> tuple[list[Any], list[Any]]:
    """Fork two processes running target(rank, 2, port, *args, results) on a free port; returns what they put
    on the results queue and the processes. A rank still running after `timeout` is killed: a failure."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=target, args=(rank, 2, port, *args, results)) for rank in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=timeout)
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        p.kill()
    assert not alive, "a rank hung"
    return [results.get(timeout=5) for _ in procs], procs
