"""The selected run at a glance: its name, state, progress (with Stop), speed and its latest news."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from core.train.runs.figures import format_duration
from core.train.runs.reader import RunReader
from core.train.runs.supervisor import RunNote
from desktop.panels import training_style as style
from desktop.panels.training_labels import ElidedLabel, wrapping_label

WAITING_TEXT = "Starting the trainer… (its output is in the Output tab)"


def run_figures(reader: RunReader, state: str) -> list[str]:
    """Speed, time left, data wait, GPU memory and the best PSNR so far, as short phrases."""
    parts = []
    speed = reader.speed()
    if speed is not None:
        parts.append(f"{speed:.2f} it/s")
    if state == "running":
        parts.append(f"ETA {format_duration(reader.eta_seconds())}")
    wait = reader.metrics.get("data_wait_s")
    if wait is not None and len(wait):
        parts.append(f"data wait {1000 * wait.values[-1]:.0f} ms")
    memory = reader.metrics.get("gpu_mem_mb")
    if memory is not None and len(memory):
        parts.append(f"GPU {memory.values[-1] / 1024:.2f} GB")
    psnr = reader.metrics.get("val/psnr")
    if psnr is not None and len(psnr):
        best = int(psnr.values.argmax())
        parts.append(f"best PSNR {psnr.values[best]:.2f} dB @ {int(psnr.steps[best]):,}")
    return parts


class RunHeader(QWidget):
    """Renders what it is told; the panel decides (through its RunSupervisor) what that is."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title_label = ElidedLabel("No run selected")
        title_font = self.title_label.font()
        title_font.setPointSizeF(title_font.pointSizeF() * 1.15)
        title_font.setBold(True)
        self.title_label.setFont(title_font)
        self.state_label = QLabel("")
        self.state_label.setObjectName("run-state")
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFixedHeight(18)
        self.progress_bar.setMinimumWidth(60)
        self.progress_bar.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stop-training")
        self.stop_button.setToolTip("Ask the trainer to save and stop (it is terminated if it does not)")
        self.speed_label = wrapping_label()
        self.speed_label.setObjectName("speed")
        self.speed_label.setStyleSheet(f"color: {style.TEXT_COLOR};")
        self.message_label = wrapping_label()
        self.message_label.setObjectName("run-message")
        top = QHBoxLayout()
        top.addWidget(self.title_label, 1)
        top.addWidget(self.state_label)
        progress = QHBoxLayout()
        progress.addWidget(self.progress_bar, 1)
        progress.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 2)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(progress)
        layout.addWidget(self.speed_label)
        layout.addWidget(self.message_label)
        self.show_nothing()

    def show_nothing(self, waiting: bool = False) -> None:
        """No run selected; `waiting` while our new trainer has not made its run folder yet."""
        self.title_label.setText("No run selected")
        self.state_label.setText("")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("")
        self._set(self.speed_label, "")
        self.show_note(RunNote(WAITING_TEXT if waiting else ""))

    def show_run(self, name: str, state: str, step: int, total: int, progress: str, figures: list[str],
                 note: RunNote) -> None:
        color = style.STATE_COLORS.get(state.rstrip("?"), style.STATE_COLORS["unknown"])
        self.title_label.setText(name)
        self.state_label.setText(f'<span style="color:{color}">●</span> {state.replace("_", " ")}')
        self.progress_bar.setRange(0, total if total > 0 else 1)
        self.progress_bar.setValue(min(step, total) if total > 0 else 0)
        self.progress_bar.setFormat(progress)
        self._set(self.speed_label, "   ·   ".join(figures))
        self.show_note(note)

    def show_note(self, note: RunNote) -> None:
        color = style.STATE_COLORS["failed"] if note.error else style.TEXT_COLOR
        self.message_label.setStyleSheet(f"color: {color};")
        self._set(self.message_label, note.text)

    def message(self) -> str:
        return "" if self.message_label.isHidden() else self.message_label.text()

    @staticmethod
    def _set(label: QLabel, text: str) -> None:
        label.setText(text)
        label.setVisible(bool(text))
