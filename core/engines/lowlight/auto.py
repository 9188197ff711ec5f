"""The one-click low-light engine: the learned gamma, an exposure floor where the network falls short, and
denoising of what brightening lifted.

Restora's learned gamma predictor (gamma_net.safetensors) picks one gamma and one S-curve contrast from a
128 px thumbnail. On the synthetic pairs it trained on it is the most accurate engine, but it barely
adapts to how dark a photo is, so real dark photos (darker than its training pairs) come out at about
0.20 mean brightness. This engine keeps the network's contrast and, when the network's result would stay
below `min_exposure`, lifts it until the result's mean brightness reaches it (solved on a thumbnail):
first with a small gain (at most FIRST_GAIN; the gain keeps black black and brightens what is lit, with
a shoulder that brings its top back to white), then by lowering the gamma. A lower gamma lifts the
blacks most, so it stops where the photo's blacks would turn grey (the shadow cap: night skies stay
dark); what the floor still lacks then comes from more gain (the lit windows of a night scene brighten,
its sky does not). The whole lift stops short where it would newly clip more than CLIP_BUDGET of the
thumbnail (the highlight cap: a pale sky is not pushed to white). Below 4/255 the curve has a toe that bends it
to black, so the lowest 8-bit codes, where JPEG leaves flat blocks in night skies and dark ceilings, are
not lifted apart into grey blocks; the floor is solved with the toe in place. The curve is then applied
to every pixel through a lookup table, and the denoising step (core.engines.lowlight.denoise) removes
the noise the lift brought up. How the floor, the cap, the gain, the toe and the denoising strength were
chosen, on the training split only, is in resources/weights/gamma_net.md.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from core.archs import gamma_net
from core.engines.base import Param
from core.engines.lowlight.bands import TABLE_SIZE, apply_table, quick_small_copy
from core.engines.lowlight.common import (
    HIGHLIGHT_CLIP,
    LUMA,
    MAX_BRIGHTNESS,
    STRENGTH,
    WHITE_BALANCE,
    denoise_param,
    mean_luminance,
)
from core.engines.lowlight.learned import GammaNetEngine
from core.jobs import CancelToken, Progress

MIN_EXPOSURE = 0.40  # the floor, chosen on the training split (gamma_net.md)
GAMMA_FLOOR = 0.15  # the strongest lift the floor may ask for (the network's own range starts at 0.2)
# The toe: below TOE_END the curve bends down to 0 as (x / TOE_END) ** TOE_POWER times its value there, so
# the lowest 8-bit codes (where JPEG leaves flat 8 x 8 blocks of 0, 1, 2 in a night sky) are not lifted
# apart into grey blocks; it never takes a code below itself (up to the curve's value at TOE_END). 0 turns it
# off.
TOE_END = 4.0 / 255.0
TOE_POWER = 2.0
SHADOW_PERCENTILE = 5  # the floor never lifts this percentile of the luma (the photo's blacks) ...
SHADOW_CAP = 0.2  # ... above this: night skies stay dark and crushed JPEG blacks do not turn to blotches
MIN_BLACK = TOE_END  # that percentile counts as at least the toe's end (the codes below are the toe's)
# Where the cap stops the gamma short of the floor, a gain (at most GAIN_CEILING) makes up the rest: linear
# below KNEE, above it a shoulder that takes the gain's top back to 1 (chosen on training photos: a
# ceiling of 4 washed out lit windows and water).
GAIN_CEILING = 2.2
FIRST_GAIN = 1.2  # the gain the floor takes before it lowers the gamma (the darkening of a photo is an exposure)
KNEE = 0.7
GAIN_SLACK = 0.005  # the gain is used only when the gamma leaves the floor short by more than this
THUMB_SIDE = 256  # long side of the copy the network sees (reduced further) and the floor is solved on
BISECTIONS = 24
CLIP_BUDGET = 0.03  # the lift never newly clips more than this share of the thumbnail (the highlight cap)
CAP_BISECTIONS = 12
HISTOGRAM_BINS = 1024


def shoulder(v: np.ndarray, top: float) -> np.ndarray:
    """`v` (values in [0, top]) back into [0, 1]: unchanged below KNEE, above it a rational shoulder with
    slope 1 at the knee that reaches 1 at `top` (the identity when `top` is 1)."""
    v = np.asarray(v, dtype=np.float32)
    if top <= 1.0:
        return v
    white = (top - KNEE) / (1.0 - KNEE)  # where `top` lands, in units of the shoulder's width
    u = np.maximum(v - np.float32(KNEE), np.float32(0.0)) / np.float32(1.0 - KNEE)
    rolled = np.float32(KNEE) + np.float32(1.0 - KNEE) * u * (1.0 + u / np.float32(white * white)) / (1.0 + u)
    return np.where(v > KNEE, rolled, v).astype(np.float32)


def tone(x: np.ndarray, gamma: float, contrast: float, gain: float = 1.0) -> np.ndarray:
    """The engine's curve (float32, any shape): S_contrast(x ** gamma), bent to black below TOE_END (never
    below the code), then `gain` on what lies above the toe's end (the toe's codes stay where it put them)
    and the shoulder."""
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(gamma_net.apply_gamma_contrast_numpy(x, (gamma, contrast)), dtype=np.float32)
    end = float(gamma_net.apply_gamma_contrast_numpy(np.array([TOE_END], np.float32), (gamma, contrast))[0])
    if TOE_END > 0.0 and np.any(x < TOE_END):
        toe = np.float32(end) * (np.maximum(x, 0.0) / np.float32(TOE_END)) ** np.float32(TOE_POWER)
        # ... but never below the code itself (up to `end`), so a weak lift clips no black code to 0
        toe = np.maximum(toe, np.minimum(x, np.float32(end)))
        y = np.where(x < TOE_END, toe, y).astype(np.float32)
    if gain <= 1.0:
        return y
    base = end if TOE_END > 0.0 else 0.0
    lifted = y + np.float32(gain - 1.0) * np.maximum(y - np.float32(base), np.float32(0.0))
    return shoulder(lifted, 1.0 + (gain - 1.0) * (1.0 - base))


def tone_table(gamma: float, contrast: float, gain: float = 1.0, size: int = TABLE_SIZE) -> np.ndarray:
    """The curve (`tone`) sampled at `size` evenly spaced values of [0, 1]."""
    return tone(np.linspace(0.0, 1.0, size, dtype=np.float32), gamma, contrast, gain)


def luma_histogram(thumb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(levels, weights): HISTOGRAM_BINS bin centres and, per bin and channel, the share of the values there
    times the channel's luma weight, so the mean luma of curve(thumb) is sum(curve(levels) x weights)."""
    levels = (np.arange(HISTOGRAM_BINS, dtype=np.float32) + np.float32(0.5)) / np.float32(HISTOGRAM_BINS)
    index = np.clip((thumb.reshape(-1, 3) * HISTOGRAM_BINS).astype(np.int64), 0, HISTOGRAM_BINS - 1)
    counts = np.stack([np.bincount(index[:, c], minlength=HISTOGRAM_BINS) for c in range(3)], axis=1)
    return levels, counts.astype(np.float64) * (LUMA.astype(np.float64) / len(index))[None, :]


def _histogram_mean(curve_at_levels: np.ndarray, weights: np.ndarray) -> float:
    """The mean luma of curve(thumb), from the curve at luma_histogram's levels and its weights."""
    return float((curve_at_levels.astype(np.float64)[:, None] * weights).sum())


def _bisect_log(value: Callable[[float], float], bounds: tuple[float, float], target: float,
                rising: bool) -> tuple[float, float]:
    """The bracket (lo, hi), in log units, that BISECTIONS halvings of log(`bounds`) leave around where
    value(x) crosses `target`; `rising` says whether value grows with x."""
    lo, hi = float(np.log(bounds[0])), float(np.log(bounds[1]))
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        if (value(float(np.exp(mid))) > target) == rising:
            hi = mid
        else:
            lo = mid
    return lo, hi


def gamma_for_exposure(thumb: np.ndarray, contrast: float, target: float,
                       bounds: tuple[float, float] = (GAMMA_FLOOR, 1.0), gain: float = 1.0) -> float:
    """The gamma (within `bounds`) for which tone(thumb, gamma, contrast, gain) has mean luma `target`;
    bisection on the thumbnail's per-channel histograms (HISTOGRAM_BINS levels), so each step costs a few
    thousand curve values whatever the photo's size."""
    levels, weights = luma_histogram(thumb)
    lo, hi = _bisect_log(lambda gamma: _histogram_mean(tone(levels, gamma, contrast, gain), weights), bounds,
                         target, rising=False)  # a larger gamma is darker
    return float(np.exp(0.5 * (lo + hi)))


def gain_for_exposure(thumb: np.ndarray, gamma: float, contrast: float, target: float,
                      ceiling: float = GAIN_CEILING) -> float:
    """The gain (1 to `ceiling`) for which tone(thumb, gamma, contrast, gain) has mean luma `target` (the
    ceiling when even it falls short); bisection on the thumbnail's histograms."""
    levels, weights = luma_histogram(thumb)

    def mean_luma(gain: float) -> float:
        return _histogram_mean(tone(levels, gamma, contrast, gain), weights)

    if mean_luma(ceiling) <= target:
        return ceiling
    lo, hi = _bisect_log(mean_luma, (1.0, ceiling), target, rising=True)
    return float(np.exp(0.5 * (lo + hi)))


def shadow_gamma(thumb: np.ndarray, contrast: float, ceiling: float, gain: float = 1.0) -> float:
    """The smallest gamma (at most `ceiling`) that keeps the SHADOW_PERCENTILE luma (at least MIN_BLACK) at
    or below SHADOW_CAP, with `gain` in the curve."""
    black = max(MIN_BLACK, float(np.percentile(thumb.reshape(-1, 3) @ LUMA, SHADOW_PERCENTILE)))

    def curve(gamma: float) -> float:
        return float(tone(np.array([black], np.float32), gamma, contrast, gain)[0])

    if curve(ceiling) >= SHADOW_CAP:
        return ceiling
    _, hi = _bisect_log(curve, (GAMMA_FLOOR, ceiling), SHADOW_CAP, rising=False)
    return float(np.exp(hi))  # the side of the bracket that keeps the cap


def _unclipped(thumb: np.ndarray) -> np.ndarray:
    """The thumbnail's pixels (N x 3) with no channel at HIGHLIGHT_CLIP."""
    pixels = thumb.reshape(-1, 3)
    return pixels[~np.any(pixels >= HIGHLIGHT_CLIP, axis=1)]


def _clipped_share(unclipped: np.ndarray, total: int, gamma: float, contrast: float, gain: float) -> float:
    """The share of `total` pixels that the curve takes from `unclipped` to HIGHLIGHT_CLIP in some channel."""
    return np.count_nonzero(np.any(tone(unclipped, gamma, contrast, gain) >= HIGHLIGHT_CLIP, axis=1)) / total


def newly_clipped(thumb: np.ndarray, gamma: float, contrast: float, gain: float = 1.0) -> float:
    """The share of the thumbnail's pixels that the curve takes to HIGHLIGHT_CLIP in some channel and that
    were not there before."""
    return _clipped_share(_unclipped(thumb), thumb.shape[0] * thumb.shape[1], gamma, contrast, gain)


def highlight_cap(thumb: np.ndarray, contrast: float, network_gamma: float, gamma: float,
                  gain: float) -> tuple[float, float]:
    """(gamma, gain): the lift from the network's curve (`network_gamma`, no gain) to (`gamma`, `gain`),
    taken in log units only as far as it newly clips at most CLIP_BUDGET of the thumbnail; the network's
    own curve is the least it returns."""
    unclipped, total = _unclipped(thumb), thumb.shape[0] * thumb.shape[1]  # once, not per step

    def at(share: float) -> tuple[float, float]:
        return (float(np.exp((1.0 - share) * np.log(network_gamma) + share * np.log(gamma))),
                float(np.exp(share * np.log(gain))))

    def within(share: float) -> bool:
        lifted, lifted_gain = at(share)
        return _clipped_share(unclipped, total, lifted, contrast, lifted_gain) <= CLIP_BUDGET

    if within(1.0):
        return gamma, gain
    lo, hi = 0.0, 1.0
    for _ in range(CAP_BISECTIONS):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if within(mid) else (lo, mid)
    return at(lo)


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

    def curve(self, rgb: np.ndarray, min_exposure: float, notes: list[str]) -> tuple[float, float, float]:
        """(gamma, contrast, gain): the network's gamma and contrast; when that stays below `min_exposure`,
        a gain up to FIRST_GAIN, then a lower gamma (as far as the shadow cap allows), then more gain, all
        held back by the highlight cap."""
        thumb = quick_small_copy(rgb, THUMB_SIDE)  # one reduction of the photo; the network's comes from it
        gamma, contrast = self.predict(thumb)
        reached = mean_luminance(tone(thumb, gamma, contrast))
        if min_exposure <= 0.0 or reached >= min_exposure:
            notes.append(f"Gamma {gamma:.3f}, contrast {contrast:.3f}.")
            return gamma, contrast, 1.0
        lifted, gain = gamma, gain_for_exposure(thumb, gamma, contrast, min_exposure, FIRST_GAIN)
        capped = False
        if mean_luminance(tone(thumb, gamma, contrast, gain)) < min_exposure - GAIN_SLACK:
            lifted = min(gamma, max(gamma_for_exposure(thumb, contrast, min_exposure, (GAMMA_FLOOR, gamma), gain),
                                    shadow_gamma(thumb, contrast, gamma, gain)))
            if mean_luminance(tone(thumb, lifted, contrast, gain)) < min_exposure - GAIN_SLACK:
                capped = True
                gain = max(gain, gain_for_exposure(thumb, lifted, contrast, min_exposure))
        wanted = (lifted, gain)
        lifted, gain = highlight_cap(thumb, contrast, gamma, lifted, gain)
        final = mean_luminance(tone(thumb, lifted, contrast, gain))
        said = f"Gamma {gamma:.3f}" + (f" lifted to {lifted:.3f}" if lifted < gamma else "")
        if gain > 1.0:
            said += f", gain {gain:.2f}" + (" (the blacks keep the gamma from lifting more)" if capped else "")
        if (lifted, gain) != wanted:
            said += " (held back so that bright areas do not turn white)"
        notes.append(f"{said}, contrast {contrast:.3f} (mean brightness {reached:.2f} -> {final:.2f}).")
        return lifted, contrast, gain

    def enhance(self, rgb: np.ndarray, params: dict[str, Any], progress: Progress, cancel: CancelToken,
                notes: list[str]) -> np.ndarray:
        progress(0, 2, "Choosing the curve")
        gamma, contrast, gain = self.curve(rgb, float(params["min_exposure"]), notes)
        cancel.raise_if_cancelled()
        progress(1, 2, "Applying the curve")
        out = apply_table(rgb, tone_table(gamma, contrast, gain), cancel)
        progress(2, 2, "Done")
        return out
