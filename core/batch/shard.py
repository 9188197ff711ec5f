"""Sharding: N machines each take their share of one batch, with no coordination between them.

Shard i of N takes the planned photos whose index in the plan satisfies index % N == i. The plan is
sorted by output path, so every machine that sees the same inputs computes the same plan and the N
shares partition it exactly: each photo is done by one machine, and no machine needs to talk to another.
Modulo (round-robin) rather than N consecutive blocks because a sorted archive is ordered by folder and
the folders differ in size and difficulty (a day of bursts, a folder of huge scans): dealing the photos
out like cards spreads every folder over all machines, so they finish at about the same time, and the
shares differ by at most one photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, TypeVar

from core.batch.items import BatchError

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (0 <= index < count); the default, 0 of 1, is the whole batch."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise BatchError(f"The shard count must be at least 1, not {self.count}.")
        if not 0 <= self.index < self.count:
            raise BatchError(f"Shard {self.index} does not exist among {self.count}: shards are numbered 0 to "
                             f"{self.count - 1} (for a SLURM array use --array=0-{self.count - 1}).")

    @property
    def whole(self) -> bool:
        return self.count == 1

    def takes(self, index: int) -> bool:
        return index % self.count == self.index

    def select(self, items: Sequence[T]) -> list[T]:
        """This shard's items of a plan's items (taken in plan order)."""
        return [item for n, item in enumerate(items) if self.takes(n)]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """'i/N' (as in --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT) -> Shard(i, N)."""
    index, sep, count = str(text).strip().partition("/")
    try:
        if not sep:
            raise ValueError
        return Shard(int(index), int(count))
    except ValueError:
        raise BatchError(f"--shard takes INDEX/COUNT with whole numbers, e.g. 0/4; got {text!r}.") from None
