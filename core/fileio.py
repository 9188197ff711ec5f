"""The one place files are replaced: atomic writes (temp file beside the target, fsync, rename),
hashing, and an inter-process lock. A crash or a full disk never leaves a half-written file in place.

Every temporary file is named `.<target>.<random>.restora-tmp` beside its target, so whatever a killed
process left behind can be recognised and removed (`leftover_temp_files`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Union

from core.errors import DiskFullError, FileWriteError, WritePermissionError

TEMP_SUFFIX = ".restora-tmp"
Writer = Callable[[BinaryIO], None]
Content = Union[bytes, Writer]
_FULL = (errno.ENOSPC, errno.EDQUOT)


def new_file_mode(target: Path) -> int:
    """The replaced file's permissions, or the usual ones for a new file (0666 less the umask)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(target: str | os.PathLike[str], content: Content, *, mode: int | None = None) -> Path:
    """Write `content` (bytes, or a function writing to a binary file) to a temp file beside `target`, fsync,
    then rename it over `target`. On any failure the temp file is removed and `target` is unchanged.

    Raises DiskFullError, WritePermissionError or FileWriteError (all OSErrors) with a message a person can
    act on.
    """
    target = Path(target)
    with _temp_beside(target, mode) as (fd, tmp):
        with os.fdopen(fd, "wb") as fh:
            if isinstance(content, (bytes, bytearray, memoryview)):
                fh.write(content)
            else:
                content(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    return target


def atomic_produce(target: str | os.PathLike[str], produce: Callable[[Path], None], *,
                   mode: int | None = None) -> Path:
    """Like atomic_write, for writers that want a path: `produce(temp_path)` fills the temp file."""
    target = Path(target)
    with _temp_beside(target, mode) as (fd, tmp):
        os.close(fd)
        produce(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    return target


@contextmanager
def _temp_beside(target: Path, mode: int | None) -> Iterator[tuple[int, Path]]:
    """A temp file (fd, path) beside target, removed unless the block renamed it; OSErrors become typed."""
    folder = target.parent if str(target.parent) else Path(".")
    tmp: Path | None = None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name[:80]}.", suffix=TEMP_SUFFIX, dir=folder)
        tmp = Path(name)
        os.chmod(tmp, new_file_mode(target) if mode is None else mode)  # mkstemp makes 0600
        yield fd, tmp
    except PermissionError as e:
        raise WritePermissionError(f"Restora may not write to {folder}: permission denied.") from e
    except FileNotFoundError as e:
        raise FileWriteError(f"Could not write {target}: the folder {folder} does not exist.") from e
    except FileWriteError:
        raise
    except OSError as e:
        if e.errno in _FULL:
            raise DiskFullError(f"The disk holding {folder} is full ({e.strerror or 'no space left'}): "
                                f"{target.name} was not written and nothing was changed.") from e
        raise FileWriteError(f"Could not write {target}: {e.strerror or e}.") from e
    finally:
        if tmp is not None and tmp.exists():
            try:
                tmp.unlink()
            except OSError:
                pass


def atomic_write_text(target: str | os.PathLike[str], text: str) -> Path:
    return atomic_write(target, text.encode("utf-8"))


def atomic_copy(source: Path, target: Path, chunk: int = 1 << 20) -> tuple[str, int]:
    """Copy `source` to `target` atomically; returns the SHA-256 and size of the bytes copied."""
    digest = hashlib.sha256()
    size = 0

    def write(out: BinaryIO) -> None:
        nonlocal size
        with Path(source).open("rb") as f:
            while block := f.read(chunk):
                digest.update(block)
                out.write(block)
                size += len(block)

    atomic_write(target, write)
    return digest.hexdigest(), size


def sha256_file(path: str | os.PathLike[str], cancel: object | None = None, chunk: int = 1 << 20) -> str:
    """The file's SHA-256 as hex; `cancel` (a core.jobs.CancelToken) is checked between blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(chunk):
            if cancel is not None:
                cancel.raise_if_cancelled()  # type: ignore[attr-defined]
            digest.update(block)
    return digest.hexdigest()


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """(SHA-256 hex, size in bytes) of a file, read once."""
    digest = hashlib.sha256()
    size = 0
    with Path(path).open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def is_temp_file(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


LEFTOVER_AGE_S = 3600.0  # a temp file untouched this long belongs to a process that is gone
OLD_CHECKPOINT_TEMP_SUFFIX = ".pt.tmp"  # what earlier trainers wrote beside latest.pt / best.pt
PART_SUFFIX = ".part"  # a download in progress (core.store.downloads), kept to resume it


def remove_leftovers(folder: str | os.PathLike[str], *, suffixes: tuple[str, ...] = (),
                     older_than_s: float = LEFTOVER_AGE_S) -> list[Path]:
    """Delete what killed processes left in `folder`: atomic-write temp files (is_temp_file) and, where asked,
    files ending with one of `suffixes` (Restora's own other temporary names), untouched for `older_than_s`.
    Only regular files directly in the folder, never through a link; anything that cannot be removed stays.
    Returns the paths removed."""
    now = time.time()
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (is_temp_file(entry.name) or (suffixes and entry.name.endswith(suffixes))):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
            if entry.is_file(follow_symlinks=False) and age >= older_than_s:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def leftover_temp_files(folder: str | os.PathLike[str], older_than_s: float = 60.0) -> list[Path]:
    """Temp files of atomic writes in `folder` that a killed process left behind (none younger than
    `older_than_s`, which a live writer may still be filling)."""
    now = time.time()
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        if is_temp_file(entry.name):
            try:
                if now - entry.stat().st_mtime >= older_than_s:
                    found.append(Path(entry.path))
            except OSError:
                continue
    return found


@contextmanager
def file_lock(path: str | os.PathLike[str], timeout_s: float = 30.0) -> Iterator[None]:
    """An exclusive lock between processes (and threads) on `path`, held for the block.

    `path` may be a folder (POSIX: the folder itself is locked, so nothing is created in it) or a file
    (created if missing). Raises FileWriteError when the lock is not free within timeout_s.
    """
    lock_path = Path(path)
    if lock_path.is_dir() and os.name == "nt":  # pragma: no cover - Windows cannot lock a folder handle
        lock_path = lock_path / ".restora-lock"
    if lock_path.is_dir():
        fd = os.open(lock_path, os.O_RDONLY)
    else:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                _lock(fd)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise FileWriteError(f"{lock_path} is locked by another Restora process; try again when it "
                                         f"has finished.") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only (mypy checks this form per platform)
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
