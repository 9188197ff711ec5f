"""Colours and pens shared by the training panel's plots and lists."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap

PLOT_BACKGROUND = "#141518"
AXIS_COLOR = "#4a4d55"
TEXT_COLOR = "#a0a3aa"
TITLE_COLOR = "#dcdde1"
CROSSHAIR_COLOR = "#6b6e75"

# One colour per run (when several runs are compared) ...
RUN_COLORS = ("#5b8def", "#f2994a", "#3ec47a", "#eb5757", "#bb6bd9", "#2dccd3", "#f2c94c", "#e0e0e0")
# ... and one per loss when a single run is shown.
SERIES_COLORS = ("#8ea2ff", "#f2994a", "#3ec47a", "#eb5757", "#bb6bd9", "#2dccd3", "#f2c94c", "#c0c0c0")
DASHES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine,
          Qt.PenStyle.DashDotDotLine)

STATE_COLORS = {"running": "#3ec47a", "finished": "#8ea2ff", "early_stopped": "#8ea2ff", "stopped": "#f2c94c",
                "failed": "#eb5757", "starting": "#2dccd3", "unknown": "#a0a3aa"}


def run_color(index: int) -> QColor:
    return QColor(RUN_COLORS[index % len(RUN_COLORS)])


def series_color(index: int) -> QColor:
    return QColor(SERIES_COLORS[index % len(SERIES_COLORS)])


def dash(index: int) -> Qt.PenStyle:
    return DASHES[index % len(DASHES)]


def swatch(color: QColor, size: int = 12) -> QIcon:
    """A small filled square to mark a run's colour in lists."""
    pixmap = QPixmap(size, size)
    pixmap.fill(color)
    return QIcon(pixmap)


def faded(color: QColor, alpha: int) -> QColor:
    c = QColor(color)
    c.setAlpha(alpha)
    return c
