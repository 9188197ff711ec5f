"""The versions list: pick the version to show and work on, and the one to compare it with."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from desktop.versions import Version, VersionHistory


class HistoryPanel(QWidget):
    compare_requested = Signal()

    def __init__(self, history: VersionHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.list = QListWidget()
        self.list.setObjectName("versions")
        self.reference_combo = QComboBox()
        self.reference_combo.setToolTip("The version shown as 'before' in the split and side-by-side views.")
        hint = QLabel("Each run adds a version. Select one to show and restore it further; "
                      "choose what to compare it with below. Hold \\ to see the comparison version.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Compare with", self.reference_combo)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(form)
        layout.addWidget(hint)
        history.changed.connect(self.refresh)
        history.current_changed.connect(lambda _v: self.refresh())
        history.reference_changed.connect(lambda _v: self.refresh())
        self.list.currentItemChanged.connect(self._current_picked)
        self.reference_combo.currentIndexChanged.connect(self._reference_picked)
        self._refreshing = False

    def refresh(self) -> None:
        self._refreshing = True
        try:
            self.list.clear()
            self.reference_combo.clear()
            for v in self.history.versions:
                item = QListWidgetItem(self._describe(v))
                item.setData(Qt.ItemDataRole.UserRole, v.id)
                item.setToolTip("\n".join([v.label, *v.notes]))
                self.list.addItem(item)
                self.reference_combo.addItem(f"{v.id}. {v.label}", v.id)
                if v is self.history.current:
                    self.list.setCurrentItem(item)
            if self.history.reference is not None:
                self.reference_combo.setCurrentIndex(self.reference_combo.findData(self.history.reference.id))
        finally:
            self._refreshing = False

    @staticmethod
    def _describe(v: Version) -> str:
        extra = f"  ·  {v.seconds:.1f} s" if v.seconds is not None else ""
        return f"{v.id}. {v.label}{extra}"

    def _current_picked(self, item: QListWidgetItem | None, _previous=None) -> None:
        if self._refreshing or item is None:
            return
        v = self.history.by_id(item.data(Qt.ItemDataRole.UserRole))
        if v is not None and v is not self.history.current:
            self.history.set_current(v)

    def _reference_picked(self, _index: int) -> None:
        if self._refreshing:
            return
        v = self.history.by_id(self.reference_combo.currentData())
        if v is not None and v is not self.history.reference:
            self.history.set_reference(v)
