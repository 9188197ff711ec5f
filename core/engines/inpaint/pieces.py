"""Cutting a mask into the pieces an inpainting method fills one at a time, and filling at a reduced size.

A piece is the bounding box of one or more painted areas grown by a context margin: what the method sees.
Boxes whose margins overlap are merged, so each hole pixel belongs to exactly one piece and a piece holds no
part of another piece's hole. `fill_reduced` runs a method on a smaller copy of a piece and scales the fill
back up (big holes on big photos, fixed-size networks); callers paste only the hole pixels of what it returns.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from core.engines.base import RequirementError

IntBox = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) in photo pixels
POOLED_PIXELS = 2_000_000  # masks larger than this are labelled at a reduced size (component_boxes)
HOLE_GROW_PX = 2  # at the reduced size a hole is grown this much, so the scaled-up fill covers the full-size hole
Fill = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rgb float32 H x W x 3, hole uint8 H x W) -> rgb


class NoSourcePixelsError(RequirementError):
    """The mask covers the whole photo: a method that fills from the photo's own pixels has nothing to use."""


def component_boxes(mask: np.ndarray) -> np.ndarray:
    """Bounding boxes (n x 4: x0, y0, x1, y1) of the mask's 8-connected painted areas.

    A large mask is first reduced by a whole factor k, keeping a cell painted when any of its pixels is
    (so the boxes can only grow, by under k pixels, and areas closer than k may share one): labelling a
    24-megapixel mask at full size would cost more than filling small holes in it."""
    h, w = mask.shape
    k = min(16, max(1, int(np.ceil((h * w / POOLED_PIXELS) ** 0.5))))  # 255 / 16**2 still rounds to 1
    if mask.dtype == np.uint8:
        painted = cv2.threshold(mask, 0, 255, cv2.THRESH_BINARY)[1]
    else:
        painted = np.where(mask > 0, 255, 0).astype(np.uint8)
    if k > 1:  # an exact k x k area average of 0/255: non-zero wherever any pixel of the cell is painted
        ph, pw = -(-h // k) * k, -(-w // k) * k
        padded = cv2.copyMakeBorder(painted, 0, ph - h, 0, pw - w, cv2.BORDER_CONSTANT, value=0)
        painted = cv2.resize(padded, (pw // k, ph // k), interpolation=cv2.INTER_AREA)
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(painted, connectivity=8)
    s = stats[1:count].astype(np.int64)
    boxes = np.stack([s[:, 0] * k, s[:, 1] * k, np.minimum((s[:, 0] + s[:, 2]) * k, w),
                      np.minimum((s[:, 1] + s[:, 3]) * k, h)], axis=1)
    return boxes.reshape(-1, 4)


def merge_boxes(boxes: np.ndarray) -> np.ndarray:
    """Boxes (n x 4, x0 y0 x1 y1) with every group of overlapping boxes replaced by its bounding box.

    Union-find over pairs that overlap, one vectorised comparison per box (no n x n matrix: a mask of ten
    thousand specks stays cheap), repeated while a merged box overlaps another."""
    boxes = np.asarray(boxes, np.int64).reshape(-1, 4)
    while len(boxes) > 1:
        parent = np.arange(len(boxes))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = int(parent[i])
            return i

        for i in range(len(boxes) - 1):
            rest = boxes[i + 1:]
            hits = np.flatnonzero((rest[:, 0] < boxes[i, 2]) & (boxes[i, 0] < rest[:, 2])
                                  & (rest[:, 1] < boxes[i, 3]) & (boxes[i, 1] < rest[:, 3])) + i + 1
            for j in hits:
                a, b = root(i), root(int(j))
                if a != b:
                    parent[b] = a
        roots = np.array([root(i) for i in range(len(boxes))])
        order = np.argsort(roots, kind="stable")
        ordered, grouped = roots[order], boxes[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        if len(starts) == len(boxes):
            break
        boxes = np.stack([np.minimum.reduceat(grouped[:, 0], starts), np.minimum.reduceat(grouped[:, 1], starts),
                          np.maximum.reduceat(grouped[:, 2], starts), np.maximum.reduceat(grouped[:, 3], starts)], 1)
    order = np.lexsort((boxes[:, 0], boxes[:, 1]))
    return boxes[order]


def crop_boxes(mask: np.ndarray, context: int, context_share: float = 0.0) -> list[IntBox]:
    """The pieces of a mask: each painted area's box grown by max(context, context_share x its longer side)
    on every side, clipped to the photo, overlapping boxes merged; sorted top to bottom."""
    boxes = component_boxes(mask)
    if not len(boxes):
        return []
    h, w = mask.shape
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    margin = np.maximum(int(context), np.ceil(context_share * side).astype(np.int64))
    grown = np.stack([np.maximum(boxes[:, 0] - margin, 0), np.maximum(boxes[:, 1] - margin, 0),
                      np.minimum(boxes[:, 2] + margin, w), np.minimum(boxes[:, 3] + margin, h)], axis=1)
    return [(int(a), int(b), int(c), int(d)) for a, b, c, d in merge_boxes(grown)]


def reduced_size(width: int, height: int, factor: float) -> tuple[int, int]:
    """(width, height) divided by factor, at least one pixel each."""
    return max(1, int(round(width / factor))), max(1, int(round(height / factor)))


def shrink_hole(hole: np.ndarray, size_wh: tuple[int, int], grow: int = HOLE_GROW_PX) -> np.ndarray:
    """The hole at another (smaller) size: every pixel the full-size hole touches, grown by `grow` pixels so
    the scaled-up fill reaches over the full-size hole's edge; less grown where that would leave nothing
    known. Raises NoSourcePixelsError when no known pixel survives."""
    cover = cv2.resize((hole > 0).astype(np.float32), size_wh, interpolation=cv2.INTER_AREA)
    for threshold, px in ((0.0, grow), (0.0, 0), (0.5, 0)):
        small = np.where(cover > threshold, 255, 0).astype(np.uint8)
        if px:
            small = np.asarray(cv2.dilate(small, np.ones((2 * px + 1, 2 * px + 1), np.uint8)), np.uint8)
        if not small.all():
            return small
    raise NoSourcePixelsError("So little of the photo is left unpainted that nothing remains to fill from: "
                              "paint a smaller area.")


def fill_reduced(rgb: np.ndarray, hole: np.ndarray, fill: Fill, size_wh: tuple[int, int]) -> np.ndarray:
    """Fill a piece at size_wh (width, height) and scale the result back to the piece's size (hole pixels
    are what callers use)."""
    h, w = hole.shape
    if size_wh == (w, h):
        return fill(rgb, hole)
    shrinking = size_wh[0] * size_wh[1] < w * h
    small = cv2.resize(rgb, size_wh, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    small_hole = shrink_hole(hole, size_wh)
    filled = np.asarray(fill(np.clip(small, 0.0, 1.0), small_hole), np.float32)
    big = cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC if shrinking else cv2.INTER_AREA)
    return np.clip(big, 0.0, 1.0)


def budget_caps(areas: list[int], budget: int) -> list[float]:
    """How much to shrink each piece (a factor >= 1 on each side) so the pieces' hole areas add up to at most
    `budget` pixels, shrinking the biggest first (small holes keep full detail); budget 0 shrinks nothing."""
    if budget <= 0 or sum(areas) <= budget:
        return [1.0] * len(areas)
    ordered = sorted(areas)
    cap, left = 0.0, float(budget)
    for i, a in enumerate(ordered):  # the water level: areas below it are kept whole, the rest cut to it
        share = left / (len(ordered) - i)
        if a <= share:
            left -= a
            continue
        cap = share
        break
    return [max(1.0, (a / cap) ** 0.5) if cap > 0 and a > cap else 1.0 for a in areas]
