"""Sessions left by a crash: restore one, discard them, or decide later (File > Recover sessions…)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

ROLE = Qt.ItemDataRole.UserRole


class RecoveryDialog(QDialog):
    restore_requested = Signal(object)  # a core.session.recovery.RecoverableSession

    def __init__(self, sessions: list[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recovery-dialog")
        self.setWindowTitle("Recover unsaved work")
        self.sessions = list(sessions)
        intro = QLabel("Restora closed without saving these photos' versions (a crash, a power cut, or the "
                       "process was stopped). Restore one to get its versions, mask and undo history back.")
        intro.setWordWrap(True)
        self.list = QListWidget()
        for s in self.sessions:
            item = QListWidgetItem(s.describe())
            item.setData(ROLE, s)
            item.setToolTip(str(s.source or s.folder))
            self.list.addItem(item)
        if self.sessions:
            self.list.setCurrentRow(0)
        self.restore_button = QPushButton("Restore")
        self.restore_button.setObjectName("primary")
        self.discard_button = QPushButton("Discard")
        self.discard_all_button = QPushButton("Discard all")
        later = QPushButton("Later")
        self.restore_button.clicked.connect(self._restore)
        self.discard_button.clicked.connect(self._discard)
        self.discard_all_button.clicked.connect(self._discard_all)
        later.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for b in (self.restore_button, self.discard_button, self.discard_all_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(later)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.resize(560, 320)
        self._update()

    def current(self) -> Any:
        item = self.list.currentItem()
        return None if item is None else item.data(ROLE)

    def _restore(self) -> None:
        session = self.current()
        if session is not None:
            self.restore_requested.emit(session)
            self.accept()

    def _discard(self) -> None:
        from core.session.recovery import discard_session

        session = self.current()
        if session is not None:
            discard_session(session)
            self.list.takeItem(self.list.currentRow())
            self._update()
            if not self.list.count():  # nothing left to decide about
                self.accept()

    def _discard_all(self) -> None:
        from core.session.recovery import discard_session

        while self.list.count():
            discard_session(self.list.item(0).data(ROLE))
            self.list.takeItem(0)
        self._update()
        self.accept()

    def _update(self) -> None:
        has = self.list.count() > 0
        self.restore_button.setEnabled(has)
        self.discard_button.setEnabled(has)
        self.discard_all_button.setEnabled(has)
