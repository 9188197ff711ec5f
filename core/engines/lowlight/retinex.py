"""Multi-scale Retinex with colour restoration (Jobson, Rahman and Woodell, 1997), safe on noisy dark photos.

R_i = sum_n w_n (log I_i - log(G_n * I_i)) over Gaussian surrounds G_n; the colour restoration
C_i = beta (log(alpha I_i) - log(sum_c I_c)) multiplies it; the result is stretched to [0, 1] between
low and high percentiles (a "simplest colour balance" on all channels at once), which also absorbs the
paper's final gain and offset. Surround sizes are fractions of the long side, so a photo gives the same
look at any resolution.

The textbook version divides by the surround, so in a dark flat region (a night sky, a shadowed wall)
sensor noise and JPEG's block steps, a level or two apart, come out as full-range blocky noise. Three
things keep such regions smooth and leave well-lit ones as they were:
- a noise floor: the logs are of I + eps, eps two noise stds (measured in the photo's dark parts) and at
  least two 8-bit steps, which bounds the gain 1 / (I + eps) where there is no signal;
- a locally adaptive (Lee) centre in the dark: where the local variance is within the noise, the centre
  term uses the local mean (plus a little of the pixel), so only structure clearly above the noise
  (edges, stars, lit windows) is amplified; the noise counted here is capped low, so a textured dark
  photo whose noise estimate is really texture keeps its texture (only eps acts there);
- a soft roll-off into black and white instead of a hard clip at the stretch's ends.

Everything stays float. The local statistics and the surrounds are computed on reduced copies and
brought back to full size bilinearly, band by band, inside one per-pixel pass that checks the cancel
token as it goes, so no full-size blur or surround is ever allocated.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.engines.lowlight.bands import GridUpsampler, for_each_band
from core.jobs import CancelToken

SURROUNDS = (0.015, 0.08, 0.25)  # Gaussian sigmas as shares of the long side (15, 80, 250 px at 1000 px)
ALPHA, BETA = 125.0, 46.0
DIRECT_SIGMA = 8.0  # larger surrounds are blurred on a further reduced copy (they are smooth anyway)
NOISE_FLOOR = 0.5 / 255.0  # the least noise assumed (std): a little above the 8-bit rounding's
MAX_NOISE = 3.0 / 255.0  # the most
DARK_LEVEL = 0.25  # noise is measured, and flat regions smoothed, where the photo is darker than this
NOISE_PATCH = 16  # pixels per side of the noise estimate's patches
NOISE_PERCENTILE = 5  # the quietest dark patches measure the noise (textured ones are left out) ...
PERCENTILE_BIAS = 0.93  # ... that percentile over the true std, on white noise (measured)
LOG_FLOOR = 2.0  # eps of the logs, in noise stds ...
MIN_EPS = 2.0 / 255.0  # ... and at least this: two 8-bit steps, the height of JPEG's blocks in the dark
FLAT_NOISE = 1.2  # local std below this many noise stds counts as flat: the centre is the local mean ...
KEEP_DETAIL = 0.15  # ... plus this share of the pixel's own deviation from it
FLAT_MAX_NOISE = 1.5 / 255.0  # the noise the flatness test counts, at most (above, only eps acts)
STATS_SIGMA = 4.0  # photo pixels: the window (Gaussian sigma) of the local mean and variance
STATS_FACTOR = 4  # the local statistics and surrounds are computed on a copy this many times smaller
KNEE = 0.03  # width of the soft roll-off at each end of the stretch
MIN_SPREAD = 1e-3  # a stretch range below this means a flat photo (real ones span tens to hundreds)
PIXEL_BAND = 1 << 16  # values per band of the per-pixel passes
SAMPLE_SIDE = 512  # the stretch's bounds come from about this many rows and columns of the result


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


def local_statistics(rgb: np.ndarray, factor: int, noise: float, scratch: np.ndarray,
                     cancel: CancelToken | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On a copy `factor` times smaller: that copy, and the Lee centre's base and weight, such that the
    centre is base + weight * I with weight w = max(KEEP_DETAIL, 1 - d (FLAT_NOISE noise)^2 / local
    variance) and base = (1 - w) * local mean: the local mean where flat, the pixel on clear structure.
    d fades from 1 at half DARK_LEVEL to 0 at DARK_LEVEL, so well-lit regions (little amplified) keep
    every pixel. `scratch` (as large as rgb) is overwritten."""
    small = reduced(rgb, factor)
    if cancel is not None:
        cancel.raise_if_cancelled()

    def square(y0: int, y1: int) -> None:
        np.multiply(rgb[y0:y1], rgb[y0:y1], out=scratch[y0:y1])

    for_each_band(rgb.shape, square, cancel, PIXEL_BAND)
    mean_square = reduced(scratch, factor)
    if cancel is not None:
        cancel.raise_if_cancelled()
    sigma = STATS_SIGMA / factor
    mean = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    mean_square = cv2.GaussianBlur(mean_square, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    if cancel is not None:
        cancel.raise_if_cancelled()
    variance = mean_square - mean * mean
    dark = np.clip(np.float32(2.0) - mean * np.float32(2.0 / DARK_LEVEL), 0.0, 1.0)
    threshold = dark * np.float32((FLAT_NOISE * noise) ** 2)
    weight = 1.0 - threshold / np.maximum(variance, threshold + np.float32(1e-12))
    np.maximum(weight, np.float32(KEEP_DETAIL), out=weight)
    base = np.float32(1.0) - weight
    base *= mean
    return small, base, weight


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
    out = np.empty_like(rgb)
    small, base, weight = local_statistics(rgb, factor, min(noise, FLAT_MAX_NOISE), out, cancel)
    logs = log_surround(small, factor, max(height, width), surrounds, eps, cancel)
    maps = GridUpsampler(np.concatenate([base, weight, logs], axis=2), (height, width))
    del small, base, weight, logs
    # The stretch's bounds from an evenly strided sample, computed first, so one pass does the rest.
    ys = np.arange(0, height, max(1, height // SAMPLE_SIDE))
    xs = np.arange(0, width, max(1, width // SAMPLE_SIDE))
    sample = maps.sample(ys, xs)
    if cancel is not None:
        cancel.raise_if_cancelled()
    bounds = stretch_bounds(retinex_values(rgb[np.ix_(ys, xs)], sample, eps), clip_percent)
    if bounds is None:
        return None
    offset, scale = np.float32(bounds[0]), np.float32(1.0 / (bounds[1] - bounds[0]))

    def work(y0: int, y1: int) -> None:
        band = out[y0:y1]
        retinex_values(rgb[y0:y1], maps.band(y0, y1), eps, out=band)
        band -= offset
        band *= scale
        soft_clip(band)

    for_each_band(rgb.shape, work, cancel, PIXEL_BAND)
    return out


def retinex_values(rgb: np.ndarray, maps: np.ndarray, eps: float, out: np.ndarray | None = None) -> np.ndarray:
    """R * C for pixels `rgb` (... x 3) given their upsampled maps (... x 9: the Lee centre's base and
    weight, the mean log surround)."""
    base, lee, log_blur = maps[..., 0:3], maps[..., 3:6], maps[..., 6:9]
    centre = rgb * lee
    centre += base
    np.maximum(centre, 0.0, out=centre)
    centre += np.float32(eps)  # I + eps, with I the adaptive centre
    log_total = centre[..., 0] + centre[..., 1]  # (channel slices: a reduction over a 3-long axis is slow)
    log_total += centre[..., 2]
    np.log(log_total, out=log_total)
    log_centre = np.log(centre, out=centre)
    colour = log_centre - log_total[..., None]
    colour += np.float32(np.log(ALPHA))
    colour *= np.float32(BETA)
    log_centre -= log_blur
    return np.multiply(log_centre, colour, out=out)


def stretch_bounds(sample: np.ndarray, clip_percent: float) -> tuple[float, float] | None:
    """The values mapped to 0 and 1 (all channels alike, so colours keep their balance) such that at most
    `clip_percent` % of the sampled pixels have a channel beyond them at each end; None when nothing is
    left to stretch (a flat image)."""
    r, g, b = sample[..., 0], sample[..., 1], sample[..., 2]  # (a reduction over a 3-long axis is slow)
    low = float(np.percentile(np.minimum(np.minimum(r, g), b), clip_percent))
    high = float(np.percentile(np.maximum(np.maximum(r, g), b), 100.0 - clip_percent))
    if not np.isfinite([low, high]).all() or high - low < MIN_SPREAD:
        return None
    return low, high


def soft_clip(values: np.ndarray, knee: float = KNEE) -> np.ndarray:
    """In place: identity on [knee, 1 - knee]; beyond, the excess d becomes knee * d / (knee + |d|), so the
    values roll off smoothly (C1) into (0, knee) and (1 - knee, 1) instead of clipping."""
    k = np.float32(knee)
    inner = np.clip(values, k, np.float32(1.0) - k)
    values -= inner  # the excess d
    scale = np.abs(values)
    scale += k
    values /= scale
    values *= k
    values += inner
    return values
