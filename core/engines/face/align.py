"""Alignment: a face's landmarks onto the five-point template its restorer was trained on.

Two templates, in 512 x 512 crop pixels (x, y): left eye, right eye, nose tip, left and right mouth corner
("left" = the smaller x in the photo, as in core.regions.Region):
- "ffhq": the FFHQ template CodeFormer and GFPGAN (and RestoreFormer) align to (facexlib's face_template);
- "gpen": GPEN's looser one (its face takes less of the crop).
A template is scaled to the model's input side (SizeRule.fixed: 512, or 256 for the small GPEN). The
photo -> crop transform is a robust least-squares similarity (core.regions.similarity_from_points: one
outlier landmark may be dropped). Three landmarks (two eyes and the mouth centre) map to the template's eyes
and the middle of its mouth corners. A region with a box only gets landmarks from a fixed model of where
eyes, nose and mouth sit in a face box.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from core.regions import Region, RegionError, similarity_from_points

TEMPLATE_SIDE = 512
TEMPLATES: dict[str, np.ndarray] = {
    "ffhq": np.array([[192.98138, 239.94708], [318.90277, 240.1936], [256.63416, 314.01935],
                      [201.26117, 371.41043], [313.08905, 371.15118]]),
    "gpen": np.array([[202.041, 242.884], [309.430, 242.290], [256.077, 303.959],
                      [211.960, 366.828], [300.891, 366.336]]),
}

# Where the five points sit in a face box (fractions of its width and height): the shape of a frontal face
# box as OpenCV's Haar cascade or a person draws it (brows to chin, cheek to cheek).
BOX_LANDMARKS = np.array([[0.31, 0.40], [0.69, 0.40], [0.50, 0.58], [0.35, 0.76], [0.65, 0.76]])
# A region's landmarks count only while they lie inside its box grown by this share of its size (a box the
# user moved away from the points a detector found is aligned by the box).
LANDMARK_SLACK = 0.35


def template(name: str, side: int) -> np.ndarray:
    """The five template points (float64, 5 x 2) for a side x side crop."""
    if name not in TEMPLATES:
        raise RegionError(f"no face template {name!r}; known: {', '.join(TEMPLATES)}")
    if side < 1:
        raise RegionError(f"a crop side is positive, got {side}")
    return TEMPLATES[name] * (side / TEMPLATE_SIDE)  # as the official code scales it (half for 256)


def three_point(points: np.ndarray) -> np.ndarray:
    """Two eyes and the mouth centre of five points (the 3-landmark form)."""
    p = np.asarray(points, dtype=np.float64)
    return np.stack([p[0], p[1], (p[3] + p[4]) / 2])


def box_landmarks(box: Sequence[float]) -> np.ndarray:
    """The five landmarks the face-box model puts in a box (x, y, w, h)."""
    x, y, w, h = (float(v) for v in box)
    return np.column_stack([x - 0.5 + BOX_LANDMARKS[:, 0] * w, y - 0.5 + BOX_LANDMARKS[:, 1] * h])


def eyes_to_five(left: Sequence[float], right: Sequence[float], name: str = "ffhq") -> np.ndarray:
    """Five landmarks from the two eyes alone: nose and mouth corners placed from the eye line with the
    template's own proportions (so aligning them is aligning the eyes)."""
    t = TEMPLATES[name]
    le, re = np.asarray(left, dtype=np.float64), np.asarray(right, dtype=np.float64)
    # the similarity taking the template's eyes onto these eyes maps the rest of the template too
    M = similarity_from_points(t[:2], np.stack([le, re]), robust=False)
    return t @ M[:, :2].T + M[:, 2]


def usable_landmarks(region: Region) -> np.ndarray | None:
    """The region's landmarks (3 or 5 points) when they are finite and inside its (slightly grown) box."""
    if not region.landmarks:
        return None
    p = np.asarray(region.landmarks, dtype=np.float64)
    if not np.all(np.isfinite(p)):
        return None
    x, y, w, h = region.box
    gx, gy = LANDMARK_SLACK * w, LANDMARK_SLACK * h
    inside = (p[:, 0] >= x - gx) & (p[:, 0] <= x + w + gx) & (p[:, 1] >= y - gy) & (p[:, 1] <= y + h + gy)
    return p if bool(inside.all()) else None


def alignment(region: Region, name: str, side: int) -> tuple[np.ndarray, str]:
    """(photo -> crop transform onto the `name` template at side x side, what it was fitted from:
    "landmarks" or "box")."""
    dst = template(name, side)
    points = usable_landmarks(region)
    how = "landmarks"
    if points is None:
        points, how = box_landmarks(region.box), "box"
    if len(points) == 3:
        dst = three_point(dst)
    try:
        M = similarity_from_points(points, dst, robust=True)
    except RegionError:  # mirrored or coincident points: fall back on the box
        M, how = similarity_from_points(box_landmarks(region.box), dst, robust=True), "box"
    return M, how


def face_size(M: np.ndarray, side: int) -> float:
    """How many photo pixels the crop's side covers (the face's size in the photo)."""
    return side / math.hypot(M[0, 0], M[0, 1])
