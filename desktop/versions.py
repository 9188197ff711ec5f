"""The bridge between the document's versions (core.session.versions.VersionList) and the widgets: Qt
signals for its events, and the display copy of each version (a cache; the versions live in core)."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from desktop.canvas.display import DisplayImage


class VersionHistory(QObject):
    """`current` is the version shown and restored next, `reference` the one compared against."""

    changed = Signal()
    current_changed = Signal(object)  # core Version
    reference_changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.list: Any = None  # core.session.versions.VersionList of the open document
        self._displays: dict[int, DisplayImage] = {}
        self._off: list[Callable[[], None]] = []

    def attach(self, versions: Any, displays: DisplayImage | dict[int, DisplayImage]) -> None:
        """Follow a document's versions; `displays` is the display copy of its original, or of every version
        by id (a recovered session)."""
        for off in self._off:
            off()
        self.list = versions
        self._displays = dict(displays) if isinstance(displays, dict) else {versions.original().id: displays}
        ev = versions.events
        self._off = [ev.on("changed", self.changed.emit), ev.on("current", self.current_changed.emit),
                     ev.on("reference", self.reference_changed.emit),
                     ev.on("removed", lambda v: self._displays.pop(v.id, None))]
        self.changed.emit()
        self.reference_changed.emit(versions.reference)
        self.current_changed.emit(versions.current)

    # --- the document's versions -----------------------------------------------------------------------
    @property
    def versions(self) -> list[Any]:
        return [] if self.list is None else list(self.list.versions)

    @property
    def current(self) -> Any:
        return None if self.list is None else self.list.current

    @property
    def reference(self) -> Any:
        return None if self.list is None else self.list.reference

    def __len__(self) -> int:
        return 0 if self.list is None else len(self.list)

    def original(self) -> Any:
        return None if self.list is None else self.list.original()

    def by_id(self, version_id: int) -> Any:
        return None if self.list is None else self.list.by_id(version_id)

    def display(self, version: Any) -> DisplayImage | None:
        return None if version is None else self._displays.get(version.id)

    def add(self, photo: Any, display: DisplayImage, label: str, **details: Any) -> Any:
        """Append a run's result (made from `parent`, by default the current version) and make it current."""
        assert self.list is not None, "no document is open"
        # The display must be known before the version becomes current (listeners show it at once).
        pending = self.list.events.on("added", lambda v: self._displays.__setitem__(v.id, display))
        try:
            return self.list.add(photo, label, **details)
        finally:
            pending()

    def set_current(self, version: Any) -> None:
        self.list.set_current(version)

    def set_reference(self, version: Any) -> None:
        self.list.set_reference(version)

    def rename(self, version: Any, name: str) -> None:
        self.list.rename(version, name)

    def delete(self, version: Any) -> None:
        self.list.delete(version)

    def describe(self, version: Any) -> str:
        return self.list.describe(version)
