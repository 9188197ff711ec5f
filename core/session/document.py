"""The open document: one photo's versions, its mask (one per photo size, so an upscaled version gets its
own) and its face regions. Plain Python: the desktop renders it, session recovery serialises it.

Events: "mask" (MaskDocument) when the current version's size selects another mask; "edited" () after any
change worth autosaving (versions, any mask's history, face regions).
"""

from __future__ import annotations

from pathlib import Path

from core.photo import Photo
from core.session.events import Events
from core.session.faces import FaceRegions
from core.session.mask import MaskDocument
from core.session.versions import Version, VersionList


class Document:
    def __init__(self, photo: Photo) -> None:
        self.events = Events()
        self.versions = VersionList(photo)
        self.faces = FaceRegions()
        self._masks: dict[tuple[int, int], MaskDocument] = {}
        self._mask_key = (photo.height, photo.width)
        self.view: dict[str, float | str] = {}  # how the desktop showed it (zoom, centre, mode): for recovery
        self.versions.events.on("current", self._current_changed)
        self.versions.events.on("changed", self._edited)
        self.faces.events.on("changed", lambda _regions: self._edited())

    @property
    def source_path(self) -> Path | None:
        return self.versions.original().photo.meta.source_path

    @property
    def name(self) -> str:
        path = self.source_path
        return path.name if path is not None else "untitled"

    @property
    def mask(self) -> MaskDocument:
        """The mask for the current version's size."""
        return self.mask_for(*self._mask_key)

    def mask_for(self, height: int, width: int) -> MaskDocument:
        key = (int(height), int(width))
        if key not in self._masks:
            mask = self._masks[key] = MaskDocument(*key)
            mask.events.on("history", self._edited)
        return self._masks[key]

    def masks(self) -> dict[tuple[int, int], MaskDocument]:
        """Every mask of the document, by photo size (height, width)."""
        return dict(self._masks)

    @property
    def current(self) -> Version:
        return self.versions.current

    def has_unsaved_work(self) -> bool:
        return bool(self.versions.unsaved())

    def _edited(self) -> None:
        self.events.emit("edited")

    def _current_changed(self, version: Version) -> None:
        key = (version.photo.height, version.photo.width)
        if key != self._mask_key:
            self._mask_key = key
            self.events.emit("mask", self.mask)
