"""Evaluating low-light engines side by side.

Paired folders (low/ and high/, matched by file stem) give PSNR and SSIM against the reference, and the
noise left in the result: the std of result minus reference inside the reference's flat dark patches (in
8-bit levels; an exposure offset does not count, lifted noise does). Unpaired folders (just dark photos)
give no-reference figures: mean exposure, the share of clipped highlights and shadows, colourfulness
(Hasler and Suesstrunk 2003), the share of pixels the engine newly clipped, and the noise: the fine
detail of the result in the quietest patches that were dark in the input (in 8-bit levels). Synthetic
mode darkens well-exposed photos with core.synthesis.lowlight and scores them as pairs. Every report also
has an "(input)" row: the photo as it came, the baseline to beat.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import cv2
import numpy as np

from core.engines.base import Engine, EngineRequest
from core.engines.lowlight.common import HIGHLIGHT_CLIP, LUMA
from core.engines.registry import EngineRegistry, UnknownEngineError
from core.errors import CancelledError, RestoraError
from core.imageio import load_photo
from core.jobs import CancelToken, Progress, no_progress
from core.kinds import IMAGE_SUFFIXES
from core.metrics import psnr, ssim
from core.photo import Photo

INPUT_ROW = "(input)"
SHADOW_CLIP = 0.5 / 255.0  # all channels at this level or below are black at 8 bits


class EvaluationError(RestoraError, ValueError):
    """The evaluation folder or options cannot be used."""


@dataclass
class EngineScores:
    engine_id: str
    metrics: dict[str, float] = field(default_factory=dict)  # means over the images
    per_image: dict[str, dict[str, float]] = field(default_factory=dict)  # image name -> metrics
    seconds_per_image: float = 0.0
    error: str | None = None  # why the engine could not be evaluated (e.g. missing weights)


@dataclass
class EvaluationReport:
    mode: str  # "pairs", "unpaired" or "synthetic"
    folder: str
    images: list[str]
    engines: list[EngineScores]
    skipped: list[str] = field(default_factory=list)  # files without a partner, unreadable files
    metric_names: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PAIRED_METRICS = ("psnr", "ssim", "noise")
UNPAIRED_METRICS = ("exposure", "clipped_highlights", "clipped_shadows", "colourfulness", "newly_clipped",
                    "noise")
NOISE_PATCH = 8  # pixels per side of the noise measure's patches
FLAT_SHARE = 30  # paired: the reference's flattest this many percent of its darker half's patches
QUIET_SHARE = 10  # unpaired: the quietest this many percent of the input's dark patches
DARK_PATCH = 0.25  # unpaired: a patch is dark when the input's mean luma there is below this


# --- no-reference measures -------------------------------------------------------------------------------

def exposure(rgb: np.ndarray) -> float:
    """Mean luma in [0, 1]."""
    return float(np.tensordot(rgb, LUMA, axes=([2], [0])).mean(dtype=np.float64))


def highlight_clipped(rgb: np.ndarray) -> np.ndarray:
    return np.any(rgb >= HIGHLIGHT_CLIP, axis=2)


def shadow_clipped(rgb: np.ndarray) -> np.ndarray:
    return np.all(rgb <= SHADOW_CLIP, axis=2)


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk's M3 on the 0..255 scale: sigma_rgyb + 0.3 mu_rgyb (gray = 0)."""
    r, g, b = (rgb[:, :, c].astype(np.float64) * 255.0 for c in range(3))
    rg = r - g
    yb = 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def _patches(channel: np.ndarray) -> np.ndarray:
    """An H x W channel as (patches, NOISE_PATCH**2) rows of whole NOISE_PATCH x NOISE_PATCH patches."""
    size = NOISE_PATCH
    rows, cols = channel.shape[0] // size, channel.shape[1] // size
    tiles = channel[: rows * size, : cols * size].reshape(rows, size, cols, size).transpose(0, 2, 1, 3)
    return tiles.reshape(rows * cols, size * size).astype(np.float64)


def paired_noise(result: np.ndarray, reference: np.ndarray) -> float:
    """The std (8-bit levels, RMS over patches) of result minus reference in luma inside the reference's
    flattest FLAT_SHARE % of its darker-than-median patches: noise the engine left or lifted. Each patch's
    mean difference is removed, so a brightness offset does not count."""
    ref = _patches(np.tensordot(reference, LUMA, axes=([2], [0])))
    if len(ref) == 0:
        return 0.0
    diff = _patches(np.tensordot(result, LUMA, axes=([2], [0]))) - ref
    level, spread = ref.mean(axis=1), ref.std(axis=1)
    darker = level <= np.median(level)
    flat = darker & (spread <= np.percentile(spread[darker], FLAT_SHARE))
    return float(np.sqrt(np.mean(diff[flat].var(axis=1))) * 255.0)


def unpaired_noise(before: np.ndarray, after: np.ndarray) -> float:
    """The fine detail (luma minus its 3 x 3 box blur; 8-bit levels) of `after`, RMS over the quietest
    QUIET_SHARE % of the patches that are dark in `before` (all patches when none is): what is left there
    is mostly noise, so lifted noise shows as a higher figure than the input's own."""
    luma = np.tensordot(after, LUMA, axes=([2], [0])).astype(np.float32)
    fine = _patches(luma - cv2.blur(luma, (3, 3), borderType=cv2.BORDER_REFLECT))
    if len(fine) == 0:
        return 0.0
    dark = _patches(np.tensordot(before, LUMA, axes=([2], [0]))).mean(axis=1) < DARK_PATCH
    rms = np.sqrt(((fine[dark] if dark.any() else fine) ** 2).mean(axis=1))
    quiet = rms <= np.percentile(rms, QUIET_SHARE)
    return float(np.sqrt(np.mean(rms[quiet] ** 2)) * 255.0)


def unpaired_metrics(before: np.ndarray, after: np.ndarray) -> dict[str, float]:
    hi_after, lo_after = highlight_clipped(after), shadow_clipped(after)
    clipped_before = highlight_clipped(before) | shadow_clipped(before)
    newly = (hi_after | lo_after) & ~clipped_before
    return {"exposure": exposure(after), "clipped_highlights": float(hi_after.mean()),
            "clipped_shadows": float(lo_after.mean()), "colourfulness": colourfulness(after),
            "newly_clipped": float(newly.mean()), "noise": unpaired_noise(before, after)}


def paired_metrics(result: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    return {"psnr": psnr(result, reference), "ssim": ssim(result, reference),
            "noise": paired_noise(result, reference)}


# --- folders ---------------------------------------------------------------------------------------------

def list_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise EvaluationError(f"{folder} does not exist or is not a folder.")
    return sorted(f for f in folder.iterdir()
                  if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."))


def match_pairs(pairs_dir: str | Path) -> tuple[list[tuple[str, Path, Path]], list[str]]:
    """[(stem, low file, high file)] of pairs_dir/low and pairs_dir/high, and the unmatched file names."""
    root = Path(pairs_dir)
    if not (root / "low").is_dir() or not (root / "high").is_dir():
        raise EvaluationError(f"A paired folder needs low/ and high/ sub-folders; {root} has not both.")
    low = {f.stem: f for f in list_images(root / "low")}
    high = {f.stem: f for f in list_images(root / "high")}
    stems = sorted(low.keys() & high.keys())
    skipped = [f"low/{low[s].name}: no partner in high/" for s in sorted(low.keys() - high.keys())]
    skipped += [f"high/{high[s].name}: no partner in low/" for s in sorted(high.keys() - low.keys())]
    if not stems:
        raise EvaluationError(f"No photo in {root / 'low'} has a partner with the same name in {root / 'high'}.")
    return [(s, low[s], high[s]) for s in stems], skipped


def shrink(photo: Photo, max_side: int | None) -> Photo:
    """The photo scaled down (area averaging) so its long side is at most max_side."""
    if not max_side or max(photo.height, photo.width) <= max_side:
        return photo
    factor = max_side / max(photo.height, photo.width)
    size = (max(1, round(photo.width * factor)), max(1, round(photo.height * factor)))
    rgb = cv2.resize(photo.rgb, size, interpolation=cv2.INTER_AREA)
    return Photo(rgb=np.ascontiguousarray(rgb, dtype=np.float32), meta=photo.meta)


# --- running ---------------------------------------------------------------------------------------------

EngineFactory = Callable[[str], Engine]


def _factory(registry: EngineRegistry | None, device: Any, engines: Mapping[str, Engine] | None) -> EngineFactory:
    if registry is None:
        from core.engines.registry import default_registry

        registry = default_registry()
    reg = registry

    def make(engine_id: str) -> Engine:
        if engines and engine_id in engines:
            return engines[engine_id]
        return reg.create(engine_id, device=device)

    return make


def _score(engine_ids: Sequence[str], samples: Callable[[], Iterator[tuple[str, Photo, np.ndarray | None]]],
           count: int, metric: Callable[[np.ndarray, np.ndarray], dict[str, float]], use_reference: bool,
           make: EngineFactory, params: Mapping[str, Mapping[str, Any]] | None, progress: Progress,
           cancel: CancelToken | None) -> list[EngineScores]:
    """Run each engine over every sample; `metric(result, reference)`, where the reference is the input
    photo itself when `use_reference` is false."""
    token = cancel or CancelToken()
    rows = [EngineScores(INPUT_ROW)] + [EngineScores(e) for e in engine_ids]
    instances: dict[str, Engine | None] = {}
    for index, e in enumerate(engine_ids):
        try:
            instances[e] = make(e)
        except UnknownEngineError as exc:
            raise EvaluationError(str(exc)) from None
        except RestoraError as exc:
            instances[e] = None
            rows[1 + index].error = str(exc)
    total = max(1, count * len(rows))
    done = 0
    seconds = {row.engine_id: 0.0 for row in rows}
    for name, photo, reference in samples():
        for row in rows:
            token.raise_if_cancelled()
            if row.error is not None:
                continue
            start = time.perf_counter()
            if row.engine_id == INPUT_ROW:
                result = photo.rgb
            else:
                engine = instances[row.engine_id]
                assert engine is not None
                try:
                    out = engine.run(EngineRequest(photo, params=(params or {}).get(row.engine_id) or {}, cancel=token))
                except CancelledError:
                    raise
                except RestoraError as exc:  # missing weights, bad parameters: report, go on with the rest
                    row.error = str(exc)
                    row.per_image.clear()
                    continue
                result = out.photo.rgb
            seconds[row.engine_id] += time.perf_counter() - start
            target = reference if use_reference else photo.rgb
            assert target is not None
            row.per_image[name] = metric(result, target)
            done += 1
            progress(done, total, f"{row.engine_id} on {name}")
    for row in rows:
        if row.per_image and row.error is None:
            names = next(iter(row.per_image.values())).keys()
            row.metrics = {m: float(np.mean([v[m] for v in row.per_image.values()])) for m in names}
            row.seconds_per_image = seconds[row.engine_id] / len(row.per_image)
    return rows


def evaluate_pairs(engine_ids: Sequence[str], pairs_dir: str | Path, *, registry: EngineRegistry | None = None,
                   device: Any = None, params: Mapping[str, Mapping[str, Any]] | None = None,
                   max_side: int | None = None, engines: Mapping[str, Engine] | None = None,
                   progress: Progress = no_progress, cancel: CancelToken | None = None) -> EvaluationReport:
    """PSNR and SSIM of each engine's result on pairs_dir/low against pairs_dir/high."""
    pairs, skipped = match_pairs(pairs_dir)
    loaded: list[tuple[str, Photo, np.ndarray]] = []
    for stem, low_file, high_file in pairs:
        low, high = shrink(load_photo(low_file), max_side), shrink(load_photo(high_file), max_side)
        if (low.height, low.width) != (high.height, high.width):
            skipped.append(f"{stem}: low is {low.width} x {low.height} but high is {high.width} x {high.height}")
            continue
        loaded.append((stem, low, high.rgb))
    if not loaded:
        raise EvaluationError(f"No usable pair in {pairs_dir}: " + "; ".join(skipped))
    rows = _score(engine_ids, lambda: iter(loaded), len(loaded), paired_metrics, True,
                  _factory(registry, device, engines), params, progress, cancel)
    return EvaluationReport("pairs", str(pairs_dir), [n for n, _, _ in loaded], rows, skipped, PAIRED_METRICS)


def evaluate_unpaired(engine_ids: Sequence[str], folder: str | Path, *, registry: EngineRegistry | None = None,
                      device: Any = None, params: Mapping[str, Mapping[str, Any]] | None = None,
                      max_side: int | None = None, engines: Mapping[str, Engine] | None = None,
                      progress: Progress = no_progress, cancel: CancelToken | None = None) -> EvaluationReport:
    """No-reference figures of each engine's results on the photos in `folder`."""
    files = list_images(Path(folder))
    if not files:
        raise EvaluationError(f"{folder} holds no photos ({', '.join(IMAGE_SUFFIXES)}).")

    def samples() -> Iterator[tuple[str, Photo, np.ndarray | None]]:
        for f in files:
            yield f.stem, shrink(load_photo(f), max_side), None

    def metric(result: np.ndarray, original: np.ndarray) -> dict[str, float]:
        return unpaired_metrics(original, result)

    rows = _score(engine_ids, samples, len(files), metric, False,
                  _factory(registry, device, engines), params, progress, cancel)
    return EvaluationReport("unpaired", str(folder), [f.stem for f in files], rows, [], UNPAIRED_METRICS)


def evaluate_synthetic(engine_ids: Sequence[str], folder: str | Path, *, seed: int = 0,
                       ev_range: tuple[float, float] = (-3.0, -1.0), registry: EngineRegistry | None = None,
                       device: Any = None, params: Mapping[str, Mapping[str, Any]] | None = None,
                       max_side: int | None = None, engines: Mapping[str, Engine] | None = None,
                       progress: Progress = no_progress, cancel: CancelToken | None = None) -> EvaluationReport:
    """PSNR and SSIM on pairs made on the fly from the well-exposed photos in `folder`: each photo is
    darkened by make_lowlight_pair with a generator seeded from (seed, its index), so runs repeat. The
    default exposure range only darkens (-3 to -1 EV): this scores low-light enhancement."""
    from core.synthesis.lowlight import make_lowlight_pair

    files = list_images(Path(folder))
    if not files:
        raise EvaluationError(f"{folder} holds no photos ({', '.join(IMAGE_SUFFIXES)}).")
    pairs: list[tuple[str, Photo, np.ndarray]] = []
    for index, f in enumerate(files):
        high = shrink(load_photo(f), max_side)
        low, ref = make_lowlight_pair(high.rgb, np.random.default_rng([seed, index]), ev_range=ev_range)
        pairs.append((f.stem, Photo(rgb=low, meta=high.meta), ref))
    rows = _score(engine_ids, lambda: iter(pairs), len(pairs), paired_metrics, True,
                  _factory(registry, device, engines), params, progress, cancel)
    return EvaluationReport("synthetic", str(folder), [n for n, _, _ in pairs], rows, [], PAIRED_METRICS)


# --- presenting ------------------------------------------------------------------------------------------

_HEADINGS = {"psnr": "PSNR dB", "ssim": "SSIM", "exposure": "exposure", "clipped_highlights": "hi clip %",
             "clipped_shadows": "lo clip %", "colourfulness": "colourful", "newly_clipped": "new clip %",
             "noise": "noise"}
_PERCENT = {"clipped_highlights", "clipped_shadows", "newly_clipped"}


def format_table(report: EvaluationReport) -> str:
    """A plain-text table: one row per engine, one column per metric, plus seconds per image."""
    heads = ["engine"] + [_HEADINGS.get(m, m) for m in report.metric_names] + ["s/image"]
    lines: list[list[str]] = []
    for row in report.engines:
        if row.error is not None:
            lines.append([row.engine_id, f"error: {row.error}"])
            continue
        cells = [row.engine_id]
        for m in report.metric_names:
            v = row.metrics.get(m)
            cells.append("-" if v is None else f"{v * 100:.2f}" if m in _PERCENT else f"{v:.4f}" if m == "ssim"
                         else f"{v:.2f}")
        cells.append(f"{row.seconds_per_image:.3f}")
        lines.append(cells)
    widths = [max(len(heads[i]), *(len(c[i]) for c in lines if len(c) == len(heads))) for i in range(len(heads))]

    def render(cells: list[str]) -> str:
        if len(cells) != len(heads):
            return f"{cells[0]:<{widths[0]}}  {cells[1]}"
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = [f"{report.mode} evaluation of {len(report.images)} photo(s) in {report.folder}", render(heads),
           "  ".join("-" * w for w in widths)]
    out += [render(c) for c in lines]
    if report.skipped:
        out.append(f"skipped: {'; '.join(report.skipped)}")
    return "\n".join(out)

