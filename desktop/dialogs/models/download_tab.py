"""The "Download" tab: the catalog of well-known checkpoints, which of them are installed already, the
selected item's details, and Download / Cancel with a progress bar."""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QStyle, QVBoxLayout, QWidget

from desktop.dialogs.models.rows import CatalogRow, human_size
from desktop.dialogs.models.table import FIT, STRETCH, CurrentStack, FitTable, detail_frame

HEADERS = ["Name", "Task", "Size", "Architecture", "Licence", "Status"]
MODES = [FIT, FIT, FIT, FIT, STRETCH, FIT]


class DownloadTab(QWidget):
    download_requested = Signal(str)  # catalog id
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[CatalogRow] = []
        self.busy = False
        self.table = FitTable(HEADERS, MODES, min_rows=6)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.message = QLabel("Reading the download catalog…")
        self.message.setObjectName("hint")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = CurrentStack()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.message)
        self.stack.setCurrentIndex(1)

        self.details = QLabel("")
        self.details.setObjectName("hint")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details_box = detail_frame(self.details)
        self.details_box.hide()

        self.download_button = QPushButton("Download")
        self.download_button.setEnabled(False)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setEnabled(False)
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setFormat("")
        self.progress.hide()
        self.download_button.clicked.connect(self._download_clicked)
        self.cancel_button.clicked.connect(self.cancel_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        buttons.addStretch(0)

        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)
        layout.addWidget(self.details_box)
        layout.addLayout(buttons)
        layout.addStretch(1)

    # --- content ----------------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[CatalogRow]) -> None:
        keep = self.selected_id()
        self.rows = list(rows)
        done = self.style().standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton)
        self.table.fill([[r.name, r.task_title, r.size, r.architecture, r.license, r.status] for r in self.rows],
                        tooltips=[r.details for r in self.rows], keys=[r.id for r in self.rows],
                        icons=[done if r.installed_as else None for r in self.rows], right_aligned=(2,))
        if self.rows:
            self.stack.setCurrentIndex(0)
        else:
            self.show_message("The download catalog is empty.")
        if not self.table.select_key(keep) and self.rows:
            first = next((i for i, r in enumerate(self.rows) if not r.installed_as), 0)
            self.table.selectRow(first)
        self._selection_changed()

    def show_message(self, text: str) -> None:
        """Shown instead of the list (catalog being read, empty, or not loadable)."""
        self.message.setText(text)
        self.stack.setCurrentIndex(1)
        self.details_box.hide()

    def selected_row(self) -> CatalogRow | None:
        r = self.table.currentRow()
        selected = self.table.selectionModel().hasSelection()
        return self.rows[r] if selected and 0 <= r < len(self.rows) else None

    def selected_id(self) -> str | None:
        row = self.selected_row()
        return None if row is None else row.id

    # --- download state ---------------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        """A download is running (one at a time): Cancel and the progress bar show, Download waits."""
        self.busy = busy
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
            self.progress.setFormat("Connecting…")
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(0)
            self.progress.setFormat("")
        self._selection_changed()

    def show_progress(self, done: int, total: int, message: str) -> None:
        if total > 0 and done >= total:
            self.progress.setRange(0, 0)  # checking the SHA-256 and importing: no byte count to show
            self.progress.setFormat("Checking and importing…")
        elif total > 0:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(100 * done / total))
            self.progress.setFormat(f"{human_size(done)} of {human_size(total)}")
        elif done > 0:
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"{human_size(done)} downloaded")

    def _selection_changed(self) -> None:
        row = self.selected_row()
        self.details_box.setVisible(row is not None)
        if row is not None:
            self.details.setText(row.details)
        button = self.download_button
        if row is None:
            button.setEnabled(False)
            button.setText("Download")
        elif row.installed_as:
            button.setEnabled(False)
            button.setText("Installed")
            button.setToolTip(f"“{row.name}” is installed as “{row.installed_as}”.")
        else:
            button.setEnabled(not self.busy)
            button.setText(f"Download {row.name} ({row.size})")
            button.setToolTip("Download the selected model into the store (one download at a time).")

    def _download_clicked(self) -> None:
        row = self.selected_row()
        if row is not None and not row.installed_as and not self.busy:
            self.download_requested.emit(row.id)
