"""The training panel's run state, Qt-free: the run this window started, what each open run's state reads as,
what may be done with it (stop, resume), and the news that belongs to each run.

The panel renders it; it never decides these things itself. Runs are keyed by `run_key(path)`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from core.train.runs.commands import find_new_run
from core.train.runs.layout import (
    FINISHED_STATES,
    INTERRUPTED,
    LATEST_CHECKPOINT,
    PHASE_LOADING,
    PHASE_STARTING,
    PHASE_VALIDATING,
)
from core.train.runs.reader import RunReader, RunStatus

STARTING = "starting"  # our process runs, but its run folder has no status of its own yet
STALE = INTERRUPTED  # the status says running, but its process is gone
STALE_NOTE = ("Interrupted: the status still says running, but its process is gone (it was killed, it crashed, or "
              "the computer restarted). Resume continues from its latest checkpoint.")


def run_key(path: str | Path) -> str:
    """The key of a run folder: its absolute, resolved path."""
    return str(Path(path).expanduser().resolve())


@dataclass(frozen=True)
class RunNote:
    """A message about one run; `state` is the run's state when it was noted, and it stands while that lasts."""

    text: str
    error: bool = False
    state: str = ""


class RunSupervisor:
    """Which run our child process writes, its stop request, and per-run notes (never shown under another run)."""

    def __init__(self) -> None:
        self.own_run: str | None = None  # key of the run folder our child process writes, once known
        self.awaiting: tuple[Path, float] | None = None  # (runs folder, start time) until the new run shows up
        self.process_running = False
        self.started_at = 0.0
        self.stop_pending = False  # the user asked our process to stop
        self._notes: dict[str, RunNote] = {}

    # -- our child process ------------------------------------------------------------------------

    def process_started(self, *, run_dir: str | Path | None = None, runs_folder: str | Path | None = None,
                        now: float | None = None) -> None:
        """A trainer was started: resuming `run_dir`, or making a new run somewhere in `runs_folder`."""
        self.started_at = time.time() if now is None else now
        self.process_running = True
        self.stop_pending = False
        self.own_run = run_key(run_dir) if run_dir is not None else None
        self.awaiting = (Path(runs_folder), self.started_at - 1.0) if runs_folder is not None else None
        if self.own_run is not None:
            self._notes.pop(self.own_run, None)  # a new chapter of that run

    def process_failed_to_start(self) -> None:
        self.process_running = False
        self.awaiting = None

    def look_for_new_run(self, pid: int | None) -> Path | None:
        """The run folder our new trainer created, once it exists (then it is our own run); else None."""
        if self.awaiting is None:
            return None
        folder, since = self.awaiting
        found = find_new_run(folder, pid, since)
        if found is not None:
            self.awaiting = None
            self.own_run = run_key(found)
            self._notes.pop(self.own_run, None)
        return found

    def stop_requested(self) -> None:
        """The user asked our process to stop."""
        self.stop_pending = True

    def process_finished(self, exit_code: int, description: str, reader: RunReader | None) -> RunNote:
        """Our process ended: the note for its run (also kept for it) from the run's own status where it has one."""
        stop_pending = self.stop_pending
        self.process_running = False
        self.awaiting = None
        self.stop_pending = False
        status = self._fresh_status(reader)
        step = reader.progress()[0] if reader is not None else 0
        at_step = f" at step {step:,}" if reader is not None else ""
        if status is not None and status.state == "stopped":
            note = RunNote(f"Stopped{at_step}; checkpoints/{LATEST_CHECKPOINT} resumes it.")
        elif stop_pending and (status is None or status.state == "running"):
            ended = "" if exit_code == 0 else " (it did not stop in time and was terminated)"
            note = RunNote(f"Stopped{at_step}{ended}.")
        elif status is not None and status.state in ("finished", "early_stopped") and exit_code == 0:
            note = RunNote(status.message or description)
        elif status is not None and status.state == "failed":
            note = RunNote(f"{status.message} ({description})" if status.message else description, error=True)
        else:
            note = RunNote(description, error=exit_code != 0)
        if self.own_run is not None and reader is not None:
            note = RunNote(note.text, note.error, self.state_of(self.own_run, reader))
            self._notes[self.own_run] = note
        return note

    def is_own(self, key: str | None) -> bool:
        """Whether `key` is the run our (still running) process writes."""
        return key is not None and key == self.own_run and self.process_running

    def stops_own_process(self, key: str | None) -> bool:
        """Whether Stop with `key` selected is meant for our process (its run, or one whose folder is not known yet)."""
        return self.process_running and (key is None or key == self.own_run or self.own_run is None)

    # -- one run ----------------------------------------------------------------------------------

    def _fresh_status(self, reader: RunReader | None) -> RunStatus | None:
        """The run's status, unless it is older than our process (the last chapter of a run we resume)."""
        if reader is None or reader.status is None:
            return None
        status = reader.status
        if run_key(reader.run_dir) == self.own_run and self.started_at:
            written = status.updated_at
            if written is not None and written < self.started_at - 1.0:
                return None
        return status

    def state_of(self, key: str, reader: RunReader) -> str:
        """running, finished, stopped, failed, early_stopped, starting, interrupted or unknown."""
        own = self.is_own(key)
        status = self._fresh_status(reader) if own else reader.status
        if status is None:
            return STARTING if own else "unknown"
        if status.state == "running" and not own and reader.stale():
            return STALE
        return status.state

    def progress_text(self, key: str, reader: RunReader, percent: bool = True) -> str:
        """'starting…', 'loading data…', 'step 40 of 100 (40.0 %)', with ' · validating…' while it validates."""
        state = self.state_of(key, reader)
        status = reader.status if state == "running" else None
        step, total = reader.progress()
        phase = status.phase if status is not None else ""
        if state == STARTING or phase == PHASE_STARTING:
            return "starting…"
        if phase == PHASE_LOADING and step == 0:
            return "loading data…"
        text = f"step {step:,}"
        if total > 0:
            text += f" of {total:,}" + (f" ({100 * min(step, total) / total:.1f} %)" if percent else "")
        if phase in (PHASE_LOADING, PHASE_VALIDATING):
            text += f" · {phase}…"
        return text

    def can_stop(self, key: str | None, reader: RunReader | None) -> bool:
        if self.stops_own_process(key):
            return True
        return key is not None and reader is not None and self.state_of(key, reader) == "running"

    def can_resume(self, key: str | None, reader: RunReader | None) -> bool:
        """Not while our process runs; a run that ended (or whose process vanished) and has a latest checkpoint."""
        if self.process_running or key is None or reader is None:
            return False
        state = self.state_of(key, reader)
        return (state in FINISHED_STATES or state == STALE) and reader.latest_checkpoint.is_file()

    # -- notes ------------------------------------------------------------------------------------

    def note(self, key: str, text: str, error: bool = False, reader: RunReader | None = None) -> RunNote:
        """Keep a message for one run; it stands while the run stays in its present state."""
        state = self.state_of(key, reader) if reader is not None else ""
        note = RunNote(text, error, state)
        self._notes[key] = note
        return note

    def message_for(self, key: str, reader: RunReader) -> RunNote:
        """What to say under the run: our note while it stands, else the trainer's own status message."""
        state = self.state_of(key, reader)
        note = self._notes.get(key)
        if note is not None and (not note.state or note.state == state):
            return note
        if note is not None:
            del self._notes[key]  # the run moved on; the note was about what it did before
        message = reader.status.message if reader.status is not None else ""
        if state == STALE:
            return RunNote(f"{STALE_NOTE} {message}".strip(), error=True, state=state)
        if state == "running" and reader.status is not None and reader.status.resumed_note:
            message = f"{message} ({reader.status.resumed_note})" if message else reader.status.resumed_note
        return RunNote(message, error=state == "failed", state=state)

    def forget(self, key: str) -> None:
        self._notes.pop(key, None)
