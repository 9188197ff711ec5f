"""Measures the training panel with a big run: parse time of metrics.jsonl and one plot refresh.

    QT_QPA_PLATFORM=offscreen python -m desktop.panels.training_bench --lines 1000000

Writes a synthetic run folder (train lines with three losses, lr and speed; a validation line every
500 steps) to a temporary folder unless --run names an existing one, then prints the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from core.train.runs.reader import RunReader
    from core.train.runs.series import Series


def write_big_run(run: Path, lines: int, val_every: int = 500) -> None:
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.toml").write_text('preset = "bench"\n', encoding="utf-8")
    (run / "status.json").write_text(json.dumps({"state": "finished", "message": "", "pid": 0, "step": lines,
                                                 "total_steps": lines, "updated": ""}), encoding="utf-8")
    noise = np.random.default_rng(0).random((lines, 3))
    with open(run / "metrics.jsonl", "w", encoding="utf-8") as fh:
        for step in range(1, lines + 1):
            base = 0.3 * math.exp(-step / (lines / 4)) + 0.02
            n = noise[step - 1]
            fh.write(json.dumps({"kind": "train", "step": step, "epoch": step // 1000, "wall_time": step * 0.05,
                                 "losses": {"l1": base * (1 + 0.3 * n[0]), "ssim": base * (0.5 + 0.3 * n[1]),
                                            "total": base * (1.5 + 0.3 * n[2])},
                                 "lr": {"g": 2e-4}, "it_per_s": 20.0, "data_wait_s": 0.003, "gpu_mem_mb": 2048.0})
                     + "\n")
            if step % val_every == 0:
                fh.write(json.dumps({"kind": "val", "step": step, "epoch": step // 1000, "wall_time": step * 0.05,
                                     "metrics": {"psnr": 25.0, "ssim": 0.8},
                                     "previews": f"previews/step_{step:08d}"}) + "\n")


def _series(reader: RunReader, key: str) -> Series:
    series = reader.metrics.get(key)
    if series is None:
        raise SystemExit(f"The run has no {key!r} series to measure.")
    return series


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="train lines to generate")
    parser.add_argument("--run", help="measure this existing run folder instead")
    args = parser.parse_args(argv)

    from core.train.runs.reader import RunReader
    from desktop.panels.training_follow import SLICE_BYTES

    with tempfile.TemporaryDirectory(prefix="restora-bench-") as tmp:
        run = Path(args.run) if args.run else Path(tmp) / "run"
        if not args.run:
            started = time.perf_counter()
            write_big_run(run, args.lines)
            print(f"wrote {args.lines:,} train lines ({(run / 'metrics.jsonl').stat().st_size / 1e6:.0f} MB) "
                  f"in {time.perf_counter() - started:.1f} s")
        reader = RunReader(run)
        started = time.perf_counter()
        polls = 0
        reader.poll(SLICE_BYTES)
        while reader.pending_bytes:
            reader.poll(SLICE_BYTES, metrics_only=True)
            polls += 1
        parse_s = time.perf_counter() - started
        total = _series(reader, "loss/total")
        lines = reader.metrics.lines
        print(f"parse (incremental, {SLICE_BYTES >> 10} KB slices, {polls + 1} polls): {parse_s:.2f} s for "
              f"{lines:,} lines = {lines / parse_s:,.0f} lines/s; {len(total):,} points per loss curve")

        from PySide6.QtGui import QColor
        from PySide6.QtWidgets import QApplication

        from desktop.panels.training_plots import CurvesView

        app = QApplication.instance() or QApplication([])
        view = CurvesView()
        view.resize(1200, 800)
        view.show()
        app.processEvents()
        started = time.perf_counter()
        view.add_run("bench", reader, QColor("#5b8def"))
        view.graphics.grab()
        first_s = time.perf_counter() - started
        print(f"first draw of {len(reader.metrics.series)} series ({len(total):,} points each, smoothing on): "
              f"{first_s * 1000:.0f} ms")
        timings = []
        for i in range(5):
            step = float(total.steps[-1] + 1)
            for key in ("loss/total", "loss/l1", "loss/ssim", "lr/g"):
                _series(reader, key).extend(np.array([step]), np.array([0.05]), np.array([step * 0.05]))
            started = time.perf_counter()
            view.refresh("bench")
            view.graphics.grab()  # forces the paint, as the screen would
            timings.append(time.perf_counter() - started)
        print(f"one refresh after new points (4 curves changed, smoothing on, repaint included): "
              f"median {sorted(timings)[2] * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms")
        started = time.perf_counter()
        view.set_smoothing(0.95)
        view.graphics.grab()
        print(f"smoothing slider change over all points (recompute EMA + redraw): "
              f"{(time.perf_counter() - started) * 1000:.0f} ms")
        view.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
