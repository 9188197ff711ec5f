"""A splitter that stacks its two panes when narrow and puts them side by side when wide.

Its minimum is the stacked arrangement's: given less width than the side-by-side one needs it stacks itself,
so a wide arrangement never pins a dock (or the window) wider than the screen.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSplitter, QWidget

WIDE_AT_PX = 980  # from this width the panes sit side by side ...
NARROW_BELOW_PX = 940  # ... and below this one they stack again (apart, so a resize does not flicker)


class AdaptiveSplitter(QSplitter):
    """Two panes; emits arranged(stacked) after it changed orientation."""

    arranged = Signal(bool)

    def __init__(self, first: QWidget, second: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.setChildrenCollapsible(False)
        self.addWidget(first)
        self.addWidget(second)
        self.setStretchFactor(0, 0)
        self.setStretchFactor(1, 1)

    def is_stacked(self) -> bool:
        return self.orientation() == Qt.Orientation.Vertical

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt name)
        width = event.size().width()
        if (width >= WIDE_AT_PX and self.is_stacked()) or (width < NARROW_BELOW_PX and not self.is_stacked()):
            self.setOrientation(Qt.Orientation.Horizontal if self.is_stacked() else Qt.Orientation.Vertical)
            super().resizeEvent(event)
            self.arranged.emit(self.is_stacked())
            return
        super().resizeEvent(event)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        """What the stacked arrangement needs, whichever is shown."""
        top, bottom = self.widget(0), self.widget(1)
        if top is None or bottom is None:  # not both added yet
            return super().minimumSizeHint()
        first, second = top.minimumSizeHint(), bottom.minimumSizeHint()
        return QSize(max(first.width(), second.width()), first.height() + second.height() + self.handleWidth())
