"""The Training tab: start, stop and resume runs, follow any run folder live, compare runs, use a checkpoint.

Composition only. Run folders are parsed by core.train_runs (RunReader), training happens in a child
process (`python main.py train ...`) so a crash there never takes the editor down, and the pieces live in
training_form (the new-run form), training_plots (curves), training_gallery (validation previews),
training_checkpoints (use in editor), training_process (the QProcess) and training_follow (polling).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (QApplication, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPlainTextEdit, QProgressBar, QPushButton, QScrollArea,
                               QSizePolicy, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from core import paths
from core.errors import RestoraError
from core.train_runs import (CHECKPOINTS_DIR, FINISHED_STATES, STOP_FILE, PollResult, RunReader, find_new_run,
                             format_duration, request_stop, resume_command, short_run_name)
from desktop.panels import training_style as style
from desktop.panels.training_checkpoints import CheckpointList
from desktop.panels.training_follow import RunFollower
from desktop.panels.training_form import NewRunForm
from desktop.panels.training_gallery import PreviewGallery
from desktop.panels.training_plots import CurvesView
from desktop.panels.training_process import TrainingProcess

MAIN_SCRIPT = Path(__file__).resolve().parents[2] / "main.py"
RUN_ROLE = Qt.ItemDataRole.UserRole
HEADER_TICK_MS = 1000
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
    return str(path.expanduser().resolve())


class TrainingPanel(QWidget):
    """Emits use_model(name) when a checkpoint was registered in the model store for the editor."""

    use_model = Signal(str)
    run_opened = Signal(str)  # run folder
    message = Signal(str)  # one-line news for a status bar

    def __init__(self, parent: QWidget | None = None, *, load_presets: bool = True,
                 python: str | None = None, main_script: str | Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training-panel")
        self.python = python or sys.executable
        self.main_script = Path(main_script) if main_script else MAIN_SCRIPT
        self._runs: dict[str, _OpenRun] = {}
        self._current: str | None = None
        self._own_run: str | None = None  # the run folder our child process writes, once known
        self._awaiting: tuple[Path, float] | None = None  # (runs folder, start time) until the new run shows up

        self.process = TrainingProcess(self)
        self.process.output.connect(self._process_output)
        self.process.finished.connect(self._process_finished)
        self.process.started.connect(lambda _pid: self._update_buttons())
        self.process.stopping.connect(self._show_message)

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

    # -- construction ---------------------------------------------------------------------------

    def _build(self, load_presets: bool) -> None:
        self.form = NewRunForm(load_presets=load_presets)
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("start-training")
        self.start_button.clicked.connect(self.start_from_form)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stop-training")
        self.stop_button.setToolTip("Ask the trainer to save and stop (it is terminated if it does not)")
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.stop_button)
        self.form_message = QLabel("")
        self.form_message.setWordWrap(True)
        new_box = QGroupBox("New run")
        new_layout = QVBoxLayout(new_box)
        new_layout.addWidget(self.form)
        new_layout.addLayout(buttons)
        new_layout.addWidget(self.form_message)

        self.run_list = QListWidget()
        self.run_list.setObjectName("runs")
        self.run_list.setToolTip("Tick runs to overlay their curves; select one to see its details")
        self.run_list.currentItemChanged.connect(self._current_item_changed)
        self.run_list.itemChanged.connect(self._item_changed)
        self.run_list.setMinimumHeight(120)
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
        run_buttons = QHBoxLayout()
        for b in (self.open_button, self.resume_button, self.close_button):
            run_buttons.addWidget(b)
        runs_box = QGroupBox("Runs")
        runs_layout = QVBoxLayout(runs_box)
        runs_layout.addWidget(self.run_list, 1)
        runs_layout.addLayout(run_buttons)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(6, 6, 6, 6)
        side_layout.addWidget(new_box)
        side_layout.addWidget(runs_box, 1)
        side_scroll = QScrollArea()
        side_scroll.setWidgetResizable(True)
        side_scroll.setWidget(side)
        side_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        side_scroll.setMinimumWidth(330)

        # Header: the selected run at a glance.
        self.title_label = QLabel("No run selected")
        title_font = self.title_label.font()
        title_font.setPointSizeF(title_font.pointSizeF() * 1.25)
        title_font.setBold(True)
        self.title_label.setFont(title_font)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_label = QLabel("")
        self.state_label.setObjectName("run-state")
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFixedHeight(18)
        self.progress_bar.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.speed_label = QLabel("")
        self.speed_label.setObjectName("speed")
        self.speed_label.setStyleSheet(f"color: {style.TEXT_COLOR};")
        self.status_message = QLabel("")
        self.status_message.setWordWrap(True)
        self.status_message.setStyleSheet(f"color: {style.TEXT_COLOR};")
        top = QHBoxLayout()
        top.addWidget(self.title_label)
        top.addWidget(self.state_label)
        top.addStretch(1)
        top.addWidget(self.speed_label)
        header = QVBoxLayout()
        header.setContentsMargins(8, 6, 8, 2)
        header.setSpacing(4)
        header.addLayout(top)
        header.addWidget(self.progress_bar)
        header.addWidget(self.status_message)

        self.curves = CurvesView()
        self.gallery = PreviewGallery()
        self.checkpoints = CheckpointList()
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
        self.exit_label = QLabel("No training process started from this window.")
        self.exit_label.setObjectName("exit-status")
        self.exit_label.setWordWrap(True)
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
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.addTab(self.gallery, "Validation")
        self.tabs.addTab(self.checkpoints, "Checkpoints")
        self.tabs.addTab(log_page, "Output")
        self.tabs.addTab(self.config_view, "Config")

        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(0, 0, 0, 0)
        main_layout.setSpacing(2)
        main_layout.addLayout(header)
        main_layout.addWidget(self.tabs, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(side_scroll)
        self.splitter.addWidget(main)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([340, 940])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    # -- runs -----------------------------------------------------------------------------------

    def open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open training run", str(paths.runs_dir()))
        if folder:
            self.open_run(folder)

    def open_run(self, run_dir: str | Path, select: bool = True) -> RunReader | None:
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
        item.setCheckState(Qt.CheckState.Checked)
        item.setIcon(style.swatch(style.run_color(color_index)))
        item.setToolTip(str(path))
        follower = RunFollower(reader, self)
        self._runs[run_id] = _OpenRun(reader, follower, color_index, item)
        self.run_list.blockSignals(True)
        self.run_list.addItem(item)
        self.run_list.blockSignals(False)
        follower.updated.connect(lambda result, rid=run_id: self._run_updated(rid, result))
        follower.failed.connect(lambda msg: self._show_message(msg, error=True))
        reader.poll(0)  # status, previews and checkpoints at once; metrics follow in slices
        self.curves.add_run(run_id, reader, style.run_color(color_index), short_run_name(reader.name))
        follower.start()
        if select or self._current is None:
            self.run_list.setCurrentItem(item)
        self._update_item(run_id)
        self.run_opened.emit(str(path))
        return reader

    def close_run(self, run_id: str) -> None:
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        run.follower.stop()
        run.follower.deleteLater()
        self.curves.remove_run(run_id)
        self.run_list.takeItem(self.run_list.row(run.item))
        if self._current == run_id:
            self._current = None
            item = self.run_list.currentItem()
            self._select(item.data(RUN_ROLE) if item is not None else None)

    def open_run_ids(self) -> list[str]:
        return list(self._runs)

    def reader(self, run_id: str | None = None) -> RunReader | None:
        run = self._runs.get(run_id or self._current or "")
        return run.reader if run else None

    def current_run(self) -> str | None:
        return self._current

    def _current_item_changed(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        self._select(item.data(RUN_ROLE) if item is not None else None)

    def _item_changed(self, item: QListWidgetItem) -> None:
        run_id = item.data(RUN_ROLE)
        if run_id in self._runs:
            self.curves.set_run_visible(run_id, item.checkState() == Qt.CheckState.Checked)

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
        state = self._state_of(reader)
        step, total = reader.progress()
        detail = f"{state} · step {step:,}" + (f" / {total:,}" if total else "")
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

    # -- header ---------------------------------------------------------------------------------

    def _state_of(self, reader: RunReader) -> str:
        run_id = _run_id(reader.run_dir)
        if reader.status is None:
            return "starting" if run_id == self._own_run and self.process.is_running() else "unknown"
        if reader.stale() and not (run_id == self._own_run and self.process.is_running()):
            return "running?"
        return reader.status.state

    def _tick(self) -> None:
        self._update_header()
        if self._awaiting is not None:
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
            if self._awaiting is not None and self.process.is_running():
                self.status_message.setText("Starting the trainer… (its output is in the Output tab)")
            return
        state = self._state_of(reader)
        color = style.STATE_COLORS.get(state.rstrip("?"), style.STATE_COLORS["unknown"])
        self.title_label.setText(reader.name)
        self.state_label.setText(f'<span style="color:{color}">●</span> {state.replace("_", " ")}')
        step, total = reader.progress()
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(step, total))
            self.progress_bar.setFormat(f"step {step:,} / {total:,}  ({100 * min(step, total) / total:.1f} %)")
        else:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat(f"step {step:,}")
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
        self.speed_label.setText("   ·   ".join(parts))
        message = reader.status.message if reader.status else ""
        if state == "running?":
            message = "The status says running, but its process is gone: it was killed or crashed. " + message
        self.status_message.setText(message)
        self.status_message.setVisible(bool(message))

    def eta_text(self) -> str:
        return self.speed_label.text()

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
            self._show_message(str(e), error=True)
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
        self._own_run = _run_id(run_dir) if run_dir is not None else None
        self._awaiting = (runs_folder, time.time() - 1.0) if runs_folder is not None else None
        if run_dir is not None:
            # A STOP left over from the last stop would end the resumed run at once.
            (Path(run_dir) / STOP_FILE).unlink(missing_ok=True)
        try:
            self.process.start(program, args, cwd=self.main_script.parent)
        except RestoraError as e:
            self._show_message(str(e), error=True)
            return False
        if run_dir is not None:
            self.open_run(run_dir)
        self._show_message("Training started.")
        self._update_buttons()
        self._update_header()
        return True

    def _look_for_new_run(self) -> None:
        folder, since = self._awaiting or (None, 0.0)
        if folder is None:
            self._awaiting = None
            return
        found = find_new_run(folder, self.process.pid(), since)
        if found is not None:
            self._awaiting = None
            self._own_run = _run_id(found)
            self.open_run(found)

    def stop(self) -> None:
        """Stop our run gently (STOP, then terminate, then kill); for a run started elsewhere, write STOP."""
        if self.process.is_running():
            self.process.stop(self._own_run)
            self._update_buttons()
            return
        reader = self.reader()
        if reader is None:
            return
        try:
            request_stop(reader.run_dir)
        except RestoraError as e:
            self._show_message(str(e), error=True)
            return
        self._show_message("Asked the run to stop: it saves a checkpoint and ends after its current step.")

    def _process_output(self, lines: list[str]) -> None:
        for line in lines:
            self.log_view.appendPlainText(line)

    def _process_finished(self, exit_code: int, description: str) -> None:
        failed = exit_code != 0
        self.exit_label.setStyleSheet(f"color: {style.STATE_COLORS['failed' if failed else 'finished']};")
        self.exit_label.setText(description)
        self._awaiting = None
        self._show_message(description, error=failed)
        if failed:
            self.tabs.setCurrentIndex(self.tabs.indexOf(self.log_view.parentWidget()))
        for run_id in self._runs:
            self._update_item(run_id)
        self._update_header()
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.process.is_running()
        reader = self.reader()
        state = self._state_of(reader) if reader is not None else ""
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running or state == "running")
        can_resume = (not running and reader is not None and (state in FINISHED_STATES or state == "running?")
                      and (reader.run_dir / CHECKPOINTS_DIR / "latest.pt").is_file())
        self.resume_button.setEnabled(can_resume)
        self.close_button.setEnabled(reader is not None)

    def _show_message(self, text: str, error: bool = False) -> None:
        self.form_message.setStyleSheet(f"color: {style.STATE_COLORS['failed'] if error else style.TEXT_COLOR};")
        self.form_message.setText(text)
        self.message.emit(text)

    def shutdown(self) -> None:
        """Called when the app quits: stop our trainer (it saves first) rather than leave it orphaned."""
        self._header_timer.stop()
        for run in self._runs.values():
            run.follower.stop()
        if self.process.is_running():
            self.process.shutdown(self._own_run)
