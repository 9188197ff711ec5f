"""Follows a run folder from the GUI: polls its RunReader on a timer and reports what changed.

A large metrics file is read in small slices across several turns of the event loop, so opening a run
with a million logged lines never freezes the window; redraws are batched while it catches up.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from core.errors import RestoraError
from core.train.runs.reader import PollResult, RunReader

POLL_INTERVAL_MS = 500
SLICE_BYTES = 512 << 10  # one slice parses in tens of milliseconds
TURN_BUDGET_S = 0.05  # reading time per event-loop turn while catching up
CATCH_UP_REPORT_S = 0.4  # while catching up, report (and so redraw) at most this often


class RunFollower(QObject):
    updated = Signal(object)  # PollResult
    failed = Signal(str)

    def __init__(self, reader: RunReader, parent: QObject | None = None, interval_ms: int | None = None) -> None:
        super().__init__(parent)
        self.reader = reader
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms if interval_ms is not None else POLL_INTERVAL_MS)
        self._timer.timeout.connect(self.poll)
        self._pending: PollResult | None = None
        self._last_report = 0.0
        self._catching_up = False
        self._last_error = ""

    def start(self) -> None:
        self._timer.start()
        QTimer.singleShot(0, self.poll)

    def stop(self) -> None:
        self._timer.stop()

    @property
    def catching_up(self) -> bool:
        return self._catching_up

    def poll(self) -> None:
        started = time.perf_counter()
        try:
            result = self.reader.poll(SLICE_BYTES)
            while self.reader.pending_bytes and time.perf_counter() - started < TURN_BUDGET_S:
                result = result.merged(self.reader.poll(SLICE_BYTES, metrics_only=True))
        except (OSError, RestoraError) as e:
            message = f"Cannot read {self.reader.run_dir}: {e}"
            if message != self._last_error:
                self._last_error = message
                self.failed.emit(message)
            return
        self._last_error = ""
        self._pending = result if self._pending is None else self._pending.merged(result)
        self._catching_up = bool(self.reader.pending_bytes)
        now = time.perf_counter()
        if not self._catching_up or now - self._last_report >= CATCH_UP_REPORT_S:
            pending, self._pending = self._pending, None
            self._last_report = now
            if pending.anything or self._catching_up:
                self.updated.emit(pending)
        if self._catching_up:
            QTimer.singleShot(0, self.poll)  # keep reading on the next turn, after the GUI had its share
