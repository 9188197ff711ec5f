"""The Training tab: start, stop and resume runs, follow any run folder live, compare runs, use a checkpoint.

Composition only. Run folders are parsed by core.train.runs (RunReader) and the run state (which run this
window started, what may be stopped or resumed, each run's messages) is core.train.runs.supervisor's
RunSupervisor; training happens in a child process (`python main.py train ...`) so a crash there never takes
the editor down. The pieces live in training_form (the new-run form), training_plots (curves),
training_gallery (validation previews), training_checkpoints (use in editor), training_process (the QProcess)
and training_follow (polling). Background work goes through the window's WorkerPool.

Narrow (a dock, ~340-420 px) the run list sits above the run's tabs; wide, beside them. The open runs are
remembered in the settings and reopened at the next start.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontDatabase, QResizeEvent
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QLabel, QLayout, QListWidget,
                               QListWidgetItem, QPlainTextEdit, QProgressBar, QPushButton, QScrollArea,
                               QSizePolicy, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from core import paths
from core.errors import RestoraError
from core.settings import get_setting, set_setting
from core.train.runs.commands import resume_command
from core.train.runs.figures import format_duration, short_run_name
from core.train.runs.layout import clear_stop, request_stop
from core.train.runs.reader import PollResult, RunReader
from core.train.runs.supervisor import STALE, RunSupervisor, run_key
from desktop.panels import training_style as style
from desktop.panels.training_checkpoints import CheckpointList
from desktop.panels.training_elided import ElidedLabel
from desktop.panels.training_follow import RunFollower
from desktop.panels.training_form import NewRunForm
from desktop.panels.training_gallery import PreviewGallery
from desktop.panels.training_plots import CurvesView
from desktop.panels.training_process import TrainingProcess
from desktop.workers import WorkerPool

MAIN_SCRIPT = Path(__file__).resolve().parents[2] / "main.py"
RUN_ROLE = Qt.ItemDataRole.UserRole
HEADER_TICK_MS = 1000
WIDE_AT_PX = 980  # from this width the run list sits beside the run's tabs ...
NARROW_BELOW_PX = 940  # ... and below this one above them again (apart, so a resize does not flicker)
OPEN_RUNS_KEY = "training.open_runs"  # [{"path": ..., "visible": ...}] in core.settings
CURRENT_RUN_KEY = "training.current_run"
RUN_LIST_STYLE = """
QListWidget { background: #18191c; border: 1px solid #2b2d31; }
QListWidget::item { padding: 4px 2px; border-bottom: 1px solid #232428; }
QListWidget::item:selected { background: #2b3a6b; color: white; }
QListWidget::indicator { width: 13px; height: 13px; border: 1px solid #6b6e75; border-radius: 3px;
    background: #232428; }
QListWidget::indicator:checked { background: #3b5bdb; border-color: #8ea2ff; }
"""


@dataclass
class _OpenRun:
    reader: RunReader
    follower: RunFollower
    color_index: int
    item: QListWidgetItem


def _run_id(path: Path) -> str:
    return run_key(path)


def _wrapping_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # wraps, never widens
    return label


class TrainingPanel(QWidget):
    """Emits use_model(store name) once a checkpoint was registered in the model store for the editor."""

    use_model = Signal(str)
    run_opened = Signal(str)  # run folder
    message = Signal(str)  # one-line news for a status bar

    def __init__(self, parent: QWidget | None = None, *, load_presets: bool = True,
                 python: str | None = None, main_script: str | Path | None = None,
                 pool: WorkerPool | None = None, restore_runs: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("training-panel")
        self.python = python or sys.executable
        self.main_script = Path(main_script) if main_script else MAIN_SCRIPT
        self.pool = pool if pool is not None else WorkerPool(self)
        self.supervisor = RunSupervisor()
        self._runs: dict[str, _OpenRun] = {}
        self._current: str | None = None
        self._restoring = False

        self.process = TrainingProcess(self)
        self.process.output.connect(self._process_output)
        self.process.finished.connect(self._process_finished)
        self.process.started.connect(lambda _pid: self._update_buttons())
        self.process.stopping.connect(self._process_stopping)

        self._build(load_presets)
        self._header_timer = QTimer(self)
        self._header_timer.setInterval(HEADER_TICK_MS)
        self._header_timer.timeout.connect(self._tick)
        self._header_timer.start()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._update_header()
        self._update_buttons()
        if restore_runs:
            self.restore_open_runs()

    # -- construction ---------------------------------------------------------------------------

    def _build(self, load_presets: bool) -> None:
        self.side_tabs = QTabWidget()
        self.side_tabs.setDocumentMode(True)
        self.side_tabs.addTab(self._build_runs_page(), "Runs")
        self.side_tabs.addTab(self._build_new_run_page(load_presets), "New run")
        self.form_message = _wrapping_label()
        self.form_message.setObjectName("training-message")
        self.form_message.setVisible(False)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 4, 4, 4)
        side_layout.setSpacing(4)
        side_layout.addWidget(self.side_tabs, 1)
        side_layout.addWidget(self.form_message)

        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(0, 0, 0, 0)
        main_layout.setSpacing(2)
        main_layout.addLayout(self._build_header())
        main_layout.addWidget(self._build_tabs(), 1)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("training-splitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(side)
        self.splitter.addWidget(main)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self._arrange(vertical=True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # The panel rearranges itself (side by side -> stacked) before anything gets too narrow, so it reports
        # the minimum of its stacked arrangement and does not let the side-by-side one pin the dock's width.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        layout.addWidget(self.splitter)

    def _build_runs_page(self) -> QWidget:
        self.run_list = QListWidget()
        self.run_list.setObjectName("runs")
        self.run_list.setToolTip("Tick runs to overlay their curves; select one to see its details")
        self.run_list.currentItemChanged.connect(self._current_item_changed)
        self.run_list.itemChanged.connect(self._item_changed)
        self.run_list.setMinimumHeight(72)
        self.run_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.run_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.run_list.setStyleSheet(RUN_LIST_STYLE)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a run folder (also one started from the command line)")
        self.open_button.clicked.connect(self.open_dialog)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the selected run from its latest checkpoint")
        self.resume_button.clicked.connect(self.resume_current)
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Stop following the selected run (the run itself is not touched)")
        self.close_button.clicked.connect(lambda: self._current and self.close_run(self._current))
        buttons = QHBoxLayout()
        for button in (self.open_button, self.resume_button, self.close_button):
            buttons.addWidget(button)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.run_list, 1)
        layout.addLayout(buttons)
        return page

    def _build_new_run_page(self, load_presets: bool) -> QWidget:
        self.form = NewRunForm(load_presets=load_presets, pool=self.pool)
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("start-training")
        self.start_button.clicked.connect(self.start_from_form)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(2, 4, 6, 4)
        layout.addWidget(self.form)
        layout.addWidget(self.start_button)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        return scroll

    def _build_header(self) -> QVBoxLayout:
        """The selected run at a glance: name, state, progress (with Stop), speed, and its latest news."""
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
        self.stop_button.clicked.connect(self.stop)
        self.speed_label = _wrapping_label()
        self.speed_label.setObjectName("speed")
        self.speed_label.setStyleSheet(f"color: {style.TEXT_COLOR};")
        self.status_message = _wrapping_label()
        self.status_message.setObjectName("run-message")
        self.status_message.setStyleSheet(f"color: {style.TEXT_COLOR};")
        top = QHBoxLayout()
        top.addWidget(self.title_label, 1)
        top.addWidget(self.state_label)
        progress = QHBoxLayout()
        progress.addWidget(self.progress_bar, 1)
        progress.addWidget(self.stop_button)
        header = QVBoxLayout()
        header.setContentsMargins(8, 6, 8, 2)
        header.setSpacing(4)
        header.addLayout(top)
        header.addLayout(progress)
        header.addWidget(self.speed_label)
        header.addWidget(self.status_message)
        return header

    def _build_tabs(self) -> QTabWidget:
        self.curves = CurvesView()
        self.gallery = PreviewGallery()
        self.checkpoints = CheckpointList(pool=self.pool)
        self.checkpoints.use_model.connect(self.use_model)
        self.log_view = QPlainTextEdit()
        self.log_view.setObjectName("training-log")
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(self.process.lines.maxlen or 500)
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.log_view.setFont(mono)
        self.log_view.setPlaceholderText("Output of a training run started here appears in this log.")
        self.exit_label = _wrapping_label("No training process started from this window.")
        self.exit_label.setObjectName("exit-status")
        log_page = QWidget()
        log_layout = QVBoxLayout(log_page)
        log_layout.setContentsMargins(6, 6, 6, 6)
        log_layout.addWidget(self.exit_label)
        log_layout.addWidget(self.log_view, 1)
        self.config_view = QPlainTextEdit()
        self.config_view.setReadOnly(True)
        self.config_view.setFont(mono)
        self.config_view.setPlaceholderText("The frozen config.toml of the selected run.")
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setUsesScrollButtons(True)
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.addTab(self.gallery, "Validation")
        self.tabs.addTab(self.checkpoints, "Checkpoints")
        self.tabs.addTab(log_page, "Output")
        self.tabs.addTab(self.config_view, "Config")
        return self.tabs

    # -- size -----------------------------------------------------------------------------------

    def _arrange(self, vertical: bool) -> None:
        orientation = Qt.Orientation.Vertical if vertical else Qt.Orientation.Horizontal
        if self.splitter.orientation() == orientation and self.splitter.count() and self.splitter.sizes()[0]:
            return
        self.splitter.setOrientation(orientation)
        total = self.height() if vertical else self.width()
        first = max(200, total * 2 // 5) if vertical else 340
        self.splitter.setSizes([first, max(200, total - first)])

    def is_stacked(self) -> bool:
        """Whether the run list sits above the run's tabs (the narrow arrangement)."""
        return self.splitter.orientation() == Qt.Orientation.Vertical

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt name)
        width = event.size().width()
        if width >= WIDE_AT_PX and self.is_stacked():
            self._arrange(vertical=False)
        elif width < NARROW_BELOW_PX and not self.is_stacked():
            self._arrange(vertical=True)
        super().resizeEvent(event)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        """The stacked arrangement's minimum: the panel stacks itself before it would need more."""
        side, main = self.splitter.widget(0), self.splitter.widget(1)
        width = max(side.minimumSizeHint().width(), main.minimumSizeHint().width())
        height = side.minimumSizeHint().height() + main.minimumSizeHint().height() + self.splitter.handleWidth()
        return QSize(width, height)

    # -- runs -----------------------------------------------------------------------------------

    def open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open training run", str(paths.runs_dir()))
        if folder:
            self.open_run(folder)

    def open_run(self, run_dir: str | Path, select: bool = True, visible: bool = True) -> RunReader | None:
        """Follow a run folder (it may still be growing); None, with a message, when it is not a run."""
        path = Path(run_dir)
        run_id = _run_id(path)
        if run_id in self._runs:
            if select:
                self.run_list.setCurrentItem(self._runs[run_id].item)
            return self._runs[run_id].reader
        try:
            reader = RunReader(path)
        except RestoraError as e:
            self._show_message(str(e), error=True)
            return None
        used = {r.color_index for r in self._runs.values()}
        color_index = next(i for i in range(len(self._runs) + 1) if i not in used)
        item = QListWidgetItem(reader.name)
        item.setData(RUN_ROLE, run_id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)
        item.setIcon(style.swatch(style.run_color(color_index)))
        item.setToolTip(str(path))
        follower = RunFollower(reader, self)
        self._runs[run_id] = _OpenRun(reader, follower, color_index, item)
        self.run_list.blockSignals(True)
        self.run_list.addItem(item)
        self.run_list.blockSignals(False)
        follower.updated.connect(lambda result, rid=run_id: self._run_updated(rid, result))
        follower.failed.connect(lambda msg, rid=run_id: self._show_message(msg, error=True, run_id=rid))
        reader.poll(0)  # status, previews and checkpoints at once; metrics follow in slices
        self.curves.add_run(run_id, reader, style.run_color(color_index), short_run_name(reader.name))
        self.curves.set_run_visible(run_id, visible)
        follower.start()
        if select or self._current is None:
            self.run_list.setCurrentItem(item)
        self._update_item(run_id)
        self._save_open_runs()
        self.run_opened.emit(str(path))
        return reader

    def close_run(self, run_id: str) -> None:
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        run.follower.stop()
        run.follower.deleteLater()
        self.curves.remove_run(run_id)
        self.supervisor.forget(run_id)
        self.run_list.takeItem(self.run_list.row(run.item))
        if self._current == run_id:
            self._current = None
            item = self.run_list.currentItem()
            self._select(item.data(RUN_ROLE) if item is not None else None)
        self._save_open_runs()

    def open_run_ids(self) -> list[str]:
        return list(self._runs)

    def reader(self, run_id: str | None = None) -> RunReader | None:
        run = self._runs.get(run_id or self._current or "")
        return run.reader if run else None

    def current_run(self) -> str | None:
        return self._current

    def run_visible(self, run_id: str) -> bool:
        run = self._runs.get(run_id)
        return run is not None and run.item.checkState() == Qt.CheckState.Checked

    def _current_item_changed(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        self._select(item.data(RUN_ROLE) if item is not None else None)

    def _item_changed(self, item: QListWidgetItem) -> None:
        run_id = item.data(RUN_ROLE)
        if run_id in self._runs:
            self.curves.set_run_visible(run_id, item.checkState() == Qt.CheckState.Checked)
            self._save_open_runs()

    def set_run_visible(self, run_id: str, visible: bool) -> None:
        run = self._runs.get(run_id)
        if run is not None:
            run.item.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    def _select(self, run_id: str | None) -> None:
        self._current = run_id if run_id in self._runs else None
        reader = self.reader()
        if reader is None:
            self.gallery.set_steps([])
            self.checkpoints.set_checkpoints("", [])
            self.config_view.setPlainText("")
        else:
            self._update_gallery(reader)
            self.checkpoints.set_checkpoints(reader.name, reader.checkpoints())
            self.config_view.setPlainText(reader.config_text())
        self._update_header()
        self._update_buttons()
        self._save_open_runs()

    def _run_updated(self, run_id: str, result: PollResult) -> None:
        run = self._runs.get(run_id)
        if run is None:
            return
        if result.reset:  # the file was rewritten (a resumed run dropped its future): redraw from scratch
            self.curves.remove_run(run_id)
            self.curves.add_run(run_id, run.reader, style.run_color(run.color_index), short_run_name(run.reader.name))
            self.curves.set_run_visible(run_id, run.item.checkState() == Qt.CheckState.Checked)
        elif result.changed:
            self.curves.request_refresh(run_id)
        if result.status_changed or result.records:
            self._update_item(run_id)
        if run_id == self._current:
            if result.previews_changed or (result.records and run.reader.metrics.val_previews):
                self._update_gallery(run.reader)
            if result.checkpoints_changed:
                self.checkpoints.set_checkpoints(run.reader.name, run.reader.checkpoints())
            if result.status_changed:
                self.config_view.setPlainText(run.reader.config_text())
            self._update_header()
            self._update_buttons()

    def _update_item(self, run_id: str) -> None:
        run = self._runs.get(run_id)
        if run is None:
            return
        reader = run.reader
        state = self.supervisor.state_of(run_id, reader)
        detail = f"{state.replace('_', ' ')} · {self.supervisor.progress_text(run_id, reader, percent=False)}"
        self.run_list.blockSignals(True)
        run.item.setText(f"{reader.name}\n{detail}")
        self.run_list.blockSignals(False)

    def _update_gallery(self, reader: RunReader) -> None:
        steps = reader.preview_steps()
        captions = {}
        psnr, ssim = reader.metrics.get("val/psnr"), reader.metrics.get("val/ssim")
        for preview in steps:
            parts = []
            for name, series, unit in (("PSNR", psnr, " dB"), ("SSIM", ssim, "")):
                point = series.value_at(preview.step) if series is not None else None
                if point is not None and point[0] == preview.step:
                    parts.append(f"{name} {point[1]:.3f}{unit}" if unit == "" else f"{name} {point[1]:.2f}{unit}")
            captions[preview.step] = "  ".join(parts)
        self.gallery.set_steps(steps, captions)

    # -- remembered runs ------------------------------------------------------------------------

    def restore_open_runs(self) -> list[str]:
        """Reopen the runs open at the last exit whose folders still exist; returns their ids."""
        saved = get_setting(OPEN_RUNS_KEY, [])
        current = get_setting(CURRENT_RUN_KEY, "")
        self._restoring = True
        try:
            for entry in saved if isinstance(saved, list) else []:
                path = entry.get("path") if isinstance(entry, dict) else entry
                if isinstance(path, str) and Path(path).is_dir():
                    visible = entry.get("visible", True) if isinstance(entry, dict) else True
                    self.open_run(path, select=False, visible=bool(visible))
            if isinstance(current, str) and current in self._runs:
                self.run_list.setCurrentItem(self._runs[current].item)
        finally:
            self._restoring = False
        self._save_open_runs()
        return self.open_run_ids()

    def _save_open_runs(self) -> None:
        if self._restoring:
            return
        runs = [{"path": rid, "visible": self.run_visible(rid)} for rid in self._runs]
        try:
            if runs != get_setting(OPEN_RUNS_KEY, []):
                set_setting(OPEN_RUNS_KEY, runs)
            if (self._current or "") != get_setting(CURRENT_RUN_KEY, ""):
                set_setting(CURRENT_RUN_KEY, self._current or None)
        except OSError as e:  # a read-only config folder must not break the panel
            self.message.emit(f"Could not remember the open runs: {e}")

    # -- header ---------------------------------------------------------------------------------

    def _tick(self) -> None:
        self._update_header()
        if self.supervisor.awaiting is not None:
            self._look_for_new_run()

    def _update_header(self) -> None:
        reader = self.reader()
        if reader is None:
            self.title_label.setText("No run selected")
            self.state_label.setText("")
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat("")
            self.speed_label.setText("")
            self.speed_label.setVisible(False)
            waiting = self.supervisor.awaiting is not None and self.process.is_running()
            self.status_message.setText("Starting the trainer… (its output is in the Output tab)" if waiting else "")
            self.status_message.setVisible(waiting)
            return
        key = self._current or ""
        state = self.supervisor.state_of(key, reader)
        color = style.STATE_COLORS.get(state.rstrip("?"), style.STATE_COLORS["unknown"])
        self.title_label.setText(reader.name)
        self.state_label.setText(f'<span style="color:{color}">●</span> {state.replace("_", " ")}')
        step, total = reader.progress()
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(step, total))
        else:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
        self.progress_bar.setFormat(self.supervisor.progress_text(key, reader))
        self.speed_label.setText("   ·   ".join(self._figures(reader, state)))
        self.speed_label.setVisible(bool(self.speed_label.text()))
        note = self.supervisor.message_for(key, reader)
        color = style.STATE_COLORS["failed"] if note.error else style.TEXT_COLOR
        self.status_message.setStyleSheet(f"color: {color};")
        self.status_message.setText(note.text)
        self.status_message.setVisible(bool(note.text))

    @staticmethod
    def _figures(reader: RunReader, state: str) -> list[str]:
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

    def eta_text(self) -> str:
        return self.speed_label.text()

    def run_message(self) -> str:
        """The message shown under the selected run."""
        return self.status_message.text() if self.status_message.isVisible() else ""

    # -- process --------------------------------------------------------------------------------

    def start_from_form(self) -> bool:
        """Start `main.py train --preset ...` from the form; False (with a message) when the form is not ready."""
        try:
            args = self.form.command_args()
        except RestoraError as e:
            self._show_message(str(e), error=True)
            return False
        out = Path(self.form.out_field.text()).expanduser() if self.form.out_field.text() else paths.runs_dir()
        return self.start_process(self.python, [str(self.main_script), *args], runs_folder=out)

    def resume_current(self) -> bool:
        reader = self.reader()
        if reader is None:
            return False
        try:
            args = resume_command(reader.run_dir)
        except RestoraError as e:
            self._show_message(str(e), error=True, run_id=self._current)
            return False
        return self.start_process(self.python, [str(self.main_script), *args], run_dir=reader.run_dir)

    def start_process(self, program: str, args: list[str], *, runs_folder: Path | None = None,
                      run_dir: Path | None = None) -> bool:
        """Run a training command as a child process; its run folder is opened as soon as it is known."""
        if self.process.is_running():
            self._show_message("A training run is already in progress; stop it first.", error=True)
            return False
        self.log_view.clear()
        self.exit_label.setStyleSheet(f"color: {style.TEXT_COLOR};")
        self.exit_label.setText("Running…")
        if run_dir is not None:
            clear_stop(run_dir)  # a STOP left over from the last stop would end the resumed run at once
        self.supervisor.process_started(run_dir=run_dir, runs_folder=runs_folder)
        try:
            self.process.start(program, args, cwd=self.main_script.parent)
        except RestoraError as e:
            self.supervisor.process_failed_to_start()
            self._show_message(str(e), error=True)
            return False
        if run_dir is not None:
            self.open_run(run_dir)
            self._show_message("Resuming from its latest checkpoint…", run_id=_run_id(run_dir))
        else:
            self._show_message("Training started; its run appears in the list as soon as its folder exists.")
        self._update_buttons()
        self._update_header()
        return True

    def _look_for_new_run(self) -> None:
        found = self.supervisor.look_for_new_run(self.process.pid())
        if found is not None:
            self._show_message("")  # the news is the run's own now
            self.open_run(found)

    def stop(self) -> None:
        """Stop our run gently (STOP, then terminate, then kill); for a run started elsewhere, write STOP."""
        if self.supervisor.stops_own_process(self._current):
            self.supervisor.stop_requested()
            own = self.supervisor.own_run
            self.process.stop(Path(own) if own else None)
            self._update_buttons()
            return
        reader = self.reader()
        if reader is None:
            return
        try:
            request_stop(reader.run_dir)
        except RestoraError as e:
            self._show_message(str(e), error=True, run_id=self._current)
            return
        self._show_message("Asked the run to stop: it saves a checkpoint and ends after its current step.",
                           run_id=self._current)

    def _process_stopping(self, text: str) -> None:
        self._show_message(text, run_id=self.supervisor.own_run)

    def _process_output(self, lines: list[str]) -> None:
        for line in lines:
            self.log_view.appendPlainText(line)

    def _process_finished(self, exit_code: int, description: str) -> None:
        own = self.supervisor.own_run
        reader = self.reader(own) if own in self._runs else None
        if reader is not None:
            reader.poll(0)  # the trainer's last status, before saying how it ended
        note = self.supervisor.process_finished(exit_code, description, reader)
        self.exit_label.setStyleSheet(f"color: {style.STATE_COLORS['failed' if note.error else 'finished']};")
        self.exit_label.setText(note.text if note.text == description else f"{note.text}\n{description}")
        if reader is not None:
            self._show_message("")
            self.message.emit(note.text)
        else:
            self._show_message(note.text, error=note.error)
        if exit_code != 0 and note.error:
            self.tabs.setCurrentIndex(self.tabs.indexOf(self.log_view.parentWidget()))
        for run_id in self._runs:
            self._update_item(run_id)
        self._update_header()
        self._update_buttons()

    def _update_buttons(self) -> None:
        key, reader = self._current, self.reader()
        self.start_button.setEnabled(not self.process.is_running())
        self.stop_button.setEnabled(self.supervisor.can_stop(key, reader))
        self.resume_button.setEnabled(self.supervisor.can_resume(key, reader))
        self.close_button.setEnabled(reader is not None)

    def _show_message(self, text: str, error: bool = False, run_id: str | None = None) -> None:
        """News for the user: under its run when it is about one (and shown only there), else under the form."""
        if run_id is not None and run_id in self._runs:
            self.supervisor.note(run_id, text, error, self._runs[run_id].reader)
            if run_id == self._current:
                self._update_header()
        else:
            color = style.STATE_COLORS["failed"] if error else style.TEXT_COLOR
            self.form_message.setStyleSheet(f"color: {color};")
            self.form_message.setText(text)
            self.form_message.setVisible(bool(text))
        if text:
            self.message.emit(text)

    def shutdown(self) -> None:
        """Called when the app quits: stop our trainer (it saves first) rather than leave it orphaned."""
        self._header_timer.stop()
        for run in self._runs.values():
            run.follower.stop()
        if self.process.is_running():
            own = self.supervisor.own_run
            self.process.shutdown(Path(own) if own else None)
