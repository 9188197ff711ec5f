"""Where Restora keeps its files: config, data, models, cache, training runs.

RESTORA_HOME moves them all under one folder (tests use it); otherwise platformdirs decides.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "Restora"


def home_override() -> Path | None:
    value = os.environ.get("RESTORA_HOME")
    return Path(value).expanduser() if value else None


def _folder(kind: str) -> Path:
    home = home_override()
    if home is not None:
        path = home / kind
    elif kind == "config":
        path = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    elif kind == "cache":
        path = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    else:
        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    return _folder("config")


def data_dir() -> Path:
    return _folder("data")


def models_dir() -> Path:
    return _folder("models")


def cache_dir() -> Path:
    return _folder("cache")


def runs_dir() -> Path:
    return _folder("runs")


def resources_dir() -> Path:
    """The project's own resources/ (style sheet, icons, default weights)."""
    return Path(__file__).resolve().parent.parent / "resources"


def all_folders() -> dict[str, Path]:
    return {"config": config_dir(), "data": data_dir(), "models": models_dir(), "cache": cache_dir(),
            "runs": runs_dir(), "resources": resources_dir()}
