"""What the Models dialog shows, as plain data (no Qt): one row per installed model and per catalog item.

The facts are the store's and the catalog's (core.store); this module only puts them into words: human
sizes, task titles, which engine runs a model, and whether a catalog item is already installed. Store
entries and catalog items are read with getattr so tests can hand in small fakes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from core.kinds import CHECKPOINT_SUFFIXES, TASK_TITLES, is_checkpoint_name

CHECKPOINT_FILTER = f"Checkpoints ({' '.join('*' + s for s in CHECKPOINT_SUFFIXES)});;All files (*)"
SOURCE_TITLES = {"imported": "Imported", "downloaded": "Downloaded", "trained": "Trained here"}


def is_checkpoint(path: str | Path) -> bool:
    return is_checkpoint_name(Path(path).name)


def human_size(value: Any) -> str:
    """Bytes in words: "512 B", "51.2 KB", "200.0 MB" (never "0 MB" for a small file); "unknown" for None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return "unknown" if value is None else str(value)
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def task_title(task: str) -> str:
    return TASK_TITLES.get(task, task or "unknown")


def matching_catalog_item(entry: Any, catalog: Iterable[Any]) -> Any | None:
    """The catalog item an installed model is (same catalog id, or same published SHA-256), or None."""
    catalog_id = getattr(entry, "catalog_id", None)
    sha256 = getattr(entry, "sha256", None)
    for item in catalog:
        if catalog_id and getattr(item, "id", None) == catalog_id:
            return item
        if sha256 and getattr(item, "sha256", None) == sha256:
            return item
    return None


@dataclass(frozen=True)
class InstalledRow:
    name: str  # the store's name: what `restora models remove` and the weights choices use
    title: str  # the name as shown: the catalog's name beside the store's when they differ
    task: str
    task_title: str
    architecture: str
    scale: str
    size: str
    license: str
    engine: str  # which engine runs it, in words
    engine_help: str  # where to find it in the restore panel
    source: str
    notes: tuple[str, ...] = ()
    details: str = ""  # everything above in sentences, for the detail line and the tooltip


@dataclass(frozen=True)
class CatalogRow:
    id: str
    name: str
    task_title: str
    size: str
    architecture: str
    license: str
    installed_as: str | None  # the store name of the installed copy, or None
    details: str = ""

    @property
    def status(self) -> str:
        return f"Installed as {self.installed_as}" if self.installed_as else ""


@dataclass
class Listing:
    """What one listing job read: the store's entries and problems, and (when asked) the catalog and the
    titles of the built-in engines that serve store models as weight choices."""

    entries: list[Any]
    problems: list[str] = field(default_factory=list)
    catalog: list[Any] | None = None
    catalog_error: str = ""
    engine_titles: dict[str, str] | None = None
    engine_error: str = ""


def engine_words(entry: Any, engine_titles: Mapping[str, str]) -> tuple[str, str]:
    """(which engine runs the model, where the user finds it) for one store entry."""
    architecture = str(getattr(entry, "architecture", "") or "")
    name = str(getattr(entry, "name", ""))
    task = task_title(str(getattr(entry, "task", "") or ""))
    title = engine_titles.get(architecture)
    if title is not None:
        return (f"{title} (weights choice)",
                f"Restore panel → {task} → {title}: choose “{name}” under Weights.")
    if getattr(getattr(entry, "facts", None), "parser", False):  # face parsers are its face-mask choice
        return ("Restore faces (face mask choice)",
                f"Restore panel → {task} → Restore faces: choose “{name}” under Face mask.")
    if str(getattr(entry, "task", "")) == "face":  # face models are a choice of the face engine
        return ("Restore faces (model choice)",
                f"Restore panel → {task} → Restore faces: choose “{name}” under Restorer.")
    return "Own engine", f"Restore panel → {task} → {name} ({architecture})."


def installed_row(entry: Any, catalog: Iterable[Any], engine_titles: Mapping[str, str]) -> InstalledRow:
    name = str(getattr(entry, "name", entry))
    item = matching_catalog_item(entry, catalog)
    item_name = str(getattr(item, "name", "") or "") if item is not None else ""
    title = name if not item_name or item_name.lower() == name.lower() else f"{name} ({item_name})"
    task = str(getattr(entry, "task", "") or "")
    architecture = str(getattr(entry, "architecture", "") or "")
    scale = getattr(entry, "scale", None)
    licence = str(getattr(entry, "license", "") or "") or (str(getattr(item, "license", "") or "") if item else "")
    engine, engine_help = engine_words(entry, engine_titles)
    source = str(getattr(entry, "source", "") or "")
    notes = tuple(str(n) for n in getattr(entry, "notes", None) or ())
    size = human_size(getattr(entry, "file_size", None))
    lines = [f"{name}: {architecture or 'unknown architecture'} for “{task_title(task)}”, {size}"
             + (f", {scale}x upscaling" if isinstance(scale, int) and scale > 1 else "") + "."]
    if item is not None:
        lines.append(f"This is “{item_name}” from the download catalog.")
    lines.append(f"Runs in: {engine_help}")
    lines.append(f"Licence: {licence or 'not recorded: check where the file came from'}.")
    origin = SOURCE_TITLES.get(source, source)
    added = str(getattr(entry, "added", "") or "")
    if origin:
        lines.append(f"{origin}{' ' + added.replace('T', ' ').rstrip('Z') + ' UTC' if added else ''}.")
    lines += [f"Note: {n}" for n in notes]
    return InstalledRow(name=name, title=title, task=task, task_title=task_title(task), architecture=architecture,
                        scale=f"{scale}x" if scale else "", size=size, license=licence, engine=engine,
                        engine_help=engine_help, source=SOURCE_TITLES.get(source, source), notes=notes,
                        details="\n".join(lines))


def installed_rows(entries: Iterable[Any], catalog: Iterable[Any],
                   engine_titles: Mapping[str, str]) -> list[InstalledRow]:
    items = list(catalog)
    return [installed_row(e, items, engine_titles) for e in entries]


def catalog_rows(catalog: Iterable[Any], entries: Iterable[Any]) -> list[CatalogRow]:
    items, installed = list(catalog), list(entries)
    rows = []
    for item in items:
        copy = next((e for e in installed if matching_catalog_item(e, [item]) is item), None)
        size = human_size(getattr(item, "size", None))
        licence = str(getattr(item, "license", "") or "")
        architecture = str(getattr(item, "architecture", "") or "")
        name = str(getattr(item, "name", "") or getattr(item, "id", ""))
        lines = [f"{name}: {architecture or 'a'} model for “{task_title(str(getattr(item, 'task', '')))}”, "
                 f"{size if size != 'unknown' else 'size not published'}."]
        if getattr(item, "notes", ""):
            lines.append(str(item.notes))
        lines.append(f"Licence: {licence or 'unknown'}.")
        if copy is not None:
            lines.append(f"Already installed as “{getattr(copy, 'name', '')}”.")
        rows.append(CatalogRow(id=str(getattr(item, "id", "")), name=name,
                               task_title=task_title(str(getattr(item, "task", "") or "")), size=size,
                               architecture=architecture, license=licence,
                               installed_as=None if copy is None else str(getattr(copy, "name", "")),
                               details="\n".join(lines)))
    return rows
