"""Random inpainting masks for training: free-form brush strokes and boxes (uint8, 255 = hole, 0 = keep).

random_mask: a few strokes and boxes under a size cap; irregular_mask: strokes of three widths and boxes up
to a random hole fraction (the LBAM preset's masks)."""

from __future__ import annotations

import math

import cv2
import numpy as np


def random_mask(height: int, width: int, rng: np.random.Generator, *, strokes: tuple[int, int] = (1, 4),
                boxes: tuple[int, int] = (0, 2), max_fraction: float = 0.5, tries: int = 8) -> np.ndarray:
    """A mask with between strokes[0]..strokes[1] strokes and boxes[0]..boxes[1] boxes, never empty,
    and covering at most max_fraction of the image (redrawn up to `tries` times, then thinned)."""
    mask: np.ndarray = np.zeros((height, width), np.uint8)
    for _ in range(max(1, tries)):
        mask = np.zeros((height, width), np.uint8)
        for _ in range(int(rng.integers(strokes[0], strokes[1] + 1))):
            _draw_stroke(mask, rng)
        for _ in range(int(rng.integers(boxes[0], boxes[1] + 1))):
            _draw_box(mask, rng)
        if not mask.any():
            _draw_box(mask, rng)
        if (mask > 0).mean() <= max_fraction:
            return mask
    # Still too large: erode until it fits, keeping at least one pixel of hole.
    kernel = np.ones((3, 3), np.uint8)
    while (mask > 0).mean() > max_fraction:
        thinner = cv2.erode(mask, kernel)
        if not thinner.any():
            break
        mask = thinner
    return mask


def _draw_stroke(mask: np.ndarray, rng: np.random.Generator, widths: tuple[float, float] = (0.03, 0.12)) -> None:
    """A brush stroke: a random walk of a few segments with a random width (a fraction of the shorter side)."""
    h, w = mask.shape
    size = min(h, w)
    width = max(1, int(rng.uniform(widths[0], widths[1]) * size))
    x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
    angle = float(rng.uniform(0, 2 * math.pi))
    for _ in range(int(rng.integers(2, 7))):
        angle += float(rng.normal(0, math.pi / 4))
        length = float(rng.uniform(0.1, 0.4) * size)
        nx = min(max(x + length * math.cos(angle), 0.0), w - 1.0)
        ny = min(max(y + length * math.sin(angle), 0.0), h - 1.0)
        cv2.line(mask, (int(x), int(y)), (int(nx), int(ny)), 255, width, lineType=cv2.LINE_8)
        cv2.circle(mask, (int(nx), int(ny)), width // 2, 255, -1)
        x, y = nx, ny


def _draw_box(mask: np.ndarray, rng: np.random.Generator, scale: tuple[float, float] = (0.1, 0.4)) -> None:
    h, w = mask.shape
    bh = max(1, int(rng.uniform(scale[0], scale[1]) * h))
    bw = max(1, int(rng.uniform(scale[0], scale[1]) * w))
    top = int(rng.integers(0, max(1, h - bh + 1)))
    left = int(rng.integers(0, max(1, w - bw + 1)))
    mask[top:top + bh, left:left + bw] = 255


# Irregular masks (LBAM / PConv-style training): brush strokes of three widths plus boxes, drawn until the
# hole reaches a target fraction picked uniformly in (0, max_fraction], so every hole size from a speck to
# 60 % of the picture is trained (the PConv irregular-mask test set bins holes 0-10 %, ..., 50-60 %).
STROKE_WIDTHS = {"thin": (0.01, 0.03), "medium": (0.03, 0.07), "thick": (0.07, 0.14)}  # of the shorter side
IRREGULAR_BOX_SHARE = 0.2  # of the shapes drawn; the rest are strokes, each width class equally likely
MIN_FRACTION = 0.005


def irregular_mask(height: int, width: int, rng: np.random.Generator, *, max_fraction: float = 0.6,
                   max_shapes: int = 64) -> np.ndarray:
    """A mask (uint8, 255 = hole) of thin, medium and thick strokes and boxes covering a random fraction of
    the image, uniform in (MIN_FRACTION, max_fraction]; never empty, never above max_fraction."""
    target = float(rng.uniform(MIN_FRACTION, max_fraction))
    mask: np.ndarray = np.zeros((height, width), np.uint8)
    classes = list(STROKE_WIDTHS.values())
    for _ in range(max(1, max_shapes)):
        if rng.random() < IRREGULAR_BOX_SHARE:
            _draw_box(mask, rng, scale=(0.05, 0.3))
        else:
            _draw_stroke(mask, rng, widths=classes[int(rng.integers(0, len(classes)))])
        if (mask > 0).mean() >= target:
            break
    kernel = np.ones((3, 3), np.uint8)
    while (mask > 0).mean() > max_fraction:  # the last shape overshot: thin it until it fits
        thinner = cv2.erode(mask, kernel)
        if not thinner.any():
            break
        mask = thinner
    return mask
