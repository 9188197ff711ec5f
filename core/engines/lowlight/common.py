"""What every low-light engine shares: the gray-world pre-correction, luminance, keeping gray photos
gray, the exposure guard, the denoising of what brightening lifted, and the base class that wires them
around each engine's own `enhance`."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import cv2
import numpy as np

from core.engines.base import Engine, EngineRequest, EngineResult, Param
from core.engines.lowlight.bands import for_each_band
from core.jobs import CancelToken, Progress

LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)  # Rec. 709 weights on the stored values
HIGHLIGHT_CLIP = 254.5 / 255.0  # a channel at this level or above saturates at 8 bits

WHITE_BALANCE = Param("white_balance", "bool", False,
                      "Neutralise a colour cast first (gray world: every channel gets the same mean).")
STRENGTH = Param("strength", "float", 1.0, "How much of the enhancement to apply (0 = none, 1 = all).",
                 min=0.0, max=1.0, step=0.05)
MAX_BRIGHTNESS = Param("max_brightness", "float", 0.7,
                       "Upper bound on the result's mean brightness; photos already brighter are left as they "
                       "are (1 turns the guard off).", min=0.2, max=1.0, step=0.05)

MAX_WHITE_BALANCE_GAIN = 2.0
FINISH_BAND = 1 << 18  # values per band of the last pass


def denoise_param(default: float) -> Param:
    """The "denoise" strength parameter with an engine's own default (0 = off): on where it measurably
    helps that engine (resources/weights/EVALUATION.md)."""
    return Param("denoise", "float", default, "Remove the noise that brightening lifts, in proportion to the "
                 "noise measured in the result (0 = off, 1 = as measured, 2 = twice as strong).",
                 min=0.0, max=2.0, step=0.1)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """H x W float32 luma of an H x W x 3 image."""
    return np.tensordot(rgb, LUMA, axes=([2], [0])).astype(np.float32, copy=False)


def mean_luminance(rgb: np.ndarray, max_samples: int = 1 << 20) -> float:
    """The mean luma, from evenly spaced whole rows on large images (at least `max_samples` pixels; the
    mean barely moves)."""
    step = max(1, rgb.shape[0] * rgb.shape[1] // max_samples)
    rows = np.ascontiguousarray(rgb[::step], dtype=np.float32)
    if rows.ndim != 3 or rows.shape[2] != 3:
        return float(luminance(rows).mean(dtype=np.float64))
    return float(np.dot(cv2.mean(rows)[:3], LUMA.astype(np.float64)))


def is_gray(rgb: np.ndarray) -> bool:
    """All three channels identical (a gray photo stored as RGB)."""
    def same(a: np.ndarray) -> bool:
        return bool(np.array_equal(a[:, :, 0], a[:, :, 1]) and np.array_equal(a[:, :, 1], a[:, :, 2]))
    # A strided look first: a colour photo is almost always told apart without reading every pixel.
    return same(rgb[::7, ::7]) and same(rgb)


def gray_world(rgb: np.ndarray) -> np.ndarray:
    """Scale the channels so their means are equal, keeping the mean luma; clipped pixels are ignored when
    measuring (they carry no colour information), and gains are bounded so a real single-colour scene is
    not turned inside out."""
    sample = rgb[:: max(1, rgb.shape[0] // 512), :: max(1, rgb.shape[1] // 512)].reshape(-1, 3)
    usable = sample[(sample.max(axis=1) < 0.98) & (sample.min(axis=1) > 0.002)]
    if len(usable) < 16:
        return rgb.copy()
    means = usable.mean(axis=0, dtype=np.float64)
    gray = float(means @ LUMA.astype(np.float64))
    gains = np.clip(gray / np.maximum(means, 1e-6), 1.0 / MAX_WHITE_BALANCE_GAIN, MAX_WHITE_BALANCE_GAIN)
    gains /= float(gains @ LUMA.astype(np.float64))  # the mean luma stays where it was
    out = rgb * gains.astype(np.float32)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def limit_exposure(before: np.ndarray, after: np.ndarray, max_mean: float) -> tuple[np.ndarray, bool]:
    """Blend `after` back towards `before` so its mean luma does not exceed max(max_mean, mean of `before`).

    A photo that is already bright therefore comes back unchanged instead of blown out, whatever the
    network predicted. Returns the image and whether the guard acted.
    """
    if max_mean >= 1.0:
        return after, False
    mean_in, mean_out = mean_luminance(before), mean_luminance(after)
    ceiling = max(max_mean, mean_in)
    if mean_out <= ceiling + 1e-4:
        return after, False
    t = (ceiling - mean_in) / (mean_out - mean_in)
    return blend(before, after, t), True


def blend(before: np.ndarray, after: np.ndarray, amount: float) -> np.ndarray:
    """before + amount * (after - before), computed in place on a new array."""
    if amount >= 1.0:
        return after
    if amount <= 0.0:
        return before.copy()
    out = after - before
    out *= np.float32(amount)
    out += before
    return out


def finish(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """The last step of every engine: finite, float32, in [0, 1] (NaN becomes 0, infinities the nearer
    end), and gray when the input was gray. Works in place on `after` unless it shares `before`'s memory."""
    out = np.ascontiguousarray(after, dtype=np.float32)
    if np.may_share_memory(out, before):
        out = out.copy()

    def band(y0: int, y1: int) -> None:
        rows = out[y0:y1]
        cv2.patchNaNs(rows.reshape(y1 - y0, -1), 0.0)
        np.clip(rows, 0.0, 1.0, out=rows)

    for_each_band(out.shape, band, None, FINISH_BAND)
    if is_gray(before) and not is_gray(out):
        out = np.repeat(luminance(out)[:, :, None], 3, axis=2)
    return np.ascontiguousarray(out)


class LowLightEngine(Engine):
    """Base of the low-light engines: optional gray-world first, `enhance`, then `finish`. Alpha and the
    metadata pass through untouched (Photo.with_rgb), and the pixels stay float32 all the way."""

    task = "lowlight"

    def process(self, request: EngineRequest) -> EngineResult:
        photo, params, progress, cancel = request.photo, dict(request.params), request.progress, request.cancel
        rgb = photo.rgb
        notes: list[str] = []
        if params.get("white_balance"):
            rgb = gray_world(rgb)
        out = self.enhance(rgb, params, progress, cancel, notes)
        cancel.raise_if_cancelled()
        if "strength" in params:
            out = blend(rgb, out, float(params["strength"]))
        if "max_brightness" in params:
            out, limited = limit_exposure(rgb, out, float(params["max_brightness"]))
            if limited:
                notes.append("The result was toned down to keep its mean brightness at or below "
                             f"{max(float(params['max_brightness']), mean_luminance(rgb)):.2f}.")
        if float(params.get("denoise", 0.0)) > 0.0:
            from core.engines.lowlight.denoise import denoise

            progress(0, 1, "Removing noise")
            own = out.dtype == np.float32 and out.flags.c_contiguous and not np.may_share_memory(out, photo.rgb)
            out = denoise(out, float(params["denoise"]), cancel, out=out if own else None)  # in place: no new array
        return EngineResult(photo=photo.with_rgb(finish(photo.rgb, out)), notes=notes)

    @abstractmethod
    def enhance(self, rgb: np.ndarray, params: dict[str, Any], progress: Progress, cancel: CancelToken,
                notes: list[str]) -> np.ndarray:
        """Brighten `rgb` (float32 H x W x 3 in [0, 1], never modified); may append notes for the user."""
