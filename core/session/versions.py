"""The versions of the open photo: the original plus one per run, each with the engine, parameters, notes
and the version it was made from; `current` is the one shown and worked on, `reference` the one compared.

Events: "added" (version), "removed" (version), "renamed" (version), "current" (version),
"reference" (version), and "changed" () after any of them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import RestoraError
from core.photo import Photo
from core.regions import Region
from core.session.events import Events


class VersionError(RestoraError, ValueError):
    """A version operation that cannot be done (deleting the original, an unknown version)."""


@dataclass
class Version:
    id: int
    label: str  # what made it: "Original", or the engine's title and the parameters that differ
    photo: Photo
    engine_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    parent_id: int | None = None  # the version the run was applied to
    regions: list[Region] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float | None = None
    name: str = ""  # the user's own name for it
    saved_to: Path | None = None  # where it was last saved or exported

    @property
    def title(self) -> str:
        return self.name or self.label


class VersionList:
    """Ordered versions of one photo, numbered from 1 (the original)."""

    def __init__(self, photo: Photo, label: str = "Original") -> None:
        self.events = Events()
        self._ids = itertools.count(1)
        original = Version(next(self._ids), label, photo, saved_to=photo.meta.source_path)
        self.versions: list[Version] = [original]
        self.current: Version = original
        self.reference: Version = original

    def __len__(self) -> int:
        return len(self.versions)

    def __iter__(self):
        return iter(list(self.versions))

    def original(self) -> Version:
        return self.versions[0]

    def by_id(self, version_id: int | None) -> Version | None:
        return next((v for v in self.versions if v.id == version_id), None)

    def parent_of(self, version: Version) -> Version | None:
        return self.by_id(version.parent_id)

    def children_of(self, version: Version) -> list[Version]:
        return [v for v in self.versions if v.parent_id == version.id]

    def add(self, photo: Photo, label: str, *, parent: Version | None = None, **details: Any) -> Version:
        """Append a run's result (made from `parent`, by default the current version) and make it current."""
        made_from = parent or self.current
        version = Version(next(self._ids), label, photo, parent_id=made_from.id, **details)
        self.versions.append(version)
        self.events.emit("added", version)
        self.set_current(version)
        return version

    def set_current(self, version: Version) -> None:
        self._known(version)
        self.current = version
        self.events.emit("current", version)
        self.events.emit("changed")

    def set_reference(self, version: Version) -> None:
        self._known(version)
        self.reference = version
        self.events.emit("reference", version)
        self.events.emit("changed")

    def rename(self, version: Version, name: str) -> None:
        self._known(version)
        version.name = " ".join(str(name).split())[:120]
        self.events.emit("renamed", version)
        self.events.emit("changed")

    def delete(self, version: Version) -> None:
        """Remove a version (never the original). Versions made from it are then made from its parent; if it
        was shown, its parent is shown; if it was compared against, the original is."""
        self._known(version)
        if version is self.original():
            raise VersionError("The original cannot be deleted.")
        for child in self.children_of(version):
            child.parent_id = version.parent_id
        self.versions.remove(version)
        self.events.emit("removed", version)
        if self.reference is version:
            self.set_reference(self.original())
        if self.current is version:
            self.set_current(self.by_id(version.parent_id) or self.original())
        self.events.emit("changed")

    def mark_saved(self, version: Version, path: Path) -> None:
        version.saved_to = Path(path)
        self.events.emit("changed")

    def unsaved(self) -> list[Version]:
        """Runs' results that were never saved or exported: what closing the photo would lose."""
        return [v for v in self.versions[1:] if v.saved_to is None]

    def describe(self, version: Version) -> str:
        """One line: number, title, and what it was made from."""
        parent = self.parent_of(version)
        origin = f"  ← from {parent.id}" if parent is not None and parent is not self.original() else ""
        if parent is self.original() and version is not self.original():
            origin = "  ← from the original"
        return f"{version.id}. {version.title}{origin}"

    def restore(self, versions: list[Version], current_id: int, reference_id: int) -> None:
        """Replace the whole list (session recovery): the versions as they were, numbering going on."""
        if not versions:
            raise VersionError("A recovered session has no versions.")
        self.versions = list(versions)
        self._ids = itertools.count(max(v.id for v in versions) + 1)
        self.current = self.by_id(current_id) or self.versions[0]
        self.reference = self.by_id(reference_id) or self.versions[0]
        self.events.emit("changed")

    def _known(self, version: Version) -> None:
        if version not in self.versions:
            raise VersionError(f"Version {version.id} is not a version of this photo.")
