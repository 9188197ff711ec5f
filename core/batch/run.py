"""Running a batch plan: one engine for every photo, each failure recorded in words, the rest going on.

Every result is written atomically (temp file + rename) once the engine has finished, so an output that
exists is complete; `skip_done` relies on that to resume a batch that was killed. Cancelling stops
between photos and inside an engine run, and leaves no partial file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from core.batch.items import BatchError, BatchFailure, BatchItem, BatchPlan
from core.batch.shard import Shard
from core.errors import CancelledError, RestoraError
from core.fileio import remove_leftovers
from core.jobs import CancelToken, Progress, ScaledProgress, no_progress

STEPS = 1000  # progress units per photo


@dataclass
class BatchReport:
    """What a run did: results written, photos skipped as already done, failures, out of how many."""

    total: int  # photos in this shard
    shard: Shard = field(default_factory=Shard)
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[BatchFailure] = field(default_factory=list)  # photos of this shard that failed
    problems: list[BatchFailure] = field(default_factory=list)  # inputs that could not be used at all
    cancelled: bool = False

    @property
    def failures(self) -> list[BatchFailure]:
        """Every failure to list: unusable inputs first, then the photos that failed."""
        return [*self.problems, *self.failed]

    @property
    def not_done(self) -> int:
        """Photos of this shard left undone by a cancel (the one being restored, and those after it)."""
        return self.total - len(self.written) - len(self.skipped) - len(self.failed)

    def summary(self) -> str:
        where = "" if self.shard.whole else f" in shard {self.shard}"
        text = (f"{len(self.written)} written, {len(self.failed)} failed, {len(self.skipped)} skipped as "
                f"already done, of {self.total} photo{'s' if self.total != 1 else ''}{where}")
        if self.problems:
            text += f"; {len(self.problems)} input(s) could not be used"
        if self.cancelled:
            text += f" (cancelled; {self.not_done} not done)"
        return text


@dataclass(frozen=True)
class ItemOutcome:
    status: str  # written | skipped | failed | cancelled
    detail: str = ""  # the result's path and the engine's notes, or why it failed or was skipped


class BatchListener:
    """Hooks a front end may use to show each photo (the CLI prints one progress line per photo)."""

    def item_started(self, item: BatchItem, position: int, count: int) -> Progress | None:
        """Called before a photo; may return a Progress for that photo's own 0..100%."""
        return None

    def item_finished(self, item: BatchItem, outcome: ItemOutcome) -> None:
        """Called after each photo started: written, skipped, failed, or cancelled (the last one)."""


def prepare_out_dir(out_dir: Path) -> None:
    """Create the output folder, or raise BatchError saying why it cannot be used."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise BatchError(f"The output folder {out_dir} cannot be created: it, or a folder above it, is a file.") \
            from None
    except PermissionError:
        raise BatchError(f"The output folder {out_dir} cannot be created: permission denied.") from None
    except OSError as e:
        raise BatchError(f"The output folder {out_dir} cannot be created: {e.strerror or e}.") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise BatchError(f"Restora may not write into the output folder {out_dir} (permission denied).")


def describe(error: BaseException, stage: str) -> str:
    """A failure as words a person can act on; `stage` is what was being done ('reading the photo', ...)."""
    text = str(error).strip()
    if isinstance(error, RestoraError):
        return text or f"{stage} failed"
    if isinstance(error, MemoryError) or "OutOfMemory" in type(error).__name__:
        return f"not enough memory for {stage} (try the CPU, or a smaller photo)"
    if isinstance(error, OSError):
        where = f" {error.filename}" if error.filename else ""
        return f"{stage} failed{where}: {error.strerror or text or type(error).__name__}"
    if stage == "reading the photo":
        return f"damaged image: {text or type(error).__name__}"
    if stage == "reading the mask":
        return f"damaged mask: {text or type(error).__name__}"
    kind = "" if isinstance(error, ValueError) else f"{type(error).__name__}: "
    return f"{stage} failed: {kind}{text or type(error).__name__}"


class _Stage:
    """Remembers what a photo's work is doing, so a failure can say where it happened."""

    def __init__(self) -> None:
        self.name = "starting"


def _restore_one(item: BatchItem, engine: Any, params: Mapping[str, Any], stage: _Stage, progress: Progress,
                 cancel: CancelToken, quality: int, mask_folder: Path | None) -> str:
    """Load, restore and save one photo; returns what to say about it. Raises on failure."""
    from core.engines.request import EngineRequest
    from core.imageio import load_photo, save_photo
    from core.masks import load_mask

    needs_mask = bool(getattr(engine.requirements, "needs_mask", False))
    if needs_mask and item.mask is None:
        stem = item.source.stem
        searched = f"no {stem}_mask.* or {stem}.* in {mask_folder}, nor" if mask_folder else "put"
        raise RestoraError(f"{engine.title} needs a mask, and none was found for {item.name}: {searched} "
                           f"{stem}_mask.png beside the photo" + ("." if mask_folder else ", or give a mask."))
    stage.name = "reading the photo"
    photo = load_photo(item.source)
    mask = None
    if item.mask is not None and (needs_mask or item.mask_given):
        stage.name = "reading the mask"
        mask = load_mask(item.mask, (photo.height, photo.width))
    stage.name = "restoring"
    cancel.raise_if_cancelled()
    result = engine.run(EngineRequest(photo, mask=mask, regions=None, params=params, progress=progress,
                                      cancel=cancel))
    cancel.raise_if_cancelled()  # cancelled just as the engine finished: write nothing more
    stage.name = "saving the result"
    item.target.parent.mkdir(parents=True, exist_ok=True)
    saved = save_photo(result.photo, item.target, quality=quality)
    return f"-> {saved}" + "".join(f" ({note})" for note in result.notes)


def _exists(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _named(progress: Progress, name: str) -> Callable[[int, int, str], None]:
    """The progress with the photo's name in front of each message (the name alone when there is none)."""
    def report(done: int, total: int, message: str = "") -> None:
        progress(done, total, f"{name}: {message}" if message else name)
    return report


def _both(a: Progress, b: Progress | None) -> Progress:
    if b is None:
        return a

    def report(done: int, total: int, message: str = "") -> None:
        a(done, total, message)
        b(done, total, message)
    return report


def run_batch(plan: BatchPlan, engine: Any, params: Mapping[str, Any] | None = None, *, shard: Shard = Shard(),
              skip_done: bool = False, overwrite: bool = False, quality: int = 95, progress: Progress = no_progress,
              cancel: CancelToken | None = None, listener: BatchListener | None = None) -> BatchReport:
    """Restore this shard's photos of `plan` with one `engine`, going on past each photo that fails.

    An existing result is skipped with `skip_done`, replaced with `overwrite`, and otherwise a failure of
    that photo. Raises BatchConflictError for a plan with conflicts and BatchError when the output folder
    cannot be used, both before any work; returns a report, with `cancelled` set if the run was cancelled."""
    if skip_done and overwrite:
        raise BatchError("Choose either to skip photos already done or to replace their results, not both.")
    plan.check()
    resolved = engine.resolve_params(params or {})
    cancel = cancel or CancelToken()
    listener = listener or BatchListener()
    items = shard.select(plan.items)
    report = BatchReport(total=len(items), shard=shard, problems=list(plan.problems))
    prepare_out_dir(plan.out_dir)
    for folder in {plan.out_dir, *(item.target.parent for item in items)}:
        remove_leftovers(folder)  # half-written results of a batch killed over an hour ago
    count = len(items)
    mask_folder = plan.mask_arg if plan.mask_arg is not None and plan.mask_arg.is_dir() else None
    for position, item in enumerate(items):
        if cancel.cancelled:
            report.cancelled = True
            break
        progress(position * STEPS, count * STEPS, item.name)
        own = listener.item_started(item, position, count)
        scaled = ScaledProgress(_named(progress, item.name), position * STEPS, STEPS, count * STEPS)
        if _exists(item.target) and not overwrite:
            if skip_done:
                report.skipped.append(item.target)
                listener.item_finished(item, ItemOutcome("skipped", "already done"))
            else:
                reason = (f"{item.target} already exists (replace it with --overwrite, or keep it and go on "
                          f"with --skip-done)")
                report.failed.append(BatchFailure(item.name, reason, item.source))
                listener.item_finished(item, ItemOutcome("failed", reason))
            continue
        stage = _Stage()
        try:
            said = _restore_one(item, engine, resolved, stage, _both(scaled, own), cancel, quality, mask_folder)
        except CancelledError:
            report.cancelled = True
            listener.item_finished(item, ItemOutcome("cancelled", "cancelled; nothing written"))
            break
        except Exception as e:  # noqa: BLE001 - every failure of one photo is reported and the batch goes on
            reason = describe(e, stage.name)
            report.failed.append(BatchFailure(item.name, reason, item.source))
            listener.item_finished(item, ItemOutcome("failed", reason))
        else:
            report.written.append(item.target)
            listener.item_finished(item, ItemOutcome("written", said))
    progress(count * STEPS, count * STEPS, "Cancelled" if report.cancelled else "Done")
    return report
