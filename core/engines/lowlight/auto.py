"""The one-click low-light engine: the learned gamma, an exposure floor where the network falls short, and
denoising of what brightening lifted.

Restora's learned gamma predictor (gamma_net.safetensors) picks one gamma and one S-curve contrast from a
128 px thumbnail. On the synthetic pairs it trained on it is the most accurate engine, but it barely
adapts to how dark a photo is, so real dark photos (darker than its training pairs) come out at about
0.20 mean brightness. This engine keeps the network's contrast and, when the network's result would stay
below `min_exposure`, lowers the gamma until the result's mean brightness reaches it (solved on a
thumbnail). Below 4/255 the curve has a toe that bends it to black, so the lowest 8-bit codes, where JPEG
leaves flat blocks in night skies and dark ceilings, are not lifted apart into grey blocks; the floor is
solved with the toe in place. The curve is then applied to every pixel through a lookup table, and the
denoising step (core.engines.lowlight.denoise) removes the noise the lift brought up. How the floor, the
toe and the denoising strength were chosen, on the training split only, is in
resources/weights/gamma_net.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.archs import gamma_net
from core.engines.base import Param
from core.engines.lowlight.bands import for_each_band, small_copy
from core.engines.lowlight.common import (
    LUMA,
    MAX_BRIGHTNESS,
    STRENGTH,
    WHITE_BALANCE,
    denoise_param,
    mean_luminance,
)
from core.engines.lowlight.learned import GammaNetEngine
from core.jobs import CancelToken, Progress

MIN_EXPOSURE = 0.38  # the floor, chosen on the training split (gamma_net.md)
GAMMA_FLOOR = 0.15  # the strongest lift the floor may ask for (the network's own range starts at 0.2)
# The toe: below TOE_END the curve bends down to 0 as (x / TOE_END) ** TOE_POWER times its value there, so
# the lowest 8-bit codes (where JPEG leaves flat 8 x 8 blocks of 0, 1, 2 in a night sky) are not lifted
# apart into grey blocks. 0 turns it off.
TOE_END = 4.0 / 255.0
TOE_POWER = 2.0
SHADOW_PERCENTILE = 5  # the floor never lifts this percentile of the luma (the photo's blacks) ...
SHADOW_CAP = 0.2  # ... above this: night skies stay dark and crushed JPEG blacks do not turn to blotches
MIN_BLACK = TOE_END  # that percentile counts as at least the toe's end (the codes below are the toe's)
THUMB_SIDE = 256  # long side of the copy the network sees (reduced further) and the floor is solved on
LUT_SIZE = 1 << 16  # entries of the tone curve's lookup table (16-bit steps)
BISECTIONS = 24
HISTOGRAM_BINS = 1024


def tone(x: np.ndarray, gamma: float, contrast: float) -> np.ndarray:
    """The engine's curve: S_contrast(x ** gamma), with the toe below TOE_END (float32, any shape)."""
    y = np.asarray(gamma_net.apply_gamma_contrast_numpy(x, (gamma, contrast)), dtype=np.float32)
    if TOE_END <= 0.0:
        return y
    x = np.asarray(x, dtype=np.float32)
    low = x < TOE_END
    if np.any(low):
        end = float(gamma_net.apply_gamma_contrast_numpy(np.array([TOE_END], np.float32), (gamma, contrast))[0])
        y = np.where(low, np.float32(end) * (np.maximum(x, 0.0) / np.float32(TOE_END)) ** np.float32(TOE_POWER),
                     y).astype(np.float32)
    return y


def tone_table(gamma: float, contrast: float, size: int = LUT_SIZE) -> np.ndarray:
    """The curve (`tone`) sampled at `size` evenly spaced values of [0, 1]."""
    return tone(np.linspace(0.0, 1.0, size, dtype=np.float32), gamma, contrast)


def apply_table(rgb: np.ndarray, table: np.ndarray, cancel: CancelToken | None = None) -> np.ndarray:
    """Every value of `rgb` (in [0, 1]) mapped through `table` at its nearest 16-bit step (the error is
    below 1e-4 for the curves used here; one gather per value, much faster than a power)."""
    source = np.asarray(rgb, dtype=np.float32)
    out = np.empty_like(source)
    top = np.float32(len(table) - 1)

    def work(y0: int, y1: int) -> None:
        scaled = source[y0:y1] * top
        scaled += np.float32(0.5)
        np.clip(scaled, 0.0, top, out=scaled)
        np.take(table, scaled.astype(np.uint16 if len(table) <= 1 << 16 else np.int64), out=out[y0:y1])

    for_each_band(source.shape, work, cancel)
    return out


def gamma_for_exposure(thumb: np.ndarray, contrast: float, target: float,
                       bounds: tuple[float, float] = (GAMMA_FLOOR, 1.0)) -> float:
    """The gamma (within `bounds`) for which S_contrast(thumb ** gamma) has mean luma `target`; bisection
    on the thumbnail's per-channel histograms (HISTOGRAM_BINS levels), so each step costs a few thousand
    curve values whatever the photo's size."""
    levels = (np.arange(HISTOGRAM_BINS, dtype=np.float32) + np.float32(0.5)) / np.float32(HISTOGRAM_BINS)
    index = np.clip((thumb.reshape(-1, 3) * HISTOGRAM_BINS).astype(np.int64), 0, HISTOGRAM_BINS - 1)
    counts = np.stack([np.bincount(index[:, c], minlength=HISTOGRAM_BINS) for c in range(3)], axis=1)
    weights = counts.astype(np.float64) * (LUMA.astype(np.float64) / len(index))[None, :]

    def mean_luma(gamma: float) -> float:
        curve = tone(levels, gamma, contrast).astype(np.float64)
        return float((curve[:, None] * weights).sum())

    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        if mean_luma(float(np.exp(mid))) > target:
            lo = mid  # still too bright: a larger gamma
        else:
            hi = mid
    return float(np.exp(0.5 * (lo + hi)))


def shadow_gamma(thumb: np.ndarray, contrast: float, ceiling: float) -> float:
    """The smallest gamma (at most `ceiling`) that keeps the SHADOW_PERCENTILE luma (at least MIN_BLACK) at
    or below SHADOW_CAP."""
    black = max(MIN_BLACK, float(np.percentile(thumb.reshape(-1, 3) @ LUMA, SHADOW_PERCENTILE)))
    lo, hi = np.log(GAMMA_FLOOR), np.log(ceiling)

    def curve(gamma: float) -> float:
        return float(tone(np.array([black], np.float32), gamma, contrast)[0])

    if curve(ceiling) >= SHADOW_CAP:
        return ceiling
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        if curve(float(np.exp(mid))) > SHADOW_CAP:
            lo = mid
        else:
            hi = mid
    return float(np.exp(hi))


class AutoLowLight(GammaNetEngine):
    id = "lowlight.auto"
    title = "Automatic (recommended)"
    description = ("Restora's one-click brightening: the learned gamma, lifted further when a photo is very "
                   "dark, then the noise that brightening brings up is removed. Fast on any computer.")
    params = (
        Param("min_exposure", "float", MIN_EXPOSURE, "The least mean brightness to reach when the network "
              "brightens too little (0 = only the network's choice).", min=0.0, max=0.6, step=0.01),
        denoise_param(1.0), STRENGTH, MAX_BRIGHTNESS, WHITE_BALANCE,
    )

    def curve(self, rgb: np.ndarray, min_exposure: float, notes: list[str]) -> tuple[float, float]:
        """(gamma, contrast): the network's, with the gamma lowered to reach `min_exposure` if need be."""
        thumb = small_copy(rgb, THUMB_SIDE)  # one reduction of the full photo; the network's comes from it
        gamma, contrast = self.predict(thumb)
        reached = mean_luminance(tone(thumb, gamma, contrast))
        if min_exposure > 0.0 and reached < min_exposure:
            lifted = max(gamma_for_exposure(thumb, contrast, min_exposure, (GAMMA_FLOOR, gamma)),
                         shadow_gamma(thumb, contrast, gamma))
            if lifted >= gamma:
                notes.append(f"Gamma {gamma:.3f}, contrast {contrast:.3f} (the blacks keep it from lifting more).")
                return gamma, contrast
            after = mean_luminance(tone(thumb, lifted, contrast))
            notes.append(f"Gamma {gamma:.3f} lifted to {lifted:.3f} (mean brightness {reached:.2f} -> "
                         f"{after:.2f}), contrast {contrast:.3f}.")
            return lifted, contrast
        notes.append(f"Gamma {gamma:.3f}, contrast {contrast:.3f}.")
        return gamma, contrast

    def enhance(self, rgb: np.ndarray, params: dict[str, Any], progress: Progress, cancel: CancelToken,
                notes: list[str]) -> np.ndarray:
        progress(0, 2, "Choosing the curve")
        gamma, contrast = self.curve(rgb, float(params["min_exposure"]), notes)
        cancel.raise_if_cancelled()
        progress(1, 2, "Applying the curve")
        out = apply_table(rgb, tone_table(gamma, contrast), cancel)
        progress(2, 2, "Done")
        return out
