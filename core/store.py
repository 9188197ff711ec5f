"""The model store: community checkpoints imported by the user, identified, listed, loaded, removed.

Files live in one folder (core.paths.models_dir() by default) beside `manifest.json`, which records what
each file is: architecture, task, scale, value ranges, size needs, SHA-256, licence note, origin. A file is
identified by Restora's own architectures first and by spandrel second; nothing is unpickled with code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping

import torch

from core.archs.spec import ModelDescriptor
from core.checkpoints import (CHECKPOINT_SUFFIXES, CheckpointError, ExportInfo, read_export_info, read_state_dict,
                              tensor_summary)
from core.errors import RestoraError
from core.jobs import CancelToken, Progress, no_progress
from core.tensors import MINUS_ONE_ONE, ZERO_ONE

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
TASKS = ("lowlight", "inpaint", "face", "general")


class StoreError(RestoraError):
    """The model store cannot do what was asked."""


class ModelNotFoundError(StoreError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownArchitectureError(CheckpointError):
    """A readable checkpoint of a network neither Restora nor spandrel knows."""


@dataclass
class ModelEntry:
    """One imported checkpoint, as the manifest records it."""

    name: str
    file: str  # file name inside the store folder
    architecture: str
    task: str  # lowlight | inpaint | face | general
    scale: int
    input_range: tuple[float, float]
    output_range: tuple[float, float]
    size_multiple: int
    fixed_size: int | None
    sha256: str
    file_size: int
    license: str = ""
    source: str = "imported"  # imported | downloaded
    added: str = ""  # ISO 8601, UTC
    parameters: int = 0
    tileable: bool = True
    supports_half: bool = False
    supports_bfloat16: bool = False
    input_channels: int = 3  # 4 for inpainting models: RGB plus the mask
    output_channels: int = 3
    min_size: int = 1
    identified_by: str = ""  # "restora" (our own architecture) or "spandrel"
    catalog_id: str | None = None

    @property
    def size_mb(self) -> float:
        return self.file_size / 1e6

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["input_range"] = list(self.input_range)
        data["output_range"] = list(self.output_range)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ModelEntry":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["input_range"] = tuple(float(x) for x in values["input_range"])
        values["output_range"] = tuple(float(x) for x in values["output_range"])
        entry = cls(**values)
        if entry.task not in TASKS or not entry.name or not entry.file:
            raise ValueError(f"bad entry {data!r}")
        return entry


@dataclass
class Identification:
    descriptor: ModelDescriptor
    identified_by: str  # "restora" | "spandrel"
    min_size: int = 1


class ModelStore:
    """Import, list, load and remove checkpoints in one folder. Thread-safe within a process."""

    def __init__(self, root: Path | str | None = None) -> None:
        if root is None:
            from core.paths import models_dir

            root = models_dir()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()

    # ----- queries -------------------------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def list(self) -> list[ModelEntry]:
        with self._lock:
            return sorted(self._read_manifest().values(), key=lambda e: e.name.lower())

    def get(self, name: str) -> ModelEntry:
        with self._lock:
            entries = self._read_manifest()
        if name in entries:
            return entries[name]
        known = ", ".join(sorted(entries)) or "none yet"
        raise ModelNotFoundError(f"No model called {name!r} in the store ({known}).")

    def path(self, entry: ModelEntry | str) -> Path:
        e = self.get(entry) if isinstance(entry, str) else entry
        return self.root / e.file

    # ----- changes -------------------------------------------------------------------------------------

    def import_file(self, path: Path | str, name: str | None = None, *, license_note: str = "") -> ModelEntry:
        """Copy a checkpoint into the store after identifying it. The same content twice gives the same entry."""
        return self._import(Path(path), name, license_note=license_note, source="imported", catalog_id=None)

    def remove(self, name: str) -> None:
        with self._lock:
            entries = self._read_manifest()
            if name not in entries:
                known = ", ".join(sorted(entries)) or "none yet"
                raise ModelNotFoundError(f"No model called {name!r} in the store ({known}).")
            entry = entries.pop(name)
            self._write_manifest(entries)
            (self.root / entry.file).unlink(missing_ok=True)

    def load(self, name: str, device: torch.device | str = "cpu") -> ModelDescriptor:
        """The entry's network, built and loaded strictly, in eval mode, on `device`."""
        entry = self.get(name)
        file = self.root / entry.file
        if not file.is_file():
            raise StoreError(f"The file of model {name!r} ({file}) is missing; import it again, or remove the entry "
                             f"with `restora models remove {name}`.")
        if file.stat().st_size != entry.file_size:
            raise StoreError(f"The file of model {name!r} changed since it was imported ({file.stat().st_size:,} "
                             f"bytes, {entry.file_size:,} recorded); import it again.")
        ident = identify_file(file, prefer=entry.architecture)
        desc = ident.descriptor
        desc.module.eval()
        return desc.to(device)

    def download(self, catalog_id: str, *, progress: Progress = no_progress,
                 cancel: CancelToken | None = None) -> ModelEntry:
        """Fetch a catalog checkpoint (resumable, checksum-verified) and import it under its catalog id."""
        from core.downloads import download
        from core.model_catalog import catalog_entry
        from core.paths import cache_dir

        item = catalog_entry(catalog_id)
        for entry in self.list():
            if entry.catalog_id == catalog_id or (item.sha256 and entry.sha256 == item.sha256):
                return entry
        dest = cache_dir() / "downloads" / f"{item.id}-{item.filename}"  # two catalog files may share a name
        download(item.url, dest, sha256=item.sha256, size=item.size, progress=progress, cancel=cancel)
        entry = self._import(dest, catalog_id, license_note=item.license, source="downloaded", catalog_id=catalog_id)
        dest.unlink(missing_ok=True)  # the store keeps its own copy
        return entry

    # ----- internals -----------------------------------------------------------------------------------

    def _import(self, src: Path, name: str | None, *, license_note: str, source: str,
                catalog_id: str | None) -> ModelEntry:
        if not src.exists():
            raise CheckpointError(f"{src}: no such file.")
        ident = identify_file(src)
        desc = ident.descriptor
        suffix = src.suffix.lower() if src.suffix.lower() in CHECKPOINT_SUFFIXES else ".pth"
        with self._lock:
            fd, tmp_name = tempfile.mkstemp(prefix=".import-", suffix=".part", dir=self.root)
            tmp = Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as out:
                    digest, size = _copy_hashing(src, out)
                entries = self._read_manifest()
                for entry in entries.values():
                    if entry.sha256 == digest and (self.root / entry.file).is_file():
                        tmp.unlink()
                        return entry
                final_name = _unique_name(_clean_name(name or src.stem), entries, self.root, suffix)
                entry = ModelEntry(
                    name=final_name, file=final_name + suffix, architecture=desc.architecture, task=desc.task,
                    scale=int(desc.scale), input_range=tuple(desc.input_range), output_range=tuple(desc.output_range),
                    size_multiple=int(desc.size_multiple), fixed_size=desc.fixed_size, sha256=digest, file_size=size,
                    license=license_note, source=source, added=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    parameters=desc.parameters, tileable=bool(desc.tileable), supports_half=bool(desc.supports_half),
                    supports_bfloat16=bool(desc.supports_bfloat16), input_channels=int(desc.input_channels),
                    output_channels=int(desc.output_channels), min_size=int(ident.min_size),
                    identified_by=ident.identified_by, catalog_id=catalog_id)
                os.replace(tmp, self.root / entry.file)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            entries[entry.name] = entry
            self._write_manifest(entries)
            return entry

    def _read_manifest(self) -> dict[str, ModelEntry]:
        path = self.manifest_path
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("models"), list):
                raise ValueError("no 'models' list")
        except (OSError, UnicodeDecodeError, ValueError) as e:
            return self._rebuild(f"the manifest could not be read ({e})")
        entries: dict[str, ModelEntry] = {}
        damaged = False
        for item in data["models"]:
            try:
                entry = ModelEntry.from_json(item)
            except (KeyError, TypeError, ValueError):
                damaged = True
                continue
            entries[entry.name] = entry
        if damaged:
            return self._rebuild("some manifest entries were damaged", keep=entries)
        return entries

    def _rebuild(self, why: str, keep: dict[str, ModelEntry] | None = None) -> dict[str, ModelEntry]:
        """Re-identify every checkpoint file in the folder that no readable entry describes; save the damaged
        manifest beside the new one for inspection."""
        keep = dict(keep or {})
        damaged = self.manifest_path
        if damaged.exists():
            backup = self.root / f"{MANIFEST}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
            try:
                shutil.copy2(damaged, backup)
            except OSError:
                pass
        described = {e.file for e in keep.values()}
        for file in sorted(self.root.iterdir()):
            if (file.name in described or file.name.startswith(".") or not file.is_file()
                    or file.suffix.lower() not in CHECKPOINT_SUFFIXES):
                continue
            try:
                desc_ident = identify_file(file)
            except CheckpointError:
                continue  # not a model Restora can use: leave the file alone, list nothing for it
            desc = desc_ident.descriptor
            digest, size = _hash_file(file)
            name = _unique_name(_clean_name(file.stem), keep, None, "")
            keep[name] = ModelEntry(
                name=name, file=file.name, architecture=desc.architecture, task=desc.task, scale=int(desc.scale),
                input_range=tuple(desc.input_range), output_range=tuple(desc.output_range),
                size_multiple=int(desc.size_multiple), fixed_size=desc.fixed_size, sha256=digest, file_size=size,
                license="", source="imported", added=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                parameters=desc.parameters, tileable=bool(desc.tileable), supports_half=bool(desc.supports_half),
                supports_bfloat16=bool(desc.supports_bfloat16), input_channels=int(desc.input_channels),
                output_channels=int(desc.output_channels), min_size=int(desc_ident.min_size),
                identified_by=desc_ident.identified_by)
        try:
            self._write_manifest(keep)
        except OSError as e:
            raise StoreError(f"The model store's manifest was unusable ({why}) and could not be rewritten: {e}") \
                from None
        return keep

    def _write_manifest(self, entries: Mapping[str, ModelEntry]) -> None:
        data = {"version": MANIFEST_VERSION,
                "models": [e.to_json() for e in sorted(entries.values(), key=lambda e: e.name.lower())]}
        fd, tmp_name = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp_name, self.manifest_path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise


# ----- identification -----------------------------------------------------------------------------------

_spandrel_lock = threading.Lock()
_extra_arches_installed = False

# spandrel.Purpose -> Restora task
_PURPOSE_TASK = {"SR": "general", "Restoration": "general", "FaceSR": "face", "Inpainting": "inpaint"}
# spandrel wraps these face networks for [0, 1] input, but they were trained on [-1, 1]: Restora calls the
# raw network in its true range (declared on the descriptor, converted by core.tensors).
_FACE_FORWARDS = {
    # GFPGANer calls net(x, return_rgb=False, weight=0.5)[0]; noise is drawn at random as in the official code.
    "GFPGAN": lambda m, x: m(x, return_rgb=False)[0],
    # The official script calls net(x, w=fidelity, adain=True) and keeps out of (out, logits, lq_feat);
    # spandrel's port fixes adain=True and calls the fidelity weight `weight` (default 0.5, as upstream).
    "CodeFormer": lambda m, x: m(x, weight=0.5)[0],
    "RestoreFormer": lambda m, x: m(x)[0],
}
FACE_SIZE = 512  # these networks take aligned 512 x 512 faces


def identify_file(path: Path, prefer: str | None = None) -> Identification:
    """Identify a weight file's network, honouring the options a Restora training export records."""
    state_dict = read_state_dict(path)
    return identify(state_dict, prefer=prefer, export=read_export_info(path))


def identify(state_dict: Mapping[str, torch.Tensor], prefer: str | None = None,
             export: ExportInfo | None = None) -> Identification:
    """Build the network a state dict belongs to: our own architectures first, then spandrel's. `prefer` names
    the architecture tried first; `export` (a training export's metadata) gives its architecture's spec the
    options it lists in load_options, instead of the official defaults."""
    if not state_dict:
        raise CheckpointError("The checkpoint holds no tensors.")
    from core.archs.catalog import own_architectures

    own_failure: str | None = None
    specs = own_architectures()
    prefer = prefer or (export.architecture if export else None)
    if prefer:
        specs = sorted(specs, key=lambda s: s.name != prefer)
    for spec in specs:
        try:
            matches = spec.detect(state_dict)
        except Exception:  # noqa: BLE001  (a detector must never block the others)
            matches = False
        if not matches:
            continue
        options: dict[str, Any] = {}
        if export is not None and export.architecture == spec.name:
            options = {k: export.options[k] for k in spec.load_options if k in export.options}
        try:
            desc = spec.load(state_dict, **options)
        except Exception as e:  # noqa: BLE001
            own_failure = f"it looks like {spec.name} but does not load ({_short(e)})"
            continue
        return Identification(desc, "restora", max(1, desc.fixed_size or 1))
    try:
        return _identify_spandrel(state_dict)
    except UnknownArchitectureError:
        if own_failure:
            raise UnknownArchitectureError(f"The checkpoint is not usable: {own_failure}.") from None
        raise


def _identify_spandrel(state_dict: Mapping[str, torch.Tensor]) -> Identification:
    import spandrel

    _install_extra_arches()
    try:
        loaded = spandrel.ModelLoader("cpu").load_from_state_dict(dict(state_dict))
    except spandrel.UnsupportedModelError:
        raise UnknownArchitectureError(
            f"Neither Restora nor spandrel knows this network ({len(state_dict)} tensors: "
            f"{tensor_summary(state_dict)}). Supported architectures are listed at "
            f"https://github.com/chaiNNer-org/spandrel.") from None
    except Exception as e:  # noqa: BLE001  (a detected architecture whose weights do not fit)
        raise UnknownArchitectureError(f"The checkpoint looks like a known architecture but its weights do not "
                                       f"fit it ({_short(e)}).") from None
    return Identification(wrap_spandrel(loaded), "spandrel", int(getattr(loaded.size_requirements, "minimum", 1) or 1))


def _install_extra_arches() -> None:
    global _extra_arches_installed
    with _spandrel_lock:
        if _extra_arches_installed:
            return
        _extra_arches_installed = True
        try:
            import spandrel_extra_arches

            spandrel_extra_arches.install()
        except ImportError:
            pass  # optional: CodeFormer and a few others are then unknown
        except Exception:  # noqa: BLE001  (already installed by someone else in this process)
            pass


def wrap_spandrel(loaded: Any) -> ModelDescriptor:
    """A spandrel descriptor as Restora's ModelDescriptor: task, scale, ranges, size needs and forward."""
    import spandrel

    arch = str(loaded.architecture.id)
    task = _PURPOSE_TASK.get(str(loaded.purpose), "general")
    req = loaded.size_requirements
    multiple = max(1, int(req.multiple_of or 1))
    module: torch.nn.Module = loaded.model
    masked = isinstance(loaded, spandrel.MaskedImageModelDescriptor)
    fixed: int | None = None
    input_range = output_range = ZERO_ONE
    if arch in _FACE_FORWARDS:
        forward = _FACE_FORWARDS[arch]
        input_range = output_range = MINUS_ONE_ONE
        fixed = FACE_SIZE
        multiple = 1
    elif masked:
        # Restora passes the mask as a last channel (1 = fill); spandrel's network takes (image, mask).
        call_masked = getattr(loaded, "_call_fn", None) or (lambda m, image, mask: m(image, mask))

        def forward(m: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
            return call_masked(m, x[:, :-1], x[:, -1:])
    else:
        call = getattr(loaded, "_call_fn", None)
        forward = call if callable(call) else (lambda m, x: m(x))
    if fixed is None and task == "face" and req.square:
        fixed = max(int(req.minimum or 0), multiple) or None
    tiling = getattr(loaded, "tiling", None)
    tileable = fixed is None and not masked and getattr(tiling, "name", "SUPPORTED") == "SUPPORTED"
    return ModelDescriptor(
        module=module, architecture=arch, task=task, scale=int(loaded.scale), input_range=input_range,
        output_range=output_range, size_multiple=multiple, fixed_size=fixed, tileable=tileable,
        supports_half=bool(loaded.supports_half), supports_bfloat16=bool(loaded.supports_bfloat16),
        input_channels=int(loaded.input_channels) + (1 if masked else 0), output_channels=int(loaded.output_channels),
        forward=forward)


# ----- helpers ------------------------------------------------------------------------------------------

def _copy_hashing(src: Path, out: Any) -> tuple[str, int]:
    import hashlib

    digest = hashlib.sha256()
    size = 0
    try:
        with src.open("rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
                out.write(block)
                size += len(block)
        out.flush()
        os.fsync(out.fileno())
    except OSError as e:
        raise StoreError(f"Could not copy {src.name} into the model store: {e.strerror or e}.") from None
    return digest.hexdigest(), size


def _hash_file(path: Path) -> tuple[str, int]:
    import hashlib

    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


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


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0][:240] if text else type(e).__name__)
