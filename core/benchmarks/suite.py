"""`restora bench` with no sub-command: the whole machine in one run, one section after another.

Sections: startup (window; a 24-megapixel photo from start-up), open (a 24-megapixel JPEG and PNG in a
running window: preview, then the photo), engines (every engine the registry lists, built-in and one
imported model per family, seconds per megapixel and peak memory by size, device and precision), restore
(the restore command on a 12-megapixel PNG and where its time goes), tiling (by image size and by tile
size), gui (the GUI thread's longest stalls) and training (steps per second of every preset listed).
Each measurement runs in child processes, so memory figures are their own and a crash in one section
leaves the others. Figures are medians of several runs after a warm-up, with spread.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from core.benchmarks.stats import load_average

SECTIONS = ("startup", "open", "engines", "restore", "tiling", "gui", "training")


@dataclass(frozen=True)
class Plan:
    """How much to measure. `quick()` fits in about three minutes on a 2-core CPU; `full()` takes long."""

    quick: bool
    sizes: tuple[float, ...]  # engine photo sizes, megapixels
    runs: int  # timed repetitions after the warm-up
    engine_budget_s: float  # an engine stops repeating after this many seconds at one size
    engine_timeout_s: float  # an engine that takes longer at one size (warm-up included) gives no figures
    startup_runs: int
    photo_megapixels: float  # the photo opened, and the one painted on
    restore_megapixels: float
    restore_runs: int
    restore_command_runs: int  # after a warm-up run in full mode
    png_levels: bool
    tiling_sizes: tuple[float, ...]  # image sizes at 512 px tiles
    tile_sizes: tuple[int, ...]  # tile sizes on one image of tile_megapixels
    tile_megapixels: float
    stall_engine_megapixels: float
    train_crop: int | None  # None: each preset's own crop
    train_batch: int | None  # None: each preset's own batch size
    train_workers: int | None  # data loader processes; None: each preset's own
    train_warmup: int
    train_steps: int
    train_budget_s: float  # a preset still training after this many seconds stops after its step (0: never)
    train_timeout_s: float
    gui_timeout_s: float  # each desktop child process
    sections: tuple[str, ...] = SECTIONS
    engines: tuple[str, ...] = ()  # only these engine ids (empty: all)
    presets: tuple[str, ...] = ()  # only these presets (empty: all)
    devices: tuple[str, ...] = field(default_factory=tuple)  # empty: every device present

    @classmethod
    def make(cls, quick: bool, *, sizes: tuple[float, ...] = (), sections: tuple[str, ...] = (),
             engines: tuple[str, ...] = (), presets: tuple[str, ...] = (), devices: tuple[str, ...] = (),
             crop: int | None = None, runs: int | None = None) -> "Plan":
        """The quick or full plan; `sizes` replaces every photo size (tests use tiny ones)."""
        plan = QUICK if quick else FULL
        if sizes:
            plan = replace(plan, sizes=sizes, photo_megapixels=max(sizes), restore_megapixels=max(sizes),
                           tiling_sizes=sizes, tile_megapixels=max(sizes), tile_sizes=(64, 128),
                           stall_engine_megapixels=max(sizes))
        return replace(plan, sections=sections or SECTIONS, engines=engines, presets=presets, devices=devices,
                       train_crop=crop if crop else plan.train_crop, runs=runs or plan.runs)


# Quick: engines at 1 MP only, tiny training crops and batches, tiling on a half-megapixel image; the
# desktop figures (start-up, a 24-MP photo opened, stalls) at full size. About three minutes on 2 cores.
QUICK = Plan(quick=True, sizes=(1.0,), runs=2, engine_budget_s=4, engine_timeout_s=60, startup_runs=2,
             photo_megapixels=24, restore_megapixels=12, restore_runs=1, restore_command_runs=1,
             png_levels=False, tiling_sizes=(), tile_sizes=(256, 512, 1024), tile_megapixels=0.5,
             stall_engine_megapixels=4, train_crop=64, train_batch=2, train_workers=0, train_warmup=1,
             train_steps=3, train_budget_s=8, train_timeout_s=90, gui_timeout_s=150)
FULL = Plan(quick=False, sizes=(1.0, 4.0, 12.0, 24.0), runs=5, engine_budget_s=120, engine_timeout_s=1800,
            startup_runs=5, photo_megapixels=24, restore_megapixels=12, restore_runs=4, restore_command_runs=3,
            png_levels=True, tiling_sizes=(1.0, 4.0, 12.0, 24.0), tile_sizes=(256, 512, 1024, 2048),
            tile_megapixels=12, stall_engine_megapixels=24, train_crop=None, train_batch=None, train_workers=None,
            train_warmup=3, train_steps=10, train_budget_s=0, train_timeout_s=1200, gui_timeout_s=1800)


def machine() -> dict[str, Any]:
    """What was measured on: CPU, devices (with their precisions), versions, and the load average."""
    import os

    import torch

    from core.devices import list_devices

    return {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "devices": [{"device": d.device, "name": d.name, "precisions": list(d.precisions)} for d in list_devices()],
            "load_average_at_start": load_average()}


def device_names(plan: Plan) -> list[str]:
    from core.devices import list_devices

    present = [d.device for d in list_devices()]
    return [d for d in present if not plan.devices or d in plan.devices or d.split(":")[0] in plan.devices]


def half_precision(device: str, choices: list[str]) -> str | None:
    """The reduced precision to measure beside float32 on `device`: float16 where both the engine and the
    device have it, else bfloat16 (core.devices lists what each device computes in)."""
    from core.devices import device_info

    have = device_info(device).precisions
    return next((p for p in ("float16", "bfloat16") if p in choices and p in have), None)


# ------------------------------------------------------------------------------------------ sections

def section_startup(plan: Plan, work: Path) -> dict[str, Any]:
    from core.benchmarks.gui import bench_startup_photo, write_photos
    from core.benchmarks.startup import measure_startup

    (jpeg,) = write_photos(work, plan.photo_megapixels, ("jpg",))
    return {"window": measure_startup(plan.startup_runs),
            "photo": bench_startup_photo(jpeg, 1 if plan.quick else plan.startup_runs, plan.gui_timeout_s)}


def section_open(plan: Plan, work: Path) -> list[dict[str, Any]]:
    from core.benchmarks.gui import bench_open, write_photos

    photos = [work / f"photo-{plan.photo_megapixels:g}mp.{f}" for f in ("jpg", "png")]
    if not all(p.exists() for p in photos):
        photos = write_photos(work, plan.photo_megapixels)
    return bench_open(photos, 1 if plan.quick else plan.runs, plan.gui_timeout_s)


def section_engines(plan: Plan, work: Path) -> list[dict[str, Any]]:
    from core.benchmarks.engine import measure
    from core.benchmarks.subjects import measurable_engines

    rows: list[dict[str, Any]] = []
    for item in measurable_engines():
        if plan.engines and item["id"] not in plan.engines:
            continue
        base = {"engine": item["id"], "family": item["family"]}
        if item["id"] is None:
            rows.append({**base, "note": f"measured through {item['served_by']}"})
            continue
        if item["skip"]:
            rows.append({**base, "skipped": item["skip"]})
            continue
        for device in device_names(plan):
            precisions: list[str | None] = [None]  # an engine without a precision choice picks its own
            if item["precisions"]:
                half = half_precision(device, item["precisions"])
                precisions = ["float32", half] if half else ["float32"]
            for precision in precisions:
                params = {"precision": precision} if precision else {}
                for mp in plan.sizes:
                    try:
                        row = measure(item["id"], mp, device=device, params=params, runs=plan.runs,
                                      budget_s=plan.engine_budget_s, timeout=plan.engine_timeout_s)
                    except subprocess.TimeoutExpired:
                        row = {"engine": item["id"], "megapixels": mp,
                               "error": f"no figures after {plan.engine_timeout_s:.0f} s"}
                    rows.append({**row, "family": item["family"], "device": device,
                                 "precision": precision or row.get("precision", "default")})
    return rows


def section_restore(plan: Plan, work: Path) -> dict[str, Any]:
    from core.benchmarks.restore_path import measure

    return measure(megapixels=plan.restore_megapixels, runs=plan.restore_runs, levels=plan.png_levels,
                   command_runs=plan.restore_command_runs, warm_up=not plan.quick)


def section_tiling(plan: Plan, work: Path) -> list[dict[str, Any]]:
    from core.benchmarks.tiling import bench_tile_sizes, bench_tiling

    by_tile = bench_tile_sizes(plan.tile_megapixels, plan.tile_sizes)
    seen = {(r["megapixels"], r["tile"]) for r in by_tile}
    return bench_tiling(tuple(mp for mp in plan.tiling_sizes if (mp, 512) not in seen)) + by_tile


def section_gui(plan: Plan, work: Path) -> dict[str, Any]:
    from core.benchmarks.gui import bench_stalls

    return bench_stalls(plan.photo_megapixels, plan.stall_engine_megapixels, timeout=plan.gui_timeout_s)


def section_training(plan: Plan, work: Path) -> list[dict[str, Any]]:
    from core.benchmarks.training import bench_training

    return bench_training(device_names(plan), crop=plan.train_crop, warmup=plan.train_warmup,
                          steps=plan.train_steps, presets=list(plan.presets) or None, batch=plan.train_batch,
                          workers=plan.train_workers, budget_s=plan.train_budget_s, timeout=plan.train_timeout_s)


RUNNERS: dict[str, Callable[[Plan, Path], Any]] = {
    "startup": section_startup, "open": section_open, "engines": section_engines, "restore": section_restore,
    "tiling": section_tiling, "gui": section_gui, "training": section_training}


def run_suite(plan: Plan, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Every section of the plan; a section that fails records its error and the others still run."""
    started = time.perf_counter()
    results: dict[str, Any] = {"version": 1, "date": datetime.now().isoformat(timespec="seconds"),
                               "quick": plan.quick, "command": " ".join(sys.argv), "machine": machine(),
                               "sections": {}, "section_seconds": {}}
    with tempfile.TemporaryDirectory(prefix="restora-bench-") as tmp:
        for name in plan.sections:
            echo(f"measuring {name}…")
            t0 = time.perf_counter()
            try:
                results["sections"][name] = RUNNERS[name](plan, Path(tmp))
            except Exception as e:  # noqa: BLE001  one broken section must not lose the others' figures
                results["sections"][name] = {"error": f"{type(e).__name__}: {e}"}
            results["section_seconds"][name] = round(time.perf_counter() - t0, 1)
    results["machine"]["load_average_at_end"] = load_average()
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results
