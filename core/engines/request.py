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


@dataclass
class EngineResult:
    """The restored photo, the regions the engine worked on or found (faces), and notes for the user."""

    photo: Photo
    regions: list[Region] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
