"""The model store: checkpoints imported by the user (or downloaded, or exported by a training run),
identified, listed, loaded and removed. Files live in one folder (core.paths.models_dir() by default) beside
manifest.json (core.store.manifest). A file becomes a descriptor through core.archs.identify, the path every
network takes; nothing is unpickled with code, and a file whose SHA-256 no longer matches its record is
refused before it is read.
"""

from __future__ import annotations

import builtins
import re
import shutil
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Mapping

from core.errors import CheckpointError, RestoraError
from core.fileio import PART_SUFFIX, atomic_copy, file_lock, hash_file, leftover_temp_files, remove_leftovers
from core.jobs import CancelToken, Progress, no_progress
from core.kinds import CHECKPOINT_SUFFIXES
from core.store.manifest import MANIFEST, ModelEntry, is_plain_file_name, now_iso, read_manifest, write_manifest

if TYPE_CHECKING:  # torch and the architectures load on the first import or load, not with the store
    import torch

    from core.archs.identify import Identification
    from core.models.descriptor import ModelDescriptor

STALE_DOWNLOAD_S = 7 * 24 * 3600.0  # a partial download untouched this long is not worth resuming


def identify_file(path: Path, prefer: str | None = None) -> Identification:
    """core.archs.identify.identify_file, imported when first needed (it brings torch)."""
    from core.archs.identify import identify_file as identify

    return identify(path, prefer=prefer)


class StoreError(RestoraError):
    """The model store cannot do what was asked."""


class ModelNotFoundError(StoreError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ModelStore:
    """Import, list, load and remove checkpoints in one folder; safe between threads and processes."""

    def __init__(self, root: Path | str | None = None) -> None:
        if root is None:
            from core.paths import models_dir

            root = models_dir()
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"The model store folder {self.root} cannot be created: {e.strerror or e}.") from None
        self._lock = threading.RLock()
        self._depth = 0  # how deeply this thread holds _lock (_StoreLock takes the file lock at depth 1)
        self._verified: dict[str, tuple[int, int]] = {}  # file -> (mtime_ns, size) whose SHA-256 was checked
        self.problems: list[str] = []  # what the last read of the manifest could not use, in words
        for leftover in leftover_temp_files(self.root, older_than_s=3600):
            leftover.unlink(missing_ok=True)  # a killed import's half copy

    # ----- queries -------------------------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def list(self) -> list[ModelEntry]:
        return sorted(self._entries().values(), key=lambda e: e.name.lower())

    def get(self, name: str) -> ModelEntry:
        entries = self._entries()
        if name in entries:
            return entries[name]
        known = ", ".join(sorted(entries)) or "none yet"
        raise ModelNotFoundError(f"No model called {name!r} in the store ({known}).")

    def path(self, entry: ModelEntry | str) -> Path:
        e = self.get(entry) if isinstance(entry, str) else entry
        return self.root / e.file

    # `list` below means the builtin: inside the class body the name is the method above.
    def find(self, architecture: str) -> builtins.list[ModelEntry]:
        """The models of one architecture (e.g. every imported Zero-DCE)."""
        return [e for e in self.list() if e.architecture == architecture]

    # ----- changes -------------------------------------------------------------------------------------

    def import_file(self, path: Path | str, name: str | None = None, *, license_note: str = "",
                    source: str = "imported") -> ModelEntry:
        """Copy a checkpoint into the store after identifying it. The same content twice gives the same entry."""
        return self._import(Path(path), name, license_note=license_note, source=source, catalog_id=None)

    def remove(self, name: str) -> None:
        with self._locked():
            content = read_manifest(self.manifest_path)
            entries = content.entries
            if name not in entries:
                known = ", ".join(sorted(entries)) or "none yet"
                raise ModelNotFoundError(f"No model called {name!r} in the store ({known}).")
            entry = entries.pop(name)
            self._write(entries)
            target = self.root / entry.file
            if is_plain_file_name(entry.file) and target.resolve().parent == self.root.resolve():
                target.unlink(missing_ok=True)

    def load(self, name: str, device: torch.device | str = "cpu") -> ModelDescriptor:
        """The entry's network, built and loaded strictly, in eval mode, on `device`."""
        entry = self.get(name)
        file = self._checked_file(entry)
        ident = identify_file(file, prefer=entry.architecture)
        if ident.descriptor.facts.architecture != entry.architecture:
            raise StoreError(f"The file of model {name!r} now identifies as {ident.descriptor.facts.architecture}, "
                             f"not the {entry.architecture} recorded; import it again.")
        desc = ident.descriptor
        desc.module.eval()
        return desc.to(device)

    def download(self, catalog_id: str, *, progress: Progress = no_progress,
                 cancel: CancelToken | None = None) -> ModelEntry:
        """Fetch a catalog checkpoint (resumable, checksum-verified) and import it under its catalog id."""
        from core.paths import cache_dir
        from core.store.catalog import catalog_entry
        from core.store.downloads import download

        item = catalog_entry(catalog_id)
        for entry in self.list():
            if entry.catalog_id == catalog_id or (item.sha256 and entry.sha256 == item.sha256):
                return entry
        dest = cache_dir() / "downloads" / f"{item.id}-{item.filename}"  # two catalog files may share a name
        # A cancelled download's .part is kept to resume it; one nobody resumed for a week is forgotten.
        remove_leftovers(dest.parent, suffixes=(PART_SUFFIX,), older_than_s=STALE_DOWNLOAD_S)
        download(item.url, dest, sha256=item.sha256, size=item.size, progress=progress, cancel=cancel)
        entry = self._import(dest, catalog_id, license_note=item.license, source="downloaded", catalog_id=catalog_id)
        dest.unlink(missing_ok=True)  # the store keeps its own copy
        return entry

    # ----- internals -----------------------------------------------------------------------------------

    def _locked(self) -> "_StoreLock":
        """The store's lock: this process's threads and every other process (re-entrant in one thread)."""
        return _StoreLock(self)

    def _checked_file(self, entry: ModelEntry) -> Path:
        file = self.root / entry.file
        if not file.is_file():
            raise StoreError(f"The file of model {entry.name!r} ({file}) is missing; import it again, or remove the "
                             f"entry with `restora models remove {entry.name}`.")
        st = file.stat()
        if st.st_size != entry.file_size:
            raise StoreError(f"The file of model {entry.name!r} changed since it was imported ({st.st_size:,} "
                             f"bytes, {entry.file_size:,} recorded); import it again.")
        signature = (st.st_mtime_ns, st.st_size)
        if self._verified.get(entry.file) != signature:
            digest, _ = hash_file(file)
            if digest != entry.sha256:
                raise StoreError(f"The file of model {entry.name!r} is not the one that was imported (its SHA-256 "
                                 f"changed); Restora will not load it. Import the original file again.")
            self._verified[entry.file] = signature
        return file

    def _import(self, src: Path, name: str | None, *, license_note: str, source: str,
                catalog_id: str | None) -> ModelEntry:
        if not src.exists():
            raise CheckpointError(f"{src}: no such file.")
        if not src.is_file():
            raise CheckpointError(f"{src} is not a regular file.")
        ident = identify_file(src)
        digest, size = hash_file(src)
        suffix = src.suffix.lower() if src.suffix.lower() in CHECKPOINT_SUFFIXES else ".pth"
        with self._locked():
            entries = read_manifest(self.manifest_path).entries
            for entry in entries.values():
                if entry.sha256 == digest and (self.root / entry.file).is_file():
                    return entry
            final_name = _unique_name(_clean_name(name or src.stem), entries, self.root, suffix)
            target = self.root / (final_name + suffix)
            try:
                copied, copied_size = atomic_copy(src, target)
            except OSError as e:
                raise StoreError(f"Could not copy {src.name} into the model store: {e}") from None
            if (copied, copied_size) != (digest, size):
                target.unlink(missing_ok=True)
                raise StoreError(f"{src.name} changed while it was being imported; try again.")
            entry = _entry(final_name, target.name, ident, digest, size, license_note, source, catalog_id)
            entries[entry.name] = entry
            try:
                self._write(entries)
            except BaseException:
                target.unlink(missing_ok=True)  # never leave a file the manifest does not list
                raise
            return entry

    def _entries(self) -> dict[str, ModelEntry]:
        with self._locked():
            content = read_manifest(self.manifest_path)
            if content.readable and not content.legacy and not content.damaged:
                self.problems = []
                return content.entries
            return self._repair(content)

    def _repair(self, content) -> dict[str, ModelEntry]:
        """Keep every readable entry, re-identify version-1 entries and files no entry describes, back up the
        damaged manifest, and say what happened in `problems`. Never raises for a bad entry."""
        entries = dict(content.entries)
        problems = list(content.damaged)
        if self.manifest_path.exists() and (content.damaged or not content.readable):
            backup = self.root / f"{MANIFEST}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
            try:
                shutil.copy2(self.manifest_path, backup)
                problems.append(f"the damaged manifest was kept as {backup.name}")
            except OSError:
                pass
        for item in content.legacy:  # an older Restora's record: keep its name, licence and origin
            file = str(item.get("file") or "")
            if not is_plain_file_name(file) or not (self.root / file).is_file():
                continue
            try:
                ident = identify_file(self.root / file)
            except CheckpointError as e:
                problems.append(f"{file}: {e}")
                continue
            digest, size = hash_file(self.root / file)
            name = _unique_name(_clean_name(str(item.get("name") or Path(file).stem)), entries, None, "")
            entries[name] = _entry(name, file, ident, digest, size, str(item.get("license") or ""),
                                   str(item.get("source") or "imported") if item.get("source") in
                                   ("imported", "downloaded", "trained") else "imported", item.get("catalog_id"))
        described = {e.file for e in entries.values()}
        for found in sorted(self.root.iterdir()):
            if (found.name in described or found.name.startswith(".") or not found.is_file()
                    or found.suffix.lower() not in CHECKPOINT_SUFFIXES):
                continue
            try:
                ident = identify_file(found)
            except CheckpointError:
                continue  # not a model Restora can use: leave the file alone, list nothing for it
            digest, size = hash_file(found)
            name = _unique_name(_clean_name(found.stem), entries, None, "")
            entries[name] = _entry(name, found.name, ident, digest, size, "", "imported", None)
        try:
            self._write(entries)
        except OSError as e:
            problems.append(f"the repaired manifest could not be written ({e})")
        self.problems = problems
        return entries

    def _write(self, entries: Mapping[str, ModelEntry]) -> None:
        try:
            write_manifest(self.manifest_path, entries)
        except OSError as e:
            raise StoreError(f"The model store's manifest could not be written: {e}") from e


class _StoreLock:
    """The thread lock, then (outermost only) the file lock shared with other processes."""

    def __init__(self, store: ModelStore) -> None:
        self._store = store
        self._file_cm: AbstractContextManager[None] | None = None

    def __enter__(self) -> None:
        store = self._store
        store._lock.acquire()
        store._depth += 1
        if store._depth == 1:
            try:
                self._file_cm = file_lock(store.root)
                self._file_cm.__enter__()
            except BaseException:
                store._depth -= 1
                store._lock.release()
                raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        store = self._store
        try:
            if self._file_cm is not None:
                self._file_cm.__exit__(exc_type, exc, tb)
        finally:
            store._depth -= 1
            store._lock.release()


def _entry(name: str, file: str, ident: Identification, digest: str, size: int, license_note: str, source: str,
           catalog_id: str | None) -> ModelEntry:
    return ModelEntry(name=name, file=file, facts=ident.descriptor.facts, sha256=digest, file_size=size,
                      license=license_note, source=source, added=now_iso(), identified_by=ident.identified_by,
                      catalog_id=catalog_id, notes=list(ident.notes))


def _clean_name(text: str) -> str:
    """A model name that is also a safe file name: letters, digits, '.', '_', '-'."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip(".-_")
    return name[:80] or "model"


def _unique_name(base: str, entries: Mapping[str, ModelEntry], root: Path | None, suffix: str) -> str:
    name, n = base, 1
    while name in entries or (root is not None and (root / f"{name}{suffix}").exists()):
        n += 1
        name = f"{base}-{n}"
    return name


__all__ = ["ModelStore", "StoreError", "ModelNotFoundError"]
