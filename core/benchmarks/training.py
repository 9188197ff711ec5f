"""Training speed: steps per second of each preset on a tiny synthetic data folder, in its own process.

Each preset runs `python main.py train --preset NAME` for a few steps, logging every step; the first steps
(worker start-up, allocation, cuDNN tuning) are a warm-up and not counted; the rest give the median steps
per second. Batch size and the other settings are the preset's own; the crop is the preset's default, or
`crop` when given (quick mode asks for 256 px, or less where the preset's default is smaller). Validation
and checkpoints are pushed past the end of the run. A preset that cannot run on the data it can get here
(a data kind this module cannot make) is skipped with a note.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from core.benchmarks.engine import ROOT
from core.benchmarks.stats import summary

FLAT_KINDS = ("unpaired", "inpaint", "face", "synthetic_lowlight")  # a folder of photos
PAIRED_KINDS = ("paired", "lowlight_auto")  # low/ and high/ sub-folders


def write_data(folder: Path, size: int, count: int) -> dict[str, Path]:
    """A folder of `count` photos of size x size (textured gradients) and a paired folder (low/ is high/
    darkened), both 8-bit PNG."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    flat, low, high = folder / "photos", folder / "paired" / "low", folder / "paired" / "high"
    for d in (flat, low, high):
        d.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for i in range(count):
        a, b, c = rng.uniform(2, 9, 3)
        rgb = np.dstack([0.5 + 0.4 * np.sin(a * x + b * y), 0.5 + 0.4 * np.cos(b * y - c * x),
                         0.5 + 0.3 * np.sin(c * x * y + a)])
        rgb = np.clip(rgb + rng.normal(0, 0.03, rgb.shape), 0, 1)
        bright = (rgb * 255 + 0.5).astype(np.uint8)
        Image.fromarray(bright).save(flat / f"{i:03d}.png", compress_level=1)
        Image.fromarray(bright).save(high / f"{i:03d}.png", compress_level=1)
        Image.fromarray((rgb ** 2.2 * 0.3 * 255 + 0.5).astype(np.uint8)).save(low / f"{i:03d}.png", compress_level=1)
    return {"flat": flat, "paired": folder / "paired"}


def preset_plan(crop: int | None = None) -> list[dict[str, Any]]:
    """Each preset's name, data kind, crop and batch size as this benchmark will run it."""
    from core.train.presets import all_presets

    plan = []
    for name, preset in sorted(all_presets().items()):
        d = preset.defaults().data
        plan.append({"preset": name, "kind": d.kind, "crop": min(crop, d.crop) if crop else d.crop,
                     "batch": d.batch_size})
    return plan


def measure_preset(item: dict[str, Any], data: dict[str, Path], work: Path, *, device: str, warmup: int,
                   steps: int, batch: int | None = None, timeout: float = 600) -> dict[str, Any]:
    """Run one preset for warmup + steps steps and read its steps per second from metrics.jsonl."""
    row: dict[str, Any] = {"preset": item["preset"], "device": device, "crop": item["crop"],
                           "batch": batch or item["batch"]}
    kind = item["kind"]
    if kind in PAIRED_KINDS:
        folder = data["paired"]
    elif kind in FLAT_KINDS:
        folder = data["flat"]
    else:
        return {**row, "skipped": f"needs {kind} data, which the benchmark cannot make"}
    run_dir = work / f"run-{item['preset']}-{device.replace(':', '')}"
    total = warmup + steps
    sets = {"train.max_steps": total, "train.log_every": 1, "train.val_every": total + 1000,
            "train.checkpoint_every": total + 1000, "data.crop": item["crop"], "data.val_count": 1,
            "data.previews": 1, "data.val_batch_size": 1}
    if batch:
        sets["data.batch_size"] = batch
    cmd = [sys.executable, str(ROOT / "main.py"), "train", "--preset", item["preset"], "--data", str(folder),
           "--run-dir", str(run_dir), "--device", device]
    for key, value in sets.items():
        cmd += ["--set", f"{key}={value}"]
    start = time.perf_counter()
    failed = ""
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=os.environ.copy())
        if done.returncode != 0:
            failed = (done.stderr or done.stdout).strip()[-600:]
    except subprocess.TimeoutExpired:  # the steps logged so far still count
        row["note"] = f"stopped after {timeout:.0f} s"
        failed = f"no step finished in {timeout:.0f} s"
    row["wall_s"] = round(time.perf_counter() - start, 1)
    rates = [r["it_per_s"] for r in _train_records(run_dir / "metrics.jsonl")]
    if not rates:
        return {**row, "error": failed or "the run logged no training step"}
    counted = rates[warmup:] if len(rates) > warmup else rates[-1:]
    if len(rates) <= warmup:
        row["note"] = (row.get("note", "") + "; " if row.get("note") else "") + "no step after the warm-up"
    row["steps_per_s"] = summary(counted)
    row["samples_per_s"] = round(float(row["steps_per_s"]["median"]) * row["batch"], 2) if counted else None
    return row


def _train_records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("kind") == "train" and isinstance(record.get("it_per_s"), (int, float)):
            records.append(record)
    return records


def bench_training(devices: list[str], *, crop: int | None = None, warmup: int = 2, steps: int = 5,
                   presets: list[str] | None = None, batch: int | None = None,
                   timeout: float = 600) -> list[dict[str, Any]]:
    """measure_preset for every preset (or those named) on every device."""
    plan = [p for p in preset_plan(crop) if not presets or p["preset"] in presets]
    size = max([p["crop"] for p in plan] + [32]) + 16
    with tempfile.TemporaryDirectory(prefix="restora-bench-train-") as tmp:
        work = Path(tmp)
        count = max([batch or p["batch"] for p in plan] + [2])
        data = write_data(work / "data", size, count)
        return [measure_preset(p, data, work, device=dev, warmup=warmup, steps=steps, batch=batch, timeout=timeout)
                for dev in devices for p in plan]
