"""Status bar widgets: pixel readout, zoom, running job, memory and device.

Everything fits a 1024 px window: the zoom readout stays on the right (temporary messages never cover
it), and the long labels (job, device) give way first by eliding their text, the full text in the tooltip."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QStyle, QStyleOption, QWidget

MEMORY_REFRESH_MS = 2000
PIXEL_SAMPLE = "x 0000  y 0000   R 000  G 000  B 000"  # wide enough for photos up to 9999 px
ZOOM_SAMPLE = "6400%"
DEVICE_MIN_PX = 120  # the device label shrinks to this before anything else is squeezed
JOB_MIN_PX = 170
PROGRESS_WIDTH_PX = 110


def process_memory_bytes() -> int | None:
    """This process's resident memory (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class ElidedLabel(QLabel):
    """A one-line label that may be narrower than its text: it then shows the text elided ("…"), and
    the whole text as its tooltip. text() is always the whole text."""

    def __init__(self, text: str = "", min_width: int = 60, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._min_width = min_width
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt name)
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        hint = super().minimumSizeHint()
        return QSize(min(self._min_width, hint.width()), hint.height())

    def shown_text(self) -> str:
        """The text as drawn at the label's present width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                             max(self.contentsRect().width(), 0))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        option = QStyleOption()
        option.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_Widget, option, painter, self)
        self.style().drawItemText(painter, self.contentsRect(), int(self.alignment()), self.palette(),
                                  self.isEnabled(), self.shown_text(), self.foregroundRole())


def _fixed_width_for(label: QLabel, sample: str) -> None:
    """Wide enough for `sample` (plus the label's padding), so the readout does not jump as it changes."""
    label.ensurePolished()
    extra = label.width() - label.contentsRect().width()
    label.setMinimumWidth(label.fontMetrics().horizontalAdvance(sample) + extra + 2)


class StatusWidgets:
    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.pixel = QLabel("")
        self.pixel.setObjectName("readout")
        self.zoom = QLabel("")
        self.zoom.setObjectName("zoom")
        self.zoom.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.zoom.setToolTip("Zoom (Ctrl+0 fits, Ctrl+1 is 100%)")
        self.job = ElidedLabel("", JOB_MIN_PX)
        self.job_progress = QProgressBar()
        self.job_progress.setFixedWidth(PROGRESS_WIDTH_PX)
        self.job_progress.setMaximumHeight(14)
        self.job_progress.setTextVisible(False)
        self.job_progress.hide()
        self.memory = QLabel("")
        self.device = ElidedLabel("Device: detecting…", DEVICE_MIN_PX)
        bar.addWidget(self.pixel)
        # the right-hand side; short of room, the device label gives way first, then the job's name
        for w in (self.job, self.job_progress, self.zoom, self.memory, self.device):
            bar.addPermanentWidget(w)
        for label, sample in ((self.pixel, PIXEL_SAMPLE), (self.zoom, ZOOM_SAMPLE)):
            _fixed_width_for(label, sample)
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
