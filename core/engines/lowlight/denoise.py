"""Removing the noise that brightening lifts: Laplacian-pyramid coring scaled to the measured noise.

Brightening a dark photo multiplies its sensor noise and JPEG steps with the picture. This step works on
the brightened result, in an orthonormal opponent colour space (one luma and two chroma channels, so
white noise keeps the same std in each), split into a Laplacian pyramid of LEVELS bands. In each band
the noise std is measured as a function of brightness (the quietest patches of each brightness range:
texture is left out, flat sky and walls measure the noise), and every coefficient is shrunk by a
non-negative garrote, c * max(0, 1 - (t / c)^2), with t = strength x THRESHOLD x that std (chroma more,
its detail matters less). Coefficients well above the noise (edges, lit windows, stars) pass almost
unchanged; those at the noise level go. The maths is a handful of resizes and per-pixel passes, so a
12-megapixel photo takes a fraction of a second.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.engines.lowlight.bands import GridUpsampler, for_each_band
from core.jobs import CancelToken

LEVELS = 3  # pyramid bands that are cored (finest first)
THRESHOLD = 1.2  # shrinkage threshold, in band noise stds, at strength 1
CHROMA_FACTOR = 3.0  # chroma bands are cored this much harder than luma
LEVEL_BINS = 8  # brightness ranges over which each band's noise is measured separately
PATCH = 8  # pixels per side of the noise-measuring patches
QUIET_PERCENTILE = 10  # those patches' RMS at this percentile (per brightness range) is the noise ...
QUIET_BIAS = 0.88  # ... over the true std, on white noise (measured)
MIN_PATCHES = 12  # a brightness range with fewer patches takes its neighbours' figure
SAMPLE_SIDE = 768  # the noise is measured on an evenly strided sample about this many rows high
FULL_BAND = 1 << 17  # values per band of the full-size pass

# Orthonormal opponent basis: rows are (luma-like, red-blue, green-magenta).
OPPONENT = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, -1.0], [1.0, -2.0, 1.0]], dtype=np.float64)
OPPONENT /= np.linalg.norm(OPPONENT, axis=1, keepdims=True)
OPPONENT32 = OPPONENT.astype(np.float32)


def _down(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    return cv2.resize(image, ((width + 1) // 2, (height + 1) // 2), interpolation=cv2.INTER_AREA)


def band_noise(band: np.ndarray, level: np.ndarray) -> np.ndarray:
    """LEVEL_BINS x C noise stds of a pyramid band (H x W x C) by brightness (`level`, H x W in [0, 1]):
    the RMS of the quietest PATCH x PATCH patches of each brightness range, corrected to unbiased on white
    noise; ranges with too few patches take the nearest measured ones."""
    height, width, channels = band.shape
    rows, cols = height // PATCH, width // PATCH
    if rows == 0 or cols == 0:
        return np.zeros((LEVEL_BINS, channels), np.float32)
    # Area reduction by a whole factor averages each PATCH x PATCH block: the patch means, in one pass.
    whole = np.ascontiguousarray(band[: rows * PATCH, : cols * PATCH], dtype=np.float32)
    rms = np.sqrt(cv2.resize(whole * whole, (cols, rows), interpolation=cv2.INTER_AREA)).reshape(-1, channels)
    lit = np.ascontiguousarray(level[: rows * PATCH, : cols * PATCH], dtype=np.float32)
    light = cv2.resize(lit, (cols, rows), interpolation=cv2.INTER_AREA).ravel()
    which = np.clip((light * LEVEL_BINS).astype(np.int64), 0, LEVEL_BINS - 1)
    noise = np.full((LEVEL_BINS, channels), np.nan, np.float32)
    for b in range(LEVEL_BINS):
        members = rms[which == b]
        if len(members) >= MIN_PATCHES:
            noise[b] = np.percentile(members, QUIET_PERCENTILE, axis=0) / QUIET_BIAS
    known = np.flatnonzero(~np.isnan(noise[:, 0]))
    if len(known) == 0:
        return np.zeros((LEVEL_BINS, channels), np.float32)
    for c in range(channels):
        noise[:, c] = np.interp(np.arange(LEVEL_BINS), known, noise[known, c])
    return noise


def _sample_starts(height: int) -> np.ndarray | None:
    """The first rows of the evenly spaced strips (4 x PATCH rows each, about SAMPLE_SIDE rows in all) the
    noise of a tall image is measured on, whole blocks so patch statistics stay those of neighbouring
    pixels; None when the image is short enough to measure whole."""
    if height <= SAMPLE_SIDE:
        return None
    return np.linspace(0, height - 4 * PATCH, SAMPLE_SIDE // (4 * PATCH)).astype(np.int64)


def _sampled_band(image: np.ndarray, base: GridUpsampler) -> tuple[np.ndarray, np.ndarray]:
    """(band, brightness) on the sample rows only: image - base (brought up), and the brightness of base."""
    starts = _sample_starts(image.shape[0])
    if starts is None:
        up = base.band(0, image.shape[0])
        return image - up, _brightness(up)
    ys = (starts[:, None] + np.arange(4 * PATCH)[None, :]).ravel()
    up = base.rows(ys)
    return image[ys] - up, _brightness(up)


def _finest_noise(source: np.ndarray, maps: GridUpsampler) -> np.ndarray:
    """The finest luma band's noise stds by brightness (LEVEL_BINS), from evenly spaced strips of rows:
    the full-size luma minus the half size's, brought up."""
    height, width = source.shape[:2]
    strip = 4 * PATCH
    starts = np.unique(np.linspace(0, height - strip, max(1, min(height // strip, SAMPLE_SIDE // strip)))
                       .astype(np.int64))
    details, levels = [], []
    for y0 in starts:
        y1 = int(y0) + strip
        base = maps.band(int(y0), y1)[..., 0]
        luma = cv2.transform(source[y0:y1], OPPONENT32[:1]).reshape(strip, width)
        details.append(luma - base)
        levels.append(np.clip(base * np.float32(1.0 / np.sqrt(3.0)), 0.0, 1.0))
    noise = band_noise(np.concatenate(details, axis=0)[..., None], np.concatenate(levels, axis=0))
    return noise[:, 0]


def _transform_in_place(image: np.ndarray, matrix: np.ndarray, cancel: CancelToken | None) -> None:
    """image = matrix x each pixel, in bands (OpenCV's own in-place transform is several times slower)."""
    def work(y0: int, y1: int) -> None:
        image[y0:y1] = cv2.transform(image[y0:y1], matrix)

    for_each_band(image.shape, work, cancel, FULL_BAND)


def _threshold_table(noise: np.ndarray, factor: float) -> np.ndarray:
    """A 1 x 256 float32 table of squared thresholds over the brightness steps of _level_index."""
    steps = (np.arange(256, dtype=np.float32) + np.float32(0.5)) * np.float32(LEVEL_BINS / 256.0)
    bins = np.arange(LEVEL_BINS, dtype=np.float32) + np.float32(0.5)
    table = np.interp(steps, bins, np.asarray(noise, np.float32).reshape(-1) * np.float32(factor)) ** 2
    return table.astype(np.float32).reshape(1, 256)


def _level_index(level: np.ndarray) -> np.ndarray:
    """Brightness in [0, 1] as 8-bit indices into the threshold tables (one saturating pass)."""
    return cv2.convertScaleAbs(level, alpha=255.0)


def garrote(band: np.ndarray, squared_threshold: np.ndarray) -> None:
    """In place: c -> c * max(0, 1 - t^2 / c^2) (the non-negative garrote), value by value (`squared_threshold`
    has the band's shape)."""
    ratio = band * band
    np.maximum(ratio, np.float32(1e-12), out=ratio)
    np.divide(squared_threshold, ratio, out=ratio)
    np.subtract(np.float32(1.0), ratio, out=ratio)
    np.maximum(ratio, np.float32(0.0), out=ratio)
    band *= ratio


def _brightness(opponent: np.ndarray) -> np.ndarray:
    """Brightness in [0, 1] from the opponent luma channel."""
    return np.clip(opponent[..., 0] * np.float32(1.0 / np.sqrt(3.0)), 0.0, 1.0)


def _denoised_pyramid(opp: np.ndarray, levels: int, strength: float, cancel: CancelToken | None) -> np.ndarray:
    """Cores the `levels` finest bands of an opponent-space image in all three channels, in place (each
    band of rows is read before its result is written); returns it."""
    if levels == 0 or min(opp.shape[:2]) < 2 * PATCH:
        return opp
    coarse = _down(opp)
    up = GridUpsampler(coarse, opp.shape[:2])  # the coarse copy brought up band by band: no array this size
    noise = band_noise(*_sampled_band(opp, up))
    back = GridUpsampler(_denoised_pyramid(coarse.copy(), levels - 1, strength, cancel), opp.shape[:2])
    tables = [_threshold_table(noise[:, c], strength * THRESHOLD * factor)
              for c, factor in enumerate((1.0, CHROMA_FACTOR, CHROMA_FACTOR))]
    table = np.ascontiguousarray(np.stack(tables, axis=2))  # 1 x 256 x 3: one table per channel

    def work(y0: int, y1: int) -> None:
        base = up.band(y0, y1)
        band = opp[y0:y1] - base
        index = _level_index(_brightness(base))
        garrote(band, cv2.LUT(cv2.merge([index, index, index]), table))
        np.add(band, back.band(y0, y1), out=opp[y0:y1])

    for_each_band(opp.shape, work, cancel, FULL_BAND)
    return opp


def denoise(rgb: np.ndarray, strength: float = 1.0, cancel: CancelToken | None = None,
            out: np.ndarray | None = None) -> np.ndarray:
    """The photo (float32 H x W x 3 in [0, 1]) with its noise shrunk; `strength` scales the thresholds
    (0 returns a copy). Written into `out` when given (float32, the photo's shape; `rgb` itself is
    allowed), else into a new array.

    The coarser bands are cored in all channels on the half-size copy; at full size only the luma's
    finest band is cored (its thresholds brought up from half size) and the chroma is the cleaned half
    size's, brought up: full-size chroma detail is mostly noise, and this keeps a 12-megapixel photo to
    a few passes over its pixels (and one full-size array, none when `out` is given)."""
    source = np.ascontiguousarray(rgb, dtype=np.float32)
    height, width = source.shape[:2]
    if out is None:
        out = np.empty_like(source)
    elif out.shape != source.shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"denoise: `out` must be a C-contiguous float32 array of shape {source.shape}")
    if strength <= 0.0 or min(height, width) < 4 * PATCH:
        if out is not source:
            out[...] = source
        return out
    # The transform is linear, so the half-size copy is reduced first and transformed small (in place).
    coarse = _down(source)
    _transform_in_place(coarse, OPPONENT32, cancel)
    base_map = GridUpsampler(coarse[..., :1], (height, width))  # a copy of its luma, before it is cleaned
    cleaned = _denoised_pyramid(coarse, LEVELS - 1, strength, cancel)  # in place
    if cancel is not None:
        cancel.raise_if_cancelled()
    # The half size's own luma is what the finest band is measured from; the cleaned half size stays in
    # opponent space (upsampling commutes with the linear way back to RGB).
    maps = GridUpsampler(cleaned, (height, width))
    del cleaned
    noise = _finest_noise(source, base_map)
    table = _threshold_table(noise, strength * THRESHOLD)
    luma_row = OPPONENT32[:1]
    to_rgb = np.ascontiguousarray(OPPONENT32.T)
    inverse = np.float32(1.0 / np.sqrt(3.0))

    def work(y0: int, y1: int) -> None:
        base = base_map.band(y0, y1).reshape(y1 - y0, width)
        detail = cv2.transform(source[y0:y1], luma_row).reshape(y1 - y0, width)
        detail -= base
        garrote(detail, cv2.LUT(cv2.convertScaleAbs(base, alpha=255.0 * inverse), table))
        band = maps.band(y0, y1)
        band[..., 0] += detail  # the cored luma detail joins the cleaned luma; then back to RGB
        result = cv2.transform(band, to_rgb, dst=out[y0:y1])  # source's rows are read: `out` may be it
        np.clip(result, 0.0, 1.0, out=result)

    for_each_band(source.shape, work, cancel, FULL_BAND)
    return out
