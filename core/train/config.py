"""Training configuration: dataclasses filled by a preset, read from TOML, frozen into the run folder.

A config file names its preset and overrides only what it wants; every other field comes from the
preset's defaults. The run folder keeps the complete, resolved config (written by `dump_toml`, our own
small TOML writer) so a run can be reproduced or resumed from its folder alone.
Python 3.10 needs the `tomli` package (3.11+ has `tomllib`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

from core.errors import RestoraError


class ConfigError(RestoraError, ValueError):
    """A training config is missing, malformed, or names something that does not exist."""


DATA_KINDS = ("paired", "unpaired", "inpaint", "face", "synthetic_lowlight", "lowlight_auto")
SCHEDULERS = ("cosine", "step", "constant")
GAN_LOSSES = ("nonsaturating", "hinge", "wgan")
PENALTIES = ("r1", "wgan-gp", "none")
MASK_KINDS = ("strokes", "irregular")  # core.train.masks: random_mask | irregular_mask
MONITORS = {"psnr": "max", "ssim": "max", "val_loss": "min"}


@dataclass
class DataConfig:
    kind: str = "paired"  # one of DATA_KINDS
    train: str = ""  # folder (paired: with low/ and high/ inside)
    val: str = ""  # folder; empty: validate on the training folder (deterministic centre crops)
    crop: int = 256
    batch_size: int = 8
    val_batch_size: int = 4
    val_count: int = 8  # validation images used at most
    previews: int = 4  # validation images written as previews
    workers: int = 2
    flips: bool = True
    # face degradation (blur, downsample, noise, JPEG), ranges [low, high]
    blur_sigma: list[float] = field(default_factory=lambda: [0.1, 10.0])
    downscale: list[float] = field(default_factory=lambda: [1.0, 8.0])
    noise_sigma: list[float] = field(default_factory=lambda: [0.0, 15.0])  # in 8-bit levels
    jpeg_quality: list[int] = field(default_factory=lambda: [60, 100])
    # inpainting masks
    mask_strokes: list[int] = field(default_factory=lambda: [1, 4])
    mask_boxes: list[int] = field(default_factory=lambda: [0, 2])
    mask_max_fraction: float = 0.5
    mask_kind: str = "strokes"  # one of MASK_KINDS; "irregular" ignores mask_strokes and mask_boxes


@dataclass
class OptimConfig:
    g_lr: float = 2e-4
    d_lr: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.99])
    d_betas: list[float] = field(default_factory=list)  # the discriminator's; empty: the same as betas
    weight_decay: float = 0.0
    scheduler: str = "cosine"  # one of SCHEDULERS
    g_lr_min: float = 1e-6  # cosine floor
    d_lr_min: float = 5e-7
    warmup_steps: int = 0  # linear warm-up from 0
    step_size: int = 10000  # "step" scheduler
    step_gamma: float = 0.5
    grad_clip: float = 0.0  # max gradient norm; 0 = off
    ema_decay: float = 0.0  # 0 = no EMA weights


@dataclass
class GanConfig:
    enabled: bool = False
    loss: str = "nonsaturating"  # one of GAN_LOSSES
    weight: float = 0.1  # adversarial term in the generator's total
    penalty: str = "r1"  # one of PENALTIES
    penalty_weight: float = 10.0
    penalty_every: int = 1  # lazy regularisation: apply every N discriminator steps, scaled by N
    d_warmup_epochs: int = 0  # epochs where only the discriminator trains


@dataclass
class TrainLoopConfig:
    max_steps: int = 10000
    log_every: int = 50
    val_every: int = 1000
    checkpoint_every: int = 1000
    early_stop_patience: int = 0  # validations without improvement; 0 = off
    early_stop_min_delta: float = 0.0
    monitor: str = "psnr"  # one of MONITORS
    amp: bool = True  # mixed precision, CUDA only
    device: str = "auto"
    seed: int = 0


@dataclass
class RunConfig:
    preset: str
    name: str = ""  # run-folder name prefix; empty: the preset name
    vgg16_weights: str = ""  # state dict for the perceptual loss (needed only when loss.perceptual > 0)
    init_weights: str = ""  # generator weights to start from (fine-tuning); empty: the preset's initialisation
    data: DataConfig = field(default_factory=DataConfig)
    model: dict[str, Any] = field(default_factory=dict)  # preset-specific network options
    loss: dict[str, float] = field(default_factory=dict)  # loss name -> weight (0 = unused)
    optim: OptimConfig = field(default_factory=OptimConfig)
    gan: GanConfig = field(default_factory=GanConfig)
    train: TrainLoopConfig = field(default_factory=TrainLoopConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------- merging

def merge(base: RunConfig, overrides: Mapping[str, Any]) -> RunConfig:
    """A copy of `base` with `overrides` (a nested mapping, as read from TOML) applied and checked."""
    merged = _merge_dataclass(base, overrides, "")
    validate(merged)
    return merged


def _merge_dataclass(obj: Any, values: Mapping[str, Any], where: str) -> Any:
    if not isinstance(values, Mapping):
        raise ConfigError(f"[{where.rstrip('.')}] must be a table, got {values!r}.")
    known = {f.name: f for f in dataclasses.fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{where}{key}"
        if key not in known:
            raise ConfigError(f"Unknown config key {name!r}; known keys here: {', '.join(sorted(known))}.")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            changes[key] = _merge_dataclass(current, value, f"{name}.")
        elif isinstance(current, dict):
            changes[key] = _merge_options(current, value, name)
        else:
            changes[key] = _coerce(current, value, name)
    return dataclasses.replace(obj, **changes) if changes else dataclasses.replace(obj)


def _merge_options(current: dict[str, Any], values: Any, where: str) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        raise ConfigError(f"[{where}] must be a table, got {values!r}.")
    out = dict(current)
    for key, value in values.items():
        if key not in current:
            raise ConfigError(f"Unknown key {where}.{key}; this preset knows: {', '.join(sorted(current)) or 'none'}.")
        out[key] = _coerce(current[key], value, f"{where}.{key}")
    return out


def _coerce(current: Any, value: Any, name: str) -> Any:
    """The value with the type of the default it replaces (ints are accepted for floats)."""
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}.")
        return value
    if isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer, got {value!r}.")
        return value
    if isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{name} must be a number, got {value!r}.")
        return float(value)
    if isinstance(current, str):
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string, got {value!r}.")
        return value
    if isinstance(current, list):
        if not current and isinstance(value, list):  # an empty default (d_betas) takes numbers, any count
            return [_coerce(0.0, v, f"{name}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, list) or len(value) != len(current):
            raise ConfigError(f"{name} must be a list of {len(current)} values, got {value!r}.")
        return [_coerce(c, v, f"{name}[{i}]") for i, (c, v) in enumerate(zip(current, value))]
    return value


def validate(cfg: RunConfig) -> None:
    """Raise ConfigError for values no run could use."""
    d, o, g, t = cfg.data, cfg.optim, cfg.gan, cfg.train
    checks = [
        (d.kind in DATA_KINDS, f"data.kind must be one of {', '.join(DATA_KINDS)}, got {d.kind!r}"),
        (d.crop >= 8, f"data.crop must be at least 8, got {d.crop}"),
        (d.batch_size >= 1 and d.val_batch_size >= 1, "data.batch_size and data.val_batch_size must be >= 1"),
        (d.workers >= 0, "data.workers must be >= 0"),
        (d.val_count >= 1 and d.previews >= 0, "data.val_count must be >= 1 and data.previews >= 0"),
        (0.0 < d.mask_max_fraction <= 1.0, "data.mask_max_fraction must be in (0, 1]"),
        (d.mask_kind in MASK_KINDS, f"data.mask_kind must be one of {', '.join(MASK_KINDS)}"),
        (len(o.d_betas) in (0, 2), "optim.d_betas must be empty (the same as betas) or two numbers"),
        (o.scheduler in SCHEDULERS, f"optim.scheduler must be one of {', '.join(SCHEDULERS)}"),
        (o.g_lr >= 0 and o.d_lr >= 0 and o.g_lr_min >= 0 and o.d_lr_min >= 0, "learning rates must be >= 0"),
        (0.0 <= o.ema_decay < 1.0, "optim.ema_decay must be in [0, 1)"),
        (o.grad_clip >= 0, "optim.grad_clip must be >= 0"),
        (o.warmup_steps >= 0 and o.step_size >= 1, "optim.warmup_steps must be >= 0 and optim.step_size >= 1"),
        (g.loss in GAN_LOSSES, f"gan.loss must be one of {', '.join(GAN_LOSSES)}"),
        (g.penalty in PENALTIES, f"gan.penalty must be one of {', '.join(PENALTIES)}"),
        (g.penalty_every >= 1 and g.d_warmup_epochs >= 0, "gan.penalty_every must be >= 1, gan.d_warmup_epochs >= 0"),
        (t.max_steps >= 1, "train.max_steps must be >= 1"),
        (t.log_every >= 1 and t.val_every >= 1 and t.checkpoint_every >= 1,
         "train.log_every, train.val_every and train.checkpoint_every must be >= 1"),
        (t.early_stop_patience >= 0 and t.early_stop_min_delta >= 0, "early-stopping settings must be >= 0"),
        (t.monitor in MONITORS, f"train.monitor must be one of {', '.join(MONITORS)}"),
        (all(w >= 0 for w in cfg.loss.values()), "loss weights must be >= 0"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message + ".")


# --------------------------------------------------------------------------------------------- reading

def read_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"No config file at {p}.")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p} is not valid TOML: {e}.") from e


def parse_override(text: str) -> tuple[list[str], Any]:
    """'optim.g_lr=1e-4' -> (['optim', 'g_lr'], 0.0001); a value that is not TOML is taken as a string."""
    if "=" not in text:
        raise ConfigError(f"--set needs key=value, got {text!r}.")
    key, raw = (s.strip() for s in text.split("=", 1))
    if not key:
        raise ConfigError(f"--set needs a key before '=', got {text!r}.")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.split("."), value


def nest(path: list[str], value: Any, into: dict[str, Any] | None = None) -> dict[str, Any]:
    out = into if into is not None else {}
    node = out
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{'.'.join(path)} clashes with a value already set.")
    node[path[-1]] = value
    return out


# --------------------------------------------------------------------------------------------- writing

def dump_toml(data: Mapping[str, Any]) -> str:
    """A small TOML writer for configs: scalars and lists first, then one table per nested mapping.

    None values are left out (TOML has no null); nested mappings become [a.b] tables.
    """
    lines: list[str] = []
    _dump_table(data, [], lines)
    return "\n".join(lines).strip() + "\n"


def _dump_table(data: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in data.items() if not isinstance(v, Mapping) and v is not None}
    tables = {k: v for k, v in data.items() if isinstance(v, Mapping)}
    if path and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    for key, value in scalars.items():
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables.items():
        _dump_table(value, path + [str(key)], lines)


def _key(key: str) -> str:
    bare = key and all(c.isalnum() or c in "_-" for c in key)
    return key if bare else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(c in text for c in ".eE") else text + ".0"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Path):
        return json.dumps(str(value), ensure_ascii=False)
    raise ConfigError(f"Cannot write {type(value).__name__} value {value!r} to TOML.")


def config_to_toml(cfg: RunConfig) -> str:
    return dump_toml(cfg.to_dict())
