"""User settings: a small JSON file in the config folder, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from core import paths

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
    target = settings_path()
    fd, tmp = tempfile.mkstemp(prefix=".settings.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
