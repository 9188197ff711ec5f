"""The keyboard shortcuts help dialog: one row per key, grouped under section rows; the action text wraps
instead of being cut off, and rows grow to fit it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.shortcuts import SHORTCUTS, Shortcut

PREFERRED_SIZE = (620, 720)
SCREEN_SHARE = 0.85  # never larger than this part of the screen


def grouped(shortcuts: tuple[Shortcut, ...] = SHORTCUTS) -> list[tuple[str, list[Shortcut]]]:
    """The shortcuts by group, groups in the order they first appear."""
    groups: dict[str, list[Shortcut]] = {}
    for s in shortcuts:
        groups.setdefault(s.group, []).append(s)
    return list(groups.items())


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcuts-dialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Keys", "Action"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self._fill()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self._size_to_screen()

    def _fill(self) -> None:
        bold = QFont(self.font())
        bold.setBold(True)
        for group, shortcuts in grouped():
            row = self._add_row(group, "")
            self.table.setSpan(row, 0, 1, 2)
            heading = self.table.item(row, 0)  # the item _add_row just set
            if heading is not None:
                heading.setFont(bold)
            for s in shortcuts:
                for keys in s.all_keys:  # one row per key, so each can be found in the Keys column
                    self._add_row(keys, s.title)

    def _add_row(self, keys: str, title: str) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, text in enumerate((keys, title)):
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, col, item)
        return row

    def _size_to_screen(self) -> None:
        width, height = PREFERRED_SIZE
        parent = self.parentWidget()
        screen = parent.screen() if parent is not None else QGuiApplication.primaryScreen()
        if screen is not None:
            room = screen.availableGeometry()
            width = min(width, int(room.width() * SCREEN_SHARE))
            height = min(height, int(room.height() * SCREEN_SHARE))
        self.resize(width, height)
