"""The versions of the open photo: the original plus one per run; any two can be compared."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.canvas.display import DisplayImage


@dataclass
class Version:
    id: int
    label: str
    photo: Any  # core.photo.Photo
    display: DisplayImage
    engine_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    regions: list[tuple[int, int, int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float | None = None


class VersionHistory(QObject):
    """Ordered versions; `current` is the one shown and restored next, `reference` the one compared against."""

    changed = Signal()
    current_changed = Signal(object)  # Version
    reference_changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.versions: list[Version] = []
        self.current: Version | None = None
        self.reference: Version | None = None
        self._ids = itertools.count(1)

    def reset(self, photo: Any, display: DisplayImage, label: str = "Original") -> Version:
        self.versions = []
        version = self._make(label, photo, display)
        self.reference = version
        self.set_current(version)
        self.reference_changed.emit(version)
        return version

    def add(self, photo: Any, display: DisplayImage, label: str, **details: Any) -> Version:
        """Append a run's result and make it current (the reference stays where it was)."""
        version = self._make(label, photo, display, **details)
        self.set_current(version)
        return version

    def _make(self, label: str, photo: Any, display: DisplayImage, **details: Any) -> Version:
        version = Version(next(self._ids), label, photo, display, **details)
        self.versions.append(version)
        self.changed.emit()
        return version

    def set_current(self, version: Version) -> None:
        self.current = version
        self.current_changed.emit(version)

    def set_reference(self, version: Version) -> None:
        self.reference = version
        self.reference_changed.emit(version)

    def by_id(self, version_id: int) -> Version | None:
        return next((v for v in self.versions if v.id == version_id), None)

    def original(self) -> Version | None:
        return self.versions[0] if self.versions else None

    def __len__(self) -> int:
        return len(self.versions)
