"""The model store's manifest: one JSON file beside the weight files, recording what each file is.

An entry is the file's own record (name, file, SHA-256, size, licence, origin) plus the network's facts
exactly as its descriptor states them (core.models.descriptor.ModelFacts): nothing is copied field by
field. Reads never fail on one bad entry (it is reported and skipped); writes are atomic and happen under a
lock shared between processes (core.fileio.file_lock), so parallel imports never lose an entry.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from core.errors import RestoraError
from core.fileio import atomic_write_text
from core.models.facts import ModelFacts

MANIFEST = "manifest.json"
MANIFEST_VERSION = 2
SOURCES = ("imported", "downloaded", "trained")


class ManifestError(RestoraError):
    """The manifest cannot be read or written."""


@dataclass
class ModelEntry:
    """One model in the store: its file and the network's facts."""

    name: str
    file: str  # a plain file name inside the store folder
    facts: ModelFacts
    sha256: str
    file_size: int
    license: str = ""
    source: str = "imported"  # imported | downloaded | trained
    added: str = ""  # ISO 8601, UTC
    identified_by: str = ""  # "restora" (our own architecture) or "spandrel"
    catalog_id: str | None = None
    notes: list[str] = field(default_factory=list)

    # Read-only views of the facts, for listing (the facts stay the one record).
    @property
    def architecture(self) -> str:
        return self.facts.architecture

    @property
    def task(self) -> str:
        return self.facts.purpose

    @property
    def scale(self) -> int:
        return self.facts.scale

    @property
    def input_range(self) -> tuple[float, float]:
        return self.facts.input_range

    @property
    def output_range(self) -> tuple[float, float]:
        return self.facts.output_range

    @property
    def fixed_size(self) -> int | None:
        return self.facts.size.fixed

    @property
    def tileable(self) -> bool:
        return self.facts.size.strategy == "tile"

    @property
    def size_multiple(self) -> int:
        return self.facts.size.multiple_of

    @property
    def min_size(self) -> int:
        return max(self.facts.size.minimum, self.facts.size.fixed or 1)

    @property
    def input_channels(self) -> int:
        """Channels the network takes: the image's, plus one for the mask of an inpainting model."""
        return self.facts.image_channels + (1 if self.facts.masked else 0)

    @property
    def parameters(self) -> int:
        return self.facts.parameters

    @property
    def size_mb(self) -> float:
        return self.file_size / 1e6

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.file, "facts": self.facts.to_json(), "sha256": self.sha256,
                "file_size": self.file_size, "license": self.license, "source": self.source, "added": self.added,
                "identified_by": self.identified_by, "catalog_id": self.catalog_id, "notes": list(self.notes)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ModelEntry":
        """An entry as to_json wrote it; raises ValueError for anything malformed or unsafe."""
        try:
            entry = cls(name=str(data["name"]), file=str(data["file"]), facts=ModelFacts.from_json(data["facts"]),
                        sha256=str(data["sha256"]), file_size=int(data["file_size"]),
                        license=str(data.get("license") or ""), source=str(data.get("source") or "imported"),
                        added=str(data.get("added") or ""), identified_by=str(data.get("identified_by") or ""),
                        catalog_id=None if data.get("catalog_id") is None else str(data["catalog_id"]),
                        notes=[str(n) for n in data.get("notes") or ()])
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"malformed entry ({type(e).__name__}: {e})") from None
        if not entry.name or not is_plain_file_name(entry.file) or entry.file_size < 0:
            raise ValueError(f"unsafe or empty file name {entry.file!r}")
        if len(entry.sha256) != 64 or entry.source not in SOURCES:
            raise ValueError("bad checksum or source")
        return entry


def is_plain_file_name(name: str) -> bool:
    """A file name with no folder part: a manifest may only name files inside the store folder."""
    return bool(name) and name not in (".", "..") and Path(name).name == name and "/" not in name \
        and "\\" not in name and not name.startswith(".") and "\x00" not in name


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class ManifestContent:
    entries: dict[str, ModelEntry]
    damaged: list[str] = field(default_factory=list)  # what could not be read, in words
    legacy: list[dict[str, Any]] = field(default_factory=list)  # version-1 entries, to be re-identified
    readable: bool = True  # False when the file itself could not be parsed


def read_manifest(path: Path) -> ManifestContent:
    """The entries of a manifest file; a missing file is an empty store."""
    if not path.exists():
        return ManifestContent({})
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("models"), list):
            raise ValueError("it has no list of models")
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return ManifestContent({}, [f"the manifest could not be read ({e})"], readable=False)
    version = data.get("version")
    content = ManifestContent({})
    for i, item in enumerate(data["models"]):
        if version == 1 and isinstance(item, dict) and "facts" not in item:
            content.legacy.append(item)
            continue
        try:
            entry = ModelEntry.from_json(item if isinstance(item, dict) else {})
        except ValueError as e:
            content.damaged.append(f"entry {i + 1} ({_label(item)}): {e}")
            continue
        if entry.name in content.entries:
            content.damaged.append(f"entry {i + 1}: a second model called {entry.name!r}")
            continue
        content.entries[entry.name] = entry
    return content


def write_manifest(path: Path, entries: Mapping[str, ModelEntry]) -> None:
    data = {"version": MANIFEST_VERSION,
            "models": [e.to_json() for e in sorted(entries.values(), key=lambda e: e.name.lower())]}
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def _label(item: Any) -> str:
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        return repr(item["name"])[:60]
    return type(item).__name__
