"""The curves' legend, outside the plots so it never covers a curve: one entry per run and one per curve style,
wrapped to the panel's width, with notes (a run without reference metrics, say)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from desktop.panels import training_style as style
from desktop.panels.training_flow import FlowLayout, flow_group

SAMPLE_W, SAMPLE_H = 34, 12
MAX_TEXT_PX = 220  # a long run name is elided in the middle; its tooltip has all of it


@dataclass(frozen=True)
class LegendEntry:
    """What one curve (or one run) looks like: colour, line pattern and point symbol ('', 'o' or 't')."""

    text: str
    color: str  # '#rrggbb'
    dash: int = 0  # index into training_style.DASH_PATTERNS
    symbol: str = ""


@dataclass(frozen=True)
class LegendSection:
    title: str
    entries: tuple[LegendEntry, ...]


def sample_pixmap(entry: LegendEntry) -> QPixmap:
    """A short line drawn with the entry's pen, and its symbol in the middle."""
    pixmap = QPixmap(SAMPLE_W, SAMPLE_H)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    color = QColor(entry.color)
    line = style.pen(color, 2.0, entry.dash)
    line.setCapStyle(Qt.PenCapStyle.FlatCap)
    painter.setPen(line)
    middle = SAMPLE_H / 2
    painter.drawLine(QPointF(1, middle), QPointF(SAMPLE_W - 1, middle))
    painter.setPen(QPen(color, 1.0))
    painter.setBrush(color)
    centre = QPointF(SAMPLE_W / 2, middle)
    if entry.symbol == "o":
        painter.drawEllipse(centre, 3.2, 3.2)
    elif entry.symbol == "t":
        painter.drawPolygon(QPolygonF([QPointF(centre.x() - 4, middle - 3), QPointF(centre.x() + 4, middle - 3),
                                       QPointF(centre.x(), middle + 4)]))
    painter.end()
    return pixmap


class CurveLegend(QWidget):
    """Sections of entries (Runs, Losses, Learning rate, Validation) and notes, flowing over as many lines as needed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("curve-legend")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(f"#curve-legend {{ background: {style.PLOT_BACKGROUND}; }}")
        self._shown: tuple = ()
        self._flow = FlowLayout(spacing=10, line_spacing=2)
        self._notes = QLabel("")
        self._notes.setWordWrap(True)
        self._notes.setStyleSheet(f"color: {style.TEXT_COLOR}; font-size: 8pt; font-style: italic;")
        self._notes.setVisible(False)
        host = QWidget()
        host.setLayout(self._flow)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(2)
        layout.addWidget(host)
        layout.addWidget(self._notes)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def set_content(self, sections: list[LegendSection], notes: list[str]) -> None:
        """Show these sections and notes (rebuilt only when they changed)."""
        shown = (tuple(sections), tuple(notes))
        if shown == self._shown:
            return
        self._shown = shown
        self._flow.clear()
        for section in sections:
            if not section.entries:
                continue
            title = QLabel(section.title)
            title.setStyleSheet(f"color: {style.TITLE_COLOR}; font-size: 8pt; font-weight: bold;")
            first = section.entries[0]
            self._flow.addWidget(flow_group(title, *self._entry_widgets(first)))  # the title never ends a line
            for entry in section.entries[1:]:
                self._flow.addWidget(flow_group(*self._entry_widgets(entry)))
        self._notes.setText("\n".join(notes))
        self._notes.setVisible(bool(notes))
        self._flow.invalidate()
        self.updateGeometry()

    @staticmethod
    def _entry_widgets(entry: LegendEntry) -> tuple[QLabel, QLabel]:
        sample = QLabel()
        sample.setPixmap(sample_pixmap(entry))
        text = QLabel()
        font = text.font()
        font.setPointSizeF(8.0)
        text.setFont(font)
        text.setText(QFontMetrics(font).elidedText(entry.text, Qt.TextElideMode.ElideMiddle, MAX_TEXT_PX))
        text.setStyleSheet(f"color: {style.TEXT_COLOR};")
        text.setToolTip(entry.text)
        return sample, text

    def texts(self) -> list[str]:
        """Every entry's text, in order (for tests and accessibility)."""
        return [entry.text for section in self._shown[0] for entry in section.entries] if self._shown else []

    def notes(self) -> list[str]:
        return list(self._shown[1]) if self._shown else []


def legend_sections(runs: list[LegendEntry], styles: dict[tuple[str, str], LegendEntry]) -> list[LegendSection]:
    """The legend's sections: the runs (when several are shown), then each plot's curve styles, keyed by
    (group, curve name), in a stable order ("total" and the generator's "g" first)."""
    sections = [LegendSection("Runs", tuple(runs))] if runs else []
    for title, groups in (("Losses", ("loss", "val_loss")), ("Learning rate", ("lr",)),
                          ("Validation", ("psnr", "val"))):
        ordered = sorted((kv for kv in styles.items() if kv[0][0] in groups),
                         key=lambda kv: (groups.index(kv[0][0]), kv[0][1] != "total", kv[0][1] != "g", kv[0][1]))
        sections.append(LegendSection(title, tuple(entry for _key, entry in ordered)))
    return sections
