"""NumPy-only pixel conversions (no torch), for display, saving and tests."""

from __future__ import annotations

import numpy as np

FAST_VALUES = 1 << 20  # from this many values on, OpenCV converts, band by band (several times faster)
BAND_VALUES = 1 << 19  # values per band: the band's float copy stays in the CPU cache


def _bands(height: int, row_values: int) -> list[tuple[int, int]]:
    rows = max(1, BAND_VALUES // max(1, row_values))
    return [(y0, min(height, y0 + rows)) for y0 in range(0, height, rows)]


def _fast(values: np.ndarray, channels: tuple[int, ...]) -> bool:
    """Whether `values` is big enough for the OpenCV path and an image of one of these channel counts."""
    count = values.shape[2] if values.ndim == 3 else 1
    return values.size >= FAST_VALUES and values.ndim in (2, 3) and count in channels


def _band_uint8(band: np.ndarray) -> np.ndarray:
    import cv2  # imported here: the quick preview path must not pay for it

    # convertScaleAbs rounds half to even as np.rint does and saturates, but takes absolute values: the band is
    # clipped to [0, 1] first (which also sends +inf to 255, as the NumPy path does).
    return np.asarray(cv2.convertScaleAbs(np.clip(band, np.float32(0.0), np.float32(1.0)), alpha=255.0))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] floats to uint8 by rounding half to even (the inverse of dividing by 255); out-of-range values
    saturate."""
    values = np.asarray(image, np.float32)
    if not _fast(values, (1, 2, 3, 4)):
        return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)
    out = np.empty(values.shape, np.uint8)
    for y0, y1 in _bands(values.shape[0], values[0].size):
        out[y0:y1] = _band_uint8(values[y0:y1]).reshape(out[y0:y1].shape)
    return out


def to_uint16(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(image, np.float32) * 65535.0), 0, 65535).astype(np.uint16)


def rgba8(rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """H x W x 4 uint8 for display (opaque where there is no alpha)."""
    values = np.asarray(rgb, np.float32)
    out = np.empty(values.shape[:2] + (4,), np.uint8)
    if _fast(values, (3,)):
        import cv2

        for y0, y1 in _bands(values.shape[0], values[0].size):  # converted and widened in one go per band
            cv2.cvtColor(_band_uint8(values[y0:y1]), cv2.COLOR_RGB2RGBA, dst=out[y0:y1])
    else:
        out[:, :, :3] = to_uint8(values)
        out[:, :, 3] = 255
    if alpha is not None:
        out[:, :, 3] = to_uint8(alpha)
    return out
