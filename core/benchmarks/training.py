"""Training speed: steps per second of each preset on a tiny synthetic data folder, in its own process.

One child process per device trains each preset in turn (core.train.trainer, as `restora train --preset
NAME` does, in that one process, so torch loads once), a few steps each, logging every step; the first
steps (worker start-up, allocation, cuDNN tuning) are a warm-up and not counted; the rest give the median
steps per second. The settings are the preset's own except where asked: the crop (never above the
preset's), the batch size and the data workers (quick mode: 64 px crops, batches of 2, no worker
processes, so it fits in a minute). Validation and checkpoints are pushed past the end of the run. A
preset that cannot run on the data it can get here (a data kind this module cannot make) is skipped with
a note.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from core.benchmarks import child
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


def train_settings(item: dict[str, Any], data: dict[str, Path], *, warmup: int, steps: int,
                   batch: int | None = None, workers: int | None = None) -> dict[str, Any] | str:
    """The config values (as a TOML file would nest them) that run one preset for warmup + steps steps on
    the benchmark's data, or why it cannot run."""
    kind = item["kind"]
    if kind in PAIRED_KINDS:
        folder = data["paired"]
    elif kind in FLAT_KINDS:
        folder = data["flat"]
    else:
        return f"needs {kind} data, which the benchmark cannot make"
    total = warmup + steps
    train = {"max_steps": total, "log_every": 1, "val_every": total + 1000, "checkpoint_every": total + 1000}
    loader: dict[str, Any] = {"train": str(folder), "crop": item["crop"], "val_count": 1, "previews": 1,
                              "val_batch_size": 1}
    if batch:
        loader["batch_size"] = batch
    if workers is not None:
        loader["workers"] = workers
    return {"preset": item["preset"], "train": train, "data": loader}


def preset_row(item: dict[str, Any], run_dir: Path, *, device: str, warmup: int, batch: int | None,
               wall_s: float, failed: str = "") -> dict[str, Any]:
    """One preset's figures from its run folder's metrics.jsonl: the median steps per second after the
    warm-up steps, with spread."""
    row: dict[str, Any] = {"preset": item["preset"], "device": device, "crop": item["crop"],
                           "batch": batch or item["batch"], "wall_s": round(wall_s, 1)}
    rates = [r["it_per_s"] for r in _train_records(run_dir / "metrics.jsonl")]
    if not rates:
        return {**row, "error": failed or "the run logged no training step"}
    counted = rates[warmup:] if len(rates) > warmup else rates[-1:]
    if len(rates) <= warmup:
        row["note"] = "no step after the warm-up"
    elif failed:
        row["note"] = failed.splitlines()[-1][:120]
    row["steps_per_s"] = summary(counted)
    row["samples_per_s"] = round(float(row["steps_per_s"]["median"]) * row["batch"], 2)
    return row


def measure_here(items: list[dict[str, Any]], data: dict[str, Path], work: Path, *, device: str, warmup: int,
                 steps: int, batch: int | None, workers: int | None, budget_s: float = 0) -> Any:
    """Each preset trained in this process, one after another (torch and the data load once): yields rows.
    With `budget_s`, a preset still training that many seconds after it started is asked to stop after its
    current step (the run folder's stop request, as the training panel's Stop button does)."""
    import threading

    import torch

    from core.errors import RestoraError
    from core.train.config import merge
    from core.train.presets import get_preset
    from core.train.runfolder import RunFolder
    from core.train.trainer import Trainer

    for item in items:
        settings = train_settings(item, data, warmup=warmup, steps=steps, batch=batch, workers=workers)
        if isinstance(settings, str):
            yield {"preset": item["preset"], "device": device, "crop": item["crop"],
                   "batch": batch or item["batch"], "skipped": settings}
            continue
        run_dir = work / f"run-{item['preset']}-{device.replace(':', '')}"
        start = time.perf_counter()
        failed, stopped = "", False
        timer = threading.Timer(budget_s, lambda d=run_dir: RunFolder(d).request_stop()) if budget_s else None
        try:
            config = merge(get_preset(item["preset"]).defaults(), settings)
            trainer = Trainer(config, run_dir, device=torch.device(device), echo=lambda line: None)
            if timer is not None:
                timer.start()
            result = trainer.run()
            failed = result.message if result.state == "failed" else ""
            stopped = result.state == "stopped"
        except RestoraError as e:
            failed = str(e)
        except Exception as e:  # noqa: BLE001  one broken preset must not lose the others' figures
            failed = f"{type(e).__name__}: {e}"
        finally:
            if timer is not None:
                timer.cancel()
        row = preset_row(item, run_dir, device=device, warmup=warmup, batch=batch,
                         wall_s=time.perf_counter() - start, failed=failed)
        if stopped:
            row["note"] = "; ".join(filter(None, [f"stopped at the {budget_s:g} s budget", row.get("note")]))
        yield row


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
                   presets: list[str] | None = None, batch: int | None = None, workers: int | None = None,
                   budget_s: float = 0, timeout: float = 600) -> list[dict[str, Any]]:
    """Every preset (or those named) on every device: one child process per device trains them in turn,
    each stopped after `budget_s` seconds when given (figures from the steps done by then); `timeout` is
    per preset. Rows of presets a timed-out child never reached say so."""
    plan = [p for p in preset_plan(crop) if not presets or p["preset"] in presets]
    size = max([p["crop"] for p in plan] + [32]) + 16
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="restora-bench-train-") as tmp:
        work = Path(tmp)
        count = max([batch or p["batch"] for p in plan] + [2]) + 1  # one more for validation
        write_data(work / "data", size, count)
        for device in devices:
            cmd = ["-m", "core.benchmarks.training", "--work", str(work), "--device", device, "--warmup",
                   str(warmup), "--steps", str(steps), "--budget", str(budget_s), "--plan", json.dumps(plan)]
            if batch:
                cmd += ["--batch", str(batch)]
            if workers is not None:
                cmd += ["--workers", str(workers)]
            limit = timeout * max(1, len(plan))
            try:
                done = child.run_python(cmd, timeout=limit)
                output, failed = done.stdout, "" if done.returncode == 0 else done.stderr.strip()[-600:]
            except subprocess.TimeoutExpired as e:
                output = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
                failed = f"the training benchmark did not finish in {limit:.0f} s"
            got = {r["preset"]: r for r in _json_lines(output)}
            rows += [got.get(p["preset"]) or {"preset": p["preset"], "device": device, "crop": p["crop"],
                                              "batch": batch or p["batch"], "error": failed or "no figures"}
                     for p in plan]
    return rows


def _json_lines(text: str) -> list[dict[str, Any]]:
    rows = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "preset" in value:
            rows.append(value)
    return rows


def main(argv: list[str] | None = None) -> int:
    """The child process: train each preset of --plan in turn, printing one JSON row per preset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, help="holds data/ (write_data) and the run folders")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--budget", type=float, default=0, help="seconds per preset, then it stops (0: no limit)")
    parser.add_argument("--plan", required=True, help="JSON: preset_plan's items")
    args = parser.parse_args(argv)
    work = Path(args.work)
    data = {"flat": work / "data" / "photos", "paired": work / "data" / "paired"}
    for row in measure_here(json.loads(args.plan), data, work, device=args.device, warmup=args.warmup,
                            steps=args.steps, batch=args.batch, workers=args.workers, budget_s=args.budget):
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
