"""A small event emitter: listeners subscribe by event name and are called in order, in the emitting thread."""

from __future__ import annotations

from typing import Any, Callable

Listener = Callable[..., Any]


class Events:
    """`on(name, fn)` subscribes (and returns an unsubscribe function); `emit(name, *args)` calls them."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = {}

    def on(self, name: str, fn: Listener) -> Callable[[], None]:
        self._listeners.setdefault(name, []).append(fn)

        def off() -> None:
            listeners = self._listeners.get(name, [])
            if fn in listeners:
                listeners.remove(fn)

        return off

    def emit(self, name: str, *args: Any) -> None:
        for fn in list(self._listeners.get(name, ())):
            fn(*args)

    def clear(self) -> None:
        self._listeners.clear()
