"""Regions of a photo an engine works on (face boxes, landmarks), and moving pixels in and out of them.

A model with a fixed input size (a face restorer on aligned 512 x 512 faces, an inpainter on 512 x 512
crops around a hole) runs through `run_in_regions`: each region's transform (`box_transform`,
`similarity_from_points` onto a landmark template, or `region_transform` for a Region) warps a crop out,
the model runs on it, and the result is warped back with a feathered, optionally masked weight. Pixels the
weight does not reach stay bit-identical. The geometry and pixel moving live in core.warp and are
re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from core.jobs import CancelToken, Progress, no_progress
from core.warp import (
    EMPTY_BOX,
    IntBox,
    RegionError,
    Size,
    apply,
    as_matrix,
    box_transform,
    check_array,
    compose,
    crop_size,
    feather_weight,
    invert,
    paste_back,
    scaled,
    similarity_from_points,
    support_box,
    translation,
    warp_in,
)

__all__ = ["Region", "RegionError", "apply", "as_matrix", "box_transform", "check_array", "compose", "crop_size",
           "elliptical_weight", "feather_weight", "invert", "paste_back", "region_transform", "run_in_regions",
           "scaled", "similarity_from_points", "support_box", "translation", "warp_in"]

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # x, y, w, h in photo pixels
REGION_SOURCES = ("user", "detected")


@dataclass(frozen=True)
class Region:
    """A part of the photo: a box, optionally with landmarks, in photo pixels.

    landmarks: five points (left eye, right eye, nose tip, left and right mouth corners) or three (left
    eye, right eye, mouth centre), or none. "Left" is the person's left as seen in the photo: the point with
    the smaller x on an upright face."""

    box: Box
    landmarks: tuple[Point, ...] = ()
    source: str = "user"
    score: float | None = None

    def __post_init__(self) -> None:
        if len(self.box) != 4:
            raise ValueError(f"a region's box is (x, y, w, h), got {self.box!r}")
        if len(self.landmarks) not in (0, 3, 5):
            raise ValueError(f"a region has 0, 3 or 5 landmarks, got {len(self.landmarks)}")
        if self.source not in REGION_SOURCES:
            raise ValueError(f"region source must be one of {REGION_SOURCES}, got {self.source!r}")

    @property
    def int_box(self) -> tuple[int, int, int, int]:
        x, y, w, h = self.box
        return int(round(x)), int(round(y)), int(round(w)), int(round(h))


def elliptical_weight(size: Size, *, radii: tuple[float, float] = (0.5, 0.5), center: tuple[float, float] = (0.5, 0.5),
                      softness: float = 0.25) -> np.ndarray:
    """size float32 weight (height x width): 1 inside an ellipse, falling smoothly to 0 at its rim.

    center and radii are fractions of the crop's width and height (the default is the inscribed ellipse);
    the fall-off spans the outer `softness` share of the radius (0 = a hard edge)."""
    cw, ch = crop_size(size)
    rx, ry = radii
    if not (rx > 0 and ry > 0 and 0 <= softness <= 1):
        raise RegionError(f"elliptical_weight needs positive radii and softness in [0, 1], got {radii}, {softness}")
    u = ((np.arange(cw) + 0.5) / cw - center[0]) / rx
    v = ((np.arange(ch) + 0.5) / ch - center[1]) / ry
    r = np.sqrt(v[:, None] ** 2 + u[None, :] ** 2)
    if softness == 0:
        return (r <= 1).astype(np.float32)
    t = np.clip((1.0 - r) / softness, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def region_transform(region: Region, size: Size, *, template: np.ndarray | Sequence[Point] | None = None,
                     margin: float = 0.0, robust: bool = True) -> np.ndarray:
    """Photo -> crop transform for a region: its landmarks aligned onto `template` (crop coordinates) when
    both are given with the same count, else its box (grown by margin, made square) onto the crop."""
    if template is not None and region.landmarks and len(region.landmarks) == len(template):
        return similarity_from_points(region.landmarks, template, robust=robust)
    return box_transform(region.box, size, margin=margin, square=True)


def _crop_scale(result: np.ndarray, crop: np.ndarray) -> int:
    """The integer k with result = k x crop in height and width (channels equal), or a RegionError."""
    h, w = crop.shape[:2]
    rh, rw = result.shape[:2] if result.ndim >= 2 else (0, 0)
    k = rh // h if h else 0
    if result.ndim != crop.ndim or result.shape[2:] != crop.shape[2:] or k < 1 or (rh, rw) != (k * h, k * w):
        raise RegionError(f"the region function returned shape {result.shape} for a crop of {crop.shape}: it must "
                          f"return the same channels at the crop's size or an integer multiple of it")
    return k


def run_in_regions(image: np.ndarray, transforms: Sequence[np.ndarray], size: Size,
                   fn: Callable[[np.ndarray], np.ndarray], *, feather: float,
                   weights: np.ndarray | Sequence[np.ndarray | None] | None = None,
                   background: np.ndarray | None = None, border: str = "reflect",
                   progress: Progress = no_progress, cancel: CancelToken | None = None
                   ) -> tuple[np.ndarray, list[IntBox]]:
    """For each transform: warp a size crop out of image, run fn on it, paste the result back feathered.

    fn(crop) returns a crop of the same channels at the crop's size or k times it (an upscaling model).
    Results go into a copy of `background` (default: image), which may be larger than image (an upscaled
    photo); transforms are scaled to it and to k with `scaled`, feather (crop pixels at `size`) with k.
    Every crop is cut from the unmodified image; later regions paint over earlier ones where they overlap.
    `weights` is one map for all regions or one (or None) per region. Checks `cancel` before each region
    and calls progress(done, total, message) after each. Returns the new image and each region's changed
    box in background pixels ((0, 0, 0, 0) for a region that touches no pixel)."""
    check_array(image, "image")
    mats = [as_matrix(M) for M in transforms]
    cw, ch = crop_size(size)
    if weights is None or isinstance(weights, np.ndarray):
        per_region: list[np.ndarray | None] = [weights] * len(mats)
    else:
        per_region = list(weights)
        if len(per_region) != len(mats):
            raise RegionError(f"{len(per_region)} weight maps for {len(mats)} regions")
    target = image if background is None else check_array(background, "background")
    if target.shape[2:] != image.shape[2:]:
        raise RegionError(f"background {target.shape} and image {image.shape} must have the same channels")
    s = (target.shape[1] / image.shape[1], target.shape[0] / image.shape[0])
    out = target.copy()
    boxes: list[IntBox] = []
    for i, M in enumerate(mats):
        if cancel is not None:
            cancel.raise_if_cancelled()
        if support_box(scaled(M, s), (cw, ch), (target.shape[1], target.shape[0])) == EMPTY_BOX:
            boxes.append(EMPTY_BOX)  # nothing of this region lands in the photo: skip the model
        else:
            crop = warp_in(image, M, (cw, ch), border=border)
            result = np.asarray(fn(crop))
            k = _crop_scale(result, crop)
            if result.dtype.kind == "f" and not np.all(np.isfinite(result)):
                raise RegionError(f"the region function returned NaN or infinity for region {i + 1}")
            _, box = paste_back(out, result, scaled(M, s, crop=k), feather=feather * k, weight=per_region[i], out=out)
            boxes.append(box)
        progress(i + 1, len(mats), f"Region {i + 1} of {len(mats)}")
    return out, boxes
