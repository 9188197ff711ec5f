"""The whole restore path for one PNG in and out: where the time goes (decode, engine, encode, write) measured
in a fresh process, and the `restora restore` command itself timed from outside (start-up included).

    python -m core.benchmarks.restore_path --megapixels 12 --engine lowlight.auto_gamma --runs 3 --folder DIR
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from core.benchmarks import child
from core.benchmarks.child import ROOT
from core.benchmarks.engine import run_child
from core.benchmarks.stats import summary

DEFAULT_ENGINE = "lowlight.auto_gamma"
PNG_LEVELS = (1, 2, 3, 6)  # zlib levels compared in full mode


def write_input(folder: Path, megapixels: float, *, dark: bool) -> Path:
    """The grainy test photo (core.benchmarks.subjects) as an 8-bit PNG."""
    from core.benchmarks.subjects import grainy_photo
    from core.imageio import save_photo

    return save_photo(grainy_photo(megapixels, dark=dark), folder / "input.png")


def phases_in_this_process(engine_id: str, megapixels: float, runs: int, levels: bool,
                           folder: Path) -> dict[str, Any]:
    """Decode, engine, encode and write of one PNG (folder/input.png, written first), `runs` times after a
    warm-up; with `levels`, also the encode time and size of the result at several zlib levels (Pillow)."""
    from core.engines.registry import default_registry
    from core.engines.request import EngineRequest
    from core.imageio import encode_photo, load_photo, write_atomic

    engine = default_registry().create(engine_id)
    times: dict[str, list[float]] = {"decode": [], "engine": [], "encode": [], "write": []}
    source = write_input(folder, megapixels, dark=engine.task == "lowlight")
    target = folder / "phases-output.png"
    result: Any = None
    for i in range(max(1, runs) + 1):  # the first run warms caches and is not counted
        t0 = time.perf_counter()
        photo = load_photo(source)
        t1 = time.perf_counter()
        result = engine.run(EngineRequest(photo, params={}))
        t2 = time.perf_counter()
        data = encode_photo(result.photo, "PNG", depth=8)
        t3 = time.perf_counter()
        write_atomic(target, data)
        t4 = time.perf_counter()
        if i:
            for key, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                times[key].append(seconds)
    row: dict[str, Any] = {"engine": engine_id, "megapixels": round(photo.width * photo.height / 1e6, 2),
                           "input_mb": round(source.stat().st_size / 1e6, 2),
                           "output_mb": round(target.stat().st_size / 1e6, 2)}
    row.update({f"{k}_s": summary(v) for k, v in times.items()})
    row["phases_total_s"] = round(sum(float(row[f"{k}_s"]["median"]) for k in times), 3)
    if levels:
        row["png_levels"] = png_levels(result.photo)
    return row


def png_levels(photo: Any) -> list[dict[str, Any]]:
    """Encode time and size of an 8-bit PNG at each of PNG_LEVELS."""
    from PIL import Image

    from core.pixels import to_uint8

    image = Image.fromarray(to_uint8(photo.rgb))
    rows = []
    for level in PNG_LEVELS:
        start = time.perf_counter()
        buf = io.BytesIO()
        image.save(buf, format="PNG", compress_level=level)
        rows.append({"level": level, "seconds": round(time.perf_counter() - start, 3),
                     "mb": round(len(buf.getvalue()) / 1e6, 2)})
    return rows


def command_seconds(source: Path, engine_id: str, runs: int, *, warm_up: bool = True,
                    timeout: float = 900) -> dict[str, Any]:
    """`python main.py restore SOURCE --engine ID --out DIR` timed from outside, `runs` times (after a
    warm-up run when asked): start-up, imports and the batch runner included."""
    cmd = [str(ROOT / "main.py"), "restore", str(source), "--engine", engine_id,
           "--out", str(source.parent / "out"), "--overwrite"]
    times = []
    for i in range(max(1, runs) + int(warm_up)):
        start = time.perf_counter()
        done = child.run_python(cmd, timeout=timeout)
        if done.returncode != 0:
            return {"error": (done.stdout + done.stderr).strip()[-800:]}
        if i or not warm_up:
            times.append(time.perf_counter() - start)
    return {"command_s": summary(times)}


def measure(engine_id: str = DEFAULT_ENGINE, megapixels: float = 12, *, runs: int = 3, levels: bool = False,
            command_runs: int = 2, warm_up: bool = True, timeout: float = 1800) -> dict[str, Any]:
    """The phases (in a child process) and the whole command on the same file; `other_s` is the command's
    median less the phases' medians: interpreter start-up, imports (torch among them), planning the batch."""
    with tempfile.TemporaryDirectory(prefix="restora-bench-") as tmp:
        extra = ["--runs", str(runs), "--folder", tmp] + (["--levels"] if levels else [])
        row = run_child("core.benchmarks.restore_path", engine_id, megapixels, extra, None, None, timeout)
        if "error" in row or command_runs <= 0:
            return row
        row.update(command_seconds(Path(tmp) / "input.png", engine_id, command_runs, warm_up=warm_up,
                                   timeout=timeout))
    if "command_s" in row:
        row["other_s"] = round(float(row["command_s"]["median"]) - row["phases_total_s"], 3)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default=DEFAULT_ENGINE)
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--levels", action="store_true", help="also compare PNG compression levels")
    parser.add_argument("--folder", required=True, help="where the input photo is written (and left)")
    parser.add_argument("--device", help="ignored: the restore path runs on the default device")
    args = parser.parse_args(argv)
    print(json.dumps(phases_in_this_process(args.engine, args.megapixels, args.runs, args.levels,
                                            Path(args.folder))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
