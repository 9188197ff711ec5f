"""Status bar widgets: pixel readout, zoom, running job, memory and device."""

from __future__ import annotations

import os

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

MEMORY_REFRESH_MS = 2000


def process_memory_bytes() -> int | None:
    """This process's resident memory (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class StatusWidgets:
    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.pixel = QLabel("")
        self.pixel.setObjectName("readout")
        self.pixel.setMinimumWidth(230)
        self.zoom = QLabel("")
        self.zoom.setMinimumWidth(60)
        self.job = QLabel("")
        self.job_progress = QProgressBar()
        self.job_progress.setMaximumWidth(140)
        self.job_progress.setMaximumHeight(14)
        self.job_progress.setTextVisible(False)
        self.job_progress.hide()
        self.memory = QLabel("")
        self.device = QLabel("Device: detecting…")
        bar.addWidget(self.pixel)
        bar.addWidget(self.zoom)
        for w in (self.job, self.job_progress, self.memory, self.device):
            bar.addPermanentWidget(w)
        self._timer = QTimer(bar)
        self._timer.timeout.connect(self.refresh_memory)
        self._timer.start(MEMORY_REFRESH_MS)
        self.refresh_memory()

    def show_pixel(self, x: int, y: int, rgb) -> None:
        if rgb is None:
            self.pixel.setText("")
        else:
            r, g, b = rgb
            self.pixel.setText(f"x {x}  y {y}   R {r}  G {g}  B {b}")

    def show_zoom(self, factor: float) -> None:
        self.zoom.setText(f"{factor * 100:.0f}%")

    def show_job(self, name: str, done: int = 0, total: int = 0) -> None:
        if not name:
            self.job.setText("")
            self.job_progress.hide()
            return
        self.job.setText(name)
        self.job_progress.show()
        if total > 0:
            self.job_progress.setRange(0, total)
            self.job_progress.setValue(done)
        else:
            self.job_progress.setRange(0, 0)

    def refresh_memory(self) -> None:
        rss = process_memory_bytes()
        self.memory.setText(f"RAM {rss / 2**30:.2f} GiB" if rss else "")
