"""Per-pixel work on full-size photos in bands of rows, on plain threads, with cancel checks; bilinear map
upsampling served band by band (GridUpsampler); and tone curves applied through lookup tables (apply_table).
NumPy and OpenCV only: the classical engines use this without loading torch (core.engines.lowlight.curves
adds the torch side for the networks' maps).

Long per-pixel passes check the cancel token every CHECK_ELEMENTS values (a few milliseconds of work on
one core), whichever thread runs them.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

import cv2
import numpy as np

from core.jobs import CancelToken

BAND_ELEMENTS = 32768  # per band: about 128 KB per float32 array, cache-resident
CHECK_ELEMENTS = 1 << 21  # values processed between two cancel checks: well under 0.1 s on a slow core
PARALLEL_MIN_ROWS = 256  # smaller photos are not worth a second thread
TABLE_BAND = 1 << 18  # values per band of apply_table (few Python calls per megapixel)
TABLE_SIZE = 1 << 16  # the most entries apply_table takes (16-bit indices), and the tone curves' size


def small_copy(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """The photo shrunk (area averaging) so its long side is at most `long_side`; itself when smaller."""
    height, width = rgb.shape[:2]
    factor = long_side / max(height, width)
    if factor >= 1.0:
        return rgb
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def quick_small_copy(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """small_copy in two steps when the reduction is large: first by a whole factor (OpenCV's fast path
    for area averaging), then the rest; three times faster on a 12-megapixel photo. It differs from the
    one-step copy only where the photo has detail finer than the copy's pixels (means and smooth areas
    agree within a few thousandths): fit for global estimates (a gamma, a mean), not for pictures."""
    height, width = rgb.shape[:2]
    factor = max(height, width) // (2 * long_side)
    if factor >= 2:  # the edge rows and columns that do not fill a whole block are left out
        whole = rgb[: height - height % factor, : width - width % factor]
        rgb = cv2.resize(whole, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
    return small_copy(rgb, long_side)


def band_rows(width: int, channels: int = 3) -> int:
    return max(1, BAND_ELEMENTS // max(1, width * channels))


class GridUpsampler:
    """Bilinear upsampling (pixel centres, as cv2.INTER_LINEAR) of an h x w x C float32 NumPy map to H x W,
    served band by band: rows are interpolated at the small width, then each band is widened, so nothing
    of full size is ever held. For maps of many rows (a quarter-size copy), where MapUpsampler's
    full-width rows would be a full-size array in all but name."""

    def __init__(self, maps: np.ndarray, size: tuple[int, int]) -> None:
        small = np.asarray(maps, dtype=np.float32)
        self.small = np.ascontiguousarray(small if small.ndim == 3 else small[:, :, None])
        self.size = size
        self.lo, self.hi, self.frac = lerp_positions(self.small.shape[0], size[0], align_corners=False)
        self.x_lo, self.x_hi, self.x_frac = lerp_positions(self.small.shape[1], size[1], align_corners=False)

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
        return self._widened(self._rows(slice(y0, y1)))

    def rows(self, ys: np.ndarray) -> np.ndarray:
        """The full-size map at rows `ys` only (len(ys) x W x C), in one pass."""
        return self._widened(self._rows(ys))

    def _widened(self, rows: np.ndarray) -> np.ndarray:
        if rows.shape[1] == self.size[1]:
            return rows
        wide = cv2.resize(rows, (self.size[1], rows.shape[0]), interpolation=cv2.INTER_LINEAR)
        return wide.reshape(rows.shape[0], self.size[1], -1)  # cv2 drops a single channel's axis

    def sample(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """The full-size map at rows `ys` and columns `xs` only (len(ys) x len(xs) x C)."""
        left = self._rows(ys, self.x_lo[xs])
        right = self._rows(ys, self.x_hi[xs])
        right -= left
        right *= self.x_frac[None, xs, None]
        right += left
        return right


def lerp_positions(small: int, full: int, align_corners: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def row_bands(y_start: int, y_end: int, width: int, channels: int, cancel: CancelToken | None,
              band_elements: int | None = None) -> Iterator[tuple[int, int]]:
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
    """work(y0, y1) over bands of rows of an H x W (x C) image, on cpu_threads() threads, with a
    cancel check every CHECK_ELEMENTS values. `work` must only touch its own rows."""
    width, channels = shape[1], (shape[2] if len(shape) > 2 else 1)

    def run(y_start: int, y_end: int) -> None:
        for y0, y1 in row_bands(y_start, y_end, width, channels, cancel, band_elements):
            work(y0, y1)

    split_rows(shape[0], run)


def split_rows(height: int, work: Callable[[int, int], None]) -> None:
    """Run work(y0, y1) over contiguous row ranges, on cpu_threads() threads (NumPy releases
    the GIL inside each operation, so the bands of different ranges really run side by side)."""
    workers = max(1, min(cpu_threads(), height // PARALLEL_MIN_ROWS))
    if workers == 1:
        work(0, height)
        return
    edges = [round(k * height / workers) for k in range(workers + 1)]
    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(work, a, b) for a, b in zip(edges[:-1], edges[1:])]:
            future.result()


def cpu_threads() -> int:
    """Threads for band work: as many as torch may use once it is loaded (its setting is the app's), else
    the CPU count."""
    torch = sys.modules.get("torch")
    limit = torch.get_num_threads() if torch is not None else (os.cpu_count() or 1)
    return max(1, min(limit, os.cpu_count() or 1))


def apply_table(rgb: np.ndarray, table: np.ndarray, cancel: CancelToken | None = None) -> np.ndarray:
    """Every value of `rgb` (in [0, 1]) mapped through `table` (at most TABLE_SIZE entries) at its nearest
    step, or the next (the error is below 1e-4 for the curves used here): one saturating, rounding
    conversion to 16-bit indices and one gather per value, much faster than a power."""
    source = np.ascontiguousarray(rgb, dtype=np.float32)
    if len(table) > TABLE_SIZE:
        raise ValueError(f"a tone table has at most {TABLE_SIZE} entries, not {len(table)}")
    out = np.empty_like(source)
    width = source.shape[1] * (source.shape[2] if source.ndim > 2 else 1)
    top = float(len(table) - 1)

    def work(y0: int, y1: int) -> None:
        rows = source[y0:y1].reshape(y1 - y0, width)  # one channel, so the scale applies to every value
        # rows x top, rounded and saturated to 16 bits in one pass (addWeighted with a zero second term is
        # OpenCV's fastest scaling conversion here; within one step of exact rounding)
        index = np.asarray(cv2.addWeighted(rows, top, rows, 0.0, 0.0, dtype=cv2.CV_16U), dtype=np.uint16)
        np.take(table, index, out=out[y0:y1].reshape(y1 - y0, width))

    for_each_band(source.shape, work, cancel, TABLE_BAND)
    return out
