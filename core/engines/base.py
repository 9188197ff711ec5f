"""The Engine protocol: every restoration method, classical or neural, looks like this from outside."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import numpy as np

from core.errors import RestoraError
from core.jobs import CancelToken, Progress, no_progress
from core.masks import check_mask
from core.photo import Photo

TASKS = ("lowlight", "inpaint", "face", "general")
PARAM_TYPES = ("float", "int", "bool", "choice", "str")


class ParamError(RestoraError, ValueError):
    """A parameter value is missing, of the wrong type, or out of range."""


class RequirementError(RestoraError, ValueError):
    """The photo or mask does not meet the engine's requirements."""


@dataclass(frozen=True)
class Param:
    """One engine parameter: enough for the GUI to build a control and for the CLI to parse text."""

    name: str
    type: str
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    label: str | None = None

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"parameter {self.name}: unknown type {self.type!r}")

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def coerce(self, value: Any) -> Any:
        """The value as this parameter's type, checked against its range; strings from the CLI are parsed."""
        try:
            if self.type == "float":
                v: Any = float(value)
            elif self.type == "int":
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                v = int(str(value)) if isinstance(value, str) else int(value)
            elif self.type == "bool":
                v = _parse_bool(value)
            else:
                v = str(value)
        except (TypeError, ValueError):
            raise ParamError(f"{self.name} must be {_article(self.type)}, got {value!r}") from None
        if self.type in ("float", "int"):
            if self.min is not None and v < self.min or self.max is not None and v > self.max:
                raise ParamError(f"{self.name} must lie between {self.min} and {self.max}, got {v}")
        if self.type == "choice" and v not in self.choices:
            raise ParamError(f"{self.name} must be one of {', '.join(self.choices)}, got {v!r}")
        return v

    def describe(self) -> str:
        bits = [self.type]
        if self.type == "choice":
            bits.append("|".join(self.choices))
        elif self.min is not None or self.max is not None:
            bits.append(f"{self.min}..{self.max}")
        return f"{self.name}={self.default!r} ({', '.join(bits)}) {self.help}".rstrip()


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError


def _article(kind: str) -> str:
    return {"int": "a whole number", "float": "a number", "bool": "true or false",
            "choice": "one of the listed choices", "str": "text"}[kind]


@dataclass(frozen=True)
class Requirements:
    needs_mask: bool = False
    size_multiple: int = 1  # the engine pads internally; callers need not
    square: bool = False  # the network works on square inputs (the engine resizes or crops internally)
    min_size: int = 1  # the smallest side, in pixels, the engine accepts


@dataclass
class EngineResult:
    """What a run returns: the restored photo, plus regions it found (faces) and notes for the user."""

    photo: Photo
    regions: list[tuple[int, int, int, int]] = field(default_factory=list)  # x, y, w, h
    notes: list[str] = field(default_factory=list)


class Engine(ABC):
    """Base class of every engine. Subclasses set the class attributes and implement `process`."""

    id: ClassVar[str]
    task: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    requirements: ClassVar[Requirements] = Requirements()

    def __init__(self, device: Any = None) -> None:
        self.device = device  # a torch.device or name; classical engines ignore it

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {p.name: p.default for p in cls.params}

    @classmethod
    def resolve_params(cls, values: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with the given values, each coerced and range-checked; unknown names are errors."""
        known = {p.name: p for p in cls.params}
        resolved = cls.defaults()
        for name, value in (values or {}).items():
            if name not in known:
                hint = f"; it takes {', '.join(known)}" if known else "; it takes none"
                raise ParamError(f"{cls.id} has no parameter {name!r}{hint}")
            resolved[name] = known[name].coerce(value)
        return resolved

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

    def run(self, photo: Photo, mask: np.ndarray | None = None, params: Mapping[str, Any] | None = None,
            progress: Progress = no_progress, cancel: CancelToken | None = None) -> EngineResult:
        """Validate, then process. Raises CancelledError when `cancel` fires; never returns a partial result."""
        resolved = self.resolve_params(params)
        checked = self.check(photo, mask)
        token = cancel or CancelToken()
        token.raise_if_cancelled()
        result = self.process(photo, checked, resolved, progress, token)
        if isinstance(result, Photo):
            result = EngineResult(photo=result)
        token.raise_if_cancelled()
        return result

    @abstractmethod
    def process(self, photo: Photo, mask: np.ndarray | None, params: dict[str, Any], progress: Progress,
                cancel: CancelToken) -> EngineResult | Photo:
        """Do the work; `mask` is already checked (uint8, 255 = fill)."""
