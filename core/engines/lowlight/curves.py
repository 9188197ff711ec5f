"""Applying estimated curve and gain maps to full-size photos, fast and with bounded memory.

The networks see a small copy. On the CPU their maps are brought to full width once (a few rows high,
cheap) and to full height a band of rows at a time, with exactly F.interpolate's bilinear weights, so no
full-size map is ever allocated; each band is small enough to stay in the CPU cache for all eight curve
steps. The band maths is NumPy: its small operations never wake torch's thread pool, which on a busy
2-core machine made torch's version of the same loop dozens of times slower; instead, contiguous row
ranges go to plain threads (as many as torch may use). On a GPU the maps are upsampled whole and applied
with torch.

The band machinery (row bands, threads, cancel checks, GridUpsampler) is torch-free, in
core.engines.lowlight.bands.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from core.engines.lowlight.bands import lerp_positions, row_bands, split_rows
from core.jobs import CancelToken


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
        self.lo, self.hi, self.frac = lerp_positions(h, height, align_corners)
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


def apply_curve_steps(image: np.ndarray, curve: MapUpsampler, iterations: int,
                      cancel: CancelToken | None = None) -> None:
    """In place on `image` (float32 H x W x 3, C-contiguous): `iterations` steps of x <- x + r (x^2 - x)
    with one curve map r, computed as x * ((1 - r) + r x)."""
    def work(y_start: int, y_end: int) -> None:
        for y0, y1 in row_bands(y_start, y_end, image.shape[1], image.shape[2], cancel):
            x = image[y0:y1]
            r = curve.band(y0, y1)
            one_minus_r = np.float32(1.0) - r
            factor = np.empty_like(x)
            for _ in range(iterations):
                np.multiply(r, x, out=factor)
                factor += one_minus_r
                x *= factor

    split_rows(image.shape[0], work)


def apply_curve_sequence(image: np.ndarray, curves: MapUpsampler, cancel: CancelToken | None = None) -> None:
    """In place: one step per 3-channel group of `curves` (Zero-DCE's 8 maps of 3 channels), in order."""
    def work(y_start: int, y_end: int) -> None:
        for y0, y1 in row_bands(y_start, y_end, image.shape[1], image.shape[2], cancel):
            x = image[y0:y1]
            maps = curves.band(y0, y1)
            factor = np.empty_like(x)
            for k in range(0, maps.shape[2], 3):
                r = maps[:, :, k:k + 3]
                np.multiply(r, x, out=factor)
                factor += np.float32(1.0)
                factor -= r
                x *= factor

    split_rows(image.shape[0], work)


def apply_gain(image: np.ndarray, gain: MapUpsampler, cancel: CancelToken | None = None) -> None:
    """In place: image <- clamp(image * gain, 0, 1), the gain (1 or 3 channels) upsampled band by band."""
    def work(y_start: int, y_end: int) -> None:
        for y0, y1 in row_bands(y_start, y_end, image.shape[1], image.shape[2], cancel):
            x = image[y0:y1]
            x *= gain.band(y0, y1)
            np.clip(x, 0.0, 1.0, out=x)

    split_rows(image.shape[0], work)


def curve_steps_tensor(image: torch.Tensor, curve: torch.Tensor, iterations: int) -> torch.Tensor:
    """The GPU path: 1 x 3 x H x W image and full-size curve, whole-image torch operations."""
    factor = torch.empty_like(image)
    one_minus_r = 1.0 - curve
    for _ in range(iterations):
        torch.addcmul(one_minus_r, curve, image, out=factor)
        image.mul_(factor)
    return image
