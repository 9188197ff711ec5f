"""Contrast-limited adaptive histogram equalisation (Zuiderveld 1994) on a float channel.

OpenCV's CLAHE takes 8- or 16-bit integers; its 16-bit mode spreads the histogram over 65,536 bins, so
the clip limit no longer means what it means at 8 bits. This version follows OpenCV's 8-bit algorithm
(tile grid on a reflect-padded image, 256-bin histograms, clip and redistribute, bilinear blending of the
four nearest tile mappings) but evaluates each tile's mapping by linear interpolation between the 256
levels, so a 16-bit or float channel keeps its precision. On 8-bit data it gives OpenCV's result
without the rounding (up to OpenCV's integer redistribution of clipped counts). One deliberate
difference: tiles are at least MIN_TILE pixels on a side, so tiny photos get fewer tiles instead of
histograms of a handful of pixels that lift black to gray.
"""

from __future__ import annotations

import numpy as np

from core.engines.lowlight.bands import for_each_band
from core.jobs import CancelToken

LEVELS = 256
BAND_VALUES = 1 << 18  # pixels per band of the per-pixel passes (threads, and a cancel check every few)
MIN_TILE = 16  # pixels per tile side, at least (small photos get fewer tiles than asked)


def clahe(channel: np.ndarray, clip_limit: float = 2.0, grid: tuple[int, int] = (8, 8),
          cancel: CancelToken | None = None, scale: float = 1.0) -> np.ndarray:
    """Equalise an H x W float channel in [0, 1] (after multiplying it by `scale`); returns float32 in
    [0, 1]. clip_limit <= 0 means plain adaptive equalisation (no limit). Per-pixel work runs band by
    band on several threads, checking `cancel`."""
    source = np.asarray(channel)
    height, width = source.shape
    values = np.empty((height, width), np.float32)

    def prepare(y0: int, y1: int) -> None:
        band = values[y0:y1]
        if scale == 1.0:
            band[...] = source[y0:y1]
        else:
            np.multiply(source[y0:y1], np.float32(scale), out=band)
        np.clip(band, 0.0, 1.0, out=band)

    for_each_band(values.shape, prepare, cancel, BAND_VALUES)
    # Tiles of a few pixels have meaningless histograms (and lift black to gray): keep them MIN_TILE wide.
    gy = max(1, min(grid[0], height // MIN_TILE))
    gx = max(1, min(grid[1], width // MIN_TILE))
    tile_h, tile_w = -(-height // gy), -(-width // gx)
    luts = _tile_mappings(values, gy, gx, tile_h, tile_w, clip_limit, cancel)  # gy*gx x LEVELS
    flat = luts.reshape(-1)
    slopes = np.diff(luts, axis=1, append=luts[:, -1:]).reshape(-1)
    out = np.empty_like(values)
    x_lo, x_hi, x_w = _blend_coordinates(width, tile_w, gx)

    def apply(y0: int, y1: int) -> None:
        y_lo, y_hi, y_w = _blend_coordinates(height, tile_h, gy, y0, y1)
        q = values[y0:y1] * np.float32(LEVELS - 1)
        level = np.minimum(q.astype(np.int32), LEVELS - 2)
        frac = q - level
        result = out[y0:y1]
        result[...] = 0.0
        for rows, wy in ((y_lo, 1.0 - y_w), (y_hi, y_w)):
            for cols, wx in ((x_lo, 1.0 - x_w), (x_hi, x_w)):
                index = (rows[:, None] * gx + cols[None, :]) * LEVELS + level
                mapped = flat[index] + frac * slopes[index]
                result += mapped * (wy[:, None] * wx[None, :])
        np.clip(result, 0.0, 1.0, out=result)

    for_each_band(values.shape, apply, cancel, BAND_VALUES)
    return out


def _reflected(count: int, total: int) -> np.ndarray:
    """Indices 0..total-1 into an axis of `count`, those past the end reflected without repeating the
    edge (np.pad's "reflect"; "edge" when count is 1)."""
    index = np.arange(total)
    past = index >= count
    index[past] = 2 * (count - 1) - index[past]
    return np.clip(index, 0, count - 1)


def _tile_mappings(values: np.ndarray, gy: int, gx: int, tile_h: int, tile_w: int,
                   clip_limit: float, cancel: CancelToken | None = None) -> np.ndarray:
    """Each tile's clipped cumulative histogram, as mapped values in [0, 1] at the 256 levels. OpenCV pads
    the bottom and right edges by reflection (without repeating the edge); here the padded rows and
    columns are read through reflected indices, one band of tiles at a time, instead of padding a copy."""
    height, width = values.shape
    rows_index = _reflected(height, gy * tile_h)
    columns = _reflected(width, gx * tile_w) if gx * tile_w > width else None
    pixels = tile_h * tile_w
    hist = np.empty((gy, gx, LEVELS), dtype=np.float64)
    tile_of_column = (np.arange(gx * tile_w) // tile_w).astype(np.int64)
    step = max(1, BAND_VALUES * 4 // (gx * tile_w))  # rows counted between two cancel checks
    for ty in range(gy):
        counts = np.zeros(gx * LEVELS, dtype=np.int64)
        for y0 in range(ty * tile_h, (ty + 1) * tile_h, step):
            if cancel is not None:
                cancel.raise_if_cancelled()
            y1 = min((ty + 1) * tile_h, y0 + step)
            band = values[y0:y1] if y1 <= height else values[rows_index[y0:y1]]
            if columns is not None:
                band = band[:, columns]
            level = np.rint(band * (LEVELS - 1)).astype(np.int64)
            index = tile_of_column[None, :] * LEVELS + level
            counts += np.bincount(index.ravel(), minlength=gx * LEVELS)
        hist[ty] = counts.reshape(gx, LEVELS)
    if clip_limit > 0:
        limit = float(max(int(clip_limit * pixels / LEVELS), 1))  # truncated, as OpenCV does
        excess = np.maximum(hist - limit, 0.0).sum(axis=2, keepdims=True)
        hist = np.minimum(hist, limit) + excess / LEVELS
    cdf = np.cumsum(hist, axis=2) / pixels
    return cdf.reshape(gy * gx, LEVELS).astype(np.float32)


def _blend_coordinates(size: int, tile: int, count: int, start: int = 0,
                       stop: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For pixel positions [start, stop): the two nearest tile indices and the weight of the second,
    measured from tile centres as OpenCV does."""
    stop = size if stop is None else stop
    pos = np.arange(start, stop, dtype=np.float32) / tile - 0.5
    lo = np.floor(pos).astype(np.int64)
    weight = (pos - lo).astype(np.float32)
    hi = np.clip(lo + 1, 0, count - 1)
    lo = np.clip(lo, 0, count - 1)
    return lo, hi, weight
