"""Metrics as growing NumPy series: one `Series` per curve, filled from metrics.jsonl records.

`absorb` folds parsed records (one JSON object per line, "kind": "train" or "val") into a `RunMetrics`,
one NumPy column per field, so a GUI can plot a million points without Python lists in the way.
Series keys: "loss/<name>", "lr/<name>", "val/<name>", and the performance figures in PERF_KEYS.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

_NUMBER_TYPES = (int, float)


class GrowingArray:
    """A float64 array that appends in amortised O(1) and hands out views of its filled part."""

    __slots__ = ("_data", "_size")

    def __init__(self, capacity: int = 256) -> None:
        self._data = np.empty(max(int(capacity), 16), dtype=np.float64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def values(self) -> np.ndarray:
        """The filled part (a view: it stays valid, but later appends may not show in it)."""
        return self._data[: self._size]

    def extend(self, values: np.ndarray | Sequence[float]) -> None:
        values = np.asarray(values, dtype=np.float64)
        need = self._size + values.size
        if need > self._data.size:
            grown = np.empty(max(need, self._data.size * 2), dtype=np.float64)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size:need] = values
        self._size = need

    def truncate(self, size: int) -> None:
        self._size = max(0, min(int(size), self._size))


class Series:
    """One curve: values against training step, with the wall time (s since the run started) of each."""

    __slots__ = ("name", "_steps", "_values", "_wall", "revision", "truncations", "_wall_offset", "_last_raw_wall")

    def __init__(self, name: str) -> None:
        self.name = name
        self._steps = GrowingArray()
        self._values = GrowingArray()
        self._wall = GrowingArray()
        self.revision = 0  # bumps on every change; a viewer redraws only series whose revision moved
        self.truncations = 0  # bumps when history was dropped (a resumed run), so cached derivatives restart
        self._wall_offset = 0.0
        self._last_raw_wall = math.nan

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def steps(self) -> np.ndarray:
        return self._steps.values

    @property
    def values(self) -> np.ndarray:
        return self._values.values

    @property
    def wall(self) -> np.ndarray:
        """Seconds of training at each point; never decreasing, even when a resumed run restarts its clock."""
        return self._wall.values

    @property
    def last_step(self) -> float | None:
        return float(self._steps.values[-1]) if len(self) else None

    def extend(self, steps: np.ndarray, values: np.ndarray, wall: np.ndarray) -> None:
        """Append points; a step at or before the last one (a resumed run) first drops the points it replaces."""
        steps = np.asarray(steps, dtype=np.float64)
        if steps.size == 0:
            return
        values = np.asarray(values, dtype=np.float64)
        wall = np.asarray(wall, dtype=np.float64)
        # Split where the step goes backwards: each segment is increasing and replaces history from its start.
        breaks = np.flatnonzero(np.diff(steps) <= 0) + 1
        starts = np.concatenate(([0], breaks))
        ends = np.concatenate((breaks, [steps.size]))
        for a, b in zip(starts.tolist(), ends.tolist()):
            first = steps[a]
            if len(self) and self._steps.values[-1] >= first:
                keep = int(np.searchsorted(self._steps.values, first, side="left"))
                for buf in (self._steps, self._values, self._wall):
                    buf.truncate(keep)
                self.truncations += 1
                self._last_raw_wall = math.nan
                if keep and wall[a] + self._wall_offset < self._wall.values[-1]:
                    self._wall_offset = float(self._wall.values[-1] - wall[a])
            self._steps.extend(steps[a:b])
            self._values.extend(values[a:b])
            self._wall.extend(self._continued_wall(wall[a:b]))
        self.revision += 1

    def _continued_wall(self, raw: np.ndarray) -> np.ndarray:
        # A trainer that restarts its clock on resume would make time go backwards; carry the offset on.
        previous = self._last_raw_wall if math.isfinite(self._last_raw_wall) else raw[0]
        drops = np.diff(raw, prepend=previous)
        drops = np.where(drops < 0, -drops, 0.0)
        corrected = raw + (self._wall_offset + np.cumsum(drops))
        self._wall_offset += float(drops.sum())
        finite = raw[np.isfinite(raw)]
        if finite.size:
            self._last_raw_wall = float(finite[-1])
        return corrected

    def value_at(self, step: float) -> tuple[float, float] | None:
        """The point nearest to `step` as (step, value), or None when the series is empty."""
        xs = self.steps
        if xs.size == 0:
            return None
        i = int(np.searchsorted(xs, step))
        if i >= xs.size or (i > 0 and abs(xs[i - 1] - step) <= abs(xs[i] - step)):
            i -= 1
        return float(xs[i]), float(self.values[i])

    def recent_mean(self, count: int = 20) -> float | None:
        """Mean of the last `count` finite values (a steady figure for it/s), or None."""
        tail = self.values[-count:]
        tail = tail[np.isfinite(tail)]
        return float(tail.mean()) if tail.size else None


# Performance figures of a train record: shown as numbers, kept as series like the rest.
PERF_KEYS = ("it_per_s", "data_wait_s", "gpu_mem_mb")


@dataclass
class RunMetrics:
    """Everything metrics.jsonl said so far, as named series."""

    series: dict[str, Series] = field(default_factory=dict)
    val_previews: dict[int, str] = field(default_factory=dict)  # step -> previews folder (relative)
    last_train: dict[str, Any] | None = None
    last_val: dict[str, Any] | None = None
    lines: int = 0
    skipped_lines: int = 0

    def names(self, prefix: str) -> list[str]:
        """Names of the series under a prefix ("loss", "lr", "val"), "total" first for losses."""
        head = prefix + "/"
        found = [k[len(head):] for k in self.series if k.startswith(head)]
        return sorted(found, key=lambda n: (n != "total", n))

    def get(self, key: str) -> Series | None:
        return self.series.get(key)

    def _series(self, key: str) -> Series:
        s = self.series.get(key)
        if s is None:
            s = self.series[key] = Series(key)
        return s


def _column(rows: list[Any], key: str) -> np.ndarray:
    """One field of many dicts as float64; missing, null or non-numeric values become NaN."""
    values = [row.get(key) for row in rows]
    try:
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError):  # a string or a nested object somewhere: clean value by value
        return np.array([v if v.__class__ in _NUMBER_TYPES else None for v in values], dtype=np.float64)


def number(value: Any, default: float = math.nan) -> float:
    return float(value) if value.__class__ in _NUMBER_TYPES else default


def _add_columns(metrics: RunMetrics, changed: set[str], prefix: str, rows: list[Any], steps: np.ndarray,
                 wall: np.ndarray, keys: Iterable[str] | None = None) -> None:
    """Append each field of `rows` (dicts aligned with `steps`) to the series prefix+field, skipping gaps."""
    if keys is None:
        keys = set().union(*rows) if rows else ()
    for key in keys:
        if not isinstance(key, str):
            continue
        values = _column(rows, key)
        keep = np.isfinite(values)
        if not keep.any():
            continue
        if keep.all():
            metrics._series(prefix + key).extend(steps, values, wall)
        else:
            metrics._series(prefix + key).extend(steps[keep], values[keep], wall[keep])
        changed.add(prefix + key)


def absorb(metrics: RunMetrics, records: Iterable[Any]) -> set[str]:
    """Fold parsed records into the metrics, one NumPy column per field; returns the changed series keys."""
    train: list[dict] = []
    val: list[dict] = []
    for rec in records:
        if rec.__class__ is dict and rec.get("step").__class__ in _NUMBER_TYPES:
            kind = rec.get("kind")
            if kind == "train":
                train.append(rec)
                continue
            if kind == "val":
                val.append(rec)
                continue
        metrics.skipped_lines += 1
    changed: set[str] = set()
    empty: dict = {}
    if train:
        steps = _column(train, "step")
        wall = _column(train, "wall_time")
        losses = [r.get("losses") for r in train]
        losses = [d if d.__class__ is dict else empty for d in losses]
        _add_columns(metrics, changed, "loss/", losses, steps, wall)
        lrs = [r.get("lr") for r in train]
        lrs = [d if d.__class__ is dict else ({"g": d} if d.__class__ in _NUMBER_TYPES else empty) for d in lrs]
        _add_columns(metrics, changed, "lr/", lrs, steps, wall)
        _add_columns(metrics, changed, "", train, steps, wall, PERF_KEYS)
        metrics.last_train = train[-1]
    if val:
        steps = _column(val, "step")
        wall = _column(val, "wall_time")
        values = [r.get("metrics") for r in val]
        _add_columns(metrics, changed, "val/", [d if d.__class__ is dict else empty for d in values], steps, wall)
        for rec in val:
            previews = rec.get("previews")
            if isinstance(previews, str) and previews:
                metrics.val_previews[int(rec["step"])] = previews
        metrics.last_val = val[-1]
    return changed


def parse_lines(text: str) -> tuple[list[Any], int]:
    """Parse complete JSON lines; returns (records, number of bad lines). One bad line loses only itself."""
    body = text.strip()
    if not body:
        return [], 0
    try:  # one decoder call for the whole chunk is much faster than one per line
        return json.loads("[" + body.replace("\n", ",") + "]"), 0
    except ValueError:
        pass
    records, bad = [], 0
    for line in body.split("\n"):
        line = line.strip()
        if not line:
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            bad += 1
    return records, bad
