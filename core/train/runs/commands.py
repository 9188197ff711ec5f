"""Command lines for the trainer (`main.py train ...`), the new-run form's keys, and the preset list. Torch-free
(list_presets imports the registry, and so torch, only when called)."""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from core.errors import RestoraError
from core.train.runs.layout import CONFIG_FILE, STATUS_FILE, read_status


class TrainArgsError(RestoraError):
    """Training options from the form cannot become a valid command line."""


def parse_overrides(text: str) -> dict[str, str]:
    """`key=value` pairs separated by spaces, commas or new lines (the form's "more options" box)."""
    result: dict[str, str] = {}
    for item in re.split(r"[\s,;]+", text.strip()):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise TrainArgsError(f"'{item}' is not key=value.")
        result[key.strip()] = value.strip()
    return result


def train_command(preset: str, data: str | Path, val: str | Path | None = None, out: str | Path | None = None,
                  overrides: Mapping[str, Any] | None = None, init: str | Path | None = None) -> list[str]:
    """Arguments after `main.py` that start a new run: ["train", "--preset", ..., "--set", "k=v", ...];
    `init` is a weight file to fine-tune from."""
    if not preset.strip():
        raise TrainArgsError("Choose a preset.")
    data_dir = Path(str(data).strip()).expanduser() if str(data).strip() else None
    if data_dir is None or not data_dir.is_dir():
        raise TrainArgsError(f"The dataset folder '{data}' does not exist." if data_dir else "Choose a dataset folder.")
    args = ["train", "--preset", preset.strip(), "--data", str(data_dir)]
    if val is not None and str(val).strip():
        val_dir = Path(str(val).strip()).expanduser()
        if not val_dir.is_dir():
            raise TrainArgsError(f"The validation folder '{val}' does not exist.")
        args += ["--val", str(val_dir)]
    if out is not None and str(out).strip():
        args += ["--out", str(Path(str(out).strip()).expanduser())]
    if init is not None and str(init).strip():
        init_file = Path(str(init).strip()).expanduser()
        if not init_file.is_file():
            raise TrainArgsError(f"The weight file '{init}' to start from does not exist.")
        args += ["--init", str(init_file)]
    for key, value in (overrides or {}).items():
        if not str(key).strip() or "=" in str(key) or str(value) == "":
            raise TrainArgsError(f"Bad option {key}={value}.")
        args += ["--set", f"{key}={value}"]
    return args


def resume_command(run_dir: str | Path) -> list[str]:
    run = Path(run_dir).expanduser()
    if not (run / CONFIG_FILE).is_file():
        raise TrainArgsError(f"{run} has no {CONFIG_FILE}: it cannot be resumed.")
    return ["train", "--resume", str(run)]


def find_new_run(runs_dir: str | Path, pid: int | None = None, since: float = 0.0) -> Path | None:
    """The run folder a just-started trainer created: the one whose status names its pid, else the only new one."""
    root = Path(runs_dir).expanduser()
    try:
        entries = [e for e in os.scandir(root) if e.is_dir()]
    except OSError:
        return None
    fresh = []
    for entry in entries:
        status_path = Path(entry.path) / STATUS_FILE
        if pid is not None:
            data = read_status(entry.path)
            if data is not None and data.get("pid") == pid:
                return Path(entry.path)
        try:
            created = entry.stat().st_mtime
        except OSError:
            continue
        if created >= since and (status_path.exists() or (Path(entry.path) / CONFIG_FILE).exists()):
            fresh.append(Path(entry.path))
    return fresh[0] if len(fresh) == 1 else None


# The training form's fields and the config keys they set with `--set key=value` (core/train/config.py).
FORM_KEYS = {
    "steps": "train.max_steps",
    "batch_size": "data.batch_size",
    "lr": "optim.g_lr",
    "crop": "data.crop",
    "val_every": "train.val_every",
    "device": "train.device",
}


VGG_TERMS = ("perceptual", "pool_perceptual", "style")  # loss terms computed on the user's VGG16 features
VGG_KEY = "vgg16_weights"


@dataclass(frozen=True)
class PresetInfo:
    name: str
    title: str = ""
    description: str = ""
    task: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)  # FORM_KEYS field -> the preset's value
    vgg_terms: tuple[str, ...] = ()  # the preset's loss terms that need the user's VGG16 weights file
    steps_hint: str = ""  # how the preset sets the step count when it is not a plain number


def _dotted(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, Mapping) else getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _preset_info(name: str, preset: Any) -> PresetInfo:
    defaults: dict[str, Any] = {}
    vgg_terms: tuple[str, ...] = ()
    make_defaults = getattr(preset, "defaults", None)
    if callable(make_defaults):
        try:
            config = make_defaults()
        except Exception:  # noqa: BLE001  a broken preset still shows up by name; its own run reports the error
            config = None
        for form_field, key in FORM_KEYS.items():
            value = _dotted(config, key) if config is not None else None
            if value is not None:
                defaults[form_field] = value
        loss = _dotted(config, "loss") if config is not None else None
        if isinstance(loss, Mapping):
            vgg_terms = tuple(t for t in VGG_TERMS if isinstance(loss.get(t), (int, float)) and loss[t] > 0)
    return PresetInfo(str(getattr(preset, "name", name) or name), str(getattr(preset, "title", "") or ""),
                      str(getattr(preset, "description", "") or ""), str(getattr(preset, "task", "") or ""),
                      defaults, vgg_terms, str(getattr(preset, "steps_hint", "") or ""))


def list_presets() -> list[PresetInfo]:
    """The training presets in core.train's registry, by name; [] when the training engine is absent.

    Importing the registry imports torch: call this off the GUI thread.
    """
    try:
        module = importlib.import_module("core.train.presets")
    except ModuleNotFoundError as e:
        if e.name and (e.name == "core.train" or e.name.startswith("core.train.") or e.name == "torch"):
            return []
        raise
    registry = getattr(module, "all_presets", None)
    presets = registry() if callable(registry) else {}
    return [_preset_info(name, preset) for name, preset in sorted(presets.items())]
