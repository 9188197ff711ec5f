"""How a session is written to disk for recovery: one folder per open document.

    <data>/sessions/<id>/session.json     the index: versions (engine, parameters, parent, notes, photo
                                         metadata), current and reference, masks (their undo and redo
                                         stacks as edit file names), face regions, view; written last
    <data>/sessions/<id>/v<N>-rgb.npy     each version's pixels at full precision (float32), written once
    <data>/sessions/<id>/v<N>-alpha.npy   its alpha, when it has one
    <data>/sessions/<id>/e<N>.npz         one mask edit (a finished stroke, a fill, ...), written once

Every file is written atomically and session.json names only files that are complete, so an autosave
killed halfway leaves the previous session.json, which opens. Arrays are read with allow_pickle=False.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import RestoraError
from core.photo import Photo, PhotoMeta
from core.regions import Region
from core.session.mask_history import Edit, InvertEdit, PatchEdit

FORMAT = 1
INDEX = "session.json"
SESSIONS_DIR = "sessions"


class SessionFileError(RestoraError):
    """A recovery folder that cannot be read back (damaged, or written by another program)."""


def meta_to_json(meta: PhotoMeta) -> dict[str, Any]:
    return {"source_path": None if meta.source_path is None else str(meta.source_path), "format": meta.format,
            "bit_depth": meta.bit_depth, "grayscale": meta.grayscale, "icc_profile": _b64(meta.icc_profile),
            "exif": _b64(meta.exif), "notes": list(meta.notes)}


def meta_from_json(data: dict[str, Any]) -> PhotoMeta:
    return PhotoMeta(source_path=None if data.get("source_path") is None else Path(str(data["source_path"])),
                     format=data.get("format"), bit_depth=int(data.get("bit_depth", 8)),
                     grayscale=bool(data.get("grayscale", False)), icc_profile=_unb64(data.get("icc_profile")),
                     exif=_unb64(data.get("exif")), notes=tuple(str(n) for n in data.get("notes") or ()))


def region_to_json(region: Region) -> dict[str, Any]:
    return {"box": list(region.box), "landmarks": [list(p) for p in region.landmarks], "source": region.source,
            "score": region.score}


def region_from_json(data: dict[str, Any]) -> Region:
    x, y, w, h = (float(v) for v in data["box"])
    landmarks = tuple((float(p[0]), float(p[1])) for p in data.get("landmarks") or ())
    score = data.get("score")
    return Region((x, y, w, h), landmarks, str(data.get("source") or "user"),
                  None if score is None else float(score))


def write_edit(path: Path, edit: Edit) -> None:
    """One mask edit as a small .npz (written by the caller's atomic writer)."""
    import io

    from core.fileio import atomic_write

    buf = io.BytesIO()
    if isinstance(edit, PatchEdit):
        np.savez(buf, kind=np.array("patch"), label=np.array(edit.label), rect=np.array(edit.rect, np.int64),
                 before=edit.before, after=edit.after)
    else:
        np.savez(buf, kind=np.array("invert"), label=np.array(edit.label))
    atomic_write(path, buf.getvalue())


def check_name(name: str, kind: str) -> str:
    """A file name from an index: only the names autosave itself writes, never a path."""
    import re

    pattern = r"v\d+" if kind == "version" else r"e\d+\.npz"
    if not isinstance(name, str) or not re.fullmatch(pattern, name):
        raise SessionFileError(f"The session names a {kind} file {name!r} that autosave never writes.")
    return name


def read_edit(path: Path) -> Edit:
    try:
        with np.load(path, allow_pickle=False) as data:
            kind = str(data["kind"])
            label = str(data["label"])
            if kind == "invert":
                return InvertEdit(label)
            x, y, w, h = (int(v) for v in data["rect"])
            before, after = np.array(data["before"]), np.array(data["after"])
    except Exception as e:  # noqa: BLE001  (a damaged .npz raises zipfile, tokenize, value errors...)
        raise SessionFileError(f"The mask edit {path.name} cannot be read ({type(e).__name__}).") from None
    if kind != "patch" or before.shape != (h, w) or after.shape != (h, w):
        raise SessionFileError(f"The mask edit {path.name} is damaged.")
    return PatchEdit(label, (x, y, w, h), before.astype(np.uint8), after.astype(np.uint8))


def write_photo(folder: Path, stem: str, photo: Photo) -> None:
    """A version's pixels, rgb (and alpha), as .npy files written atomically."""
    from core.fileio import atomic_write

    atomic_write(folder / f"{stem}-rgb.npy", lambda fh: np.save(fh, photo.rgb, allow_pickle=False))
    alpha = photo.alpha
    if alpha is not None:
        atomic_write(folder / f"{stem}-alpha.npy", lambda fh: np.save(fh, alpha, allow_pickle=False))


def read_photo(folder: Path, stem: str, has_alpha: bool, meta: PhotoMeta) -> Photo:
    try:
        rgb = np.load(folder / f"{stem}-rgb.npy", allow_pickle=False)
        alpha = np.load(folder / f"{stem}-alpha.npy", allow_pickle=False) if has_alpha else None
        return Photo(rgb=np.ascontiguousarray(rgb, np.float32), alpha=alpha, meta=meta)
    except Exception as e:  # noqa: BLE001  (a damaged .npy header raises tokenize, value, syntax errors...)
        raise SessionFileError(f"The pixels of version {stem} cannot be read ({type(e).__name__}).") from None


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes | None:
    return None if text is None else base64.b64decode(str(text))
