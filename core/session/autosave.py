"""Autosave of the open document for recovery after a crash, a kill -9 or a power cut.

`snapshot()` runs where the document is edited (the GUI thread) and only gathers references and small
metadata: a frame's work at most. `write(snapshot)` runs in the background and writes what is new: a new
version's pixels, a finished stroke's patch; then the index, atomically (core.session.recovery_format).
Versions and mask edits never change once made, so each is written once, under a name kept for it.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.fileio import atomic_write_text
from core.photo import Photo
from core.session.document import Document
from core.session.mask_history import Edit
from core.session.recovery_format import (
    FORMAT,
    INDEX,
    SESSIONS_DIR,
    meta_to_json,
    region_to_json,
    write_edit,
    write_photo,
)


def sessions_root() -> Path:
    from core.paths import data_dir

    root = data_dir() / SESSIONS_DIR
    root.mkdir(parents=True, exist_ok=True)
    return root


@dataclass
class Snapshot:
    """What one autosave writes: the index and the files it names that are not on disk yet."""

    index: dict[str, Any]
    photos: list[tuple[str, Photo]] = field(default_factory=list)
    edits: list[tuple[str, Edit]] = field(default_factory=list)


class SessionWriter:
    """Keeps one document's recovery folder up to date."""

    def __init__(self, document: Document, root: Path | None = None) -> None:
        self.document = document
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.folder = (root or sessions_root()) / f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._photo_files: dict[int, str] = {}  # version id -> its file stem
        self._edit_files: dict[int, tuple[Edit, str]] = {}  # id(edit) -> (the edit, its file name)
        self._edit_count = 0
        self._write_lock = threading.Lock()
        self._written: set[str] = set()  # files known complete on disk

    def snapshot(self, view: dict[str, Any] | None = None) -> Snapshot:
        """The document as it is now (cheap: references to immutable pixels and edits, small metadata)."""
        doc = self.document
        versions = doc.versions
        snap = Snapshot(index={})
        entries = []
        for v in versions.versions:
            stem = self._photo_files.setdefault(v.id, f"v{v.id}")
            if stem not in self._written:  # written once; again only if an earlier write failed
                snap.photos.append((stem, v.photo))
            entries.append({"id": v.id, "label": v.label, "engine_id": v.engine_id, "params": _jsonable(v.params),
                            "parent_id": v.parent_id, "notes": list(v.notes), "seconds": v.seconds, "name": v.name,
                            "saved_to": None if v.saved_to is None else str(v.saved_to), "file": stem,
                            "alpha": v.photo.alpha is not None, "meta": meta_to_json(v.photo.meta),
                            "regions": [region_to_json(r) for r in v.regions]})
        masks = []
        alive: dict[int, tuple[Edit, str]] = {}
        for (h, w), mask in doc.masks().items():
            undo, redo = mask.history.stacks()
            names: dict[str, list[str]] = {"undo": [], "redo": []}
            for kind, stack in (("undo", undo), ("redo", redo)):
                for edit in stack:
                    known = self._edit_files.get(id(edit))
                    if known is None or known[0] is not edit:
                        self._edit_count += 1
                        known = (edit, f"e{self._edit_count}.npz")
                    if known[1] not in self._written:
                        snap.edits.append((known[1], edit))
                    alive[id(edit)] = known
                    names[kind].append(known[1])
            masks.append({"height": h, "width": w, **names})
        self._edit_files = alive  # edits dropped from the history (a cleared redo stack) are forgotten
        current = doc.versions.current
        snap.index = {"format": FORMAT, "pid": os.getpid(), "updated": time.time(),
                      "source": None if doc.source_path is None else str(doc.source_path), "name": doc.name,
                      "versions": entries, "current": current.id, "reference": versions.reference.id,
                      "masks": masks, "faces": [region_to_json(r) for r in doc.faces.regions],
                      "view": dict(view if view is not None else doc.view)}
        return snap

    def write(self, snap: Snapshot) -> None:
        """Write the snapshot's new files, then its index (atomically): safe to kill at any moment."""
        with self._write_lock:
            for stem, photo in snap.photos:
                write_photo(self.folder, stem, photo)
                self._written.add(stem)
            for name, edit in snap.edits:
                write_edit(self.folder / name, edit)
                self._written.add(name)
            atomic_write_text(self.folder / INDEX, json.dumps(snap.index))
            self._forget_unused(snap.index)

    def save_now(self, view: dict[str, Any] | None = None) -> None:
        self.write(self.snapshot(view))

    def discard(self) -> None:
        """Remove the recovery folder (the user saved and closed, or chose to discard)."""
        with self._write_lock:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _forget_unused(self, index: dict[str, Any]) -> None:
        """Delete files no longer named (deleted versions, dropped redo edits); the index is already new."""
        named = {v["file"] for v in index["versions"]}
        named |= {n for m in index["masks"] for n in (*m["undo"], *m["redo"])}
        for entry in list(self.folder.iterdir()):
            stem = entry.name.split("-")[0] if entry.name.startswith("v") else entry.name
            if entry.name == INDEX or stem in named or entry.name.startswith("."):
                continue
            if entry.suffix in (".npy", ".npz"):
                entry.unlink(missing_ok=True)


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        out[str(k)] = v if isinstance(v, (bool, int, float, str)) or v is None else str(v)
    return out
