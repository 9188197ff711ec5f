"""Time one engine on a generated photo of N megapixels, in a fresh process so peak memory is its own.

`python -m core.benchmarks.engine --engine ID --megapixels 12` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def synthetic_photo_pixels(megapixels: float, *, dark: bool, seed: int = 0) -> np.ndarray:
    """A 4:3 test photo: smooth gradients, texture and noise (dark when benchmarking low-light engines)."""
    width = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = int(round(megapixels * 1e6 / width))
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    rgb = np.empty((height, width, 3), np.float32)
    rgb[:, :, 0] = 0.5 + 0.4 * np.sin(6 * x + 2 * y)
    rgb[:, :, 1] = 0.5 + 0.4 * np.cos(5 * y - 3 * x)
    rgb[:, :, 2] = 0.5 + 0.3 * np.sin(9 * x * y)
    rgb += rng.normal(0, 0.03, size=(height, 1, 1)).astype(np.float32)
    if dark:
        rgb *= 0.12
    np.clip(rgb, 0, 1, out=rgb)
    return rgb


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _current_rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return float("nan")


def measure_in_this_process(engine_id: str, megapixels: float, device: str | None,
                            params: dict[str, str]) -> dict[str, object]:
    import torch

    from core.engines.registry import default_registry
    from core.engines.request import EngineRequest
    from core.photo import Photo

    registry = default_registry()
    engine = registry.create(engine_id, device=device)
    needs_mask = engine.requirements.needs_mask

    def make(mp: float) -> tuple[Photo, np.ndarray | None]:
        rgb = synthetic_photo_pixels(mp, dark=engine.task == "lowlight")
        mask = None
        if needs_mask:
            mask = np.zeros(rgb.shape[:2], np.uint8)
            h, w = rgb.shape[:2]
            mask[h // 3: h // 3 + h // 20, w // 4: w // 4 + w // 10] = 255
        return Photo(rgb=rgb), mask

    warm_photo, warm_mask = make(0.05)
    engine.run(EngineRequest(warm_photo, mask=warm_mask, params=params))  # loads weights, warms caches
    photo, mask = make(megapixels)
    rss_before = _current_rss_mb()
    start = time.perf_counter()
    result = engine.run(EngineRequest(photo, mask=mask, params=params))
    seconds = time.perf_counter() - start
    return {"engine": engine_id, "megapixels": round(photo.width * photo.height / 1e6, 2),
            "width": photo.width, "height": photo.height, "device": str(device or "auto"),
            "threads": torch.get_num_threads(), "seconds": round(seconds, 3),
            "seconds_per_megapixel": round(seconds / (photo.width * photo.height / 1e6), 4),
            "rss_before_run_mb": round(rss_before, 1), "peak_rss_mb": round(_peak_rss_mb(), 1),
            "output_size": [result.photo.width, result.photo.height], "notes": result.notes}


def measure(engine_id: str, megapixels: float, *, device: str | None = None,
            params: dict[str, str] | None = None, timeout: float = 1200) -> dict[str, object]:
    """Run measure_in_this_process in a child process and return its figures."""
    result = run_child("core.benchmarks.engine", engine_id, megapixels, [], device, params, timeout)
    return result if isinstance(result, dict) else {"engine": engine_id, "error": "no figures"}


def run_child(module: str, engine_id: str, megapixels: float, extra: list[str], device: str | None,
              params: dict[str, str] | None, timeout: float) -> Any:
    """Run a benchmark module in a fresh process (clean memory figures) and return the JSON of its last
    line, or {"engine", "megapixels", "error"} when it failed."""
    cmd = [sys.executable, "-m", module, "--engine", engine_id, "--megapixels", str(megapixels), *extra]
    if device:
        cmd += ["--device", device]
    for key, value in (params or {}).items():
        cmd += ["--param", f"{key}={value}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=os.environ.copy())
    if done.returncode != 0:
        return {"engine": engine_id, "megapixels": megapixels, "error": done.stderr.strip()[-800:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True)
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--device")
    parser.add_argument("--param", action="append", default=[])
    args = parser.parse_args()
    from core.params import parse_params

    print(json.dumps(measure_in_this_process(args.engine, args.megapixels, args.device, parse_params(args.param))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
