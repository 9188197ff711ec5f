"""Reading a training run folder as it grows: metrics, status, previews, checkpoints. Torch-free and Qt-free.

`RunReader` keeps a byte offset into metrics.jsonl and reads only what was appended since the last poll; a
half-written last line waits for its newline. Values land in growing NumPy buffers (core.train.runs.series).
The folder's names come from core.train.runs.layout, which the trainer's writer uses too.
"""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from core.train.runs import layout
from core.train.runs.figures import eta_seconds
from core.train.runs.layout import (
    CHECKPOINT_ORDER,
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    FINISHED_STATES,
    INTERRUPTED,
    LATEST_CHECKPOINT,
    METRICS_FILE,
    PREVIEWS_DIR,
    STATUS_FILE,
    RunFolderError,
    parse_preview_file,
    pid_alive,
    preview_step_of,
    request_stop,
)

__all__ = ["CheckpointInfo", "PollResult", "PreviewSample", "PreviewStep", "RunFolderError", "RunReader",
           "RunStatus", "pid_alive", "request_stop"]
from core.train.runs.series import RunMetrics, absorb, number, parse_lines

_DEFAULT_CHUNK = 4 << 20


@dataclass(frozen=True)
class RunStatus:
    """status.json, parsed; `phase` says what a running trainer is doing (core.train.runs.layout.PHASES)."""

    state: str = "unknown"
    message: str = ""
    pid: int | None = None
    step: int = 0
    total_steps: int = 0
    updated: str = ""
    phase: str = ""
    interrupted_step: int | None = None  # a resumed run: the step its interrupted chapter had reached

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def resumed_note(self) -> str:
        """'Resumed after an interruption at step N.' for a run resumed after a kill or a crash, else ''."""
        if self.interrupted_step is None:
            return ""
        return f"Resumed after an interruption at step {self.interrupted_step:,}."

    @property
    def updated_at(self) -> float | None:
        """When the trainer wrote it, as a POSIX time (None for an old or hand-written status)."""
        return layout.status_time(self.updated)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunStatus":
        pid = data.get("pid")
        interrupted = data.get("interrupted")
        before = int(number(interrupted.get("step"), 0)) if isinstance(interrupted, Mapping) else None
        return cls(state=str(data.get("state") or "unknown"), message=str(data.get("message") or ""),
                   pid=int(pid) if isinstance(pid, int) and not isinstance(pid, bool) else None,
                   step=int(number(data.get("step"), 0)), total_steps=int(number(data.get("total_steps"), 0)),
                   updated=str(data.get("updated") or ""), phase=str(data.get("phase") or ""),
                   interrupted_step=before)


@dataclass(frozen=True)
class PreviewSample:
    index: int
    input: Path | None
    output: Path | None
    target: Path | None
    composite: Path | None = None  # inpainting runs: the output pasted into the holes


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
            parsed = parse_preview_file(entry.name)
            if parsed is not None:
                found.setdefault(parsed[0], {})[parsed[1]] = Path(entry.path)
        return [PreviewSample(i, parts.get("input"), parts.get("output"), parts.get("target"), parts.get("composite"))
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
    rank = CHECKPOINT_ORDER.index(info.name) if info.name in CHECKPOINT_ORDER else len(CHECKPOINT_ORDER)
    return rank, -info.modified


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
        layout.clean_leftovers(self.run_dir)  # temp checkpoints of a trainer killed over an hour ago

    @property
    def name(self) -> str:
        return self.run_dir.name

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / METRICS_FILE

    @property
    def latest_checkpoint(self) -> Path:
        """The checkpoint a resume continues from (it may not exist yet)."""
        return self.run_dir / CHECKPOINTS_DIR / LATEST_CHECKPOINT

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
            changed = absorb(self.metrics, records)
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
        data = layout.read_status(self.run_dir)
        if data is None:
            return False  # half-written or damaged: keep the last good status and try again next poll
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
            step = preview_step_of(entry.name)
            if step is not None and entry.is_dir():
                steps.append(PreviewStep(step, Path(entry.path)))
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
            if layout.is_checkpoint_file(entry.name):
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
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # Python 3.10
            import tomli as tomllib

        try:
            return tomllib.loads(self.config_text())
        except tomllib.TOMLDecodeError:
            return {}

    def progress(self) -> tuple[int, int]:
        """(step, total_steps) from the freshest source: the status file or the last logged line."""
        step = self.status.step if self.status else 0
        total = self.status.total_steps if self.status else 0
        if self.metrics.last_train is not None:
            step = max(step, int(number(self.metrics.last_train.get("step"), 0)))
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

    @property
    def state(self) -> str:
        """The status's state, INTERRUPTED for a stale one ('unknown' before any status was read)."""
        if self.status is None:
            return "unknown"
        return INTERRUPTED if self.stale() else self.status.state

    def request_stop(self) -> Path:
        return request_stop(self.run_dir)
