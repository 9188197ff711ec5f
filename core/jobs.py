"""How long work reports progress and stops: a Progress callback and a CancelToken.

Core work calls `progress(done, total, message)` and `cancel.raise_if_cancelled()` between tiles or
steps; the desktop layer turns these into Qt signals. Both are thread-safe and Qt-free.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Protocol

from core.errors import CancelledError


class Progress(Protocol):
    def __call__(self, done: int, total: int, message: str = "") -> None: ...


def no_progress(done: int, total: int, message: str = "") -> None:
    """A Progress that ignores everything."""


class CancelToken:
    """Set from any thread; checked by the worker between units of work."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "Cancelled by the user.") -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise CancelledError(self.reason or "Cancelled.")


@dataclass
class ScaledProgress:
    """Maps a sub-task's progress into a slice [start, start+span) of a parent's 0..total scale."""

    parent: Callable[[int, int, str], None]
    start: int
    span: int
    total: int

    def __call__(self, done: int, total: int, message: str = "") -> None:
        frac = 0.0 if total <= 0 else min(1.0, done / total)
        self.parent(self.start + int(round(frac * self.span)), self.total, message)
