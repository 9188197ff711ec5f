"""Multi-scale Retinex with colour restoration (Jobson, Rahman and Woodell, 1997).

R_i = sum_n w_n (log I_i - log(G_n * I_i)) over Gaussian surrounds G_n; the colour restoration
C_i = beta (log(alpha I_i) - log(sum_c I_c)) multiplies it; the result is stretched to [0, 1] between
low and high percentiles (a "simplest colour balance" on all channels at once), which also absorbs the
paper's final gain and offset. Surround sizes are fractions of the long side, so a photo gives the same look at any resolution.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.jobs import CancelToken

SURROUNDS = (0.015, 0.08, 0.25)  # Gaussian sigmas as shares of the long side (15, 80, 250 px at 1000 px)
ALPHA, BETA = 125.0, 46.0
OFFSET = 1.0 / 255.0  # keeps log() finite on black pixels
DIRECT_SIGMA = 8.0  # larger surrounds are blurred on a downscaled copy (they are smooth anyway)


def surround(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with the given sigma; wide ones are computed at reduced size and scaled back."""
    height, width = image.shape[:2]
    factor = sigma / DIRECT_SIGMA
    if factor <= 1.5 or min(height, width) / factor < 4:
        return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    small_size = (max(1, round(width / factor)), max(1, round(height / factor)))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=DIRECT_SIGMA, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def msrcr(rgb: np.ndarray, clip_percent: float = 1.0, surrounds: tuple[float, ...] = SURROUNDS,
          cancel: CancelToken | None = None) -> np.ndarray | None:
    """MSRCR of a float32 H x W x 3 image in [0, 1]; `clip_percent` is the share of values saturated at
    each end by the final stretch (per pixel: at most that share gets any channel clipped). None for a
    flat image (all black, one colour): nothing to stretch."""
    image = rgb.astype(np.float32) + np.float32(OFFSET)
    long_side = max(image.shape[:2])
    log_image = np.log(image)
    retinex = np.zeros_like(image)
    for share in surrounds:
        if cancel is not None:
            cancel.raise_if_cancelled()
        blurred = surround(image, max(0.5, share * long_side))
        np.maximum(blurred, np.float32(OFFSET), out=blurred)
        retinex += log_image - np.log(blurred)
    retinex /= np.float32(len(surrounds))
    del log_image
    colour = np.log(np.float32(ALPHA) * image) - np.log(image.sum(axis=2, keepdims=True))
    retinex *= colour * np.float32(BETA)
    return stretch(retinex, clip_percent)


def stretch(values: np.ndarray, clip_percent: float) -> np.ndarray | None:
    """Map values onto [0, 1] (in place, all channels alike so colours keep their balance) such that at
    most `clip_percent` % of the pixels get a channel clipped at each end; None when nothing is left to
    stretch (a flat image)."""
    sample = values[:: max(1, values.shape[0] // 1024), :: max(1, values.shape[1] // 1024)].reshape(-1, 3)
    low = np.percentile(sample.min(axis=1), clip_percent)
    high = np.percentile(sample.max(axis=1), 100.0 - clip_percent)
    if not np.isfinite([low, high]).all() or high - low < 1e-6:
        return None
    out = values
    out -= np.float32(low)
    out *= np.float32(1.0 / (high - low))
    np.clip(out, 0.0, 1.0, out=out)
    return out
