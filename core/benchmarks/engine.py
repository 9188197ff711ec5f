"""Time one engine on a generated photo of N megapixels, in a fresh process so peak memory is its own.

`python -m core.benchmarks.engine --engine ID --megapixels 12` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.benchmarks import child
from core.benchmarks.child import current_rss_mb, peak_rss_mb, reset_peak


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


def auto_precision(engine: Any, device: str | None) -> str:
    """What a learned engine without a precision choice runs in on `device` (its facts decide, through
    core.models.runner.pick_precision): "auto (float16)", say; "default" for engines without a network."""
    if not hasattr(engine, "descriptor"):
        return "default"
    try:
        from core.devices import select_device
        from core.models.runner import pick_precision

        dtype = pick_precision(engine.descriptor(), device or select_device(), "auto")
    except Exception:  # noqa: BLE001  an engine whose network cannot load says so when it runs
        return "default"
    return f"auto ({str(dtype).replace('torch.', '')})"


def measure_in_this_process(engine_id: str, megapixels: float, device: str | None,
                            params: dict[str, str], runs: int = 1, budget_s: float = 0,
                            masks: int = 3) -> dict[str, object]:
    """Time `runs` runs after a warm-up (fewer once they took `budget_s` seconds, when given); `seconds` is
    their median (min and max beside it)."""
    import shutil
    import tempfile

    from core.benchmarks.masks import object_masks
    from core.benchmarks.stats import summary
    from core.benchmarks.subjects import centre_regions, make_engine
    from core.engines.lowlight.bands import cpu_threads
    from core.engines.request import EngineRequest
    from core.photo import Photo

    folder = Path(tempfile.mkdtemp(prefix="restora-bench-"))
    engine, random_weights = make_engine(engine_id, device, folder)  # random weights where none are shipped
    needs_mask = engine.requirements.needs_mask

    def make(mp: float) -> tuple[Photo, np.ndarray | None]:
        rgb = synthetic_photo_pixels(mp, dark=engine.task == "lowlight")
        mask = None
        if needs_mask:
            mask = object_masks(rgb.shape[0], rgb.shape[1], masks)  # `masks` object-sized blobs
        return Photo(rgb=rgb), mask

    def regions(photo: Photo) -> Any:
        return centre_regions(photo.height, photo.width) if engine.requirements.needs_regions else None

    warm_photo, warm_mask = make(0.05)
    engine.run(EngineRequest(warm_photo, mask=warm_mask, regions=regions(warm_photo), params=params))  # warm-up
    photo, mask = make(megapixels)
    # torch is loaded only by engines with a network (their modules import it): a classical engine is
    # measured as the restore command runs it, without torch.
    torch: Any = sys.modules.get("torch")
    cuda = torch is not None and torch.cuda.is_available() and str(device or "").startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    reset_peak()  # the peak from here on: this size's photo, mask and run (the warm-up's is not counted)
    rss_before = current_rss_mb()
    times = []
    for _ in range(max(1, runs)):
        start = time.perf_counter()
        result = engine.run(EngineRequest(photo, mask=mask, regions=regions(photo), params=params))
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        if budget_s and sum(times) >= budget_s:
            break
    shutil.rmtree(folder, ignore_errors=True)
    spread = summary(times)
    seconds, mp = float(spread["median"]), photo.width * photo.height / 1e6
    return {"engine": engine_id, "megapixels": round(mp, 2),
            "width": photo.width, "height": photo.height, "device": str(device or "auto"),
            "precision": params.get("precision") or auto_precision(engine, device),
            "threads": torch.get_num_threads() if torch is not None else cpu_threads(),
            "seconds": seconds, "seconds_min": spread["min"], "seconds_max": spread["max"],
            "runs": len(times), "seconds_per_megapixel": round(seconds / mp, 4),
            "rss_before_run_mb": round(rss_before, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
            "gpu_peak_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
            "weights": "random" if random_weights else "installed",
            "output_size": [result.photo.width, result.photo.height], "notes": result.notes}


def measure(engine_id: str, megapixels: float, *, device: str | None = None,
            params: dict[str, str] | None = None, timeout: float = 1200, runs: int = 1,
            budget_s: float = 0, masks: int = 3) -> dict[str, object]:
    """Run measure_in_this_process in a child process and return its figures."""
    extra = ["--runs", str(runs), "--budget", str(budget_s), "--masks", str(masks)]
    result = run_child("core.benchmarks.engine", engine_id, megapixels, extra, device, params, timeout)
    return result if isinstance(result, dict) else {"engine": engine_id, "error": "no figures"}


def run_child(module: str, engine_id: str, megapixels: float, extra: list[str], device: str | None,
              params: dict[str, str] | None, timeout: float) -> Any:
    """Run a benchmark module in a fresh process (clean memory figures) and return the JSON of its last
    line, or {"engine", "megapixels", "error"} when it failed."""
    cmd = ["-m", module, "--engine", engine_id, "--megapixels", str(megapixels), *extra]
    if device:
        cmd += ["--device", device]
    for key, value in (params or {}).items():
        cmd += ["--param", f"{key}={value}"]
    done = child.run_python(cmd, timeout=timeout)
    if done.returncode != 0:
        return {"engine": engine_id, "megapixels": megapixels, "error": done.stderr.strip()[-800:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True)
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--device")
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--budget", type=float, default=0, help="stop repeating after this many seconds")
    parser.add_argument("--masks", type=int, default=3, help="object masks (each ~1.5%% of the photo) for engines "
                        "that need a mask (default 3)")
    args = parser.parse_args(argv)
    from core.params import parse_params

    print(json.dumps(measure_in_this_process(args.engine, args.megapixels, args.device, parse_params(args.param),
                                             args.runs, args.budget, args.masks)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
