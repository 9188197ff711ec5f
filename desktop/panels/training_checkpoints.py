"""A run's checkpoints, and "use in editor": register one in the model store so the editor can run it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from core.train_runs import CheckpointInfo

PATH_ROLE = Qt.ItemDataRole.UserRole


def _size_text(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def _import_into_store(path: Path, name: str) -> str:
    """Register a checkpoint with core.store (written elsewhere, imported only when needed); returns its name."""
    from core.store import ModelStore

    record = ModelStore().import_file(path, name=name)
    for attr in ("name", "id"):
        value = getattr(record, attr, None)
        if isinstance(value, str) and value:
            return value
    return name


class _ImportJob(QObject):
    """Runs the store import off the GUI thread (it may load torch and read a large file)."""

    done = Signal(str)
    failed = Signal(str)

    def start(self, path: Path, name: str) -> None:
        threading.Thread(target=self._run, args=(path, name), name="restora-checkpoint-import", daemon=True).start()

    def _run(self, path: Path, name: str) -> None:
        try:
            self.done.emit(_import_into_store(path, name))
        except ImportError as e:
            self.failed.emit(f"the model store is not available ({e}).")
        except Exception as e:  # any failure (unknown architecture, bad file, disk full) is shown, never fatal
            self.failed.emit(str(e) or type(e).__name__)


class CheckpointList(QWidget):
    """Checkpoints of the current run; emits use_model(name) once one is registered in the model store."""

    use_model = Signal(str)
    import_failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._run_name = ""
        self._jobs: list[_ImportJob] = []
        self.tree = QTreeWidget()
        self.tree.setObjectName("checkpoints")
        self.tree.setHeaderLabels(["Checkpoint", "Size", "Saved"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(False)
        self.tree.setColumnWidth(0, 220)
        self.tree.setColumnWidth(1, 90)
        self.tree.setStyleSheet("QTreeWidget { background: #18191c; border: 1px solid #2b2d31; }"
                                "QTreeWidget::item { padding: 3px; }"
                                "QTreeWidget::item:selected { background: #2b3a6b; color: white; }")
        self.tree.currentItemChanged.connect(lambda *_: self._selection_changed())
        self.tree.itemDoubleClicked.connect(lambda *_: self.use_selected())
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("model name in the store")
        self.use_button = QPushButton("Use in editor")
        self.use_button.setToolTip("Import the checkpoint into the model store and select it in the editor")
        self.use_button.clicked.connect(self.use_selected)
        self.use_button.setEnabled(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Name"))
        row.addWidget(self.name_edit, 1)
        row.addWidget(self.use_button)
        hint = QLabel("best.safetensors holds only the weights and loads without running pickled code; "
                      "latest.pt and best.pt also carry the optimizer state for resuming.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #8a8d94;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.tree, 1)
        layout.addWidget(hint)
        layout.addLayout(row)
        layout.addWidget(self.message)

    def set_checkpoints(self, run_name: str, checkpoints: list[CheckpointInfo]) -> None:
        selected = self.selected_path()
        self._run_name = run_name
        self.tree.clear()
        for info in checkpoints:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.modified))
            item = QTreeWidgetItem([info.name, _size_text(info.size), when])
            item.setData(0, PATH_ROLE, str(info.path))
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tree.addTopLevelItem(item)
            if selected is not None and Path(str(info.path)) == selected:
                self.tree.setCurrentItem(item)
        if self.tree.currentItem() is None and self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self._selection_changed()

    def names(self) -> list[str]:
        return [self.tree.topLevelItem(i).text(0) for i in range(self.tree.topLevelItemCount())]

    def select(self, name: str) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            if self.tree.topLevelItem(i).text(0) == name:
                self.tree.setCurrentItem(self.tree.topLevelItem(i))
                return True
        return False

    def selected_path(self) -> Path | None:
        item = self.tree.currentItem()
        return Path(item.data(0, PATH_ROLE)) if item is not None else None

    def _selection_changed(self) -> None:
        path = self.selected_path()
        self.use_button.setEnabled(path is not None)
        if path is not None:
            self.name_edit.setText(f"{self._run_name}-{path.stem}" if self._run_name else path.stem)

    def use_selected(self) -> None:
        path = self.selected_path()
        if path is None:
            return
        name = self.name_edit.text().strip() or path.stem
        self.use_button.setEnabled(False)
        self.message.setStyleSheet("color: #a0a3aa;")
        self.message.setText(f"Importing {path.name} as '{name}'…")
        job = _ImportJob(self)
        job.done.connect(self._imported)
        job.failed.connect(self._failed)
        job.done.connect(lambda *_: self._jobs.remove(job))
        job.failed.connect(lambda *_: self._jobs.remove(job))
        self._jobs.append(job)
        job.start(path, name)

    def _imported(self, name: str) -> None:
        self.use_button.setEnabled(self.selected_path() is not None)
        self.message.setStyleSheet("color: #3ec47a;")
        self.message.setText(f"'{name}' is in the model store and selected in the editor.")
        self.use_model.emit(name)

    def _failed(self, reason: str) -> None:
        self.use_button.setEnabled(self.selected_path() is not None)
        self.message.setStyleSheet("color: #eb5757;")
        self.message.setText(f"Could not import the checkpoint: {reason}")
        self.import_failed.emit(reason)
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot use checkpoint",
                          f"The checkpoint could not be registered in the model store.\n\n{reason}",
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("checkpoint-import-error")
        box.open()
