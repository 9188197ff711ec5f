"""Finding the engines the restore panel offers: the built-in ones plus those for imported models.

Called in a worker thread: engine modules may import torch, which must never delay the window.
"""

from __future__ import annotations

from typing import Any


def discover_engines(progress: Any = None, cancel: Any = None) -> tuple[list[Any], list[str]]:
    """(the engines that can run, notes about what could not be listed). An engine without any weights
    (Zero-DCE before its official checkpoint is imported) is not offered."""
    from core.engines.registry import default_registry

    registry = default_registry()
    return registry.available(), list(registry.notes)
