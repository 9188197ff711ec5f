"""The "Installed" tab: the store's models (name, task, architecture, scale, size, licence, engine, source),
an empty-state page for a new store, the selected model's details and notes, and Import / Remove."""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QStyle, QVBoxLayout, QWidget

from desktop.dialogs.models.rows import InstalledRow
from desktop.dialogs.models.table import FIT, FIXED, STRETCH, CurrentStack, FitTable, detail_frame

HEADERS = ["Name", "Task", "Architecture", "Scale", "Size", "Licence", "Runs in", "Source"]
MODES = [STRETCH, FIT, FIT, FIT, FIT, FIXED, FIT, FIT]
EMPTY_TEXT = ("<b>No models installed yet.</b><br><br>Restora's own low-light engines work without any. To add "
              "more, download a well-known model on the <i>Download</i> tab, or import a checkpoint you have "
              "(.pth, .pt, .ckpt, .safetensors, .bin): use <i>Import checkpoint…</i> or drop the file on this "
              "window.")


class InstalledTab(QWidget):
    import_requested = Signal()
    remove_requested = Signal(str)  # the store name
    browse_downloads_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[InstalledRow] = []
        self.table = FitTable(HEADERS, MODES, min_rows=3)
        self.table.setColumnWidth(5, 140)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setObjectName("empty-models")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setMargin(24)
        browse = QPushButton("Show downloads")
        browse.clicked.connect(self.browse_downloads_requested)
        empty_page = QWidget()
        el = QVBoxLayout(empty_page)
        el.addStretch(1)
        el.addWidget(self.empty)
        el.addWidget(browse, 0, Qt.AlignmentFlag.AlignCenter)
        el.addStretch(2)
        self.stack = CurrentStack()
        self.stack.addWidget(self.table)
        self.stack.addWidget(empty_page)

        self.details = QLabel("Select a model to see where it runs, its licence and notes.")
        self.details.setObjectName("hint")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details_box = detail_frame(self.details)

        self.import_button = QPushButton("Import checkpoint…")
        self.import_button.setToolTip("Add a .pth / .pt / .ckpt / .safetensors / .bin file; you can also drop it here.")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Delete the selected model from the store (its file in the store is deleted).")
        self.remove_button.setEnabled(False)
        self.import_button.clicked.connect(self.import_requested)
        self.remove_button.clicked.connect(self._remove_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)

        layout = self._layout = QVBoxLayout(self)
        layout.addWidget(self.stack)
        layout.addWidget(self.details_box)
        layout.addLayout(buttons)
        layout.addStretch(1)

    def set_rows(self, rows: Sequence[InstalledRow]) -> None:
        keep = self.selected_name()
        self.rows = list(rows)
        info = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
        self.table.fill([[r.title, r.task_title, r.architecture, r.scale, r.size, r.license, r.engine, r.source]
                         for r in self.rows], tooltips=[r.details for r in self.rows], keys=[r.name for r in self.rows],
                        icons=[info if r.notes else None for r in self.rows], right_aligned=(4,))
        for r, row in enumerate(self.rows):
            task_cell, engine_cell = self.table.item(r, 1), self.table.item(r, 6)
            if task_cell is not None and engine_cell is not None:  # fill() made every cell
                task_cell.setData(Qt.ItemDataRole.UserRole + 1, row.task)
                engine_cell.setToolTip(row.engine_help)
        self.stack.setCurrentIndex(0 if self.rows else 1)
        # a short list takes the height of its rows; the empty-state page takes the room there is
        vertical = QSizePolicy.Policy.Maximum if self.rows else QSizePolicy.Policy.Expanding
        self.stack.setSizePolicy(QSizePolicy.Policy.Preferred, vertical)
        self._layout.setStretchFactor(self.stack, 0 if self.rows else 1)
        self.details_box.setVisible(bool(self.rows))
        if not self.table.select_key(keep) and self.rows:
            self.table.selectRow(0)
        self._selection_changed()

    def selected_row(self) -> InstalledRow | None:
        r = self.table.currentRow()
        selected = self.table.selectionModel().hasSelection()
        return self.rows[r] if selected and 0 <= r < len(self.rows) else None

    def selected_name(self) -> str | None:
        row = self.selected_row()
        return None if row is None else row.name

    def _selection_changed(self) -> None:
        row = self.selected_row()
        self.remove_button.setEnabled(row is not None)
        if row is not None:
            self.details.setText(row.details)

    def _remove_clicked(self) -> None:
        name = self.selected_name()
        if name:
            self.remove_requested.emit(name)
