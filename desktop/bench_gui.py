"""GUI benchmarks: brush-stroke update time on a big photo, GUI-thread stalls while an engine runs, and how
long a photo file takes to show (its preview, then the photo itself), in a running window or from start-up.

    QT_QPA_PLATFORM=offscreen python -m desktop.bench_gui [--megapixels 24] [--json out.json]
    QT_QPA_PLATFORM=offscreen python -m desktop.bench_gui --what open --photo big.jpg --runs 3
    QT_QPA_PLATFORM=offscreen python -m desktop.bench_gui --what startup-photo --photo big.jpg

`restora bench` runs these in child processes (core.benchmarks.gui).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any, Callable


def _big_photo(megapixels: float):
    import numpy as np

    from core.photo import Photo

    w = int((megapixels * 1e6 * 1.5) ** 0.5)
    h = int(megapixels * 1e6 / w)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.dstack([x / w, y / h, 0.5 * (x + y) / (w + h)]).astype(np.float32)
    return Photo(rgb=rgb)


def measure_stroke(megapixels: float = 24.0, brush: float = 60.0, segments: int = 200,
                   zoom: float | None = None) -> dict[str, Any]:
    """Time each brush segment: the mask write, the undo bookkeeping and the repaint of the dirty rectangle."""
    from PySide6.QtWidgets import QApplication

    from desktop.canvas.display import make_display
    from desktop.canvas.editor import EditorCanvas

    canvas = EditorCanvas()
    canvas.resize(1280, 800)
    canvas.show()
    photo = _big_photo(megapixels)
    canvas.set_display(make_display(photo))
    if zoom is not None:
        canvas.set_zoom(zoom)
    QApplication.processEvents()
    layer = canvas.mask_layer
    layer.brush_size = brush
    centre = canvas.center_scene_point()
    cx, cy = centre.x(), centre.y()
    layer.begin_stroke(cx - 300, cy)
    from PySide6.QtCore import QRectF

    times, mask_times = [], []
    for i in range(segments):
        t0 = time.perf_counter()
        rect = layer.stroke_to(cx - 300 + 3 * (i + 1), cy + 40 * ((i % 20) / 20 - 0.5))
        t1 = time.perf_counter()
        if rect is not None:
            # paint the dirty rectangle now (what the event loop paints next), so the time includes it
            dirty = canvas.mapFromScene(QRectF(*rect)).boundingRect().adjusted(-2, -2, 2, 2)
            canvas.viewport().repaint(dirty)
        times.append((time.perf_counter() - t0) * 1000)
        mask_times.append((t1 - t0) * 1000)
    t0 = time.perf_counter()
    layer.end_stroke()  # the stroke's undo record
    end_ms = (time.perf_counter() - t0) * 1000
    canvas.close()
    times.sort()
    return {"megapixels": round(photo.width * photo.height / 1e6, 1), "size": f"{photo.width}x{photo.height}",
            "brush_px": brush, "zoom": round(canvas.zoom(), 3), "segments": segments,
            "median_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * len(times)) - 1], 2),
            "max_ms": round(max(times[-1], end_ms), 2), "end_stroke_ms": round(end_ms, 2),
            "mask_only_median_ms": round(statistics.median(mask_times), 2)}


def measure_engine_stalls(megapixels: float = 6.0, engine_id: str = "inpaint.telea") -> dict[str, Any]:
    """Run an engine on a big photo through the worker pool and record the GUI thread's longest gap."""
    from core.engines.registry import default_registry
    from desktop.canvas.display import make_display  # noqa: F401 (imported before timing starts)
    from desktop.responsiveness import measure_stalls_during
    from desktop.window import MainWindow

    window = MainWindow()
    window.show()
    photo = _big_photo(megapixels)
    window.set_photo(photo)
    engine = default_registry().get(engine_id)
    window.canvas.mask_layer.fill_rect((photo.width // 4, photo.height // 4, photo.width // 8, photo.height // 2))
    handle = window.run_engine(engine, {})
    if handle is None:
        raise SystemExit(f"{engine_id} did not start (the window refused the run).")
    report = measure_stalls_during(handle, timeout_s=300)
    window.ask_unsaved = lambda count, doing: "discard"  # type: ignore[method-assign]  # the result is not kept
    window.close()
    return {"engine": engine_id, "megapixels": round(photo.width * photo.height / 1e6, 1), "state": handle.state,
            "seconds": round(report.seconds, 2), "max_gap_ms": round(report.max_gap_ms, 1),
            "mean_gap_ms": round(report.mean_gap_ms, 1), "gaps_over_50ms": report.gaps_over_50ms,
            "ticks": report.ticks}


def _wait_for(marks: dict[str, Callable[[], Any]], clock: Callable[[], float], timeout_s: float = 300,
              ) -> dict[str, float | None]:
    """Run the event loop until every condition has held once; each one's time by `clock` when it first held.
    A condition may return a widget: it is repainted at once, so the time includes drawing it."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    found: dict[str, float | None] = dict.fromkeys(marks)
    loop = QEventLoop()

    def check() -> None:
        for name, condition in marks.items():
            if found[name] is None and (shown := condition()):
                if hasattr(shown, "viewport"):
                    shown.viewport().repaint()
                found[name] = round(clock(), 3)
        if all(v is not None for v in found.values()):
            loop.quit()

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(check)
    timer.start(2)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    timer.stop()
    return found


def _shown_marks(window: Any) -> dict[str, Callable[[], Any]]:
    """When the preview is on screen, and when the photo itself is (the canvas showing a full display)."""
    def preview() -> Any:
        p = window.open_preview
        return p.view if p.showing else (window.canvas if _photo_shown(window) else None)

    return {"preview_s": preview, "photo_s": lambda: window.canvas if _photo_shown(window) else None}


def _photo_shown(window: Any) -> bool:
    d = window.canvas.display
    return window.document is not None and d is not None and not d.is_preview and window.stack.currentWidget() is \
        window.canvas


def measure_open(path: str, runs: int = 3) -> dict[str, Any]:
    """Open `path` in a fresh shown window, `runs` times after a warm-up: seconds to the preview and to the
    photo. With no preview (a small photo) the preview time is the photo's."""
    from PySide6.QtCore import QCoreApplication

    from core.benchmarks.stats import summary
    from desktop.window import MainWindow

    times: dict[str, list[float]] = {"preview_s": [], "photo_s": []}
    size = None
    for i in range(runs + 1):
        window = MainWindow()
        window.show()
        QCoreApplication.processEvents()
        start = time.perf_counter()
        handle = window.open_path(path, asked=True)
        found = _wait_for(_shown_marks(window), lambda: time.perf_counter() - start)
        if handle is not None:
            _wait_for({"done": lambda: handle.delivered}, time.perf_counter)
        if window.photo is not None:
            size = window.photo.width * window.photo.height
        window.close()
        if i:
            for key, value in found.items():
                if value is not None:
                    times[key].append(value)
    return {"file": Path(path).name, "megapixels": round(size / 1e6, 1) if size else None,
            "preview_s": summary(times["preview_s"]), "photo_s": summary(times["photo_s"])}


def startup_photo(path: str) -> dict[str, Any]:
    """From process start to a window showing `path`: its first paint, the preview, the photo (as
    `python main.py PHOTO` starts, without the asyncio loop)."""
    from PySide6.QtCore import QTimer

    from desktop.startup import seconds_since_process_start
    from desktop.window import MainWindow

    window = MainWindow()
    painted: list[float] = []
    window.first_paint.connect(lambda: painted.append(seconds_since_process_start()))
    window.show()
    QTimer.singleShot(0, lambda: window.open_path(path))
    window.first_paint.connect(lambda: QTimer.singleShot(0, window.start_background_services))  # as run_app
    found = _wait_for(_shown_marks(window), seconds_since_process_start)
    window.close()
    return {"file": Path(path).name, "window_s": round(painted[0], 3) if painted else None, **found}


def main(argv: list[str] | None = None) -> int:
    from desktop.app import create_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--what", default="stroke,engine",
                        help="comma-separated: stroke, engine, open, startup-photo (default stroke,engine)")
    parser.add_argument("--megapixels", type=float, default=24.0)
    parser.add_argument("--engine-megapixels", type=float, default=6.0)
    parser.add_argument("--engine", default="inpaint.telea")
    parser.add_argument("--photo", help="the photo file, for open and startup-photo")
    parser.add_argument("--runs", type=int, default=3, help="repetitions, for open")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    what = [w.strip() for w in args.what.split(",") if w.strip()]
    if {"open", "startup-photo"} & set(what) and not args.photo:
        parser.error("open and startup-photo need --photo FILE")
    create_app()
    rows: dict[str, Any] = {}
    if "startup-photo" in what:  # first: it times this process's own start
        rows["startup_photo"] = startup_photo(args.photo)
    if "stroke" in what:
        rows["stroke_fit"] = measure_stroke(args.megapixels)
        rows["stroke_100"] = measure_stroke(args.megapixels, zoom=1.0)
    if "engine" in what:
        rows["engine_stalls"] = measure_engine_stalls(args.engine_megapixels, args.engine)
    if "open" in what:
        rows["open"] = measure_open(args.photo, args.runs)
    for name, row in rows.items():
        print(f"{name:14s} " + "  ".join(f"{k}={v}" for k, v in row.items()))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
