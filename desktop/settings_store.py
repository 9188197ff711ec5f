"""The window's remembered state (geometry, docks, recent files) in an INI file in Restora's config folder,
so RESTORA_HOME moves it like everything else."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

SETTINGS_FILE = "desktop.ini"
RECENT_KEY = "recent_files"
MAX_RECENT = 10


def desktop_settings() -> QSettings:
    from core.paths import config_dir

    return QSettings(str(config_dir() / SETTINGS_FILE), QSettings.Format.IniFormat)


def recent_files(settings: QSettings) -> list[str]:
    value = settings.value(RECENT_KEY, [])
    if isinstance(value, str):  # an INI file gives one entry back as a plain string
        value = [value]
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def add_recent(settings: QSettings, path: str | Path) -> list[str]:
    text = str(Path(path).resolve())
    files = [text] + [f for f in recent_files(settings) if f != text]
    settings.setValue(RECENT_KEY, files[:MAX_RECENT])
    return files[:MAX_RECENT]


def clear_recent(settings: QSettings) -> None:
    settings.setValue(RECENT_KEY, [])
