"""Random inpainting masks for training: free-form brush strokes and boxes (uint8, 255 = hole, 0 = keep)."""

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


def _draw_stroke(mask: np.ndarray, rng: np.random.Generator) -> None:
    """A brush stroke: a random walk of a few segments with a random width."""
    h, w = mask.shape
    size = min(h, w)
    width = max(1, int(rng.uniform(0.03, 0.12) * size))
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


def _draw_box(mask: np.ndarray, rng: np.random.Generator) -> None:
    h, w = mask.shape
    bh = max(1, int(rng.uniform(0.1, 0.4) * h))
    bw = max(1, int(rng.uniform(0.1, 0.4) * w))
    top = int(rng.integers(0, max(1, h - bh + 1)))
    left = int(rng.integers(0, max(1, w - bw + 1)))
    mask[top:top + bh, left:left + bw] = 255
