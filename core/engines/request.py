"""What an engine is asked to do (EngineRequest) and what it returns (EngineResult)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

from core.jobs import CancelToken, Progress, no_progress
from core.photo import Photo
from core.regions import Region


@dataclass(frozen=True)
class EngineRequest:
    """One run: the photo, the mask (uint8, 255 = fill) or None, the regions a user drew (face boxes or
    landmarks) or None, the parameter values, and the progress callback and cancel token."""

    photo: Photo
    mask: np.ndarray | None = None
    regions: tuple[Region, ...] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    progress: Progress = no_progress
    cancel: CancelToken = field(default_factory=CancelToken)

    def with_changes(self, **changes: Any) -> "EngineRequest":
        return replace(self, **changes)


@dataclass(frozen=True)
class FaceReport:
    """What a face engine did with one face: where it is, who found it, what restored it, or why not."""

    index: int  # 1-based, in the order the faces were handled
    box: tuple[float, float, float, float]  # x, y, w, h in photo pixels
    landmarks: tuple[tuple[float, float], ...] = ()
    detector: str = "user"  # "YuNet", "Haar", "Haar (profile)", "user", "earlier detection"
    score: float | None = None  # the detector's (YuNet: 0..1; Haar: votes)
    restorer: str = ""
    status: str = "restored"  # restored | skipped
    reason: str = ""  # why it was skipped, or how it was aligned when that is worth knowing

    def describe(self) -> str:
        x, y, w, h = (int(round(v)) for v in self.box)
        score = "" if self.score is None else f" {self.score:.2f}" if self.score <= 1 else f" {self.score:.0f}"
        what = f"restored by {self.restorer}" if self.status == "restored" else "skipped"
        why = f" ({self.reason})" if self.reason else ""
        return f"face {self.index} at {x},{y} {w}x{h} [{self.detector}{score}]: {what}{why}"


@dataclass
class EngineResult:
    """The restored photo, the regions the engine worked on or found (faces), notes for the user, and for a
    face engine a report per face."""

    photo: Photo
    regions: list[Region] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    faces: list[FaceReport] = field(default_factory=list)
