"""Multi-scale Retinex with colour restoration (Jobson, Rahman and Woodell, 1997), safe on noisy dark photos.

R_i = sum_n w_n (log I_i - log(G_n * I_i)) over Gaussian surrounds G_n; the colour restoration
C_i = beta (log(alpha I_i) - log(sum_c I_c)) multiplies it; the result is stretched to [0, 1] between
low and high percentiles (a "simplest colour balance" on all channels at once), which also absorbs the
paper's final gain and offset. Surround sizes are fractions of the long side, so a photo gives the same
look at any resolution.

The textbook version divides by the surround, so in a dark flat region (a night sky, a shadowed wall)
sensor noise and JPEG's block steps, a level or two apart, come out as full-range blocky noise. Three
things keep such regions smooth and leave well-lit ones as they were:
- a noise floor: the logs are of I + eps with eps a few times the photo's noise (measured in its dark
  parts, never below the 8-bit step), which bounds the gain 1 / (I + eps) where there is no signal;
- a locally adaptive (Lee) centre: where the local variance is within the noise, the centre term uses
  the local mean instead of the pixel, so only structure clearly above the noise (edges, stars, lit
  windows) is amplified;
- a soft roll-off into black and white instead of a hard clip at the stretch's ends.

Everything stays float. The local statistics and the surrounds are computed on reduced copies and
brought back to full size bilinearly, band by band, inside one per-pixel pass that checks the cancel
token as it goes, so no full-size blur or surround is ever allocated.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.engines.lowlight.curves import MapUpsampler, for_each_band
from core.jobs import CancelToken

SURROUNDS = (0.015, 0.08, 0.25)  # Gaussian sigmas as shares of the long side (15, 80, 250 px at 1000 px)
ALPHA, BETA = 125.0, 46.0
DIRECT_SIGMA = 8.0  # larger surrounds are blurred on a further reduced copy (they are smooth anyway)
NOISE_FLOOR = 0.5 / 255.0  # the least noise assumed (std): a little above the 8-bit rounding's
MAX_NOISE = 3.0 / 255.0
DARK_LEVEL = 0.25  # noise is measured, and flat regions smoothed, where the photo is darker than this
NOISE_PATCH = 16  # pixels per side of the noise estimate's patches
NOISE_PERCENTILE = 5  # the quietest dark patches measure the noise (textured ones are left out) ...
PERCENTILE_BIAS = 0.93  # ... that percentile over the true std, on white noise (measured)
FLAT_NOISE = 1.2  # local std below this many noise stds counts as flat (the centre uses the local mean) ...
FLAT_MAX_NOISE = 1.5 / 255.0  # ... the noise counted at most this (above, only eps acts: no smearing texture)
KEEP_DETAIL = 0.15  # ... plus this share of the pixel's own deviation from it
LOG_FLOOR = 2.0  # eps of the logs, in noise stds ...
MIN_EPS = 2.0 / 255.0  # ... and at least this: two 8-bit steps, the height of JPEG's blocks in the dark
STATS_SIGMA = 4.0  # photo pixels: the window (Gaussian sigma) of the local mean and variance
STATS_FACTOR = 4  # the local statistics and surrounds are computed on a copy this many times smaller
KNEE = 0.03  # width of the soft roll-off at each end of the stretch
MIN_SPREAD = 1e-3  # a stretch range below this means a flat photo (real ones span tens to hundreds)
PIXEL_BAND = 1 << 16  # values per band of the per-pixel pass


def estimate_noise(rgb: np.ndarray, max_samples: int = 1 << 20) -> float:
    """The noise std of the photo's dark parts: the standard deviations of 16 x 16 patches (evenly spaced
    strips of them) in the dark, a low percentile of them (textured patches are thereby left out; noise
    that the camera or JPEG smeared over a few pixels still counts, unlike with a Laplacian), corrected
    to unbiased on white noise. Trusted in proportion to the share of the photo that is dark (none below
    10 %, fully from 40 %: a bright photo's few dark patches are mostly texture); clamped to
    [NOISE_FLOOR, MAX_NOISE]."""
    size = NOISE_PATCH
    height, width = rgb.shape[:2]
    if height < size or width < size:
        return NOISE_FLOOR
    across = width // size
    strips = max(1, min(height // size, max_samples // (size * size * across)))
    starts = np.unique(np.linspace(0, height - size, strips).astype(np.int64))
    rows = rgb[(starts[:, None] + np.arange(size)).ravel(), : across * size]
    patches = rows.reshape(len(starts), size, across, size, -1).transpose(0, 2, 1, 3, 4)
    patches = patches.reshape(len(starts) * across, size * size, -1)
    level, spread = patches.mean(axis=1), patches.std(axis=1)
    dark = level < DARK_LEVEL
    trust = float(np.clip((dark.mean() - 0.1) / 0.3, 0.0, 1.0))
    if trust == 0.0:
        return NOISE_FLOOR
    sigma = float(np.percentile(spread[dark], NOISE_PERCENTILE)) / PERCENTILE_BIAS
    return float(np.clip(NOISE_FLOOR + trust * (sigma - NOISE_FLOOR), NOISE_FLOOR, MAX_NOISE))


def reduced(image: np.ndarray, factor: float) -> np.ndarray:
    """Area-averaged copy `factor` times smaller (itself when factor <= 1)."""
    if factor <= 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def local_statistics(rgb: np.ndarray, factor: int, noise: float,
                     cancel: CancelToken | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On a copy `factor` times smaller: that copy, the local mean and the Lee weight
    w = max(0, 1 - d (FLAT_NOISE noise)^2 / local variance): 0 where flat, 1 on clear structure; d fades
    from 1 at half DARK_LEVEL to 0 at DARK_LEVEL, so well-lit regions (little amplified) keep every pixel."""
    small = reduced(rgb, factor)
    sigma = STATS_SIGMA / factor
    mean = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    square = np.empty_like(small)
    for c in range(3):  # one channel at a time: one full-size temporary, a cancel check between
        if cancel is not None:
            cancel.raise_if_cancelled()
        channel = np.square(rgb[:, :, c])
        square[:, :, c] = reduced(channel, factor)
    square = cv2.GaussianBlur(square, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    variance = square - mean * mean
    dark = np.clip(np.float32(2.0) - mean * np.float32(2.0 / DARK_LEVEL), 0.0, 1.0)
    threshold = dark * np.float32((FLAT_NOISE * noise) ** 2)
    weight = 1.0 - threshold / np.maximum(variance, threshold + np.float32(1e-12))
    np.maximum(weight, np.float32(KEEP_DETAIL), out=weight)
    return small, mean, weight.astype(np.float32)


def log_surround(small: np.ndarray, factor: int, long_side: int, surrounds: tuple[float, ...], eps: float,
                 cancel: CancelToken | None = None) -> np.ndarray:
    """The mean over the surrounds of log(G_n * I + eps), at the size of `small` (the photo reduced by
    `factor`). Wide surrounds are blurred on a further reduced copy and brought back bilinearly."""
    height, width = small.shape[:2]
    total = np.zeros_like(small)
    for share in surrounds:
        if cancel is not None:
            cancel.raise_if_cancelled()
        sigma = max(0.5, share * long_side) / factor
        more = sigma / DIRECT_SIGMA
        if more <= 1.5 or min(height, width) / more < 4:
            blurred = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
            total += np.log(np.maximum(blurred, 0.0) + np.float32(eps))
            continue
        tiny = cv2.GaussianBlur(reduced(small, more), (0, 0), sigmaX=DIRECT_SIGMA, borderType=cv2.BORDER_REFLECT)
        logs = np.log(np.maximum(tiny, 0.0) + np.float32(eps))
        total += cv2.resize(logs, (width, height), interpolation=cv2.INTER_LINEAR)
    total /= np.float32(len(surrounds))
    return total


def msrcr(rgb: np.ndarray, clip_percent: float = 1.0, surrounds: tuple[float, ...] = SURROUNDS,
          cancel: CancelToken | None = None) -> np.ndarray | None:
    """MSRCR of a float32 H x W x 3 image in [0, 1]; `clip_percent` is the share of values driven into the
    soft roll-off at each end by the final stretch (per pixel: at most that share gets any channel there).
    None for a flat image (all black, one colour): nothing to stretch."""
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    height, width = rgb.shape[:2]
    noise = estimate_noise(rgb)
    eps = max(MIN_EPS, LOG_FLOOR * noise)
    factor = max(1, min(STATS_FACTOR, min(height, width) // 16))
    small, mean, weight = local_statistics(rgb, factor, min(noise, FLAT_MAX_NOISE), cancel)
    logs = log_surround(small, factor, max(height, width), surrounds, eps, cancel)
    maps = MapUpsampler.from_array(np.concatenate([mean, weight, logs], axis=2), (height, width))
    del small, mean, weight, logs
    out = np.empty_like(rgb)
    log_alpha, beta, eps32 = np.float32(np.log(ALPHA)), np.float32(BETA), np.float32(eps)

    def work(y0: int, y1: int) -> None:
        band = maps.band(y0, y1)
        local_mean, lee, log_blur = band[:, :, 0:3], band[:, :, 3:6], band[:, :, 6:9]
        centre = rgb[y0:y1] - local_mean
        centre *= lee
        centre += local_mean
        np.maximum(centre, 0.0, out=centre)
        centre += eps32  # I + eps, with I the adaptive centre
        log_centre = np.log(centre)
        colour = log_centre - np.log(centre.sum(axis=2, keepdims=True))
        colour += log_alpha
        colour *= beta
        log_centre -= log_blur
        np.multiply(log_centre, colour, out=out[y0:y1])

    for_each_band(rgb.shape, work, cancel, PIXEL_BAND)
    return stretch(out, clip_percent, cancel)


def soft_clip(values: np.ndarray, knee: float = KNEE) -> np.ndarray:
    """In place: identity on [knee, 1 - knee], rolling off smoothly (C1) into (0, knee) below and
    (1 - knee, 1) above: v -> knee^2 / (2 knee - v) at the bottom, mirrored at the top."""
    k = np.float32(knee)
    low = np.minimum(values, k)
    high = np.float32(1.0) - values
    np.minimum(high, k, out=high)
    lift = np.float32(2.0) * k - low
    np.divide(k * k, lift, out=lift)
    lift -= low
    drop = np.float32(2.0) * k - high
    np.divide(k * k, drop, out=drop)
    drop -= high
    values += lift
    values -= drop
    np.clip(values, 0.0, 1.0, out=values)
    return values


def stretch(values: np.ndarray, clip_percent: float, cancel: CancelToken | None = None) -> np.ndarray | None:
    """Map values onto [0, 1] (in place, all channels alike so colours keep their balance) such that at
    most `clip_percent` % of the pixels get a channel into the soft roll-off at each end; None when
    nothing is left to stretch (a flat image)."""
    sample = values[:: max(1, values.shape[0] // 1024), :: max(1, values.shape[1] // 1024)].reshape(-1, 3)
    low = np.percentile(sample.min(axis=1), clip_percent)
    high = np.percentile(sample.max(axis=1), 100.0 - clip_percent)
    if not np.isfinite([low, high]).all() or high - low < MIN_SPREAD:
        return None
    offset, scale = np.float32(low), np.float32(1.0 / (high - low))

    def work(y0: int, y1: int) -> None:
        band = values[y0:y1]
        band -= offset
        band *= scale
        soft_clip(band)

    for_each_band(values.shape, work, cancel, PIXEL_BAND)
    return values
