"""A run's checkpoints, and "use in editor": register one in the model store so the editor can run it.

The import runs in the worker pool (it may load torch and read a large file). Its news belongs to the run the
checkpoint came from: switching runs shows that run's own message, never another's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.errors import RestoraError
from core.train.runs.reader import CheckpointInfo
from desktop.workers import JobHandle, WorkerPool

PATH_ROLE = Qt.ItemDataRole.UserRole
OK_COLOR, BUSY_COLOR, ERROR_COLOR = "#3ec47a", "#a0a3aa", "#eb5757"


def _size_text(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def import_into_store(path: Path, name: str) -> str:
    """Register a checkpoint with core.store (imported only when needed); returns the name the store gave it."""
    from core.store import ModelStore

    entry = ModelStore().import_file(path, name=name)
    stored = getattr(entry, "name", None)
    if not isinstance(stored, str) or not stored:
        raise RestoraError(f"the model store registered {path.name} without a name.")
    return stored


def _import_job(path: Path, name: str) -> Any:
    """The pool job; any failure (unknown architecture, bad file, disk full) becomes a message, never a crash."""
    def job(_progress: Any, _cancel: Any) -> str:
        try:
            return import_into_store(path, name)
        except RestoraError:
            raise
        except ImportError as e:
            raise RestoraError(f"the model store is not available ({e}).") from e
        except Exception as e:
            raise RestoraError(str(e) or type(e).__name__) from e

    return job


@dataclass(frozen=True)
class _Message:
    text: str
    color: str


class CheckpointList(QWidget):
    """Checkpoints of the current run; emits use_model(store name) once one is registered in the model store."""

    use_model = Signal(str)
    import_failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, pool: WorkerPool | None = None) -> None:
        super().__init__(parent)
        self.pool = pool if pool is not None else WorkerPool(self)
        self._run_name = ""
        self._messages: dict[str, _Message] = {}  # run name -> the last news about its checkpoints
        self._jobs: dict[str, JobHandle] = {}  # run name -> its import in flight
        self.tree = QTreeWidget()
        self.tree.setObjectName("checkpoints")
        self.tree.setHeaderLabels(["Checkpoint", "Size", "Saved"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(False)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(40)
        self.tree.setStyleSheet("QTreeWidget { background: #18191c; border: 1px solid #2b2d31; }"
                                "QTreeWidget::item { padding: 3px; }"
                                "QTreeWidget::item:selected { background: #2b3a6b; color: white; }")
        self.tree.currentItemChanged.connect(lambda *_: self._selection_changed())
        self.tree.itemDoubleClicked.connect(lambda *_: self.use_selected())
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("model name in the store")
        self.name_edit.setMinimumWidth(80)
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
        """Show a run's checkpoints, and only that run's news."""
        selected = self.selected_path() if run_name == self._run_name else None
        self._run_name = run_name
        self.tree.clear()
        for info in checkpoints:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.modified))
            item = QTreeWidgetItem([info.name, _size_text(info.size), when])
            item.setData(0, PATH_ROLE, str(info.path))
            item.setToolTip(0, str(info.path))
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tree.addTopLevelItem(item)
            if selected is not None and Path(str(info.path)) == selected:
                self.tree.setCurrentItem(item)
        first = self.tree.topLevelItem(0)  # None when the list is empty
        if self.tree.currentItem() is None and first is not None:
            self.tree.setCurrentItem(first)
        self._selection_changed()
        self._show_message()

    def _items(self) -> list[QTreeWidgetItem]:
        items = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [item for item in items if item is not None]

    def names(self) -> list[str]:
        return [item.text(0) for item in self._items()]

    def select(self, name: str) -> bool:
        for item in self._items():
            if item.text(0) == name:
                self.tree.setCurrentItem(item)
                return True
        return False

    def selected_path(self) -> Path | None:
        item = self.tree.currentItem()
        return Path(item.data(0, PATH_ROLE)) if item is not None else None

    def message_for(self, run_name: str) -> str:
        """The last news about a run's checkpoints ('' when there is none)."""
        message = self._messages.get(run_name)
        return message.text if message is not None else ""

    def import_job(self, run_name: str | None = None) -> JobHandle | None:
        """The store import in flight for a run (the current one by default)."""
        return self._jobs.get(self._run_name if run_name is None else run_name)

    def _selection_changed(self) -> None:
        path = self.selected_path()
        self.use_button.setEnabled(path is not None and self._run_name not in self._jobs)
        if path is not None:
            self.name_edit.setText(f"{self._run_name}-{path.stem}" if self._run_name else path.stem)

    def use_selected(self) -> None:
        path = self.selected_path()
        if path is None or self._run_name in self._jobs:
            return
        run_name = self._run_name
        name = self.name_edit.text().strip() or path.stem
        self.use_button.setEnabled(False)
        self._set_message(run_name, f"Importing {path.name} as '{name}'…", BUSY_COLOR)
        handle = self.pool.submit(_import_job(path, name), name=f"Importing {path.name} into the model store")
        self._jobs[run_name] = handle
        handle.on(succeeded=lambda stored: self._imported(run_name, name, stored),
                  failed=lambda message, _detail: self._failed(run_name, message),
                  cancelled=lambda message: self._failed(run_name, message or "cancelled."))

    def _imported(self, run_name: str, asked: str, stored: str) -> None:
        if not shiboken6.isValid(self):  # the panel closed while the import ran
            return
        self._jobs.pop(run_name, None)
        where = f"'{stored}'" if stored == asked else f"'{stored}' (the store's name for it)"
        self._set_message(run_name, f"{where} is in the model store and selected in the editor.", OK_COLOR)
        if run_name == self._run_name:
            self.use_button.setEnabled(self.selected_path() is not None)
        self.use_model.emit(stored)

    def _failed(self, run_name: str, reason: str) -> None:
        if not shiboken6.isValid(self):
            return
        self._jobs.pop(run_name, None)
        self._set_message(run_name, f"Could not import the checkpoint: {reason}", ERROR_COLOR)
        self.import_failed.emit(reason)
        if run_name != self._run_name:
            return  # its run is not shown: the message waits under that run
        self.use_button.setEnabled(self.selected_path() is not None)
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot use checkpoint",
                          f"The checkpoint could not be registered in the model store.\n\n{reason}",
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("checkpoint-import-error")
        box.open()

    def _set_message(self, run_name: str, text: str, color: str) -> None:
        self._messages[run_name] = _Message(text, color)
        if run_name == self._run_name:
            self._show_message()

    def _show_message(self) -> None:
        message = self._messages.get(self._run_name)
        self.message.setStyleSheet(f"color: {message.color if message else BUSY_COLOR};")
        self.message.setText(message.text if message else "")
