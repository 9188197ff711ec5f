"""How every inpainting method meets a photo of any size: the strategy, written once.

- "crop" (the default): each painted area's bounding box plus a context margin is filled on its own
  (areas whose margins overlap share one piece), then only its hole pixels are pasted back. The method sees
  the surroundings, so the outermost hole pixels already continue them: the seam is the mask's own edge and
  every pixel outside the mask stays bit-identical. Memory and time follow the holes, not the photo.
- "resize": the photo is reduced to a working size, filled there, and the fill is scaled back up into the
  hole pixels (a quick look at a very large photo, or a network that wants small inputs).
- "original": the whole photo at once (a method that needs global context).

In every strategy the fill lands only on hole pixels. With a feather of F pixels the outermost F pixels of
the hole blend from what was painted over (at the mask's edge) to the fill (F pixels in): the seam lies
inside the mask, never outside it. Exemplar and classical fills have none by default (they continue the
surroundings exactly, and what was painted over is what the user wants gone); learned models feather 3 px
by default, since a network's re-rendered colours can drift a little from the surroundings.

A method plugs in as a Filler: it may look at every piece's hole first (`plan`, for a time budget), then
fills pieces (`fill`, which must not write into its inputs). Fillers that release the GIL (OpenCV,
PatchMatch) fill pieces on several threads.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from core.engines.base import Engine, EngineRequest, EngineResult, Requirements
from core.engines.inpaint.pieces import NoSourcePixelsError, crop_boxes, reduced_size, shrink_hole
from core.errors import CancelledError
from core.jobs import CancelToken, Progress, ScaledProgress
from core.params import Param
from core.warp import warp_in

STRATEGIES = ("crop", "resize", "original")
STRATEGY_TITLES = ("Around each painted area", "Whole photo at a working size", "Whole photo at full size")
NOTHING_TO_FILL = "The mask is empty: nothing to fill."
MAX_THREADS = 4
CANCEL_POLL_S = 0.1  # how often a fill on threads looks at the cancel token


def strategy_params(*, context: int = 64, strategy: str = "crop", working_size: int = 1024,
                    feather: int = 0) -> tuple[Param, ...]:
    """The strategy, context, working-size and feather parameters, with an engine's own defaults."""
    return (
        Param("strategy", "choice", strategy, "Fill around each painted area with its surroundings (fast on big "
              "photos), the whole photo at a reduced working size, or the whole photo at full size.",
              choices=STRATEGIES, choice_titles=STRATEGY_TITLES, label="Strategy"),
        Param("context", "int", context, "Pixels of surroundings around each painted area that the method sees "
              "when it fills it (strategy: around each painted area).", min=0, max=2048, step=8, label="Context"),
        Param("working_size", "int", working_size, "The long side, in pixels, the photo is reduced to before "
              "filling (strategy: working size).", min=64, max=16384, step=64, label="Working size"),
        Param("feather", "int", feather, "Pixels inside the mask's edge over which the fill fades into what was "
              "painted over, for a softer seam; pixels outside the mask never change. 0 is a hard edge.",
              min=0, max=64, label="Feather"),
    )


def seam_weights(hole: np.ndarray, feather: int) -> np.ndarray:
    """Per pixel of `hole` (uint8, 255 = fill) how much of the fill it takes: 0 outside the hole, rising from
    1 / (feather + 1) on the hole's edge to 1 at `feather` pixels from the nearest kept pixel (the photo's
    border is not a kept pixel). float32, same H x W."""
    binary = (hole > 0).astype(np.uint8)
    if feather <= 0:
        return binary.astype(np.float32)
    padded = cv2.copyMakeBorder(binary, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    return np.minimum(dist / np.float32(feather + 1), np.float32(1.0)) * binary


def paste(out: np.ndarray, filled: np.ndarray, hole: np.ndarray, feather: int) -> None:
    """Write `filled` into `out` (views of one piece) on the hole pixels only, feathered inside the hole."""
    sel = hole[:, :, None] > 0
    if feather <= 0:
        np.copyto(out, filled, where=sel)
        return
    weight = seam_weights(hole, feather)[:, :, None]
    blended = out + weight * (np.asarray(filled, np.float32) - out)
    np.copyto(out, np.where(weight >= 1.0, filled, blended).astype(out.dtype), where=sel)


class Filler:
    """One inpainting method, as the strategy drives it."""

    parallel = False  # fill several pieces at once on threads (the method releases the GIL)
    context_share = 0.0  # besides the context margin, this share of a painted area's size is added around it
    min_context = 0  # the method reads this far around a hole: the crop margin is never smaller

    def plan(self, holes: Sequence[np.ndarray]) -> None:
        """See every piece's hole (uint8, 255 = fill) before any is filled; by default nothing to plan."""

    def fill(self, index: int, rgb: np.ndarray, hole: np.ndarray, progress: Progress) -> np.ndarray:
        """The piece `index` filled: float32 H x W x 3; only its hole pixels are used."""
        raise NotImplementedError

    def notes(self) -> list[str]:
        return []


def fill_photo(rgb: np.ndarray, mask: np.ndarray, filler: Filler, params: Mapping[str, Any], progress: Progress,
               cancel: CancelToken) -> tuple[np.ndarray, list[str]]:
    """A copy of rgb with the mask's pixels filled by `filler` following params["strategy"]; pixels outside
    the mask are bit-identical. Returns the new pixels and notes for the user."""
    strategy = str(params.get("strategy", "crop"))
    feather = int(params.get("feather", 0))
    out = rgb.copy()
    h, w = mask.shape
    if strategy == "resize":
        factor = max(h, w) / int(params.get("working_size", 1024))
        if factor > 1.0:
            return out, _fill_resized(rgb, mask, out, filler, factor, feather, progress, cancel) + filler.notes()
        strategy = "original"
    if strategy == "original":
        filler.plan([mask])
        cancel.raise_if_cancelled()
        paste(out, filler.fill(0, rgb, mask, progress), mask, feather)
        progress(1, 1, "Filled")
        return out, filler.notes()
    if strategy != "crop":
        raise ValueError(f"unknown inpainting strategy {strategy!r}")
    margin = max(int(params.get("context", 64)), filler.min_context, 1 if feather else 0)  # feather from kept pixels
    boxes = crop_boxes(mask, margin, filler.context_share)
    filler.plan([mask[y0:y1, x0:x1] for x0, y0, x1, y1 in boxes])
    total = len(boxes)

    def one(i: int, sub: Progress) -> np.ndarray:
        x0, y0, x1, y1 = boxes[i]
        return filler.fill(i, np.ascontiguousarray(rgb[y0:y1, x0:x1]), np.ascontiguousarray(mask[y0:y1, x0:x1]), sub)

    def put(i: int, filled: np.ndarray) -> None:
        x0, y0, x1, y1 = boxes[i]
        paste(out[y0:y1, x0:x1], filled, mask[y0:y1, x0:x1], feather)

    # one thread per piece up to MAX_THREADS, even beyond the cores: three pieces on two cores finish in about
    # 1.5 pieces' time rather than 2
    threads = min(total, MAX_THREADS) if filler.parallel else 1
    if threads <= 1:
        for i in range(total):
            cancel.raise_if_cancelled()
            put(i, one(i, ScaledProgress(progress, i, 1, total)))
            progress(i + 1, total, f"Filled area {i + 1} of {total}")
    else:
        _fill_on_threads(one, put, total, threads, progress, cancel)
    notes = [f"Filled {total} areas separately, each with its surroundings." if total != 1
             else "Filled the painted area with its surroundings."]
    return out, notes + filler.notes()


def _quiet(done: int, total: int, message: str = "") -> None:
    """Progress inside a piece filled on a worker thread: only the calling thread reports."""


def _fill_on_threads(one: Any, paste: Any, total: int, threads: int, progress: Progress,
                     cancel: CancelToken) -> None:
    """Fill pieces on `threads` threads, pasting each in the calling thread as it finishes (so at most
    `threads` pieces' pixels are held at once). The cancel token is looked at every CANCEL_POLL_S while the
    pieces run: a cancel returns at once, and pieces still inside the method (one C call, which cannot be
    interrupted) finish on their own in the background, their fills dropped."""
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="inpaint")
    pending: dict[Future[np.ndarray], int] = {}
    started = done = 0
    cancelled = False
    progress(0, total, f"Filling {total} areas" if total != 1 else "Filling the painted area")
    try:
        while done < total:
            while started < total and len(pending) < threads:
                cancel.raise_if_cancelled()
                pending[pool.submit(one, started, _quiet)] = started
                started += 1
            finished, _ = wait(pending, timeout=CANCEL_POLL_S, return_when=FIRST_COMPLETED)
            for future in finished:
                paste(pending.pop(future), future.result())
                done += 1
                progress(done, total, f"Filled area {done} of {total}")
            cancel.raise_if_cancelled()
    except CancelledError:
        cancelled = True
        raise
    finally:
        pool.shutdown(wait=not cancelled, cancel_futures=True)


def _fill_resized(rgb: np.ndarray, mask: np.ndarray, out: np.ndarray, filler: Filler, factor: float,
                  feather: int, progress: Progress, cancel: CancelToken) -> list[str]:
    """The resize strategy: fill a reduced copy of the photo, then scale the fill up box by box into the
    hole pixels (no full-size scaled-up copy is made)."""
    h, w = mask.shape
    size = reduced_size(w, h, factor)
    small = np.clip(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), 0.0, 1.0)
    small_hole = shrink_hole(mask, size)
    filler.plan([small_hole])
    cancel.raise_if_cancelled()
    filled = np.ascontiguousarray(filler.fill(0, small, small_hole, progress), np.float32)
    kx, ky = w / size[0], h / size[1]
    for x0, y0, x1, y1 in crop_boxes(mask, 1 if feather else 0):  # a kept pixel around each box to feather from
        cancel.raise_if_cancelled()
        # small-photo coordinates -> this box's pixels (pixel edges aligned, as cv2.resize)
        M = np.array([[kx, 0.0, 0.5 * (kx - 1.0) - x0], [0.0, ky, 0.5 * (ky - 1.0) - y0]])
        up = warp_in(filled, M, (x1 - x0, y1 - y0), border="replicate", interpolation="cubic", antialias=False)
        paste(out[y0:y1, x0:x1], up, mask[y0:y1, x0:x1], feather)
    progress(1, 1, "Filled")
    return [f"Filled at {size[0]} x {size[1]} pixels and scaled up."]


class FillEngine(Engine):
    """Base of the built-in inpainting engines: bad input handled once, the strategy from the parameters."""

    task = "inpaint"
    requirements = Requirements(needs_mask=True)
    needs_source = True  # fills from the photo's own pixels: a mask over everything leaves nothing to use

    def make_filler(self, request: EngineRequest) -> Filler:
        raise NotImplementedError

    def process(self, request: EngineRequest) -> EngineResult:
        photo, mask = request.photo, request.mask
        assert mask is not None
        if not mask.any():
            return EngineResult(photo=photo, notes=[NOTHING_TO_FILL])
        if self.needs_source and mask.all():
            raise NoSourcePixelsError(f"The mask covers the whole photo, so {self.title} has no pixels to fill "
                                      f"from: leave part of the photo unpainted.")
        rgb, notes = fill_photo(photo.rgb, mask, self.make_filler(request), request.params, request.progress,
                                request.cancel)
        return EngineResult(photo=photo.with_rgb(rgb), notes=notes)
