"""How long the GUI thread stalls: a 10 ms timer records the gaps between its ticks while work runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEventLoop, QObject, Qt, QTimer


@dataclass
class StallReport:
    max_gap_ms: float
    mean_gap_ms: float
    ticks: int
    gaps_over_50ms: int
    seconds: float
    gaps_ms: list[float] = field(default_factory=list, repr=False)

    def describe(self) -> str:
        return (f"longest GUI-thread gap {self.max_gap_ms:.1f} ms, mean {self.mean_gap_ms:.1f} ms over "
                f"{self.ticks} ticks in {self.seconds:.2f} s; {self.gaps_over_50ms} gaps over 50 ms")


class GapRecorder(QObject):
    """Ticks every interval_ms on the GUI thread and records the time between ticks."""

    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._clock = QElapsedTimer()
        self._last = 0
        self._started = 0.0
        self.gaps_ms: list[float] = []

    def start(self) -> None:
        self.gaps_ms.clear()
        self._clock.start()
        self._last = self._clock.nsecsElapsed()
        self._started = time.perf_counter()
        self._timer.start()

    def stop(self) -> StallReport:
        self._timer.stop()
        self._tick()
        gaps = self.gaps_ms
        return StallReport(max(gaps, default=0.0), sum(gaps) / len(gaps) if gaps else 0.0, len(gaps),
                           sum(g > 50 for g in gaps), time.perf_counter() - self._started, list(gaps))

    def _tick(self) -> None:
        now = self._clock.nsecsElapsed()
        self.gaps_ms.append((now - self._last) / 1e6)
        self._last = now


def measure_stalls_during(handle, timeout_s: float = 60.0, interval_ms: int = 10) -> StallReport:
    """Run the GUI event loop until a worker-pool job (a desktop.workers.JobHandle) is done, recording
    the GUI thread's gaps meanwhile. Call from the GUI thread."""
    recorder = GapRecorder(interval_ms)
    loop = QEventLoop()
    handle.finished.connect(loop.quit)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    recorder.start()
    if not handle.delivered:
        loop.exec()
    QCoreApplication.processEvents()
    return recorder.stop()
