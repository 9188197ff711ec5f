"""What a batch is made of: the planned items, the inputs refused while planning, and the batch's errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from core.errors import RestoraError


class BatchError(RestoraError):
    """The batch as a whole cannot run (its output folder, its mask, its options); nothing was done."""


class BatchConflictError(BatchError):
    """Planned results would collide with each other or replace an input; nothing was done."""

    def __init__(self, conflicts: list[str]) -> None:
        self.conflicts = list(conflicts)
        shown = "\n".join(f"  {c}" for c in self.conflicts[:10])
        more = f"\n  … and {len(self.conflicts) - 10} more" if len(self.conflicts) > 10 else ""
        super().__init__(f"Nothing was done: {len(self.conflicts)} result(s) would replace an input photo "
                         f"or another result.\n{shown}{more}")


@dataclass(frozen=True)
class BatchFailure:
    """One photo (or input) that could not be restored, and why, in words a person can act on."""

    name: str  # as the person knows it: the argument given, or the path under the folder given
    reason: str
    path: Path | None = None

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass(frozen=True)
class BatchItem:
    """One photo to restore: where it is, where its result goes, and its mask (if one was found)."""

    index: int  # position in the plan, which is sorted by `relative`: the same on every machine
    name: str  # the photo's path under the folder it was found in (its name when it was named directly)
    source: Path
    target: Path
    relative: PurePosixPath  # target under the output folder: the sort key and what sharding counts on
    mask: Path | None = None
    mask_given: bool = False  # the mask came from --mask (used even by engines that do not need one)


@dataclass
class BatchPlan:
    """Every photo of a batch with its output path, decided before any work."""

    out_dir: Path
    items: list[BatchItem] = field(default_factory=list)
    problems: list[BatchFailure] = field(default_factory=list)  # inputs that cannot be used at all
    conflicts: list[str] = field(default_factory=list)  # collisions: the batch is refused if any
    mask_arg: Path | None = None  # the --mask given, for messages

    def check(self) -> None:
        """Raise BatchConflictError when any result would collide or replace an input."""
        if self.conflicts:
            raise BatchConflictError(self.conflicts)
