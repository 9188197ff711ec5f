"""NumPy-only pixel conversions (no torch), for display, saving and tests."""

from __future__ import annotations

import numpy as np


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] floats to uint8 by rounding (the inverse of dividing by 255)."""
    return np.clip(np.rint(np.asarray(image, np.float32) * 255.0), 0, 255).astype(np.uint8)


def to_uint16(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(image, np.float32) * 65535.0), 0, 65535).astype(np.uint16)


def rgba8(rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """H x W x 4 uint8 for display (opaque where there is no alpha)."""
    out = np.empty(rgb.shape[:2] + (4,), np.uint8)
    out[:, :, :3] = to_uint8(rgb)
    out[:, :, 3] = 255 if alpha is None else to_uint8(alpha)
    return out
