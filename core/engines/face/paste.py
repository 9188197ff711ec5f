"""Putting restored faces back: a soft mask that follows the face, colour matching, and the photo's tone.

The mask is an elliptical fall-off placed on the face by the template the crop was aligned to (over the
eyes, nose, mouth and chin, fading before the hair and the crop's edge), never a rectangle; the paste itself
is core.regions' inverse warp (paste_back), given only the part of the crop the mask covers, and it leaves
every pixel the mask does not reach bit-identical.

Colour matching brings the restored face to the photo's own colours, measured on the aligned input crop
under the same mask, in Lab: the lightness mean (not its spread, which is the detail the restorer added)
and the mean and spread of a and b. Two kinds of photos keep their tone outright: a grey photo gets a grey
face (the restored lightness only), and a toned one (sepia, cyanotype: chroma nearly constant over the
whole photo) keeps the input's a and b under the restored lightness.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.engines.face.align import TEMPLATES
from core.regions import IntBox, compose, elliptical_weight, paste_back, scaled, translation

TONES = ("colour", "toned", "grey")
GREY_TOLERANCE = 1.5 / 255  # a photo whose channels never differ by more than this is grey
TONED_CHROMA_SPREAD = 4.0  # a photo whose a and b spread (Lab std) is below this is toned, not colour
MASK_SOFTNESS = 0.45  # the share of the ellipse's radius over which the mask fades out
STATS_SIDE = 128  # colour statistics are measured on copies this size
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def face_mask(side: int, template: str) -> np.ndarray:
    """side x side float32 weight in [0, 1]: 1 over the face of a crop aligned to `template`, falling
    smoothly to 0 well inside the crop's edge."""
    t = TEMPLATES[template]
    eyes, mouth = (t[0] + t[1]) / 2, (t[3] + t[4]) / 2
    d = float(np.hypot(*(t[1] - t[0])))  # the eye distance sets the face's size in the template
    cx, cy = (eyes[0] + mouth[0]) / 2, (eyes[1] + mouth[1]) / 2 - 0.12 * d
    rx, ry = 1.35 * d, 1.6 * d
    n = 512.0
    return elliptical_weight(side, radii=(min(rx / n, 0.48), min(ry / n, 0.48)), center=(cx / n, cy / n),
                             softness=MASK_SOFTNESS)


def photo_tone(rgb: np.ndarray, grayscale: bool = False) -> str:
    """"grey", "toned" or "colour" for a float32 RGB photo (looked at on about 512 x 512 of its pixels)."""
    if grayscale:
        return "grey"
    step = max(1, max(rgb.shape[:2]) // 512)
    small = np.ascontiguousarray(rgb[::step, ::step], dtype=np.float32)
    if float(np.max(np.ptp(small, axis=2))) <= GREY_TOLERANCE:
        return "grey"
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab)
    if float(lab[..., 1].std()) < TONED_CHROMA_SPREAD and float(lab[..., 2].std()) < TONED_CHROMA_SPREAD:
        return "toned"
    return "colour"


def paste_face(out: np.ndarray, face: np.ndarray, M: np.ndarray, mask: np.ndarray,
               photo_scale: tuple[float, float] = (1.0, 1.0)) -> IntBox:
    """Blend a restored crop (`face`, k times the crop M maps the photo onto) into `out` (in place; a photo
    photo_scale times larger than the one M is for) under `mask` (the crop's face mask, any resolution). Only
    the part of the crop the mask covers is warped back; returns the box of changed pixels."""
    k = face.shape[0] / mask.shape[0] if face.shape[:2] != mask.shape[:2] else 1.0
    if k != 1.0:
        mask = cv2.resize(mask, face.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    rows, cols = np.flatnonzero(mask.max(axis=1) > 0), np.flatnonzero(mask.max(axis=0) > 0)
    if not len(rows):
        return (0, 0, 0, 0)
    y0, y1, x0, x1 = max(0, rows[0] - 1), rows[-1] + 2, max(0, cols[0] - 1), cols[-1] + 2
    to_crop = compose(translation(-x0, -y0), scaled(M, photo_scale, crop=k))
    _, box = paste_back(out, face[y0:y1, x0:x1], to_crop, feather=0.0, weight=mask[y0:y1, x0:x1], out=out)
    return box


def _stats(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    total = float(w.sum())
    if total <= 1e-6:
        return float(x.mean()), float(x.std())
    mean = float((x * w).sum() / total)
    return mean, float(np.sqrt(max(((x - mean) ** 2 * w).sum() / total, 0.0)))


def match_colour(restored: np.ndarray, original: np.ndarray, weight: np.ndarray, tone: str = "colour",
                 match: bool = True) -> np.ndarray:
    """The restored crop (float32 RGB in [0, 1]) in the colours of `original` (the aligned input crop, any
    size: resized to the restored one) measured under `weight`, and in the photo's tone."""
    if tone not in TONES:
        raise ValueError(f"tone is one of {TONES}, got {tone!r}")
    h, w = restored.shape[:2]
    if original.shape[:2] != (h, w):
        original = cv2.resize(original, (w, h), interpolation=cv2.INTER_LINEAR)
    if weight.shape != (h, w):
        weight = cv2.resize(weight, (w, h), interpolation=cv2.INTER_LINEAR)
    if tone == "grey":
        y = restored @ LUMA
        if match:
            y = y + (_stats(original @ LUMA, weight)[0] - _stats(y, weight)[0])
        return np.repeat(np.clip(y, 0, 1)[..., None], 3, axis=2).astype(np.float32)
    if tone == "colour" and not match:
        return restored
    out = np.asarray(cv2.cvtColor(np.ascontiguousarray(restored, dtype=np.float32), cv2.COLOR_RGB2Lab), np.float32)
    if tone == "toned":
        lab_o = cv2.cvtColor(np.ascontiguousarray(original, dtype=np.float32), cv2.COLOR_RGB2Lab)
        if match:
            out[..., 0] += _stats(lab_o[..., 0], weight)[0] - _stats(out[..., 0], weight)[0]
        out[..., 1:] = lab_o[..., 1:]
    else:  # statistics on small copies: a mean and a spread need no more
        small_o, small_r, small_w = (_small(a) for a in (original, restored, weight))
        lab_o = cv2.cvtColor(small_o, cv2.COLOR_RGB2Lab)
        lab_r = cv2.cvtColor(small_r, cv2.COLOR_RGB2Lab)
        out[..., 0] += _stats(lab_o[..., 0], small_w)[0] - _stats(lab_r[..., 0], small_w)[0]
        for c in (1, 2):
            mo, so = _stats(lab_o[..., c], small_w)
            mr, sr = _stats(lab_r[..., c], small_w)
            gain = float(np.clip(so / sr, 0.5, 2.0)) if sr > 1e-3 else 1.0
            out[..., c] = (out[..., c] - mr) * gain + mo
    return np.clip(cv2.cvtColor(out, cv2.COLOR_Lab2RGB), 0, 1).astype(np.float32)


def _small(a: np.ndarray, side: int = STATS_SIDE) -> np.ndarray:
    h, w = a.shape[:2]
    if max(h, w) <= side:
        return np.ascontiguousarray(a, dtype=np.float32)
    return cv2.resize(np.ascontiguousarray(a, dtype=np.float32), (side, side * h // w), interpolation=cv2.INTER_AREA)
