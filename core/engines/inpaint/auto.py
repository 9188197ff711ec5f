"""The one-click fill: measures how wide each painted area is and picks the method that suits it.

A distance transform gives, for every hole pixel, how far the nearest kept pixel is; twice its largest value
over a painted area is the area's width. Thin strokes (scratches, wires, dust) are filled by Telea's method,
which continues the surroundings exactly over a few pixels; anything wider by PatchMatch, which rebuilds
texture instead of smearing it, with its coarse colour (structures larger than STRUCTURE pixels) taken from
Telea's smooth continuation so a wide fill's colour follows its surroundings, and its finest detail, which
PatchMatch's averaging of copied patches softens, raised by SHARPEN. The notes say which method filled what.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from core.engines.base import EngineRequest, Param
from core.engines.inpaint.classical import classical_fill
from core.engines.inpaint.patchmatch import (
    CONTEXT_SHARE,
    DETAIL,
    PATCH,
    PatchMatchFiller,
    library,
    sharpen_param,
    structure_param,
)
from core.engines.inpaint.strategy import FillEngine, Filler, strategy_params
from core.jobs import Progress

TELEA_RADIUS = 5.0
STRUCTURE = 16  # px: wide fills keep PatchMatch's finer detail over Telea's coarse colour (patchmatch.py)
SHARPEN = 0.25  # at the hole's edge, growing inwards (patchmatch.DEEP_FACTOR); tuned on SICE ids 1601-1800

THIN = Param("thin", "int", 12, "Painted areas up to this wide, in pixels, are filled by Telea's method (thin "
             "scratches); wider ones by PatchMatch.", min=0, max=512, label="Thin stroke width")


def split_by_width(hole: np.ndarray, thin_px: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The hole's thin areas and its wide areas (uint8 masks, 255 = fill) and how many of each; an area is
    thin when twice its largest distance to a kept pixel is at most thin_px."""
    binary = (hole > 0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    # distance to the nearest kept pixel; outside the image counts as far (a hole on the border is not thinner)
    padded = cv2.copyMakeBorder(binary, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    thin = np.zeros_like(binary)
    n_thin = 0
    for i in range(1, count):
        x, y, w, h = (int(v) for v in stats[i, :4])
        own = labels[y:y + h, x:x + w] == i
        if 2.0 * float(dist[y:y + h, x:x + w][own].max()) <= thin_px:
            thin[y:y + h, x:x + w][own] = 255
            n_thin += 1
    wide = np.where((binary > 0) & (thin == 0), 255, 0).astype(np.uint8)
    return thin, wide, n_thin, count - 1 - n_thin


class AutoFiller(Filler):
    parallel = True
    context_share = CONTEXT_SHARE
    min_context = int(TELEA_RADIUS) + 2

    def __init__(self, thin_px: int, patch: int, detail_kpx: int, structure: int = 0, sharpen: float = 0.0) -> None:
        self.thin_px = thin_px
        self.exemplar = PatchMatchFiller(patch, detail_kpx, structure, sharpen) if library() is not None else None
        self.splits: list[tuple[np.ndarray, np.ndarray]] = []
        self.counts = [0, 0]  # thin areas, wide areas

    def plan(self, holes: Sequence[np.ndarray]) -> None:
        self.splits = []
        for hole in holes:
            thin, wide, n_thin, n_wide = split_by_width(hole, self.thin_px)
            self.splits.append((thin, wide))
            self.counts[0] += n_thin
            self.counts[1] += n_wide
        if self.exemplar is not None:
            self.exemplar.plan([wide for _thin, wide in self.splits])

    def fill(self, index: int, rgb: np.ndarray, hole: np.ndarray, progress: Progress) -> np.ndarray:
        thin, wide = self.splits[index]
        if self.exemplar is None:  # no PatchMatch here: everything by Telea
            return classical_fill(rgb, hole, TELEA_RADIUS)
        filled = rgb
        if wide.any():  # PatchMatch fills the whole hole, so it never copies from a thin stroke's pixels
            filled = self.exemplar.fill(index, rgb, hole, progress)
        if thin.any():  # then Telea redoes the thin strokes from what surrounds them
            strokes = classical_fill(filled, thin, TELEA_RADIUS)
            filled = filled.copy() if filled is rgb else filled
            sel = thin > 0
            filled[sel] = strokes[sel]
        return filled

    def notes(self) -> list[str]:
        thin, wide = self.counts
        if self.exemplar is None:
            return ["PatchMatch is not installed here: every area was filled with Telea's method."]
        parts = []
        if thin:
            parts.append(f"{thin} thin stroke{'s' if thin != 1 else ''} with Telea's method")
        if wide:
            parts.append(f"{wide} wider area{'s' if wide != 1 else ''} with PatchMatch")
        notes = [f"Filled {' and '.join(parts)} (chosen by the width of each painted area)."] if parts else []
        return notes + self.exemplar.notes()


class AutoInpaint(FillEngine):
    id = "inpaint.auto"
    title = "Fill (automatic)"
    description = ("The default fill: thin scratches are continued from their surroundings (Telea), wider areas "
                   "and objects rebuilt from patches of the photo (PatchMatch) with their colour following the "
                   "surroundings. No model needed.")
    params = (THIN, PATCH, DETAIL, structure_param(STRUCTURE), sharpen_param(SHARPEN), *strategy_params(context=32))

    def make_filler(self, request: EngineRequest) -> Filler:
        p = request.params
        return AutoFiller(int(p["thin"]), int(p["patch"]), int(p["detail"]), int(p["structure"]),
                          float(p["sharpen"]))
