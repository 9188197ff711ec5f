"""Finding the engines the restore panel offers: the built-in ones plus those for imported models.

Called in a worker thread: engine modules may import torch, which must never delay the window.
"""

from __future__ import annotations

from typing import Any


def discover_engines(progress: Any = None, cancel: Any = None) -> tuple[list[type], list[str]]:
    """(engines, notes about what could not be loaded)."""
    from core.engines.registry import default_registry

    engines: list = list(default_registry().list())
    notes: list[str] = []
    known = {e.id for e in engines}
    try:
        from core.engines.imported import store_engines
        from core.store import ModelStore
    except ImportError:
        return engines, notes  # the model store is not part of this build yet
    try:
        for factory in store_engines(ModelStore()):
            engine = factory(device=None)
            engine.factory = factory
            if engine.id not in known:
                engines.append(engine)
                known.add(engine.id)
    except Exception as e:  # a damaged store must not hide the built-in engines
        notes.append(f"Imported models could not be listed: {e}")
    return engines, notes

