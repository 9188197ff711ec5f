"""Planning a batch: every photo's output path and mask, decided and checked before any work.

The output keeps each photo's place under the folder it was found in (day1/IMG_0001.jpg ->
OUT/day1/IMG_0001.jpg), so same-named photos in different sub-folders never collide. A plan whose
results would collide with each other, or would replace any input of the batch (a photo or a mask), is
refused as a whole: no result ever replaces an input, whatever the options.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath
from typing import Iterable

from core.batch.inputs import Found, MaskFinder, expand_inputs, not_regular, too_long
from core.batch.items import BatchError, BatchFailure, BatchItem, BatchPlan
from core.kinds import IMAGE_SUFFIXES

FORMATS = ("same", "png", "jpg", "tif", "webp")


def output_name(name: str, fmt: str = "same", suffix: str = "") -> str:
    """The result's file name for a photo named `name` (a photo with an odd extension is written as PNG)."""
    path = PurePosixPath(name)
    ext = path.suffix.lower() if fmt == "same" else f".{fmt}"
    if ext not in IMAGE_SUFFIXES:
        ext = ".png"
    return f"{path.stem}{suffix}{ext}"


def check_out_dir(out_dir: Path) -> None:
    """Raise BatchError when the output folder is a file or could never be created."""
    if out_dir.exists() and not out_dir.is_dir():
        raise BatchError(f"The output folder {out_dir} is an existing file; choose a folder for the results.")
    for parent in out_dir.parents:
        if parent.exists():
            if not parent.is_dir():
                raise BatchError(f"The output folder {out_dir} cannot be created: {parent} is a file.")
            break


def _check_options(fmt: str, suffix: str) -> None:
    if fmt not in FORMATS:
        raise BatchError(f"Unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    if any(c in suffix for c in ("/", "\\", "\0")):
        raise BatchError(f"The suffix {suffix!r} may not contain / or \\: it is added to file names.")


def _mask_argument(mask: str | os.PathLike[str] | None) -> Path | None:
    if mask is None or str(mask) == "":
        return None
    path = Path(mask)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        raise BatchError(f"The mask {path} does not exist (give a mask file, or a folder of masks).") from None
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise BatchError(f"The mask {path}: {not_regular(mode)}.")
    return path


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _dedupe(found: list[Found]) -> list[Found]:
    """The same photo named twice (as a file and inside a folder given too) is restored once."""
    seen: set[Path] = set()
    unique = []
    for f in found:
        key = f.source.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _conflicts(items: list[BatchItem], photos: list[Path]) -> list[str]:
    """Results that collide with each other or would replace an input (any photo found, any mask)."""
    messages: list[str] = []
    by_target: dict[str, list[BatchItem]] = {}
    for item in items:  # case-folded: on macOS, Windows and many shares A.jpg and a.jpg are one file
        by_target.setdefault(str(item.relative).casefold(), []).append(item)
    for group in by_target.values():
        if len(group) > 1:
            names = ", ".join(str(i.source) for i in group[:-1]) + f" and {group[-1].source}"
            messages.append(f"{names} would {'both' if len(group) == 2 else 'all'} be written as "
                            f"{group[0].target}; rename one, or restore them into different output folders.")
    protected = [(p, f"the original photo {p}") for p in photos]
    protected += [(i.mask, f"the mask {i.mask}") for i in items if i.mask is not None]
    by_path: dict[Path, Path] = {}
    by_id: dict[tuple[int, int], Path] = {}
    described: dict[Path, str] = {}
    for path, what in protected:
        described.setdefault(path, what)
        by_path.setdefault(path.resolve(), path)
        file_id = _file_id(path)
        if file_id is not None:
            by_id.setdefault(file_id, path)
    for item in items:
        hit = by_path.get(item.target.resolve())
        if hit is None and item.target.exists():  # hard links, or a case-insensitive file system
            file_id = _file_id(item.target)
            hit = by_id.get(file_id) if file_id else None
        if hit is None:
            continue
        hit_id = _file_id(hit)
        if hit.resolve() == item.source.resolve() or (hit_id is not None and hit_id == _file_id(item.source)):
            whose = f"would replace its own original photo {item.source}"
        else:
            whose = f"would replace {described[hit]}, another input of this batch"
        messages.append(f"{item.name}: the result {item.target} {whose}. Nothing is ever written over an "
                        f"input: choose an output folder outside the input folders, or add a suffix to the names.")
    return messages


def plan_batch(inputs: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str], *, fmt: str = "same",
               suffix: str = "", recursive: bool = False, mask: str | os.PathLike[str] | None = None) -> BatchPlan:
    """Every photo of the inputs with its output path under `out_dir` and its mask, sorted by output path.

    Raises BatchError when the options cannot work (output folder a file, mask missing). Inputs that
    cannot be used go to plan.problems; results that would collide or replace an input go to
    plan.conflicts (run_batch refuses such a plan)."""
    _check_options(fmt, suffix)
    out = Path(out_dir)
    check_out_dir(out)
    mask_path = _mask_argument(mask)
    exclude = [out] + ([mask_path] if mask_path is not None else [])
    found, problems = expand_inputs(inputs, recursive=recursive, exclude=exclude)
    finder = MaskFinder(mask_path)
    planned: list[BatchItem] = []
    found = _dedupe(found)
    for photo in found:
        relative = photo.relative.parent / output_name(photo.relative.name, fmt, suffix)
        long = next((msg for msg in map(too_long, relative.parts) if msg), None)
        if long:
            problems.append(BatchFailure(str(photo.relative), f"the result's {long}; use a shorter name or "
                                                              f"suffix", photo.source))
            continue
        mask_file, given = finder.find(photo)
        planned.append(BatchItem(0, str(photo.relative), photo.source, out.joinpath(*relative.parts), relative,
                                 mask_file, given))
    planned.sort(key=lambda i: (str(i.relative), str(i.source)))
    items = [BatchItem(n, i.name, i.source, i.target, i.relative, i.mask, i.mask_given)
             for n, i in enumerate(planned)]
    return BatchPlan(out, items, problems, _conflicts(items, [f.source for f in found]), mask_path)
