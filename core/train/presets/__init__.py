"""The presets the trainer knows, by name. Adding one: write a module with a PRESET (see base.py) and
list it in BUILTIN_PRESET_MODULES; tests and plugins may also call register()."""

from __future__ import annotations

import importlib

from core.train.config import ConfigError
from core.train.presets.base import BuiltModel, ModelOutput, Preset, StepContext

BUILTIN_PRESET_MODULES = (
    "core.train.presets.zero_dce",
    "core.train.presets.zero_dce_pp",
    "core.train.presets.lowlight_gain_unet",
    "core.train.presets.gamma_net",
    "core.train.presets.image_unet",
    "core.train.presets.lbam",
    "core.train.presets.gpen",
)

_extra: dict[str, Preset] = {}


def builtin_presets() -> dict[str, Preset]:
    presets = {}
    for module in BUILTIN_PRESET_MODULES:
        preset = importlib.import_module(module).PRESET
        presets[preset.name] = preset
    return presets


def all_presets() -> dict[str, Preset]:
    return {**builtin_presets(), **_extra}


def get_preset(name: str) -> Preset:
    presets = all_presets()
    if name not in presets:
        raise ConfigError(f"Unknown preset {name!r}; known presets: {', '.join(sorted(presets))}.")
    return presets[name]


def register(preset: Preset) -> None:
    """Add a preset at run time (replaces one of the same name)."""
    _extra[preset.name] = preset


def unregister(name: str) -> None:
    _extra.pop(name, None)


__all__ = ["BuiltModel", "ModelOutput", "Preset", "StepContext", "all_presets", "get_preset", "register",
           "unregister"]
