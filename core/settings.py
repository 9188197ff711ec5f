"""User settings: a small JSON file in the config folder, written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core import paths
from core.fileio import atomic_write_text

SETTINGS_FILE = "settings.json"


def settings_path() -> Path:
    return paths.config_dir() / SETTINGS_FILE


def load_settings() -> dict[str, Any]:
    """The saved settings; a missing or damaged file gives empty settings, never an error at start-up."""
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def get_setting(key: str, default: Any = None) -> Any:
    return load_settings().get(key, default)


def set_setting(key: str, value: Any) -> None:
    data = load_settings()
    if value is None:
        data.pop(key, None)
    else:
        data[key] = value
    atomic_write_text(settings_path(), json.dumps(data, indent=2, sort_keys=True))
