"""What a face detector returns (DetectedFace) and the working copy detectors search on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from core.regions import Region

POSES = ("frontal", "profile")
LANDMARK_ORIGINS = ("detector", "eyes", "box")


@dataclass(frozen=True)
class DetectedFace:
    """A face a detector found: its region (box, five landmarks, source "detected", score), the detector's
    name, where the landmarks came from ("detector": the detector itself; "eyes": two detected eyes plus the
    template's proportions; "box": the face-box model) and the pose."""

    region: Region
    detector: str
    landmarks_from: str = "detector"
    pose: str = "frontal"

    def __post_init__(self) -> None:
        if self.landmarks_from not in LANDMARK_ORIGINS:
            raise ValueError(f"landmarks_from is one of {LANDMARK_ORIGINS}, got {self.landmarks_from!r}")
        if self.pose not in POSES:
            raise ValueError(f"pose is one of {POSES}, got {self.pose!r}")


def to_work(rgb: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """A copy of rgb no longer than long_side (area-averaged), and its scale (work pixels per photo pixel)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    if scale >= 1.0:
        return rgb, 1.0
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    small = cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA)
    return small, size[0] / w


def photo_point(u: float, v: float, scale: float) -> tuple[float, float]:
    """A point of the working copy in photo coordinates (pixel centres at integers in both)."""
    return (u + 0.5) / scale - 0.5, (v + 0.5) / scale - 0.5


def photo_box(rect: Sequence[float] | np.ndarray, scale: float) -> tuple[float, float, float, float]:
    """A working-copy box (x, y, w, h) in photo pixels (edges onto edges)."""
    x, y, w, h = (float(v) for v in rect)
    return x / scale, y / scale, w / scale, h / scale
