"""Classical low-light engines: automatic gamma, CLAHE on lightness, and MSRCR. No weights needed.

Their whole-image steps run band by band (core.engines.lowlight.curves.for_each_band): the same
pixel-wise maths, on several threads, with a cancel check every few milliseconds of work."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from core.engines.base import Param
from core.engines.lowlight.bands import for_each_band
from core.engines.lowlight.clahe import clahe
from core.engines.lowlight.common import LUMA, WHITE_BALANCE, LowLightEngine, denoise_param, mean_luminance
from core.engines.lowlight.retinex import msrcr
from core.jobs import CancelToken, Progress

BLACK_LEVEL = 1e-4  # below this mean luma there is nothing to brighten
GAMMA_RANGE = (0.1, 10.0)
BAND_VALUES = 1 << 18  # values per band of the whole-image steps (about 1 MB of float32)
# Default denoising strength per engine: on where it measurably helps (resources/weights/EVALUATION.md).
DENOISE = {"lowlight.auto_gamma": 1.0, "lowlight.clahe": 1.0, "lowlight.msrcr": 1.0}


def solve_gamma(rgb: np.ndarray, target: float, *, iterations: int = 30) -> float:
    """The gamma g for which the mean luma of rgb**g equals `target` (bisection on a thumbnail)."""
    step = max(1, max(rgb.shape[:2]) // 256)
    thumb = np.clip(rgb[::step, ::step].astype(np.float64), 0.0, 1.0)
    weights = LUMA.astype(np.float64)
    lo, hi = np.log(GAMMA_RANGE[0]), np.log(GAMMA_RANGE[1])
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if float((thumb ** np.exp(mid) @ weights).mean()) > target:  # still too bright: raise gamma
            lo = mid
        else:
            hi = mid
    return float(np.exp(0.5 * (lo + hi)))


class AutoGamma(LowLightEngine):
    id = "lowlight.auto_gamma"
    title = "Automatic gamma"
    description = ("One gamma curve chosen so the photo's mean brightness reaches a target. Instant, smooth, "
                   "never clips.")
    params = (
        Param("target", "float", 0.45, "Mean brightness to reach (0 = black, 1 = white).", min=0.1, max=0.8,
              step=0.01),
        Param("brighten_only", "bool", True, "Never darken a photo that is already brighter than the target."),
        denoise_param(DENOISE["lowlight.auto_gamma"]), WHITE_BALANCE,
    )

    def enhance(self, rgb: np.ndarray, params: dict[str, Any], progress: Progress, cancel: CancelToken,
                notes: list[str]) -> np.ndarray:
        if mean_luminance(rgb) < BLACK_LEVEL:
            notes.append("The photo is black: there is nothing to brighten.")
            return rgb.copy()
        gamma = solve_gamma(rgb, float(params["target"]))
        if params["brighten_only"]:
            gamma = min(gamma, 1.0)
        progress(1, 2, "Applying gamma")
        if gamma == 1.0:
            notes.append("The photo is already as bright as the target: left unchanged.")
            return rgb.copy()
        out = apply_gamma(rgb, gamma, cancel)
        notes.append(f"Gamma {gamma:.3f}.")
        progress(2, 2, "Done")
        return out


def apply_gamma(rgb: np.ndarray, gamma: float, cancel: CancelToken | None = None) -> np.ndarray:
    """clip(rgb, 0, 1) ** gamma as a new float32 array, band by band."""
    source = np.asarray(rgb, dtype=np.float32)
    out = np.empty_like(source)
    g = np.float32(gamma)

    def work(y0: int, y1: int) -> None:
        band = out[y0:y1]
        np.clip(source[y0:y1], 0.0, 1.0, out=band)
        np.power(band, g, out=band)

    for_each_band(source.shape, work, cancel, BAND_VALUES)
    return out


def convert_colour(image: np.ndarray, code: int, cancel: CancelToken | None = None) -> np.ndarray:
    """cv2.cvtColor of a float32 H x W x 3 image, band by band (the conversions are pixel-wise)."""
    source = np.ascontiguousarray(image, dtype=np.float32)
    out = np.empty_like(source)

    def work(y0: int, y1: int) -> None:
        out[y0:y1] = cv2.cvtColor(source[y0:y1], code)

    for_each_band(source.shape, work, cancel, BAND_VALUES)
    return out


def rgb_to_lab(rgb: np.ndarray, cancel: CancelToken | None = None) -> np.ndarray:
    """Float CIE Lab (L in [0, 100]) of sRGB in [0, 1] (OpenCV's float conversion, no 8-bit rounding)."""
    return convert_colour(rgb, cv2.COLOR_RGB2Lab, cancel)


def lab_to_rgb(lab: np.ndarray, cancel: CancelToken | None = None) -> np.ndarray:
    return convert_colour(lab, cv2.COLOR_Lab2RGB, cancel)


def _put_lightness(lab: np.ndarray, lightness: np.ndarray, cancel: CancelToken) -> None:
    """lab's L channel = lightness (in [0, 1]) x 100, band by band."""
    def put_back(y0: int, y1: int) -> None:
        np.multiply(lightness[y0:y1], np.float32(100.0), out=lab[y0:y1, :, 0])

    for_each_band(lab.shape, put_back, cancel, BAND_VALUES)


class ClaheLightness(LowLightEngine):
    id = "lowlight.clahe"
    title = "Local contrast (CLAHE)"
    description = ("Contrast-limited adaptive histogram equalisation of the lightness only, so colours keep "
                   "their hue. Lifts shadows region by region.")
    params = (
        Param("clip_limit", "float", 2.0, "How strongly contrast may grow (higher = punchier, noisier).",
              min=0.5, max=10.0, step=0.5),
        Param("tiles", "int", 8, "Regions per side over which contrast is adapted.", min=2, max=32),
        denoise_param(DENOISE["lowlight.clahe"]), WHITE_BALANCE,
    )

    def enhance(self, rgb: np.ndarray, params: dict[str, Any], progress: Progress, cancel: CancelToken,
                notes: list[str]) -> np.ndarray:
        lab = rgb_to_lab(rgb, cancel)
        progress(1, 3, "Equalising lightness")
        grid = (int(params["tiles"]), int(params["tiles"]))
        # Written back band by band; the equalised copy is freed before the conversion back to RGB.
        _put_lightness(lab, clahe(lab[:, :, 0], float(params["clip_limit"]), grid, cancel, scale=0.01), cancel)
        progress(2, 3, "Converting back")
        out = lab_to_rgb(lab, cancel)
        progress(3, 3, "Done")
        return out


class Msrcr(LowLightEngine):
    id = "lowlight.msrcr"
    title = "Retinex (MSRCR)"
    description = ("Multi-scale Retinex with colour restoration: evens out lighting across the photo and "
                   "restores colour in deep shadows. A strong, characteristic look.")
    params = (
        Param("clip_percent", "float", 1.0, "Share of the darkest and of the brightest values to saturate.",
              min=0.0, max=5.0, step=0.1),
        denoise_param(DENOISE["lowlight.msrcr"]), WHITE_BALANCE,
    )

    def enhance(self, rgb: np.ndarray, params: dict[str, Any], progress: Progress, cancel: CancelToken,
                notes: list[str]) -> np.ndarray:
        progress(0, 1, "Retinex")
        out = msrcr(rgb, float(params["clip_percent"]), cancel=cancel)
        progress(1, 1, "Done")
        if out is None:
            notes.append("The photo is flat: Retinex has nothing to work with. Left unchanged.")
            return rgb.copy()
        return out
