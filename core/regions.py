"""Regions of a photo an engine works on (face boxes, landmarks), and moving pixels in and out of them."""

from __future__ import annotations

from dataclasses import dataclass

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
