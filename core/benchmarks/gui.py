"""The desktop's figures, measured by desktop.bench_gui in child processes (offscreen Qt): start-up to a
photo shown, opening a big photo (preview, then the photo itself), and the GUI thread's longest stalls while
a brush stroke is painted and while an engine runs. Core never imports the desktop; it only starts it."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from core.benchmarks import child
from core.benchmarks.stats import summary


def run_gui_child(args: list[str], timeout: float = 900) -> dict[str, Any]:
    """`python -m desktop.bench_gui ARGS` under QT_QPA_PLATFORM=offscreen; its JSON, or {"error": ...}."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="restora-bench-gui-") as tmp:
        out = Path(tmp) / "gui.json"
        try:
            done = child.run_python(["-m", "desktop.bench_gui", *args, "--json", str(out)], timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"error": f"the GUI benchmark did not finish in {timeout:.0f} s"}
        if done.returncode != 0 or not out.is_file():
            return {"error": (done.stderr or done.stdout).strip()[-800:]}
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result


def write_photos(folder: Path, megapixels: float, formats: tuple[str, ...] = ("jpg", "png")) -> list[Path]:
    """The grainy test photo of `megapixels` as a file of each format (JPEG at quality 95, 8-bit PNG)."""
    from core.benchmarks.subjects import grainy_photo
    from core.imageio import save_photo

    photo = grainy_photo(megapixels, dark=False)
    return [save_photo(photo, folder / f"photo-{megapixels:g}mp.{fmt}") for fmt in formats]


def bench_open(photos: list[Path], runs: int, timeout: float = 900) -> list[dict[str, Any]]:
    """Each photo opened in a running window: seconds to its preview and to the photo itself."""
    rows = []
    for path in photos:
        result = run_gui_child(["--what", "open", "--photo", str(path), "--runs", str(runs)], timeout)
        rows.append(result.get("open", result) if "error" not in result else {"file": path.name, **result})
    return rows


def bench_startup_photo(photo: Path, runs: int, timeout: float = 900) -> dict[str, Any]:
    """From process start to a window showing `photo` (first paint, preview, photo), `runs` fresh processes."""
    marks: dict[str, list[float]] = {"window_s": [], "preview_s": [], "photo_s": []}
    for _ in range(runs):
        result = run_gui_child(["--what", "startup-photo", "--photo", str(photo)], timeout)
        if "error" in result:
            return {"file": photo.name, **result}
        for key, value in result["startup_photo"].items():
            if key in marks and value is not None:
                marks[key].append(float(value))
    return {"file": photo.name, **{k: summary(v) for k, v in marks.items()}}


def bench_stalls(megapixels: float, engine_megapixels: float, engine: str = "inpaint.telea",
                 timeout: float = 900) -> dict[str, Any]:
    """A brush stroke on a `megapixels` photo (fitted and at 100 %) and an engine run on an
    `engine_megapixels` photo: the GUI thread's longest stall in each."""
    return run_gui_child(["--what", "stroke,engine", "--megapixels", str(megapixels), "--engine-megapixels",
                          str(engine_megapixels), "--engine", engine], timeout)
