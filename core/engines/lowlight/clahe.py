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

from core.jobs import CancelToken

LEVELS = 256
STRIP_ROWS = 256  # rows mapped per step: bounds the temporaries and lets a cancel land quickly
MIN_TILE = 16  # pixels per tile side, at least (small photos get fewer tiles than asked)


def clahe(channel: np.ndarray, clip_limit: float = 2.0, grid: tuple[int, int] = (8, 8),
          cancel: CancelToken | None = None) -> np.ndarray:
    """Equalise an H x W float channel in [0, 1]; returns float32 in [0, 1]. clip_limit <= 0 means plain
    adaptive equalisation (no limit)."""
    values = np.clip(np.asarray(channel, dtype=np.float32), 0.0, 1.0)
    height, width = values.shape
    # Tiles of a few pixels have meaningless histograms (and lift black to gray): keep them MIN_TILE wide.
    gy = max(1, min(grid[0], height // MIN_TILE))
    gx = max(1, min(grid[1], width // MIN_TILE))
    tile_h, tile_w = -(-height // gy), -(-width // gx)
    luts = _tile_mappings(values, gy, gx, tile_h, tile_w, clip_limit)  # gy*gx x LEVELS
    flat = luts.reshape(-1)
    slopes = np.diff(luts, axis=1, append=luts[:, -1:]).reshape(-1)
    out = np.empty_like(values)
    x_lo, x_hi, x_w = _blend_coordinates(width, tile_w, gx)
    for y0 in range(0, height, STRIP_ROWS):
        if cancel is not None:
            cancel.raise_if_cancelled()
        y1 = min(height, y0 + STRIP_ROWS)
        y_lo, y_hi, y_w = _blend_coordinates(height, tile_h, gy, y0, y1)
        q = values[y0:y1] * np.float32(LEVELS - 1)
        level = np.minimum(q.astype(np.int32), LEVELS - 2)
        frac = q - level
        result = np.zeros_like(q)
        for rows, wy in ((y_lo, 1.0 - y_w), (y_hi, y_w)):
            for cols, wx in ((x_lo, 1.0 - x_w), (x_hi, x_w)):
                index = (rows[:, None] * gx + cols[None, :]) * LEVELS + level
                mapped = flat[index] + frac * slopes[index]
                result += mapped * (wy[:, None] * wx[None, :])
        out[y0:y1] = result
    np.clip(out, 0.0, 1.0, out=out)
    return out


def _tile_mappings(values: np.ndarray, gy: int, gx: int, tile_h: int, tile_w: int,
                   clip_limit: float) -> np.ndarray:
    """Each tile's clipped cumulative histogram, as mapped values in [0, 1] at the 256 levels."""
    height, width = values.shape
    pad_y, pad_x = gy * tile_h - height, gx * tile_w - width
    if pad_y or pad_x:  # OpenCV pads the bottom and right edges by reflection (without repeating the edge)
        mode = "reflect" if min(height, width) > 1 else "edge"
        values = np.pad(values, ((0, pad_y), (0, pad_x)), mode=mode)
    pixels = tile_h * tile_w
    hist = np.empty((gy, gx, LEVELS), dtype=np.float64)
    tile_of_column = (np.arange(gx * tile_w) // tile_w).astype(np.int64)
    for ty in range(gy):
        band = values[ty * tile_h:(ty + 1) * tile_h]
        level = np.rint(band * (LEVELS - 1)).astype(np.int64)
        index = tile_of_column[None, :] * LEVELS + level
        hist[ty] = np.bincount(index.ravel(), minlength=gx * LEVELS).reshape(gx, LEVELS)
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
