"""Finding, opening and discarding the recovery folders autosave left behind (core.session.autosave)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.session.autosave import sessions_root
from core.session.document import Document
from core.session.mask_history import Edit
from core.session.recovery_format import (
    FORMAT,
    INDEX,
    SessionFileError,
    check_name,
    meta_from_json,
    read_edit,
    read_photo,
    region_from_json,
)
from core.session.versions import Version


@dataclass(frozen=True)
class RecoverableSession:
    folder: Path
    name: str  # the photo's file name
    source: Path | None
    versions: int
    updated: float  # seconds since the epoch

    def describe(self) -> str:
        import time

        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.updated))
        return f"{self.name}: {self.versions} version{'s' if self.versions != 1 else ''}, last saved {when}"


def list_sessions(root: Path | None = None) -> list[RecoverableSession]:
    """Sessions that can be recovered: readable, and not held by a Restora that is still running. Newest first."""
    root = root or sessions_root()
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        index = _read_index(folder)
        if index is None or _alive(index.get("pid")):
            continue
        source = index.get("source")
        found.append(RecoverableSession(folder, str(index.get("name") or folder.name),
                                        None if source is None else Path(source), len(index.get("versions") or ()),
                                        float(index.get("updated") or 0.0)))
    return sorted(found, key=lambda s: -s.updated)


def load_session(folder: Path) -> Document:
    """The document exactly as last autosaved: versions, current and reference, masks with their undo and redo
    stacks, face regions and view. Raises SessionFileError when the folder cannot be read back."""
    index = _read_index(folder)
    if index is None:
        raise SessionFileError(f"{folder.name} holds no readable session (its index is missing or damaged).")
    try:
        versions = [_version(folder, v) for v in index["versions"]]
        doc = Document(versions[0].photo)
        doc.versions.restore(versions, int(index["current"]), int(index["reference"]))
        for m in index.get("masks") or ():
            mask = doc.mask_for(int(m["height"]), int(m["width"]))
            undo = [read_edit(folder / check_name(n, "edit")) for n in m.get("undo") or ()]
            redo = [read_edit(folder / check_name(n, "edit")) for n in m.get("redo") or ()]
            _replay(mask.array, undo)
            mask.history.restore(undo, redo)
        doc.faces.set([region_from_json(r) for r in index.get("faces") or ()])
        doc.view = dict(index.get("view") or {})
        doc.versions.set_current(doc.versions.current)  # selects the current version's mask
    except SessionFileError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise SessionFileError(f"The session {folder.name} is damaged ({type(e).__name__}: {e}).") from None
    return doc


def discard_session(session: RecoverableSession | Path) -> None:
    folder = session.folder if isinstance(session, RecoverableSession) else Path(session)
    shutil.rmtree(folder, ignore_errors=True)


def _version(folder: Path, data: dict[str, Any]) -> Version:
    meta = meta_from_json(data["meta"])
    photo = read_photo(folder, check_name(data["file"], "version"), bool(data.get("alpha")), meta)
    saved = data.get("saved_to")
    return Version(id=int(data["id"]), label=str(data["label"]), photo=photo, engine_id=data.get("engine_id"),
                   params=dict(data.get("params") or {}), parent_id=data.get("parent_id"),
                   regions=[region_from_json(r) for r in data.get("regions") or ()],
                   notes=[str(n) for n in data.get("notes") or ()], seconds=data.get("seconds"),
                   name=str(data.get("name") or ""), saved_to=None if saved is None else Path(saved))


def _replay(mask: np.ndarray, undo: list[Edit]) -> None:
    """Masks start empty: applying the undo stack's edits in order rebuilds the mask exactly."""
    mask[...] = 0
    for edit in undo:
        edit.apply(mask, undo=False)


def _read_index(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not data.get("versions"):
        return None
    return data


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True  # this process's own session
    if sys.platform == "win32":  # pragma: no cover
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
