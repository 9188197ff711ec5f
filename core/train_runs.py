"""Reading training run folders as they grow: metrics, status, previews, checkpoints. Qt-free.

A run folder (written by the training engine):
    config.toml                 the frozen config
    status.json                 {"state", "message", "pid", "step", "total_steps", "updated"}
    metrics.jsonl               one JSON object per line, "kind": "train" or "val"
    previews/step_XXXXXXXX/     {i:02d}_input.png, {i:02d}_output.png, {i:02d}_target.png (target optional)
    checkpoints/                latest.pt, best.pt, best.safetensors
    STOP                        created by anyone who wants the run to stop gracefully

`RunReader` keeps a byte offset into metrics.jsonl and reads only what was appended since the last
poll; a half-written last line waits for its newline. Values land in growing NumPy buffers, one
`Series` per curve, so a GUI can plot a million points without Python lists in the way.
"""

from __future__ import annotations

import gc
import importlib
import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from core.errors import RestoraError

CONFIG_FILE = "config.toml"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
STOP_FILE = "STOP"
PREVIEWS_DIR = "previews"
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt")

FINISHED_STATES = frozenset({"finished", "stopped", "failed", "early_stopped"})
_PREVIEW_STEP = re.compile(r"^step_(\d+)$")
_PREVIEW_FILE = re.compile(r"^(\d+)_(input|output|target)\.png$", re.IGNORECASE)
_DEFAULT_CHUNK = 4 << 20
_NUMBER_TYPES = (int, float)


class RunFolderError(RestoraError):
    """A folder is not a readable training run, or a run request cannot be made."""


class TrainArgsError(RestoraError):
    """Training options from the form cannot become a valid command line."""


# --------------------------------------------------------------------------------------------------
# Growing buffers


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


# Series keys: "loss/<name>", "lr/<name>", "val/<name>", and the performance figures below.
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


def _number(value: Any, default: float = math.nan) -> float:
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


def _absorb(metrics: RunMetrics, records: Iterable[Any]) -> set[str]:
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


# --------------------------------------------------------------------------------------------------
# Status, previews, checkpoints


@dataclass(frozen=True)
class RunStatus:
    state: str = "unknown"
    message: str = ""
    pid: int | None = None
    step: int = 0
    total_steps: int = 0
    updated: str = ""

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunStatus":
        pid = data.get("pid")
        return cls(state=str(data.get("state") or "unknown"), message=str(data.get("message") or ""),
                   pid=int(pid) if isinstance(pid, int) and not isinstance(pid, bool) else None,
                   step=int(_number(data.get("step"), 0)), total_steps=int(_number(data.get("total_steps"), 0)),
                   updated=str(data.get("updated") or ""))


@dataclass(frozen=True)
class PreviewSample:
    index: int
    input: Path | None
    output: Path | None
    target: Path | None


@dataclass(frozen=True)
class PreviewStep:
    step: int
    folder: Path

    def samples(self) -> list[PreviewSample]:
        """The input/output/target triples in this step's folder, by sample index."""
        found: dict[int, dict[str, Path]] = {}
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return []
        for entry in entries:
            m = _PREVIEW_FILE.match(entry.name)
            if m:
                found.setdefault(int(m.group(1)), {})[m.group(2).lower()] = Path(entry.path)
        return [PreviewSample(i, parts.get("input"), parts.get("output"), parts.get("target"))
                for i, parts in sorted(found.items())]


@dataclass(frozen=True)
class CheckpointInfo:
    name: str
    path: Path
    size: int
    modified: float

    @property
    def is_safetensors(self) -> bool:
        return self.path.suffix.lower() == ".safetensors"


def _checkpoint_order(info: CheckpointInfo) -> tuple[int, float]:
    rank = {"best.safetensors": 0, "best.pt": 1, "latest.pt": 2}.get(info.name, 3)
    return rank, -info.modified


def pid_alive(pid: int | None) -> bool | None:
    """Whether a process with this id exists on this machine; None when that cannot be told."""
    if not pid or pid <= 0 or sys.platform == "win32":  # os.kill(pid, 0) would terminate it on Windows
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return None
    return True


# --------------------------------------------------------------------------------------------------
# The reader


@dataclass(frozen=True)
class PollResult:
    changed: frozenset[str] = frozenset()  # series keys that got new points
    records: int = 0
    status_changed: bool = False
    previews_changed: bool = False
    checkpoints_changed: bool = False
    reset: bool = False  # metrics.jsonl shrank or was replaced; everything was read again

    @property
    def anything(self) -> bool:
        return bool(self.changed or self.records or self.status_changed or self.previews_changed
                    or self.checkpoints_changed or self.reset)

    def merged(self, other: "PollResult") -> "PollResult":
        """Both polls' news as one (a viewer that skips redraws while catching up shows them at once)."""
        return PollResult(self.changed | other.changed, self.records + other.records,
                          self.status_changed or other.status_changed, self.previews_changed or other.previews_changed,
                          self.checkpoints_changed or other.checkpoints_changed, self.reset or other.reset)


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class RunReader:
    """Follows one run folder. Call poll() as often as you like; each call reads only what is new."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir).expanduser()
        if not self.run_dir.is_dir():
            raise RunFolderError(f"{self.run_dir} is not a folder.")
        if not any((self.run_dir / f).exists() for f in (METRICS_FILE, STATUS_FILE, CONFIG_FILE)):
            raise RunFolderError(f"{self.run_dir} is not a training run: it has no {METRICS_FILE}, "
                                 f"{STATUS_FILE} or {CONFIG_FILE}.")
        self.metrics = RunMetrics()
        self.status: RunStatus | None = None
        self.offset = 0
        self.pending_bytes = 0
        self._file_id: tuple[int, int] | None = None
        self._status_sig: tuple[int, int] | None = None
        self._previews_sig: tuple[int, int] | None = None
        self._preview_steps: list[PreviewStep] = []
        self._checkpoints: list[CheckpointInfo] = []
        self._checkpoints_sig: tuple = ()

    @property
    def name(self) -> str:
        return self.run_dir.name

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / METRICS_FILE

    # -- polling --------------------------------------------------------------------------------

    def poll(self, max_bytes: int | None = None, metrics_only: bool = False) -> PollResult:
        """Read what was appended (at most about `max_bytes`); re-read status, previews, checkpoints if changed."""
        changed, records, reset = self._read_metrics(max_bytes)
        if metrics_only:
            return PollResult(changed=frozenset(changed), records=records, reset=reset)
        return PollResult(changed=frozenset(changed), records=records, status_changed=self._read_status(),
                          previews_changed=self._scan_previews(), checkpoints_changed=self._scan_checkpoints(),
                          reset=reset)

    def _read_metrics(self, max_bytes: int | None) -> tuple[set[str], int, bool]:
        path = self.metrics_path
        try:
            fh = open(path, "rb")
        except OSError:
            self.pending_bytes = 0
            return set(), 0, False
        reset = False
        with fh:
            st = os.fstat(fh.fileno())
            file_id = (st.st_dev, st.st_ino)
            if (self._file_id is not None and file_id != self._file_id) or st.st_size < self.offset:
                # Replaced or truncated: start over rather than show a mix of two histories.
                self.metrics = RunMetrics()
                self.offset = 0
                reset = True
            self._file_id = file_id
            available = st.st_size - self.offset
            if available <= 0:
                self.pending_bytes = 0
                return set(), 0, reset
            limit = available if max_bytes is None else min(available, max(int(max_bytes), 1))
            fh.seek(self.offset)
            data = fh.read(limit)
            end = data.rfind(b"\n")
            while end < 0 and len(data) < available:  # one line longer than the budget: read on to its end
                more = fh.read(max(limit, 1 << 16))
                if not more:
                    break
                data += more
                end = data.rfind(b"\n")
        if end < 0:  # only a partial last line so far: wait for its newline
            self.pending_bytes = 0
            return set(), 0, reset
        complete = data[: end + 1]
        self.offset += len(complete)
        rest = st.st_size - self.offset
        # What is left beyond the partial line we already saw is still to read.
        self.pending_bytes = 0 if rest <= len(data) - len(complete) else rest
        text = complete.decode("utf-8", errors="replace")
        gc_was_enabled = gc.isenabled()
        gc.disable()  # millions of small dicts make the cyclic collector the main cost; none form cycles
        try:
            records, bad = parse_lines(text)
            self.metrics.lines += len(records) + bad
            self.metrics.skipped_lines += bad
            changed = _absorb(self.metrics, records)
        finally:
            if gc_was_enabled:
                gc.enable()
        return changed, len(records), reset

    def read_all(self, chunk_bytes: int = _DEFAULT_CHUNK) -> PollResult:
        """Catch up with the whole file in chunks (bounded memory); returns the combined result."""
        result = self.poll(chunk_bytes)
        while self.pending_bytes:
            result = result.merged(self.poll(chunk_bytes, metrics_only=True))
        return result

    def _read_status(self) -> bool:
        path = self.run_dir / STATUS_FILE
        sig = _signature(path)
        if sig is None or sig == self._status_sig:
            return False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False  # half-written: keep the last good status and try again next poll
        if not isinstance(data, dict):
            return False
        self._status_sig = sig
        status = RunStatus.from_dict(data)
        if status == self.status:
            return False
        self.status = status
        return True

    def _scan_previews(self) -> bool:
        folder = self.run_dir / PREVIEWS_DIR
        sig = _signature(folder)
        if sig == self._previews_sig:
            return False
        self._previews_sig = sig
        steps = []
        try:
            entries = list(os.scandir(folder))
        except OSError:
            entries = []
        for entry in entries:
            m = _PREVIEW_STEP.match(entry.name)
            if m and entry.is_dir():
                steps.append(PreviewStep(int(m.group(1)), Path(entry.path)))
        steps.sort(key=lambda p: p.step)
        if steps == self._preview_steps:
            return False
        self._preview_steps = steps
        return True

    def _scan_checkpoints(self) -> bool:
        folder = self.run_dir / CHECKPOINTS_DIR
        found = []
        try:
            entries = list(os.scandir(folder))
        except OSError:
            entries = []
        for entry in entries:
            if entry.name.lower().endswith(CHECKPOINT_SUFFIXES) and not entry.name.startswith("."):
                try:
                    st = entry.stat()
                except OSError:
                    continue
                found.append(CheckpointInfo(entry.name, Path(entry.path), st.st_size, st.st_mtime))
        found.sort(key=_checkpoint_order)
        sig = tuple((c.name, c.size, c.modified) for c in found)
        if sig == self._checkpoints_sig:
            return False
        self._checkpoints_sig = sig
        self._checkpoints = found
        return True

    # -- queries --------------------------------------------------------------------------------

    def preview_steps(self) -> list[PreviewStep]:
        return list(self._preview_steps)

    def checkpoints(self) -> list[CheckpointInfo]:
        return list(self._checkpoints)

    def config_text(self) -> str:
        try:
            return (self.run_dir / CONFIG_FILE).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""

    def config(self) -> dict[str, Any]:
        """The frozen config, parsed; an unreadable one gives {}."""
        import tomllib

        try:
            return tomllib.loads(self.config_text())
        except tomllib.TOMLDecodeError:
            return {}

    def progress(self) -> tuple[int, int]:
        """(step, total_steps) from the freshest source: the status file or the last logged line."""
        step = self.status.step if self.status else 0
        total = self.status.total_steps if self.status else 0
        if self.metrics.last_train is not None:
            step = max(step, int(_number(self.metrics.last_train.get("step"), 0)))
        return step, total

    def speed(self) -> float | None:
        """Iterations per second over the last few logged lines."""
        s = self.metrics.get("it_per_s")
        return s.recent_mean(20) if s is not None else None

    def eta_seconds(self) -> float | None:
        step, total = self.progress()
        if self.status is not None and self.status.finished:
            return 0.0
        return eta_seconds(step, total, self.speed())

    def stale(self) -> bool:
        """The status says running but its process is gone (killed, crashed before writing its status)."""
        return bool(self.status and self.status.state == "running" and pid_alive(self.status.pid) is False)

    def request_stop(self) -> Path:
        return request_stop(self.run_dir)


def request_stop(run_dir: str | Path) -> Path:
    """Ask the trainer of a run to stop gracefully: it checks for the STOP file between steps."""
    target = Path(run_dir) / STOP_FILE
    try:
        target.write_text(time.strftime("%Y-%m-%dT%H:%M:%S") + "\n", encoding="utf-8")
    except OSError as e:
        raise RunFolderError(f"Cannot write {target}: {e.strerror or e}.") from e
    return target


# --------------------------------------------------------------------------------------------------
# Figures and helpers the training panel and the CLI share


def ema_smooth(values: np.ndarray, weight: float,
               state: tuple[float, int] | None = None) -> tuple[np.ndarray, tuple[float, int]]:
    """Debiased exponential moving average (as TensorBoard draws it), continuing from `state`.

    smoothed[k] = last[k] / (1 - weight**n[k]) where last[k] = weight*last[k-1] + (1-weight)*x[k] and
    n counts the finite values seen. Non-finite values stay NaN and do not move the average. Returns
    (smoothed, state) so a growing series can be extended without recomputing its history.
    """
    x = np.asarray(values, dtype=np.float64)
    last, count = state if state is not None else (0.0, 0)
    w = float(weight)
    if not 0.0 <= w < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out = np.full(x.shape, np.nan)
    finite = np.isfinite(x)
    v = x[finite]
    if v.size == 0:
        return out, (last, count)
    if w == 0.0:
        out[finite] = v
        return out, (float(v[-1]), count + v.size)
    # last[k] = w^(k+1) * (last0 + (1-w) * sum_{j<=k} w^-(j+1) x[j]), done in blocks short enough that
    # w^-(block) stays far inside float64's range.
    log_w = math.log(w)
    block = int(min(65536, max(1, 500.0 / -log_w)))
    result = np.empty(v.size)
    for a in range(0, v.size, block):
        seg = v[a:a + block]
        k = np.arange(1, seg.size + 1, dtype=np.float64)
        grow = np.exp(-k * log_w)
        acc = last + (1.0 - w) * np.cumsum(seg * grow)
        lasts = acc / grow
        n = count + a + k
        result[a:a + seg.size] = lasts / -np.expm1(n * log_w)
        last = float(lasts[-1])
    out[finite] = result
    return out, (last, count + v.size)


def eta_seconds(step: int, total_steps: int, it_per_s: float | None) -> float | None:
    """Seconds left at the given speed; None when the speed or the total is unknown."""
    if not total_steps or not it_per_s or it_per_s <= 0 or not math.isfinite(it_per_s):
        return None
    return max(0, total_steps - step) / it_per_s


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def parse_overrides(text: str) -> dict[str, str]:
    """`key=value` pairs separated by spaces, commas or new lines (the form's "more options" box)."""
    result: dict[str, str] = {}
    for item in re.split(r"[\s,;]+", text.strip()):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise TrainArgsError(f"'{item}' is not key=value.")
        result[key.strip()] = value.strip()
    return result


def train_command(preset: str, data: str | Path, val: str | Path | None = None, out: str | Path | None = None,
                  overrides: Mapping[str, Any] | None = None, init: str | Path | None = None) -> list[str]:
    """Arguments after `main.py` that start a new run: ["train", "--preset", ..., "--set", "k=v", ...];
    `init` is a weight file to fine-tune from."""
    if not preset.strip():
        raise TrainArgsError("Choose a preset.")
    data_dir = Path(str(data).strip()).expanduser() if str(data).strip() else None
    if data_dir is None or not data_dir.is_dir():
        raise TrainArgsError(f"The dataset folder '{data}' does not exist." if data_dir else "Choose a dataset folder.")
    args = ["train", "--preset", preset.strip(), "--data", str(data_dir)]
    if val is not None and str(val).strip():
        val_dir = Path(str(val).strip()).expanduser()
        if not val_dir.is_dir():
            raise TrainArgsError(f"The validation folder '{val}' does not exist.")
        args += ["--val", str(val_dir)]
    if out is not None and str(out).strip():
        args += ["--out", str(Path(str(out).strip()).expanduser())]
    if init is not None and str(init).strip():
        init_file = Path(str(init).strip()).expanduser()
        if not init_file.is_file():
            raise TrainArgsError(f"The weight file '{init}' to start from does not exist.")
        args += ["--init", str(init_file)]
    for key, value in (overrides or {}).items():
        if not str(key).strip() or "=" in str(key) or str(value) == "":
            raise TrainArgsError(f"Bad option {key}={value}.")
        args += ["--set", f"{key}={value}"]
    return args


def resume_command(run_dir: str | Path) -> list[str]:
    run = Path(run_dir).expanduser()
    if not (run / CONFIG_FILE).is_file():
        raise TrainArgsError(f"{run} has no {CONFIG_FILE}: it cannot be resumed.")
    return ["train", "--resume", str(run)]


def find_new_run(runs_dir: str | Path, pid: int | None = None, since: float = 0.0) -> Path | None:
    """The run folder a just-started trainer created: the one whose status names its pid, else the only new one."""
    root = Path(runs_dir).expanduser()
    try:
        entries = [e for e in os.scandir(root) if e.is_dir()]
    except OSError:
        return None
    fresh = []
    for entry in entries:
        status_path = Path(entry.path) / STATUS_FILE
        if pid is not None:
            try:
                data = json.loads(status_path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and data.get("pid") == pid:
                    return Path(entry.path)
            except (OSError, ValueError):
                pass
        try:
            created = entry.stat().st_mtime
        except OSError:
            continue
        if created >= since and (status_path.exists() or (Path(entry.path) / CONFIG_FILE).exists()):
            fresh.append(Path(entry.path))
    return fresh[0] if len(fresh) == 1 else None


# The training form's fields and the config keys they set with `--set key=value` (core/train/config.py).
FORM_KEYS = {
    "steps": "train.max_steps",
    "batch_size": "data.batch_size",
    "lr": "optim.g_lr",
    "crop": "data.crop",
    "val_every": "train.val_every",
    "device": "train.device",
}


@dataclass(frozen=True)
class PresetInfo:
    name: str
    title: str = ""
    description: str = ""
    task: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)  # FORM_KEYS field -> the preset's value


def _dotted(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, Mapping) else getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _preset_info(name: str, preset: Any) -> PresetInfo:
    defaults: dict[str, Any] = {}
    make_defaults = getattr(preset, "defaults", None)
    if callable(make_defaults):
        try:
            config = make_defaults()
        except Exception:  # a broken preset still shows up by name; its own run reports the error
            config = None
        for form_field, key in FORM_KEYS.items():
            value = _dotted(config, key) if config is not None else None
            if value is not None:
                defaults[form_field] = value
    return PresetInfo(str(getattr(preset, "name", name) or name), str(getattr(preset, "title", "") or ""),
                      str(getattr(preset, "description", "") or ""), str(getattr(preset, "task", "") or ""),
                      defaults)


def list_presets() -> list[PresetInfo]:
    """The training presets in core.train's registry, by name; [] when the training engine is absent.

    Importing the registry imports torch: call this off the GUI thread.
    """
    try:
        module = importlib.import_module("core.train.presets")
    except ModuleNotFoundError as e:
        if e.name and (e.name == "core.train" or e.name.startswith("core.train.") or e.name == "torch"):
            return []
        raise
    registry = getattr(module, "all_presets", None)
    presets = registry() if callable(registry) else {}
    return [_preset_info(name, preset) for name, preset in sorted(presets.items())]


_RUN_NAME = re.compile(r"^\d{4}(\d{2})(\d{2})-(\d{2})(\d{2})\d{2}_(.+)$")


def short_run_name(name: str) -> str:
    """'20250101-120000_zero_dce' -> 'zero_dce 01-01 12:00': the run-folder name, shorter for legends."""
    m = _RUN_NAME.match(name)
    if not m:
        return name
    month, day, hour, minute, rest = m.groups()
    return f"{rest} {month}-{day} {hour}:{minute}"
