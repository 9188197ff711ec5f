"""Batch processing: a folder in, a folder out, one engine and its settings, progress and a failure report.

The work is core.batch's (the same runner as `restora restore`), run in the worker pool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.engines.base import Engine
from core.engines.registry import default_engine
from core.kinds import TASKS
from desktop.panels.param_form import ParamForm
from desktop.panels.restore_panel import Banner
from desktop.workers import JobHandle, WorkerPool


def _folder_row(edit: QLineEdit, title: str, parent: QWidget) -> QHBoxLayout:
    browse = QPushButton("Browse…")
    browse.clicked.connect(
        lambda: edit.setText(QFileDialog.getExistingDirectory(parent, title, edit.text()) or edit.text()))
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(browse)
    return row


class BatchDialog(QDialog):
    def __init__(self, pool: WorkerPool, engines: list[Engine], device: str = "cpu",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("batch-dialog")
        self.setWindowTitle("Batch processing")
        self.resize(640, 600)
        self.pool = pool
        self.engines = list(engines)
        self.device = device
        self.job: JobHandle | None = None
        self.report: Any = None  # core.batch.BatchReport of the last run

        self.input_dir = QLineEdit()
        self.input_dir.setPlaceholderText("Folder with the photos to process")
        self.output_dir = QLineEdit()
        self.output_dir.setPlaceholderText("Folder for the results (files keep their names)")
        self.recursive = QCheckBox("Include sub-folders (the results keep the same sub-folders)")
        self.skip_done = QCheckBox("Skip photos that already have a result (to finish an interrupted batch)")
        self.skip_done.setToolTip("Off: results already in the output folder are replaced. "
                                  "Your original photos are never replaced.")
        self.engine = QComboBox()
        for e in self.engines:
            self.engine.addItem(f"{e.title}  ({e.task})", e.id)
        first = next((d for t in TASKS if (d := default_engine(self.engines, t)) is not None), None)
        if first is not None:  # start from the first task's one-click default
            self.engine.setCurrentIndex(self.engine.findData(first.id))
        self.form = ParamForm()
        self.mask_hint = QLabel("Engines that need a mask use photo_mask.png beside each photo.")
        self.mask_hint.setObjectName("hint")
        self.mask_hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Input folder", _folder_row(self.input_dir, "Input folder", self))
        form.addRow("Output folder", _folder_row(self.output_dir, "Output folder", self))
        form.addRow("", self.recursive)
        form.addRow("", self.skip_done)
        form.addRow("Engine", self.engine)
        settings = QGroupBox("Settings")
        sl = QVBoxLayout(settings)
        sl.addWidget(self.form)
        sl.addWidget(self.mask_hint)

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat("Idle")
        self.summary = QLabel()
        self.failures = QListWidget()
        self.failures.setObjectName("batch-failures")
        self.banner = Banner()
        self.run_button = QPushButton("Start")
        self.run_button.setObjectName("primary")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(lambda: self.job.cancel() if self.job else None)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(settings)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(QLabel("Files that failed"))
        layout.addWidget(self.failures, 1)
        layout.addWidget(self.banner)
        layout.addLayout(buttons)
        self.engine.currentIndexChanged.connect(self._engine_chosen)
        self._engine_chosen()

    def current_engine(self) -> Engine | None:
        engine_id = self.engine.currentData()
        return next((e for e in self.engines if e.id == engine_id), None)

    def _engine_chosen(self) -> None:
        e = self.current_engine()
        self.form.set_params(e.params if e else ())
        self.mask_hint.setVisible(bool(e and e.requirements.needs_mask))
        self.run_button.setEnabled(e is not None)

    def start(self) -> JobHandle | None:
        engine = self.current_engine()
        src, dst = Path(self.input_dir.text()).expanduser(), Path(self.output_dir.text()).expanduser()
        if engine is None:
            self.banner.show_message("Choose an engine first.")
            return None
        if not self.input_dir.text() or not src.is_dir():
            self.banner.show_message("Choose an existing input folder.")
            return None
        if not self.output_dir.text() or dst.resolve() == src.resolve():
            self.banner.show_message("Choose an output folder different from the input folder: "
                                     "the originals are never overwritten.")
            return None
        self.banner.hide()
        self.failures.clear()
        self.summary.setText("")
        self.report = None
        job = _BatchJob(src, dst, engine, self.form.values(), self.device, self.recursive.isChecked(),
                        self.skip_done.isChecked())
        self.job = self.pool.submit(job, name=f"Batch: {engine.title}", device=self.device)
        self.job.on(progress=self._progress)
        self.job.on(succeeded=self._done)
        self.job.on(cancelled=lambda _message: self._done(job.report) if job.report else None)
        self.job.on(failed=lambda message, _d: self.banner.show_message(message))
        self.job.on(finished=self._finished)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setFormat("Starting…")
        return self.job

    def _progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress.setValue(int(100 * done / total))
            self.progress.setFormat(f"{message}  %p%")

    def _done(self, report: Any) -> None:
        self.report = report
        self.summary.setText(report.summary())
        for failure in report.failures:
            self.failures.addItem(str(failure))

    def _finished(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setFormat("Done" if self.report and not self.report.cancelled else "Stopped")


class _BatchJob:
    """The worker's job: plan the folder, then run one engine over it (core.batch). Keeps the report, so a
    cancelled run still shows what it did."""

    def __init__(self, src: Path, dst: Path, engine: Engine, params: dict[str, Any], device: str,
                 recursive: bool, skip_done: bool) -> None:
        self.src, self.dst, self.engine, self.params = src, dst, engine, params
        self.device, self.recursive, self.skip_done = device, recursive, skip_done
        self.report: Any = None  # set in the worker before it returns; read in the GUI thread after `finished`

    def __call__(self, progress: Any, cancel: Any) -> Any:
        from core.batch import plan_batch, run_batch
        from core.errors import RestoraError

        plan = plan_batch([self.src], self.dst, recursive=self.recursive)
        if not plan.items and not plan.problems:
            raise RestoraError(f"There are no photos in {self.src}.")
        # Off: an earlier result is replaced, as before; never an original (the plan refuses that).
        self.report = run_batch(plan, self.engine.on_device(self.device), self.params, skip_done=self.skip_done,
                                overwrite=not self.skip_done, progress=progress, cancel=cancel)
        return self.report
