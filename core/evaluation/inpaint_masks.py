"""Evaluation masks for inpainting: holes of a chosen share of the photo, made of the shapes people paint.

A mask for the bucket [lo, hi) (shares of the photo, e.g. 0.1 to 0.2) is built by adding thin scratches,
brush strokes and object-like blobs until its area reaches a target drawn inside the bucket; a shape that
would push it past `hi` is taken back and another tried. The generator is seeded, so every engine is scored
on the same holes.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

BUCKETS: tuple[tuple[float, float], ...] = tuple((i / 10, (i + 1) / 10) for i in range(6))  # 0-10% ... 50-60%


def bucket_label(bucket: tuple[float, float]) -> str:
    lo, hi = bucket
    return f"{round(lo * 100)}-{round(hi * 100)}%"


def _scratch(mask: np.ndarray, rng: np.random.Generator) -> None:
    """A thin scratch or wire: 2 to 6 pixels wide, a few gently bending segments."""
    h, w = mask.shape
    size = min(h, w)
    width = int(rng.integers(2, 7))
    x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
    angle = float(rng.uniform(0, 2 * math.pi))
    for _ in range(int(rng.integers(2, 5))):
        angle += float(rng.normal(0, 0.3))
        length = float(rng.uniform(0.1, 0.3)) * size
        nx, ny = x + length * math.cos(angle), y + length * math.sin(angle)
        cv2.line(mask, (int(x), int(y)), (int(nx), int(ny)), 255, width)
        x, y = nx, ny


def _stroke(mask: np.ndarray, rng: np.random.Generator) -> None:
    """A brush stroke over something: 3% to 10% of the photo's short side wide."""
    h, w = mask.shape
    size = min(h, w)
    width = max(3, int(rng.uniform(0.03, 0.1) * size))
    x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
    angle = float(rng.uniform(0, 2 * math.pi))
    for _ in range(int(rng.integers(2, 6))):
        angle += float(rng.normal(0, math.pi / 4))
        length = float(rng.uniform(0.1, 0.35)) * size
        nx = min(max(x + length * math.cos(angle), 0.0), w - 1.0)
        ny = min(max(y + length * math.sin(angle), 0.0), h - 1.0)
        cv2.line(mask, (int(x), int(y)), (int(nx), int(ny)), 255, width)
        cv2.circle(mask, (int(nx), int(ny)), width // 2, 255, -1)
        x, y = nx, ny


def _blob(mask: np.ndarray, rng: np.random.Generator) -> None:
    """An object painted over: an irregular polygon 5% to 20% of the short side in radius."""
    h, w = mask.shape
    radius = float(rng.uniform(0.05, 0.2)) * min(h, w)
    cx, cy = float(rng.uniform(0, w)), float(rng.uniform(0, h))
    n = int(rng.integers(6, 12))
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii = radius * rng.uniform(0.6, 1.3, n)
    points = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 255)


SHAPES = (_scratch, _stroke, _stroke, _blob, _blob)


def bucket_mask(height: int, width: int, bucket: tuple[float, float], rng: np.random.Generator,
                attempts: int = 400) -> np.ndarray:
    """A uint8 mask (255 = hole) whose painted share lies in [lo, hi): shapes are added until the share
    reaches a target drawn from the bucket's middle; a shape that overshoots `hi` is taken back."""
    lo, hi = bucket
    target = float(rng.uniform(max(lo, 0.01) + 0.2 * (hi - lo), hi - 0.1 * (hi - lo)))
    mask = np.zeros((height, width), np.uint8)
    for _ in range(attempts):
        if (mask > 0).mean() >= target:
            break
        trial = mask.copy()
        SHAPES[int(rng.integers(len(SHAPES)))](trial, rng)
        if (trial > 0).mean() < hi:
            mask = trial
    share = float((mask > 0).mean())
    if not lo <= share < hi:  # the shapes never fit (a tiny photo): grow or thin the mask into the bucket
        kernel = np.ones((3, 3), np.uint8)
        if not mask.any():
            mask[height // 2, width // 2] = 255
        for _ in range(max(height, width)):
            share = float((mask > 0).mean())
            if lo <= share < hi:
                break
            grown = np.asarray(cv2.dilate(mask, kernel) if share < lo else cv2.erode(mask, kernel), np.uint8)
            if np.array_equal(grown, mask):
                break
            mask = grown
    return mask
