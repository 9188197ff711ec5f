"""Synthetic masks for benchmarking inpainting engines: a person removing a few objects from a photo."""

from __future__ import annotations

import cv2
import numpy as np

OBJECT_SHARE = 0.015  # of the photo, per object mask
OBJECT_CENTRES = ((0.27, 0.32), (0.62, 0.58), (0.82, 0.24), (0.18, 0.75), (0.45, 0.2), (0.7, 0.85))


def object_masks(height: int, width: int, count: int = 3, *, seed: int = 0) -> np.ndarray:
    """uint8 mask (255 = fill) with `count` irregular object-sized blobs, each about OBJECT_SHARE of the photo,
    spread over it (six places; more blobs go round them again, shifted a little)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((height, width), np.uint8)
    radius = (OBJECT_SHARE * height * width / np.pi) ** 0.5
    for i in range(max(0, count)):
        cx, cy = OBJECT_CENTRES[i % len(OBJECT_CENTRES)]
        shift = 0.05 * (i // len(OBJECT_CENTRES))
        angles = np.sort(rng.uniform(0.0, 2.0 * np.pi, 14))
        radii = radius * rng.uniform(0.85, 1.15, 14)
        points = np.stack([(cx + shift) * width + radii * np.cos(angles),
                           (cy + shift) * height + radii * np.sin(angles)], axis=1)
        cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 255)
    return mask
