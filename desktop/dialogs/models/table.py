"""A read-only, row-selecting table that asks for the height of its rows (no big empty area under a short
list) and scrolls when there is less room than that."""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

STRETCH, FIT, FIXED = "stretch", "fit", "fixed"


class FitTable(QTableWidget):
    def __init__(self, headers: Sequence[str], modes: Sequence[str], min_rows: int = 3,
                 parent: QWidget | None = None) -> None:
        super().__init__(0, len(headers), parent)
        self.min_rows = min_rows
        self.setHorizontalHeaderLabels(list(headers))
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        for i, mode in enumerate(modes):
            header.setSectionResizeMode(i, {STRETCH: QHeaderView.ResizeMode.Stretch,
                                            FIT: QHeaderView.ResizeMode.ResizeToContents,
                                            FIXED: QHeaderView.ResizeMode.Interactive}[mode])

    def fill(self, rows: Sequence[Sequence[str]], tooltips: Sequence[str] = (), keys: Sequence[str] = (),
             icons: Sequence[QIcon | None] = (), right_aligned: Sequence[int] = ()) -> None:
        """Replace the rows; keys (one per row) go to each item's UserRole, tooltips to every cell."""
        self.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                if r < len(keys):
                    item.setData(Qt.ItemDataRole.UserRole, keys[r])
                if r < len(tooltips) and tooltips[r]:
                    item.setToolTip(tooltips[r])
                icon = icons[r] if c == 0 and r < len(icons) else None
                if icon is not None:
                    item.setIcon(icon)
                if c in right_aligned:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(r, c, item)
        self.updateGeometry()

    def key(self, row: int) -> str | None:
        item = self.item(row, 0) if 0 <= row < self.rowCount() else None
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def select_key(self, key: str | None) -> bool:
        for r in range(self.rowCount()):
            if key is not None and self.key(r) == key:
                self.selectRow(r)
                return True
        return False

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        hint = super().sizeHint()
        rows = max(self.rowCount(), self.min_rows)
        row_height = self.verticalHeader().defaultSectionSize()
        height = self.horizontalHeader().height() + rows * row_height + 2 * self.frameWidth()
        if self.horizontalScrollBar().isVisible():
            height += self.horizontalScrollBar().height()
        return QSize(hint.width(), height)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        hint = super().minimumSizeHint()
        row_height = self.verticalHeader().defaultSectionSize()
        return QSize(hint.width(), self.horizontalHeader().height() + 2 * row_height + 2 * self.frameWidth())


def detail_frame(label: QLabel) -> QFrame:
    """A thin frame around the selected row's details, under the table."""
    frame = QFrame()
    frame.setObjectName("model-details")
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(8, 4, 8, 4)
    layout.addWidget(label)
    return frame


class CurrentStack(QStackedWidget):
    """A stack as tall as the page it shows (a QStackedWidget asks for the tallest of all its pages)."""

    def sizeHint(self) -> QSize:  # noqa: N802
        page = self.currentWidget()
        return super().sizeHint() if page is None else page.sizeHint()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        page = self.currentWidget()
        return super().minimumSizeHint() if page is None else page.minimumSizeHint()

    def setCurrentIndex(self, index: int) -> None:  # noqa: N802
        super().setCurrentIndex(index)
        self.updateGeometry()
