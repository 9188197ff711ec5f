"""GUI benchmarks: brush-stroke update time on a big photo and GUI-thread stalls while an engine runs.

    QT_QPA_PLATFORM=offscreen python -m desktop.bench_gui [--megapixels 24] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any


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
    layer.end_stroke()
    canvas.close()
    times.sort()
    return {"megapixels": round(photo.width * photo.height / 1e6, 1), "size": f"{photo.width}x{photo.height}",
            "brush_px": brush, "zoom": round(canvas.zoom(), 3), "segments": segments,
            "median_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * len(times)) - 1], 2),
            "max_ms": round(times[-1], 2), "mask_only_median_ms": round(statistics.median(mask_times), 2)}


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
    window.close()
    return {"engine": engine_id, "megapixels": round(photo.width * photo.height / 1e6, 1), "state": handle.state,
            "seconds": round(report.seconds, 2), "max_gap_ms": round(report.max_gap_ms, 1),
            "mean_gap_ms": round(report.mean_gap_ms, 1), "gaps_over_50ms": report.gaps_over_50ms,
            "ticks": report.ticks}


def main(argv: list[str] | None = None) -> int:
    from desktop.app import create_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=24.0)
    parser.add_argument("--engine-megapixels", type=float, default=6.0)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    create_app()
    rows = {"stroke_fit": measure_stroke(args.megapixels), "stroke_100": measure_stroke(args.megapixels, zoom=1.0),
            "engine_stalls": measure_engine_stalls(args.engine_megapixels)}
    for name, row in rows.items():
        print(f"{name:14s} " + "  ".join(f"{k}={v}" for k, v in row.items()))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
