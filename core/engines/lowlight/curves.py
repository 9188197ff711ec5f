"""Applying estimated curve and gain maps to full-size photos, fast and with bounded memory.

The networks see a small copy. On the CPU their maps are brought to full width once (a few rows high,
cheap) and to full height a band of rows at a time, with exactly F.interpolate's bilinear weights, so no
full-size map is ever allocated; each band is small enough to stay in the CPU cache for all eight curve
steps. The band maths is NumPy: its small operations never wake torch's thread pool, which on a busy
2-core machine made torch's version of the same loop dozens of times slower; instead, contiguous row
ranges go to plain threads (as many as torch may use). On a GPU the maps are upsampled whole and applied
with torch.

Long per-pixel passes check the cancel token every CHECK_ELEMENTS values (a few milliseconds of work on
one core), whichever thread runs them; `for_each_band` gives any per-pixel step the same treatment.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from core.jobs import CancelToken

BAND_ELEMENTS = 32768  # per band: about 128 KB per float32 array, cache-resident
CHECK_ELEMENTS = 1 << 21  # values processed between two cancel checks: well under 0.1 s on a slow core
PARALLEL_MIN_ROWS = 256  # smaller photos are not worth a second thread


def small_copy(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """The photo shrunk (area averaging) so its long side is at most `long_side`; itself when smaller."""
    height, width = rgb.shape[:2]
    factor = long_side / max(height, width)
    if factor >= 1.0:
        return rgb
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def band_rows(width: int, channels: int = 3) -> int:
    return max(1, BAND_ELEMENTS // max(1, width * channels))


def upsample(maps: torch.Tensor, size: tuple[int, int], align_corners: bool) -> torch.Tensor:
    """1 x C x h x w -> 1 x C x H x W, bilinear."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    return F.interpolate(maps, size=size, mode="bilinear", align_corners=align_corners)


class MapUpsampler:
    """Bilinear upsampling of a 1 x C x h x w map to H x W, served band by band as float32 NumPy arrays
    H' x W x C. align_corners=True is Zero-DCE++'s upsampler (nn.UpsamplingBilinear2d); False is
    F.interpolate's default (used for the gain map)."""

    def __init__(self, maps: torch.Tensor, size: tuple[int, int], align_corners: bool) -> None:
        height, width = size
        h = maps.shape[-2]
        wide = upsample(maps.detach().float().cpu(), (h, width), align_corners)
        self.rows = np.ascontiguousarray(wide[0].permute(1, 2, 0).numpy())  # h x W x C
        self.lo, self.hi, self.frac = _lerp_positions(h, height, align_corners)
        self.same_height = h == height

    def band(self, y0: int, y1: int) -> np.ndarray:
        if self.same_height:
            return self.rows[y0:y1]
        top = self.rows[self.lo[y0:y1]]
        out = self.rows[self.hi[y0:y1]]
        out -= top
        out *= self.frac[y0:y1, None, None]
        out += top
        return out


class GridUpsampler:
    """Bilinear upsampling (pixel centres, as cv2.INTER_LINEAR) of an h x w x C float32 NumPy map to H x W,
    served band by band: rows are interpolated at the small width, then each band is widened, so nothing
    of full size is ever held. For maps of many rows (a quarter-size copy), where MapUpsampler's
    full-width rows would be a full-size array in all but name."""

    def __init__(self, maps: np.ndarray, size: tuple[int, int]) -> None:
        small = np.asarray(maps, dtype=np.float32)
        self.small = np.ascontiguousarray(small if small.ndim == 3 else small[:, :, None])
        self.size = size
        self.lo, self.hi, self.frac = _lerp_positions(self.small.shape[0], size[0], align_corners=False)
        self.x_lo, self.x_hi, self.x_frac = _lerp_positions(self.small.shape[1], size[1], align_corners=False)

    def _rows(self, ys: np.ndarray | slice, columns: np.ndarray | None = None) -> np.ndarray:
        """Rows `ys` interpolated at the small width (or only at small-grid `columns`)."""
        def gather(index: np.ndarray) -> np.ndarray:
            return self.small[index] if columns is None else self.small[np.ix_(index, columns)]

        top = gather(self.lo[ys])
        out = gather(self.hi[ys])
        out -= top
        out *= self.frac[ys, None, None]
        out += top
        return out

    def band(self, y0: int, y1: int) -> np.ndarray:
        rows = self._rows(slice(y0, y1))
        if rows.shape[1] == self.size[1]:
            return rows
        wide = cv2.resize(rows, (self.size[1], y1 - y0), interpolation=cv2.INTER_LINEAR)
        return wide.reshape(y1 - y0, self.size[1], -1)  # cv2 drops a single channel's axis

    def sample(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """The full-size map at rows `ys` and columns `xs` only (len(ys) x len(xs) x C)."""
        left = self._rows(ys, self.x_lo[xs])
        right = self._rows(ys, self.x_hi[xs])
        right -= left
        right *= self.x_frac[None, xs, None]
        right += left
        return right


def _lerp_positions(small: int, full: int, align_corners: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each of `full` output positions: the two source indices and the weight of the second, with
    F.interpolate's bilinear rule."""
    y = np.arange(full, dtype=np.float64)
    if align_corners:
        pos = y * ((small - 1) / (full - 1)) if full > 1 else np.zeros_like(y)
    else:
        pos = np.maximum((y + 0.5) * (small / full) - 0.5, 0.0)
    lo = np.clip(np.floor(pos).astype(np.int64), 0, small - 1)
    hi = np.minimum(lo + 1, small - 1)
    return lo, hi, (pos - lo).astype(np.float32)


def _bands(y_start: int, y_end: int, width: int, channels: int, cancel: CancelToken | None,
           band_elements: int | None = None):
    """Row ranges of about `band_elements` (default BAND_ELEMENTS) values covering [y_start, y_end),
    checking `cancel` every CHECK_ELEMENTS values."""
    rows = max(1, (band_elements or BAND_ELEMENTS) // max(1, width * channels))
    every = max(1, CHECK_ELEMENTS // (rows * max(1, width * channels)))
    for i, y0 in enumerate(range(y_start, y_end, rows)):
        if cancel is not None and i % every == 0:
            cancel.raise_if_cancelled()
        yield y0, min(y_end, y0 + rows)


def for_each_band(shape: tuple[int, ...], work: Callable[[int, int], None], cancel: CancelToken | None = None,
                  band_elements: int | None = None) -> None:
    """work(y0, y1) over bands of rows of an H x W (x C) image, on as many threads as torch may use, with a
    cancel check every CHECK_ELEMENTS values. `work` must only touch its own rows."""
    width, channels = shape[1], (shape[2] if len(shape) > 2 else 1)

    def run(y_start: int, y_end: int) -> None:
        for y0, y1 in _bands(y_start, y_end, width, channels, cancel, band_elements):
            work(y0, y1)

    _split_rows(shape[0], run)


def _split_rows(height: int, work: Callable[[int, int], None]) -> None:
    """Run work(y0, y1) over contiguous row ranges, on as many threads as torch may use (NumPy releases
    the GIL inside each operation, so the bands of different ranges really run side by side)."""
    workers = max(1, min(torch.get_num_threads(), os.cpu_count() or 1, height // PARALLEL_MIN_ROWS))
    if workers == 1:
        work(0, height)
        return
    edges = [round(k * height / workers) for k in range(workers + 1)]
    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(work, a, b) for a, b in zip(edges[:-1], edges[1:])]:
            future.result()


def apply_curve_steps(image: np.ndarray, curve: MapUpsampler, iterations: int,
                      cancel: CancelToken | None = None) -> None:
    """In place on `image` (float32 H x W x 3, C-contiguous): `iterations` steps of x <- x + r (x^2 - x)
    with one curve map r, computed as x * ((1 - r) + r x)."""
    def work(y_start: int, y_end: int) -> None:
        for y0, y1 in _bands(y_start, y_end, image.shape[1], image.shape[2], cancel):
            x = image[y0:y1]
            r = curve.band(y0, y1)
            one_minus_r = np.float32(1.0) - r
            factor = np.empty_like(x)
            for _ in range(iterations):
                np.multiply(r, x, out=factor)
                factor += one_minus_r
                x *= factor

    _split_rows(image.shape[0], work)


def apply_curve_sequence(image: np.ndarray, curves: MapUpsampler, cancel: CancelToken | None = None) -> None:
    """In place: one step per 3-channel group of `curves` (Zero-DCE's 8 maps of 3 channels), in order."""
    def work(y_start: int, y_end: int) -> None:
        for y0, y1 in _bands(y_start, y_end, image.shape[1], image.shape[2], cancel):
            x = image[y0:y1]
            maps = curves.band(y0, y1)
            factor = np.empty_like(x)
            for k in range(0, maps.shape[2], 3):
                r = maps[:, :, k:k + 3]
                np.multiply(r, x, out=factor)
                factor += np.float32(1.0)
                factor -= r
                x *= factor

    _split_rows(image.shape[0], work)


def apply_gain(image: np.ndarray, gain: MapUpsampler, cancel: CancelToken | None = None) -> None:
    """In place: image <- clamp(image * gain, 0, 1), the gain (1 or 3 channels) upsampled band by band."""
    def work(y_start: int, y_end: int) -> None:
        for y0, y1 in _bands(y_start, y_end, image.shape[1], image.shape[2], cancel):
            x = image[y0:y1]
            x *= gain.band(y0, y1)
            np.clip(x, 0.0, 1.0, out=x)

    _split_rows(image.shape[0], work)


def curve_steps_tensor(image: torch.Tensor, curve: torch.Tensor, iterations: int) -> torch.Tensor:
    """The GPU path: 1 x 3 x H x W image and full-size curve, whole-image torch operations."""
    factor = torch.empty_like(image)
    one_minus_r = 1.0 - curve
    for _ in range(iterations):
        torch.addcmul(one_minus_r, curve, image, out=factor)
        image.mul_(factor)
    return image
