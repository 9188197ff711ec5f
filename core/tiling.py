"""Tiled inference for any image-to-image network, with feathered overlap blending and bounded memory.

The image is cut into overlapping tiles that lie inside it (a picture smaller than a tile is one tile).
Each tile goes through the normalization contract (`core.tensors.to_model` / `from_model`) on its own,
so no full-size tensor copy of the photo ever exists: peak memory is the input array, the output array
and one tile's worth of work.

Blending: along each axis a tile's weight is zero for the outer quarter of every overlap it shares with a
neighbour (where the network saw the tile edge instead of real context), rises linearly across the middle
half, and the 1-D weights are normalised so that they sum to one at every coordinate. The 2-D weight of a
tile is the product of its two 1-D weights, so the tile weights form a partition of unity without any
full-size weight map. The result equals a whole-image run exactly (up to float rounding) whenever the
network's receptive radius is at most a quarter of the overlap.

Sizes: the image is treated as reflect-padded to the network's size multiple, tiles and their positions
are multiples of it, so every tile the network sees has a valid size and a network that downsamples sees
the same phase as in a whole-image run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from core.devices import free_memory_bytes
from core.errors import RestoraError
from core.jobs import CancelToken, Progress, no_progress
from core.tensors import ValueRange, from_model, to_model

Network = Callable[..., torch.Tensor]  # net(x) or, for a masked model, net(x, hole)

# choose_tile_size: a tile may use only this share of the free memory. The rest covers what the estimate
# misses: allocator fragmentation and caching, cuDNN/oneDNN workspaces, the weights themselves, other
# programs (a desktop GPU also drives the screen), and networks wider than the default estimate.
TILE_MEMORY_FRACTION = 0.25
# Default working-memory estimate per input pixel of a tile: a typical restoration network keeps about
# four 64-channel float32 feature maps alive at once during inference (64 * 4 * 4 bytes).
FEATURE_BYTES_PER_PIXEL = 64 * 4 * 4
DEFAULT_TILE = 512  # where the free memory is unknown (Apple GPUs)
TILE_GRANULARITY = 32


class TilingError(RestoraError, ValueError):
    """Tiled execution was asked for something impossible (bad sizes, wrong network output)."""


class NonFiniteOutputError(RestoraError, ArithmeticError):
    """The network returned NaN or infinity (typically float16 overflow)."""


@dataclass(frozen=True)
class AxisPlan:
    """Tiles along one axis, in padded input coordinates: tile k covers [starts[k], starts[k] + length)."""

    padded: int  # axis length after padding to the size multiple
    length: int  # tile length along this axis
    starts: tuple[int, ...]


def run_tiled(net: Network, image: np.ndarray, *, input_range: ValueRange, output_range: ValueRange,
              hole: np.ndarray | None = None, scale: int = 1, size_multiple: int = 1, tile: int = 512,
              overlap: int = 32,
              device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
              progress: Progress = no_progress, cancel: CancelToken | None = None,
              check_finite: bool = True) -> np.ndarray:
    """Run `net` over `image` (float32 H x W x C in [0, 1]) tile by tile; returns float32
    (H*scale) x (W*scale) x C_out in [0, 1].

    `net` takes a 1 x C x h x w tensor in `input_range` on `device`/`dtype` (h, w multiples of
    `size_multiple`) and returns 1 x C_out x h*scale x w*scale in `output_range`. With `hole` (float32
    H x W, 1 = fill) it is called as net(x, hole_tile) with hole_tile 1 x 1 x h x w in {0, 1}: a mask is
    never converted with the image's value range. `tile` is rounded down to
    a multiple of `size_multiple` and `overlap` up to one; the tile grows to at least twice the
    overlap. Calls `progress(i, n, "Tile i of n")` after each tile and stops with CancelledError
    before the next tile once `cancel` is set. With `check_finite`, a NaN or infinite network output
    raises NonFiniteOutputError (the caller may retry in float32).
    """
    image = _as_hwc(image)
    height, width = image.shape[:2]
    scale, multiple = _positive_int(scale, "scale"), _positive_int(size_multiple, "size multiple")
    tile, overlap = _positive_int(tile, "tile size"), int(overlap)
    if overlap < 0:
        raise TilingError(f"the overlap must not be negative, got {overlap}")
    tile_px = max(multiple, tile // multiple * multiple)
    overlap_px = -(-overlap // multiple) * multiple
    tile_px = max(tile_px, 2 * overlap_px)  # else tiles would advance by less than the overlap
    rows, cols = plan_axis(height, tile_px, overlap_px, multiple), plan_axis(width, tile_px, overlap_px, multiple)
    row_weights = axis_weights(rows, scale)
    col_weights = axis_weights(cols, scale)
    total = len(rows.starts) * len(cols.starts)
    output: np.ndarray | None = None
    done = 0
    for r, y0 in enumerate(rows.starts):
        for c, x0 in enumerate(cols.starts):
            if cancel is not None:
                cancel.raise_if_cancelled()
            pixels = _tile_pixels(image, y0, rows.length, x0, cols.length)
            holes = None if hole is None else _tile_pixels(hole, y0, rows.length, x0, cols.length)
            result = _run_one(net, pixels, holes, input_range, output_range, scale, device, dtype, check_finite)
            if output is None:
                output = np.zeros((height * scale, width * scale, result.shape[2]), dtype=np.float32)
            _accumulate(output, result, y0 * scale, x0 * scale, row_weights[r], col_weights[c])
            del pixels, result
            done += 1
            progress(done, total, f"Tile {done} of {total}")
    assert output is not None
    np.clip(output, 0.0, 1.0, out=output)  # in place: weighted sums may overshoot 1 by a rounding step
    return output


def plan_axis(size: int, tile: int, overlap: int, multiple: int = 1) -> AxisPlan:
    """Evenly spread tile positions (multiples of `multiple`) so neighbours overlap by at least `overlap`."""
    unit = max(1, multiple)
    units = -(-size // unit)
    tile_units = min(max(1, tile // unit), units)
    overlap_units = -(-overlap // unit)
    if units == tile_units:
        return AxisPlan(units * unit, tile_units * unit, (0,))
    if overlap_units >= tile_units:
        raise TilingError(f"the overlap ({overlap} px) must be smaller than the tile ({tile} px)")
    stride = tile_units - overlap_units
    count = 1 + -(-(units - tile_units) // stride)
    span = units - tile_units
    starts = sorted({round(k * span / (count - 1)) * unit for k in range(count)})
    return AxisPlan(units * unit, tile_units * unit, tuple(starts))


def axis_weights(plan: AxisPlan, scale: int = 1) -> list[np.ndarray]:
    """Per-tile 1-D blending weights in output pixels; at every output coordinate they sum to one."""
    length = plan.length * scale
    starts = [s * scale for s in plan.starts]
    raw = []
    for k, start in enumerate(starts):
        w = np.ones(length, dtype=np.float64)
        if k > 0:
            w = np.minimum(w, _ramp(starts[k - 1] + length - start, length))
        if k + 1 < len(starts):
            w = np.minimum(w, _ramp(start + length - starts[k + 1], length)[::-1])
        raw.append(w)
    total = np.zeros(plan.padded * scale, dtype=np.float64)
    for start, w in zip(starts, raw):
        total[start:start + length] += w
    if not np.all(total > 0):  # the plan guarantees coverage; this would be a bug, not bad input
        raise TilingError("internal error: tile weights do not cover the image")
    return [(w / total[start:start + length]).astype(np.float32) for start, w in zip(starts, raw)]


def _ramp(shared: int, length: int) -> np.ndarray:
    """Weight rising across an overlap of `shared` pixels at the start of a tile: zero on the first
    quarter, linear over the middle half, one after the overlap."""
    margin = shared // 4
    width = max(1, shared - 2 * margin)
    positions = np.arange(length, dtype=np.float64) + 0.5 - margin
    return np.clip(positions / width, 0.0, 1.0)


def _tile_pixels(image: np.ndarray, y0: int, h: int, x0: int, w: int) -> np.ndarray:
    """The tile's input pixels: a view inside the image, or a small reflect-padded copy at its far edges."""
    height, width = image.shape[:2]
    if y0 + h <= height and x0 + w <= width:
        return image[y0:y0 + h, x0:x0 + w]
    return image[np.ix_(_reflect(np.arange(y0, y0 + h), height), _reflect(np.arange(x0, x0 + w), width))]


def _reflect(index: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad indices (like numpy's "reflect", any overshoot); a single row or column repeats."""
    if size == 1:
        return np.zeros_like(index)
    period = 2 * (size - 1)
    folded = np.mod(index, period)
    return np.where(folded < size, folded, period - folded)


def _run_one(net: Network, pixels: np.ndarray, holes: np.ndarray | None, input_range: ValueRange,
             output_range: ValueRange, scale: int, device: torch.device | str, dtype: torch.dtype,
             check_finite: bool) -> np.ndarray:
    h, w = pixels.shape[:2]
    x = to_model(pixels, input_range, device=device, dtype=dtype)
    if holes is None:
        y = net(x)
    else:
        y = net(x, torch.from_numpy(np.ascontiguousarray(holes, dtype=np.float32))[None, None].to(device, dtype))
    if isinstance(y, (tuple, list)):
        y = y[0]
    expected = (h * scale, w * scale)
    if y.dim() != 4 or y.shape[0] != 1 or tuple(y.shape[2:]) != expected:
        raise TilingError(f"the network returned shape {tuple(y.shape)} for a {h} x {w} tile; expected "
                          f"1 x C x {expected[0]} x {expected[1]} (is the declared scale {scale} right?)")
    if check_finite and not bool(torch.isfinite(y).all()):
        raise NonFiniteOutputError("the network returned NaN or infinite values")
    # The input is the guard's reference only where it is the same picture (same range, no upscaling).
    reference = x if scale == 1 and tuple(input_range) == tuple(output_range) and x.shape[1] == y.shape[1] else None
    return from_model(y, output_range, reference=reference)


def _accumulate(output: np.ndarray, result: np.ndarray, y0: int, x0: int, wy: np.ndarray, wx: np.ndarray) -> None:
    """Add a tile's weighted output, cropped to the image (the tile may reach into the padding)."""
    h = min(result.shape[0], output.shape[0] - y0)
    w = min(result.shape[1], output.shape[1] - x0)
    if result.shape[2] != output.shape[2]:
        raise TilingError(f"the network returned {result.shape[2]} channels for one tile and "
                          f"{output.shape[2]} for another")
    weights = wy[:h, None, None] * wx[None, :w, None]
    output[y0:y0 + h, x0:x0 + w] += result[:h, :w] * weights


def _as_hwc(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TilingError(f"tiled execution takes a NumPy image, not {type(image).__name__}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] < 1:
        raise TilingError(f"expected an H x W x C image, got shape {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise TilingError(f"the image is empty ({image.shape[0]} x {image.shape[1]})")
    return image


def _positive_int(value: int, what: str) -> int:
    number = int(value)
    if number < 1:
        raise TilingError(f"the {what} must be at least 1, got {value}")
    return number


def choose_tile_size(device: torch.device | str, *, channels: int = 3, scale: int = 1,
                     bytes_per_pixel: float | None = None, free_bytes: int | None = None,
                     minimum: int = 128, maximum: int = 2048) -> int:
    """The largest square tile (a multiple of 32 in [minimum, maximum]) whose estimated working memory
    fits in TILE_MEMORY_FRACTION of the device's free memory.

    `bytes_per_pixel` is the working memory per input pixel of a tile; by default a 64-feature network
    (FEATURE_BYTES_PER_PIXEL, times scale^2 because upscalers run their last layers at output size) plus
    the tile's input and output tensors. `free_bytes` overrides core.devices.free_memory_bytes; where
    neither is known, DEFAULT_TILE is used.
    """
    if minimum < 1 or maximum < minimum:
        raise TilingError(f"tile size bounds must satisfy 1 <= minimum <= maximum, got {minimum}, {maximum}")
    if free_bytes is None:
        free_bytes = free_memory_bytes(torch.device(device))
    if free_bytes is None:
        return int(min(max(DEFAULT_TILE, minimum), maximum))
    if bytes_per_pixel is None:
        area = max(1, scale) ** 2
        bytes_per_pixel = FEATURE_BYTES_PER_PIXEL * area + 4 * channels * (1 + area) * 2
    if bytes_per_pixel <= 0:
        raise TilingError(f"bytes per pixel must be positive, got {bytes_per_pixel}")
    side = math.sqrt(max(0, free_bytes) * TILE_MEMORY_FRACTION / bytes_per_pixel)
    side = int(side) // TILE_GRANULARITY * TILE_GRANULARITY
    return int(min(max(side, minimum), maximum))
