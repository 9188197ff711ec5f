"""The model manager: list the store, import checkpoints, remove them, and download catalog entries.

Every store call runs as a worker-pool job (the store may import torch and hash large files); the store
itself is created lazily from a factory so tests can hand in a fake one.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFileDialog, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from desktop.panels.restore_panel import Banner
from desktop.workers import JobHandle, WorkerPool

CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors", ".bin")
CHECKPOINT_FILTER = "Checkpoints (*.pth *.pt *.ckpt *.safetensors *.bin);;All files (*)"


def human_size(value: Any) -> str:
    if isinstance(value, (int, float)) and value >= 0:
        size = float(value)
        for unit in ("B", "KB", "MB", "GB"):
            if size < 1024 or unit == "GB":
                return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            size /= 1024
    return "" if value is None else str(value)


def is_checkpoint(path: str | Path) -> bool:
    return Path(path).suffix.lower() in CHECKPOINT_SUFFIXES


def default_store() -> Any:
    from core.store import ModelStore

    return ModelStore()


def default_catalog() -> list[Any]:
    try:
        from core.model_catalog import CATALOG
    except ImportError:
        return []
    return list(CATALOG)


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.setAlternatingRowColors(True)
    header = t.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for i in range(1, len(headers)):
        header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
    return t


class ModelManagerDialog(QDialog):
    store_changed = Signal()  # imported, removed or downloaded: the window refreshes its engines

    def __init__(self, pool: WorkerPool, store_factory: Callable[[], Any] = default_store,
                 catalog: list[Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("model-manager")
        self.setWindowTitle("Models")
        self.resize(860, 600)
        self.setAcceptDrops(True)
        self.pool = pool
        self._store_factory = store_factory
        self.store: Any = None
        self._store_lock = threading.Lock()
        self.catalog = list(catalog) if catalog is not None else default_catalog()
        self.entries: list[Any] = []
        self._download: JobHandle | None = None
        self.last_job: JobHandle | None = None

        self.installed = _table(["Name", "Task", "Architecture", "Scale", "Size", "License"])
        self.import_button = QPushButton("Import checkpoint…")
        self.import_button.setToolTip("Add a .pth / .pt / .ckpt / .safetensors file; you can also drop it here.")
        self.remove_button = QPushButton("Remove")
        self.import_button.clicked.connect(self._pick_import)
        self.remove_button.clicked.connect(self._remove_selected)
        installed_box = QGroupBox("Installed")
        il = QVBoxLayout(installed_box)
        il.addWidget(self.installed)
        row = QHBoxLayout()
        row.addWidget(self.import_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        il.addLayout(row)

        self.available = _table(["Name", "Task", "Size", "License"])
        self.download_button = QPushButton("Download")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setFormat("")
        self.download_button.clicked.connect(self._download_selected)
        self.cancel_button.clicked.connect(self._cancel_download)
        catalog_box = QGroupBox("Available to download")
        cl = QVBoxLayout(catalog_box)
        cl.addWidget(self.available)
        row2 = QHBoxLayout()
        row2.addWidget(self.download_button)
        row2.addWidget(self.cancel_button)
        row2.addWidget(self.progress, 1)
        cl.addLayout(row2)

        self.banner = Banner()
        self.status = QLabel("Reading the model store…")
        self.status.setObjectName("hint")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(installed_box, 3)
        layout.addWidget(catalog_box, 2)
        layout.addWidget(self.banner)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(buttons)
        layout.addLayout(bottom)
        self._fill_catalog()
        self.refresh()

    # --- jobs -------------------------------------------------------------------------------------
    def _store_job(self, name: str, action: Callable[[Any, Any, Any], Any], on_done: Callable[[Any], None]) -> JobHandle:
        def job(progress, cancel):
            with self._store_lock:
                if self.store is None:
                    self.store = self._store_factory()
            result = action(self.store, progress, cancel)
            return result, list(self.store.list())

        handle = self.pool.submit(job, name=name, device="cpu")
        handle.on(succeeded=lambda out: (self._show_entries(out[1]), on_done(out[0])))
        handle.on(failed=lambda message, _detail: self.banner.show_message(message))
        handle.on(cancelled=lambda message: self.status.setText(message))
        self.last_job = handle
        return handle

    def refresh(self) -> JobHandle:
        return self._store_job("List models", lambda s, p, c: None, lambda _r: None)

    def import_files(self, paths: list[str | Path]) -> JobHandle | None:
        files = [Path(p) for p in paths]
        if not files:
            return None
        self.status.setText(f"Importing {', '.join(f.name for f in files)}…")

        def action(store, progress, cancel):
            imported = []
            for i, f in enumerate(files):
                cancel.raise_if_cancelled()
                imported.append(store.import_file(f))
                progress(i + 1, len(files), f.name)
            return imported

        return self._store_job("Import model", action, self._imported)

    def _imported(self, entries: list[Any]) -> None:
        names = ", ".join(str(getattr(e, "name", e)) for e in entries)
        self.status.setText(f"Imported {names}.")
        self.store_changed.emit()

    def remove(self, name: str) -> JobHandle:
        return self._store_job("Remove model", lambda s, p, c: s.remove(name), lambda _r: self._removed(name))

    def _removed(self, name: str) -> None:
        self.status.setText(f"Removed {name}.")
        self.store_changed.emit()

    def download(self, catalog_id: str) -> JobHandle:
        self.download_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat("Connecting…")

        def action(store, progress, cancel):
            return store.download(catalog_id, progress=progress, cancel=cancel)

        handle = self._store_job(f"Download {catalog_id}", action, self._downloaded)
        handle.on(progress=self._download_progress)
        handle.on(finished=self._download_finished)
        self._download = handle
        return handle

    def _download_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(100 * done / total))
            self.progress.setFormat(f"{human_size(done)} of {human_size(total)}")

    def _downloaded(self, entry: Any) -> None:
        self.status.setText(f"Downloaded {getattr(entry, 'name', entry)}.")
        self.store_changed.emit()

    def _download_finished(self) -> None:
        self._download = None
        self.download_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat("")

    def _cancel_download(self) -> None:
        if self._download is not None:
            self._download.cancel()

    # --- tables -----------------------------------------------------------------------------------
    def _show_entries(self, entries: list[Any]) -> None:
        self.entries = entries
        t = self.installed
        t.setRowCount(len(entries))
        for row, e in enumerate(entries):
            scale = getattr(e, "scale", None)
            cells = [getattr(e, "name", str(e)), getattr(e, "task", ""), getattr(e, "architecture", ""),
                     f"{scale}x" if scale else "", human_size(getattr(e, "file_size", None)),
                     getattr(e, "license", "") or ""]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                if col == 4:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(row, col, item)
        self.status.setText(f"{len(entries)} model{'s' if len(entries) != 1 else ''} installed." if entries
                            else "No models installed yet: import a checkpoint or download one below.")

    def _fill_catalog(self) -> None:
        t = self.available
        t.setRowCount(len(self.catalog))
        for row, c in enumerate(self.catalog):
            cells = [getattr(c, "name", ""), getattr(c, "task", ""), human_size(getattr(c, "size", None)),
                     getattr(c, "license", "") or ""]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                item.setData(Qt.ItemDataRole.UserRole, getattr(c, "id", None))
                t.setItem(row, col, item)
        self.download_button.setEnabled(bool(self.catalog))

    def _selected_name(self) -> str | None:
        row = self.installed.currentRow()
        return str(getattr(self.entries[row], "name", "")) if 0 <= row < len(self.entries) else None

    # --- buttons and drops ------------------------------------------------------------------------
    def _pick_import(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Import checkpoints", "", CHECKPOINT_FILTER)
        self.import_files(paths)

    def _remove_selected(self) -> None:
        name = self._selected_name()
        if name:
            self.remove(name)

    def _download_selected(self) -> None:
        row = self.available.currentRow()
        if 0 <= row < len(self.catalog):
            self.download(getattr(self.catalog[row], "id"))

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if any(is_checkpoint(u.toLocalFile()) for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        self.import_files([u.toLocalFile() for u in event.mimeData().urls() if is_checkpoint(u.toLocalFile())])
