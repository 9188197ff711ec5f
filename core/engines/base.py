"""The Engine protocol: every restoration method, classical or neural, looks like this from outside.

An engine has an id, a task, a title, a parameter schema and requirements, and `run(request)`. Built-in
engines declare these as class attributes; engines whose choices depend on the model store (which weight
file, which installed face model) set them in __init__, from what they are given at creation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from core.engines.request import EngineRequest, EngineResult
from core.errors import RestoraError
from core.kinds import TASKS
from core.masks import check_mask
from core.params import Param, ParamError, resolve
from core.photo import Photo

__all__ = ["Engine", "EngineRequest", "EngineResult", "Param", "ParamError", "Requirements", "RequirementError",
           "TASKS"]


class RequirementError(RestoraError, ValueError):
    """The photo or mask does not meet the engine's requirements."""


@dataclass(frozen=True)
class Requirements:
    needs_mask: bool = False
    size_multiple: int = 1  # the engine pads internally; callers need not
    square: bool = False  # the network works on square inputs (the engine resizes or crops internally)
    min_size: int = 1  # the smallest side, in pixels, the engine accepts
    needs_regions: bool = False  # the engine works only inside regions the user drew or a detector found


class Engine(ABC):
    """Base of every engine. Subclasses set the attributes (on the class or in __init__) and implement
    `process`."""

    id: str
    task: str
    title: str
    description: str = ""
    params: tuple[Param, ...] = ()
    requirements: Requirements = Requirements()

    def __init__(self, device: Any = None) -> None:
        self.device = device  # a torch.device or name; classical engines ignore it
        self.factory: Callable[..., Engine] | None = None  # set by the registry: how to make another one

    def on_device(self, device: Any) -> "Engine":
        """A fresh engine like this one, to run on `device` (weights load on its first run)."""
        make = self.factory or type(self)
        engine = make(device=device)
        engine.factory = self.factory
        return engine

    def unavailable(self) -> str | None:
        """Why this engine cannot run now (no weights anywhere, say), or None when it can."""
        return None

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def resolve_params(self, values: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with the given values, each coerced and range-checked; unknown names are errors."""
        return resolve(self.params, values, self.id)

    def check(self, photo: Photo, mask: np.ndarray | None) -> np.ndarray | None:
        req = self.requirements
        if min(photo.height, photo.width) < req.min_size:
            raise RequirementError(f"{self.title} needs photos at least {req.min_size} pixels on each side; "
                                   f"this one is {photo.width} x {photo.height}.")
        if mask is None:
            if req.needs_mask:
                raise RequirementError(f"{self.title} needs a mask: paint the area to fill, or pass --mask.")
            return None
        return check_mask(mask, (photo.height, photo.width))

    def run(self, request: EngineRequest) -> EngineResult:
        """Validate, then process. Raises CancelledError when the request's token fires; never returns a
        partial result."""
        resolved = self.resolve_params(request.params)
        checked = self.check(request.photo, request.mask)
        request.cancel.raise_if_cancelled()
        result = self.process(request.with_changes(params=resolved, mask=checked))
        if isinstance(result, Photo):
            result = EngineResult(photo=result)
        request.cancel.raise_if_cancelled()
        return result

    @abstractmethod
    def process(self, request: EngineRequest) -> EngineResult | Photo:
        """Do the work. The request's params are resolved and its mask checked (uint8, 255 = fill)."""
