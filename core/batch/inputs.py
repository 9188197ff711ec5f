"""Finding a batch's photos: files named, folders listed (sub-folders with `recursive`), and their masks.

Folder listings skip hidden files (names starting with "."; this includes the temp files of an
interrupted save), files that are not photos by their suffix, and masks that sit beside their photo
(NAME_mask.png next to NAME.jpg). Sub-folders reached through a symbolic link are not entered, so a
link loop cannot make a batch endless. A problem with one input (missing, unreadable, a pipe or device)
is recorded and the other inputs go on.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable

from core.batch.items import BatchFailure
from core.kinds import IMAGE_SUFFIXES, is_image_name

MASK_SUFFIX = "_mask"  # photo.jpg pairs with photo_mask.png
NAME_MAX = 255  # bytes in one file name on every common file system


@dataclass(frozen=True)
class Found:
    """A photo file and its path under the folder it was found in (just its name when named directly)."""

    source: Path
    relative: PurePosixPath


def too_long(name: str) -> str | None:
    """A message when a file name is longer than file systems allow, else None."""
    size = len(os.fsencode(name))
    if size <= NAME_MAX:
        return None
    return f"the name is {size} bytes long; file systems allow at most {NAME_MAX}"


def _stat_problem(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "no such file or folder"
    if isinstance(error, PermissionError):
        return "Restora may not look at it (permission denied)"
    if error.errno == errno.ENAMETOOLONG:
        return f"the name is too long; file systems allow at most {NAME_MAX} bytes per name"
    return f"it cannot be read ({error.strerror or error})"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not an ordinary file"


def not_regular(mode: int) -> str:
    return f"this is {_kind(mode)}, not a photo file; Restora reads photos from ordinary files only"


def _is_beside_mask(name: str, photo_stems: set[str]) -> bool:
    stem = name.rsplit(".", 1)[0].casefold()
    return stem.endswith(MASK_SUFFIX) and stem[: -len(MASK_SUFFIX)] in photo_stems


def _same_place(a: Path, excluded: set[Path]) -> bool:
    try:
        return a.resolve() in excluded
    except OSError:
        return False


def _list_folder(root: Path, recursive: bool, excluded: set[Path], found: list[Found],
                 problems: list[BatchFailure], label: str) -> None:
    stack = [PurePosixPath()]
    while stack:
        rel = stack.pop()
        folder = root.joinpath(*rel.parts)
        shown = f"{label}/{rel}" if rel.parts else label
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except PermissionError:
            problems.append(BatchFailure(shown, "Restora may not look inside this folder (permission denied)", folder))
            continue
        except OSError as e:
            problems.append(BatchFailure(shown, f"this folder cannot be listed ({e.strerror or e})", folder))
            continue
        photos = [e for e in entries if not e.name.startswith(".") and is_image_name(e.name)]
        stems = {e.name.rsplit(".", 1)[0].casefold() for e in photos}
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                if is_dir:
                    if recursive and not _same_place(path, excluded):
                        stack.append(rel / entry.name)
                    continue
                if not is_image_name(entry.name) or _is_beside_mask(entry.name, stems) or _same_place(path, excluded):
                    continue
                mode = entry.stat().st_mode  # follows a link to the file it names
            except OSError as e:
                problems.append(BatchFailure(str(rel / entry.name), _stat_problem(e), path))
                continue
            if stat.S_ISREG(mode):
                found.append(Found(path, rel / entry.name))
            elif not stat.S_ISDIR(mode):  # a link to a folder is skipped like the folder itself
                problems.append(BatchFailure(str(rel / entry.name), not_regular(mode), path))


def expand_inputs(inputs: Iterable[str | os.PathLike[str]], *, recursive: bool = False,
                  exclude: Iterable[Path] = ()) -> tuple[list[Found], list[BatchFailure]]:
    """The photos named or inside the folders named (sub-folders too with `recursive`), and the inputs
    that cannot be used. Paths in `exclude` (the output folder, the masks) are never taken as photos."""
    excluded = {Path(p).resolve() for p in exclude}
    found: list[Found] = []
    problems: list[BatchFailure] = []
    for item in inputs:
        path = Path(item)
        try:
            mode = os.stat(path).st_mode
        except (OSError, ValueError) as e:  # ValueError: a NUL byte in the name
            reason = _stat_problem(e) if isinstance(e, OSError) else "this is not a valid file name"
            problems.append(BatchFailure(str(item), reason, path))
            continue
        if stat.S_ISDIR(mode):
            _list_folder(path, recursive, excluded, found, problems, str(item).rstrip("/\\") or str(item))
        elif stat.S_ISREG(mode):
            found.append(Found(path, PurePosixPath(path.name)))
        else:
            problems.append(BatchFailure(str(item), not_regular(mode), path))
    return found, problems


class MaskFinder:
    """Finds each photo's mask: one file for every photo, or in a folder of masks named like the photos
    (NAME_mask.* or NAME.*, in the same sub-folder or at the top), else NAME_mask.* beside the photo."""

    def __init__(self, mask: Path | None = None) -> None:
        self.mask = mask
        self.folder = mask is not None and mask.is_dir()
        self._listings: dict[Path, dict[str, Path]] = {}

    def _listing(self, folder: Path) -> dict[str, Path]:
        if folder not in self._listings:
            try:
                with os.scandir(folder) as entries:
                    self._listings[folder] = {e.name.casefold(): Path(e.path) for e in entries
                                              if not e.name.startswith(".") and is_image_name(e.name)}
            except OSError:
                self._listings[folder] = {}
        return self._listings[folder]

    def _lookup(self, folders: list[Path], stems: list[str], source: Path) -> Path | None:
        for folder in folders:
            names = self._listing(folder)
            for stem in stems:
                for suffix in IMAGE_SUFFIXES:
                    hit = names.get(f"{stem}{suffix}".casefold())
                    if hit is not None and not _same_file(hit, source):
                        return hit
        return None

    def find(self, photo: Found) -> tuple[Path | None, bool]:
        """(the mask file or None, whether it came from the mask argument)."""
        stem = photo.relative.stem
        if self.mask is not None and not self.folder:
            return self.mask, True
        if self.mask is not None:
            folders = list(dict.fromkeys([self.mask.joinpath(*photo.relative.parent.parts), self.mask]))
            hit = self._lookup(folders, [f"{stem}{MASK_SUFFIX}", stem], photo.source)
            if hit is not None:
                return hit, True
        return self._lookup([photo.source.parent], [f"{stem}{MASK_SUFFIX}"], photo.source), False


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:
        return False
