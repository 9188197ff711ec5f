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
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QListWidgetItem,
    QPlainTextEdit,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core import paths
from core.errors import RestoraError
from core.train.runs.commands import resume_command
from core.train.runs.figures import short_run_name
from core.train.runs.layout import clear_stop, request_stop
from core.train.runs.reader import PollResult, RunReader
from core.train.runs.supervisor import RunSupervisor, run_key
from desktop.panels import training_style as style
from desktop.panels.training_checkpoints import CheckpointList
from desktop.panels.training_follow import RunFollower
from desktop.panels.training_gallery import PreviewGallery, preview_captions
from desktop.panels.training_header import RunHeader, run_figures
from desktop.panels.training_labels import wrapping_label
from desktop.panels.training_memory import remember_runs, remembered_runs
from desktop.panels.training_pages import RUN_ROLE, NewRunPage, OutputPage, RunsPage, monospace
from desktop.panels.training_plots import CurvesView
from desktop.panels.training_process import TrainingProcess
from desktop.panels.training_splitter import AdaptiveSplitter
from desktop.workers import WorkerPool

MAIN_SCRIPT = Path(__file__).resolve().parents[2] / "main.py"
HEADER_TICK_MS = 1000
PREFERRED_WIDTH_PX = 420  # the width the panel asks for; it works from ~300 px and uses whatever it gets


@dataclass
class _OpenRun:
    reader: RunReader
    follower: RunFollower
    color_index: int
    item: QListWidgetItem


def _run_id(path: Path) -> str:
    return run_key(path)


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
        self._own_pool = pool is None
        self.pool = pool if pool is not None else WorkerPool(self)
        self.supervisor = RunSupervisor()
        self._runs: dict[str, _OpenRun] = {}
        self._current: str | None = None
        self._restoring = False

        self.process = TrainingProcess(self)
        self.process.output.connect(lambda lines: self.output.append(lines))
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
        runs_page = RunsPage()
        self.run_list = runs_page.run_list
        self.runs_page = runs_page
        self.open_button, self.resume_button, self.close_button = (runs_page.open_button, runs_page.resume_button,
                                                                   runs_page.close_button)
        self.run_list.currentItemChanged.connect(self._current_item_changed)
        self.run_list.itemChanged.connect(self._item_changed)
        self.open_button.clicked.connect(self.open_dialog)
        self.resume_button.clicked.connect(self.resume_current)
        self.close_button.clicked.connect(self._close_current)
        new_run = NewRunPage(self.pool, load_presets)
        self.form, self.start_button = new_run.form, new_run.start_button
        self.start_button.clicked.connect(self.start_from_form)
        self.side_tabs = QTabWidget()
        self.side_tabs.setDocumentMode(True)
        self.side_tabs.addTab(runs_page, "Runs")
        self.side_tabs.addTab(new_run, "New run")
        self.side_tabs.currentChanged.connect(lambda _i: self._share_height())
        self.form_message = wrapping_label()  # news that is about no run (a form error, a folder that is no run)
        self.form_message.setObjectName("training-message")
        self.form_message.setVisible(False)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 4, 4, 4)
        side_layout.setSpacing(4)
        side_layout.addWidget(self.side_tabs, 1)
        side_layout.addWidget(self.form_message)

        self.header = RunHeader()
        self.progress_bar, self.stop_button = self.header.progress_bar, self.header.stop_button
        self.title_label, self.state_label = self.header.title_label, self.header.state_label
        self.speed_label = self.header.speed_label
        self.stop_button.clicked.connect(self.stop)
        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(0, 0, 0, 0)
        main_layout.setSpacing(2)
        main_layout.addWidget(self.header)
        main_layout.addWidget(self._build_tabs(), 1)

        self.splitter = AdaptiveSplitter(side, main)
        self.splitter.setObjectName("training-splitter")
        self.splitter.arranged.connect(lambda _stacked: self._share_height())
        self._share_height()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    def _build_tabs(self) -> QTabWidget:
        self.curves = CurvesView()
        self.gallery = PreviewGallery()
        self.checkpoints = CheckpointList(pool=self.pool)
        self.checkpoints.use_model.connect(self.use_model)
        self.output = OutputPage(self.process.lines.maxlen or 500)
        self.log_view, self.exit_label = self.output.log_view, self.output.exit_label
        self.config_view = QPlainTextEdit()
        self.config_view.setReadOnly(True)
        self.config_view.setFont(monospace())
        self.config_view.setPlaceholderText("The frozen config.toml of the selected run.")
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setUsesScrollButtons(True)
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.addTab(self.gallery, "Validation")
        self.tabs.addTab(self.checkpoints, "Checkpoints")
        self.tabs.addTab(self.output, "Output")
        self.tabs.addTab(self.config_view, "Config")
        return self.tabs

    # -- size -----------------------------------------------------------------------------------

    def is_stacked(self) -> bool:
        """Whether the run list sits above the run's tabs (the narrow arrangement)."""
        return self.splitter.is_stacked()

    def _share_height(self) -> None:
        """Stacked: the run list gets a quarter of the height, the new-run form (while it is shown) three fifths;
        side by side: the list and form get 340 px."""
        if not self.is_stacked():
            self.splitter.setSizes([340, max(200, self.width() - 340)])
            return
        total = max(self.height(), 400)
        first = total * 3 // 5 if self.side_tabs.currentIndex() == 1 else max(150, total // 4)
        self.splitter.setSizes([first, max(200, total - first)])

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        """Dock-sized: opening the tab never claims more width than a narrow dock has."""
        hint = super().sizeHint()
        return QSize(max(self.minimumSizeHint().width(), min(hint.width(), PREFERRED_WIDTH_PX)), hint.height())

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
        item = self.runs_page.add_run(run_id, reader.name, style.run_color(color_index), visible, str(path))
        follower = RunFollower(reader, self)
        self._runs[run_id] = _OpenRun(reader, follower, color_index, item)
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

    def _close_current(self) -> None:
        if self._current:
            self.close_run(self._current)

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
        state = self.supervisor.state_of(run_id, run.reader)
        detail = f"{state.replace('_', ' ')} · {self.supervisor.progress_text(run_id, run.reader, percent=False)}"
        self.runs_page.set_text(run.item, f"{run.reader.name}\n{detail}")

    def _update_gallery(self, reader: RunReader) -> None:
        self.gallery.set_steps(reader.preview_steps(), preview_captions(reader))

    # -- remembered runs ------------------------------------------------------------------------

    def restore_open_runs(self) -> list[str]:
        """Reopen the runs open at the last exit whose folders still exist; returns their ids."""
        runs, current = remembered_runs()
        self._restoring = True
        try:
            for path, visible in runs:
                self.open_run(path, select=False, visible=visible)
            if current in self._runs:
                self.run_list.setCurrentItem(self._runs[current].item)
        finally:
            self._restoring = False
        self._save_open_runs()
        return self.open_run_ids()

    def _save_open_runs(self) -> None:
        if self._restoring:
            return
        try:
            remember_runs([(rid, self.run_visible(rid)) for rid in self._runs], self._current)
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
            self.header.show_nothing(waiting=self.supervisor.awaiting is not None and self.process.is_running())
            return
        key = self._current or ""
        state = self.supervisor.state_of(key, reader)
        step, total = reader.progress()
        self.header.show_run(reader.name, state, step, total, self.supervisor.progress_text(key, reader),
                             run_figures(reader, state), self.supervisor.message_for(key, reader))

    def eta_text(self) -> str:
        return self.speed_label.text()

    def run_message(self) -> str:
        """The message shown under the selected run."""
        return self.header.message()

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
        self.output.started()
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

    def _process_finished(self, exit_code: int, description: str) -> None:
        own = self.supervisor.own_run
        reader = self.reader(own) if own in self._runs else None
        if reader is not None:
            reader.poll(0)  # the trainer's last status, before saying how it ended
        note = self.supervisor.process_finished(exit_code, description, reader)
        self.output.show_exit(note.text, style.STATE_COLORS["failed" if note.error else "finished"])
        if reader is not None:
            self._show_message("")
            self.message.emit(note.text)
        else:
            self._show_message(note.text, error=note.error)
        if exit_code != 0 and note.error:
            self.tabs.setCurrentWidget(self.output)
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

    def closeEvent(self, event) -> None:  # noqa: N802
        if self._own_pool:  # a panel on its own (not in the window) waits for its background jobs
            self.pool.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Called when the app quits: stop our trainer (it saves first) rather than leave it orphaned."""
        self._header_timer.stop()
        for run in self._runs.values():
            run.follower.stop()
        if self.process.is_running():
            own = self.supervisor.own_run
            self.process.shutdown(Path(own) if own else None)
