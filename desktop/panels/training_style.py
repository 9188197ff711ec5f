"""Colours and pens shared by the training panel's plots and lists."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPen, QPixmap

PLOT_BACKGROUND = "#141518"
AXIS_COLOR = "#4a4d55"
TEXT_COLOR = "#a0a3aa"
TITLE_COLOR = "#dcdde1"
CROSSHAIR_COLOR = "#6b6e75"

# One colour per run (when several runs are compared) ...
RUN_COLORS = ("#5b8def", "#f2994a", "#3ec47a", "#eb5757", "#bb6bd9", "#2dccd3", "#f2c94c", "#e0e0e0")
# ... and one per loss when a single run is shown.
SERIES_COLORS = ("#8ea2ff", "#f2994a", "#3ec47a", "#eb5757", "#bb6bd9", "#2dccd3", "#f2c94c", "#c0c0c0")
# Line patterns (dash, gap, ... in pen widths) that tell curves apart when colour tells runs apart; 0 is solid.
DASH_PATTERNS: tuple[tuple[float, ...], ...] = ((), (5, 3), (1, 2.5), (6, 2.5, 1, 2.5), (9, 2.5), (2.5, 2.5),
                                                (7, 2, 1, 2, 1, 2), (1, 5))
VAL_LOSS_DASH = 1  # validation losses are dashed (with triangles) over the training losses

STATE_COLORS = {"running": "#3ec47a", "finished": "#8ea2ff", "early_stopped": "#8ea2ff", "stopped": "#f2c94c",
                "failed": "#eb5757", "starting": "#2dccd3", "interrupted": "#f2994a", "unknown": "#a0a3aa"}


def run_color(index: int) -> QColor:
    return QColor(RUN_COLORS[index % len(RUN_COLORS)])


def series_color(index: int) -> QColor:
    return QColor(SERIES_COLORS[index % len(SERIES_COLORS)])


def pen(color: QColor | str, width: float, dash: int = 0) -> QPen:
    """A cosmetic pen in one of DASH_PATTERNS (the same pen draws the curve and its legend sample)."""
    result = QPen(QColor(color))
    result.setWidthF(width)
    result.setCosmetic(True)
    pattern = DASH_PATTERNS[dash % len(DASH_PATTERNS)]
    if pattern:
        result.setStyle(Qt.PenStyle.CustomDashLine)
        result.setDashPattern(list(pattern))
    return result


def swatch(color: QColor, size: int = 12) -> QIcon:
    """A small filled square to mark a run's colour in lists."""
    pixmap = QPixmap(size, size)
    pixmap.fill(color)
    return QIcon(pixmap)


def faded(color: QColor, alpha: int) -> QColor:
    c = QColor(color)
    c.setAlpha(alpha)
    return c


def shade(color: QColor, index: int) -> QColor:
    """The index-th colour of a run's family: the run's own colour first, then neighbours in hue and lightness,
    so the curves of one run differ from each other and still read as that run's."""
    base = QColor(color)
    if index <= 0:
        return base
    # getHslF's values one by one (its binding is typed as returning `object`)
    hue, saturation, lightness, alpha = base.hslHueF(), base.hslSaturationF(), base.lightnessF(), base.alphaF()
    step = (index + 1) // 2 * (1 if index % 2 else -1)  # +1, -1, +2, -2, ...
    if saturation < 0.15 or hue < 0:  # a grey: lightness is all there is to vary
        return QColor.fromHslF(0.0, 0.0, min(0.92, max(0.35, lightness - 0.12 * step)), alpha)
    return QColor.fromHslF(((hue * 360 + 24 * step) % 360) / 360, saturation,
                           min(0.8, max(0.45, lightness + 0.06 * step)), alpha)
