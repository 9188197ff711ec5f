"""Pages of the training panel that only hold widgets: the run list, the new-run form, the trainer's output."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.panels import training_style as style
from desktop.panels.training_form import NewRunForm
from desktop.panels.training_labels import wrapping_label
from desktop.workers import WorkerPool

RUN_ROLE = Qt.ItemDataRole.UserRole
RUN_LIST_STYLE = """
QListWidget { background: #18191c; border: 1px solid #2b2d31; }
QListWidget::item { padding: 4px 2px; border-bottom: 1px solid #232428; }
QListWidget::item:selected { background: #2b3a6b; color: white; }
QListWidget::indicator { width: 13px; height: 13px; border: 1px solid #6b6e75; border-radius: 3px;
    background: #232428; }
QListWidget::indicator:checked { background: #3b5bdb; border-color: #8ea2ff; }
"""


def monospace() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font


class RunsPage(QWidget):
    """The open runs (tick to overlay their curves, select to see one) and Open / Resume / Close."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_list = QListWidget()
        self.run_list.setObjectName("runs")
        self.run_list.setToolTip("Tick runs to overlay their curves; select one to see its details")
        self.run_list.setMinimumHeight(72)
        self.run_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.run_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.run_list.setStyleSheet(RUN_LIST_STYLE)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a run folder (also one started from the command line)")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the selected run from its latest checkpoint")
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Stop following the selected run (the run itself is not touched)")
        buttons = QHBoxLayout()
        for button in (self.open_button, self.resume_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.run_list, 1)
        layout.addLayout(buttons)

    def add_run(self, run_id: str, name: str, color: QColor, visible: bool, tooltip: str) -> QListWidgetItem:
        item = QListWidgetItem(name)
        item.setData(RUN_ROLE, run_id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)
        item.setIcon(style.swatch(color))
        item.setToolTip(tooltip)
        self.run_list.blockSignals(True)
        self.run_list.addItem(item)
        self.run_list.blockSignals(False)
        return item

    def set_text(self, item: QListWidgetItem, text: str) -> None:
        self.run_list.blockSignals(True)
        item.setText(text)
        self.run_list.blockSignals(False)


class NewRunPage(QScrollArea):
    """The new-run form and its Start button, scrolling when the panel is short."""

    def __init__(self, pool: WorkerPool, load_presets: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = NewRunForm(load_presets=load_presets, pool=pool)
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("start-training")
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(2, 4, 6, 4)
        layout.addWidget(self.form)
        layout.addWidget(self.start_button)
        layout.addStretch(1)
        self.setWidgetResizable(True)
        self.setWidget(inner)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)


class OutputPage(QWidget):
    """The child process's output, and how it ended."""

    def __init__(self, max_lines: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log_view = QPlainTextEdit()
        self.log_view.setObjectName("training-log")
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(max_lines)
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log_view.setFont(monospace())
        self.log_view.setPlaceholderText("Output of a training run started here appears in this log.")
        self.exit_label = wrapping_label("No training process started from this window.")
        self.exit_label.setObjectName("exit-status")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.exit_label)
        layout.addWidget(self.log_view, 1)

    def started(self) -> None:
        self.log_view.clear()
        self.show_exit("Running…")

    def show_exit(self, text: str, color: str = style.TEXT_COLOR) -> None:
        self.exit_label.setStyleSheet(f"color: {color};")
        self.exit_label.setText(text)

    def append(self, lines: list[str]) -> None:
        for line in lines:
            self.log_view.appendPlainText(line)
