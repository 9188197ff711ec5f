"""The versions list: pick the version to show and work on, the one to compare it with, and rename, delete
or export versions. Each line says what made the version and from which version."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.versions import VersionHistory

ID_ROLE = Qt.ItemDataRole.UserRole


def version_details(history: VersionHistory, v: Any) -> str:
    """The tooltip of a version: what made it, from what, with which settings, and where it was saved."""
    lines = [history.describe(v)]
    if v.engine_id:
        lines.append(f"Engine: {v.label.split(' (')[0]}")
    if v.params:
        lines.append("Settings: " + ", ".join(f"{k} = {val}" for k, val in v.params.items()))
    if v.seconds is not None:
        lines.append(f"Took {v.seconds:.1f} s")
    if v.saved_to is not None:
        lines.append(f"Saved as {v.saved_to}")
    lines += list(v.notes)
    return "\n".join(lines)


class HistoryPanel(QWidget):
    compare_requested = Signal()
    export_requested = Signal(object)  # a core Version

    def __init__(self, history: VersionHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.list = QListWidget()
        self.list.setObjectName("versions")
        self.list.setWordWrap(True)
        self.reference_combo = QComboBox()
        self.reference_combo.setToolTip("The version shown as 'before' in the split and side-by-side views.")
        self.reference_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Remove this version (the original stays). Versions made from it keep "
                                      "their place: they are then made from its parent.")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save this version as a new file.")
        self.rename_button.clicked.connect(self._ask_rename)
        self.delete_button.clicked.connect(self.delete_current)
        self.export_button.clicked.connect(lambda: self.export_requested.emit(self.history.current))
        buttons = QHBoxLayout()
        for b in (self.rename_button, self.delete_button, self.export_button):
            buttons.addWidget(b)
        hint = QLabel("Each run adds a version made from the one shown. Select one to show it and restore it "
                      "further; choose what to compare it with below. Hold \\ to see the comparison version.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Compare with", self.reference_combo)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addLayout(form)
        layout.addWidget(hint)
        history.changed.connect(self.refresh)
        self.list.currentItemChanged.connect(self._current_picked)
        self.reference_combo.currentIndexChanged.connect(self._reference_picked)
        self._refreshing = False
        self.refresh()

    def refresh(self) -> None:
        self._refreshing = True
        try:
            self.list.clear()
            self.reference_combo.clear()
            for v in self.history.versions:
                item = QListWidgetItem(self._describe(v))
                item.setData(ID_ROLE, v.id)
                item.setToolTip(version_details(self.history, v))
                self.list.addItem(item)
                self.reference_combo.addItem(f"{v.id}. {v.title}", v.id)
                if v is self.history.current:
                    self.list.setCurrentItem(item)
            if self.history.reference is not None:
                self.reference_combo.setCurrentIndex(self.reference_combo.findData(self.history.reference.id))
            current = self.history.current
            has = current is not None
            self.rename_button.setEnabled(has)
            self.export_button.setEnabled(has)
            self.delete_button.setEnabled(has and current is not self.history.original())
        finally:
            self._refreshing = False

    def _describe(self, v: Any) -> str:
        extra = f"  ·  {v.seconds:.1f} s" if v.seconds is not None else ""
        unsaved = "" if v.saved_to is not None or v is self.history.original() else "  ·  not saved"
        return f"{self.history.describe(v)}{extra}{unsaved}"

    def rename_current(self, name: str) -> None:
        if self.history.current is not None:
            self.history.rename(self.history.current, name)

    def delete_current(self) -> None:
        current = self.history.current
        if current is not None and current is not self.history.original():
            self.history.delete(current)

    def _ask_rename(self) -> None:
        current = self.history.current
        if current is None:
            return
        name, ok = QInputDialog.getText(self, "Rename version", "Name:", text=current.title)
        if ok:
            self.rename_current(name)

    def _current_picked(self, item: QListWidgetItem | None, _previous=None) -> None:
        if self._refreshing or item is None:
            return
        v = self.history.by_id(item.data(ID_ROLE))
        if v is not None and v is not self.history.current:
            self.history.set_current(v)

    def _reference_picked(self, _index: int) -> None:
        if self._refreshing:
            return
        v = self.history.by_id(self.reference_combo.currentData())
        if v is not None and v is not self.history.reference:
            self.history.set_reference(v)
