"""Evaluating inpainting engines side by side: `restora eval inpaint`.

Each photo (reduced so its long side is at most the working size) gets, for each hole-area bucket (0-10% of
the photo, ..., 50-60%), one seeded mask (core.evaluation.inpaint_masks), the same for every engine. The
engine sees the photo with its hole pixels set to mid-grey, so no method can read what it should invent
(and an engine with a feather is run with none, unless asked: it would fade its fill into that grey).
The composite (the truth outside the hole, the engine's fill inside) is scored against the truth:

- PSNR and SSIM over the whole photo (what people compare);
- texture: the mean gradient magnitude (3 x 3 Sobel on luma) over the hole pixels of the composite divided by
  that of the truth: 1.0 is as much detail as the real photo, a smooth blur scores far below (Telea about
  0.3 on natural photos), values above 1 mean invented edges (seams, noise);
- seconds per image.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from core.engines.base import Engine, EngineRequest
from core.engines.registry import EngineRegistry, UnknownEngineError
from core.errors import CancelledError, RestoraError
from core.evaluation.inpaint_masks import BUCKETS, bucket_label, bucket_mask
from core.evaluation.lowlight import EvaluationError, list_images, shrink
from core.imageio import load_photo
from core.jobs import CancelToken, Progress, no_progress
from core.kinds import IMAGE_SUFFIXES
from core.metrics import psnr, ssim
from core.photo import Photo

METRICS = ("psnr", "ssim", "texture")
WORKING_SIDE = 512
HIDDEN = 0.5  # what the engines see in the hole pixels
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass
class BucketScores:
    """One engine on one bucket: means over the photos, per photo figures, seconds per photo."""

    engine_id: str
    bucket: str
    metrics: dict[str, float] = field(default_factory=dict)
    per_image: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds_per_image: float = 0.0
    mean_hole_share: float = 0.0
    error: str | None = None


@dataclass
class InpaintReport:
    folder: str
    images: list[str]
    buckets: list[str]
    engines: list[str]
    rows: list[BucketScores]
    seed: int
    working_side: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def row(self, engine_id: str, bucket: str) -> BucketScores:
        return next(r for r in self.rows if r.engine_id == engine_id and r.bucket == bucket)


def _gradient(rgb: np.ndarray) -> np.ndarray:
    luma = np.ascontiguousarray(np.tensordot(rgb, LUMA, axes=([2], [0])), dtype=np.float32)
    return np.hypot(cv2.Sobel(luma, cv2.CV_32F, 1, 0), cv2.Sobel(luma, cv2.CV_32F, 0, 1))


def texture_ratio(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """Mean gradient magnitude over the hole, result over truth (1.0 ideal; a blur scores low)."""
    sel = hole > 0
    if not sel.any():
        return 1.0
    real = float(_gradient(truth)[sel].mean())
    return float(_gradient(result)[sel].mean()) / max(real, 1e-6)


def hole_metrics(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    """PSNR, SSIM and texture of the composite (truth outside the hole, result inside)."""
    composite = truth.copy()
    sel = hole > 0
    composite[sel] = result[sel]
    return {"psnr": psnr(composite, truth), "ssim": ssim(composite, truth),
            "texture": texture_ratio(composite, truth, hole)}


def pick_photos(folder: Path, limit: int | None) -> list[Path]:
    """The folder's photos in name order, or `limit` of them spread evenly over that order."""
    files = list_images(folder)
    if not files:
        raise EvaluationError(f"{folder} holds no photos ({', '.join(IMAGE_SUFFIXES)}).")
    if limit and 0 < limit < len(files):
        picks = np.linspace(0, len(files) - 1, limit).round().astype(int)
        files = [files[i] for i in sorted(set(picks.tolist()))]
    return files


def evaluate_inpaint(engine_ids: Sequence[str], folder: str | Path, *, seed: int = 0,
                     working_side: int = WORKING_SIDE, limit: int | None = None,
                     buckets: Sequence[tuple[float, float]] = BUCKETS, registry: EngineRegistry | None = None,
                     device: Any = None, params: Mapping[str, Mapping[str, Any]] | None = None,
                     progress: Progress = no_progress, cancel: CancelToken | None = None) -> InpaintReport:
    """Score each engine on every photo of `folder` and every bucket; an engine that cannot run (missing
    library or weights, bad parameters) gets an error row and the others go on."""
    if registry is None:
        from core.engines.registry import default_registry

        registry = default_registry()
    token = cancel or CancelToken()
    files = pick_photos(Path(folder), limit)
    labels = [bucket_label(b) for b in buckets]
    engines: dict[str, Engine | None] = {}
    rows = {(e, b): BucketScores(e, b) for e in engine_ids for b in labels}
    for e in engine_ids:
        engine: Engine | None = None
        try:
            engine = registry.create(e, device=device)
            reason = engine.unavailable()
        except UnknownEngineError as exc:
            raise EvaluationError(str(exc)) from None
        except RestoraError as exc:  # e.g. weights that cannot be read
            reason = str(exc)
        engines[e] = None if reason else engine
        for b in labels:
            rows[(e, b)].error = reason
    seconds = {key: 0.0 for key in rows}
    shares: dict[str, list[float]] = {b: [] for b in labels}
    total, done = max(1, len(files) * len(buckets) * len(engine_ids)), 0
    for index, path in enumerate(files):
        truth = shrink(load_photo(path), working_side).rgb
        h, w = truth.shape[:2]
        for b_index, (bucket, label) in enumerate(zip(buckets, labels)):
            hole = bucket_mask(h, w, bucket, np.random.default_rng([seed, index, b_index]))
            shares[label].append(float((hole > 0).mean()))
            hidden = truth.copy()
            hidden[hole > 0] = HIDDEN
            for e in engine_ids:
                token.raise_if_cancelled()
                row, engine = rows[(e, label)], engines[e]
                if engine is not None and row.error is None:
                    start = time.perf_counter()
                    given = {**({"feather": 0} if engine.param("feather") else {}), **((params or {}).get(e) or {})}
                    try:
                        out = engine.run(EngineRequest(Photo(rgb=hidden), mask=hole, params=given, cancel=token))
                    except CancelledError:
                        raise
                    except RestoraError as exc:  # report it and go on with the other engines
                        row.error, row.per_image = str(exc), {}
                    else:
                        seconds[(e, label)] += time.perf_counter() - start
                        row.per_image[path.stem] = hole_metrics(out.photo.rgb, truth, hole)
                done += 1
                progress(done, total, f"{e} on {path.name}, holes {label}")
    for (e, label), row in rows.items():
        row.mean_hole_share = float(np.mean(shares[label])) if shares[label] else 0.0
        if row.per_image and row.error is None:
            row.metrics = {m: float(np.mean([v[m] for v in row.per_image.values()])) for m in METRICS}
            row.seconds_per_image = seconds[(e, label)] / len(row.per_image)
    return InpaintReport(str(folder), [f.stem for f in files], labels, list(engine_ids), list(rows.values()), seed,
                         working_side)


def format_table(report: InpaintReport) -> str:
    """A plain-text table: per hole-area bucket, the engines side by side (one line each)."""
    heads = ["holes", "engine", "PSNR dB", "SSIM", "texture", "s/image"]
    lines: list[list[str]] = []
    for label in report.buckets:
        for i, e in enumerate(report.engines):
            row = report.row(e, label)
            first = f"{label} (mean {row.mean_hole_share * 100:.0f}%)" if i == 0 else ""
            if row.error is not None:
                lines.append([first, e, f"error: {row.error}"])
                continue
            m = row.metrics
            lines.append([first, e, f"{m['psnr']:.2f}", f"{m['ssim']:.4f}", f"{m['texture']:.2f}",
                          f"{row.seconds_per_image:.2f}"])
    full = [c for c in lines if len(c) == len(heads)]
    widths = [max(len(heads[i]), *(len(c[i]) for c in full)) if full else len(heads[i]) for i in range(len(heads))]
    widths[0] = max(widths[0], *(len(c[0]) for c in lines)) if lines else widths[0]
    widths[1] = max(widths[1], *(len(c[1]) for c in lines)) if lines else widths[1]

    def render(cells: list[str]) -> str:
        if len(cells) != len(heads):
            return f"{cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]}"
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = [f"inpainting evaluation of {len(report.images)} photo(s) in {report.folder} (long side at most "
           f"{report.working_side} px, seed {report.seed})", render(heads), "  ".join("-" * w for w in widths)]
    return "\n".join(out + [render(c) for c in lines])
