"""A parameter schema: enough for the GUI to build a control, for the CLI to parse text, and for a model
descriptor to declare a network's runtime arguments (CodeFormer's fidelity, for example)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

from core.errors import RestoraError

PARAM_TYPES = ("float", "int", "bool", "choice", "str")


class ParamError(RestoraError, ValueError):
    """A parameter value is missing, of the wrong type, or out of range."""


@dataclass(frozen=True)
class Param:
    """One parameter: name, type, default, range or choices, help text and an optional label."""

    name: str
    type: str
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    label: str | None = None
    choice_titles: tuple[str, ...] = ()  # what the GUI shows for each choice (defaults to the choice itself)

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"parameter {self.name}: unknown type {self.type!r}")
        if self.choice_titles and len(self.choice_titles) != len(self.choices):
            raise ValueError(f"parameter {self.name}: one title per choice")

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def choice_title(self, choice: str) -> str:
        if self.choice_titles and choice in self.choices:
            return self.choice_titles[self.choices.index(choice)]
        return choice

    def coerce(self, value: Any) -> Any:
        """The value as this parameter's type, checked against its range; strings from the CLI are parsed."""
        try:
            if self.type == "float":
                v: Any = float(value)
            elif self.type == "int":
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                v = int(str(value).strip()) if isinstance(value, str) else int(value)
            elif self.type == "bool":
                v = _parse_bool(value)
            else:
                v = str(value)
        except (TypeError, ValueError, OverflowError):
            raise ParamError(f"{self.name} must be {_article(self.type)}, got {value!r}") from None
        if self.type == "float" and not math.isfinite(v):
            raise ParamError(f"{self.name} must be a finite number, got {value!r}")
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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["choices"] = list(self.choices)
        data["choice_titles"] = list(self.choice_titles)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Param":
        values = dict(data)
        values["choices"] = tuple(values.get("choices") or ())
        values["choice_titles"] = tuple(values.get("choice_titles") or ())
        return cls(**values)


def resolve(params: Sequence[Param], values: Mapping[str, Any] | None, owner: str) -> dict[str, Any]:
    """Defaults overlaid with the given values, each coerced and range-checked; unknown names are errors."""
    known = {p.name: p for p in params}
    resolved = {p.name: p.default for p in params}
    for name, value in (values or {}).items():
        if name not in known:
            hint = f"; it takes {', '.join(known)}" if known else "; it takes none"
            raise ParamError(f"{owner} has no parameter {name!r}{hint}")
        resolved[name] = known[name].coerce(value)
    return resolved


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    """KEY=VALUE texts (the command line's --param) as a dict; the engine's schema checks the values."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ParamError(f"--param takes KEY=VALUE, got {pair!r}")
        params[key.strip()] = value.strip()
    return params


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
