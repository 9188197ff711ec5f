"""The built-in face restorer: classical image processing on the aligned face, so the face pipeline works
with no checkpoint at all.

On the aligned crop (any size; the engine uses 512 x 512 on the FFHQ template): an edge-preserving denoise
(a bilateral filter on lightness whose range follows the noise it measures, so noise and JPEG blocking
flatten while the edges of eyes, lips and nose stay), then detail enhancement (an unsharp mask on lightness,
cored so noise is not boosted and limited so edges do not ring) and a gentle local-contrast step (CLAHE on
lightness, blended in, the mean brightness kept). Colour (a, b) is only denoised. It is not a
generative model: it cannot invent detail a photo lost, but it cleans and crisps what is there.
"""

from __future__ import annotations

import cv2
import numpy as np

NOISE_TO_SIGMA = 3.0  # bilateral range sigma = this x the estimated noise (Lab lightness units, 0..100)
MIN_SIGMA = 2.0
DENOISE_SPACE = 3.0  # bilateral spatial sigma, in pixels at 512
DETAIL_SIGMA = 2.0  # unsharp-mask blur, in pixels at 512
DETAIL_AMOUNT = 0.8
DETAIL_LIMIT = 6.0  # the largest lightness change the detail step may make, in Lab units
CORING = 2.0  # detail below this many noise sigmas is noise, not detail: it is not boosted
CLAHE_CLIP = 1.6
CLAHE_BLEND = 0.4


def noise_sigma(lightness: np.ndarray) -> float:
    """The noise's standard deviation in a lightness image, from the median absolute deviation of what a
    3 x 3 median filter removes (robust to edges)."""
    residual = lightness - cv2.medianBlur(np.ascontiguousarray(lightness, dtype=np.float32), 3)
    return float(1.4826 * np.median(np.abs(residual)) * 1.5)  # a 3 x 3 median keeps about a third of the noise


def restore_builtin(face: np.ndarray) -> np.ndarray:
    """A restored copy of an aligned face crop (float32 RGB in [0, 1], any size)."""
    img = np.ascontiguousarray(face, dtype=np.float32)
    k = img.shape[1] / 512.0
    space = max(0.5, DENOISE_SPACE * k)
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2Lab)
    L = lab[..., 0].copy()
    noise = noise_sigma(L)
    sigma = max(MIN_SIGMA, NOISE_TO_SIGMA * noise)
    clean = cv2.bilateralFilter(L, 0, sigma, space)
    blurred = cv2.GaussianBlur(clean, (0, 0), max(0.5, DETAIL_SIGMA * k))
    detail = clean - blurred
    core = CORING * noise
    detail = np.sign(detail) * np.maximum(np.abs(detail) - core, 0.0)  # soft coring: noise is not detail
    sharp = np.clip(clean + np.clip(detail * DETAIL_AMOUNT, -DETAIL_LIMIT, DETAIL_LIMIT), 0.0, 100.0)
    tiles = max(2, int(round(4 * min(1.0, k * 2))))
    clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=(tiles, tiles))
    equalised = clahe.apply(np.round(sharp * 655.35).astype(np.uint16)).astype(np.float32) / 655.35
    out_L = (1 - CLAHE_BLEND) * sharp + CLAHE_BLEND * equalised
    lab[..., 0] = np.clip(out_L + (float(L.mean()) - float(out_L.mean())), 0.0, 100.0)  # same brightness
    for c in (1, 2):
        lab[..., c] = cv2.bilateralFilter(lab[..., c], 0, max(MIN_SIGMA, sigma), space)
    return np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0).astype(np.float32)
