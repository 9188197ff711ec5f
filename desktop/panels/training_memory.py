"""Which runs the training panel had open (and which was selected), kept in core.settings across restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.settings import get_setting, set_setting

OPEN_RUNS_KEY = "training.open_runs"  # [{"path": "/abs/run", "visible": true}, ...]
CURRENT_RUN_KEY = "training.current_run"


def remembered_runs() -> tuple[list[tuple[str, bool]], str]:
    """((folder, visible) of each remembered run whose folder still exists, in order; the selected one)."""
    saved: Any = get_setting(OPEN_RUNS_KEY, [])
    runs = []
    for entry in saved if isinstance(saved, list) else []:
        path = entry.get("path") if isinstance(entry, dict) else entry
        visible = entry.get("visible", True) if isinstance(entry, dict) else True
        if isinstance(path, str) and Path(path).is_dir():
            runs.append((path, bool(visible)))
    current = get_setting(CURRENT_RUN_KEY, "")
    return runs, current if isinstance(current, str) else ""


def remember_runs(runs: list[tuple[str, bool]], current: str | None) -> None:
    """Keep these runs (folder, visible) and the selected one; writes only what changed. Raises OSError."""
    value = [{"path": path, "visible": visible} for path, visible in runs]
    if value != get_setting(OPEN_RUNS_KEY, []):
        set_setting(OPEN_RUNS_KEY, value)
    if (current or "") != get_setting(CURRENT_RUN_KEY, ""):
        set_setting(CURRENT_RUN_KEY, current or None)
