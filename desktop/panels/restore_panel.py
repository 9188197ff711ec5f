"""The restore panel: pick a task and an engine, set its parameters, run or cancel, see progress and errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.engines.registry import default_engine
from core.kinds import TASK_TITLES
from desktop.panels.param_form import ParamForm

if TYPE_CHECKING:
    from core.engines.base import Engine

CANCEL_WAIT_MS = 1000  # after this long still cancelling, the bar says what the job is waiting for
NO_BOXES = ("None yet: Find faces shows the faces found, to check before the run; draw any it missed. Without "
            "boxes the engine looks for faces itself.")


class Banner(QFrame):
    """An inline message (error or note) with a close button; errors never crash, they land here."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 4, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()


class RestorePanel(QWidget):
    run_requested = Signal(object, dict)  # engine class, parameter values
    cancel_requested = Signal()
    draw_box_requested = Signal()
    clear_boxes_requested = Signal()
    find_faces_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engines: list[Engine] = []
        self.regions: list[tuple[int, int, int, int]] = []
        self.task_combo = QComboBox()
        self.engine_combo = QComboBox()
        self.engine_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.description = QLabel("Looking for engines…")
        self.description.setObjectName("hint")
        self.description.setWordWrap(True)
        self.form = ParamForm()
        self.reset_button = QPushButton("Defaults")
        self.reset_button.setToolTip("Put every setting back to the engine's default.")
        self.reset_button.clicked.connect(self.form.reset)

        self.regions_box = QGroupBox("Face boxes")
        self.regions_label = QLabel(NO_BOXES)
        self.regions_label.setObjectName("hint")
        self.regions_label.setWordWrap(True)
        draw = QPushButton("Draw box")
        draw.setToolTip("Drag on the photo to add a face box (F).")
        draw.clicked.connect(self.draw_box_requested)
        clear = QPushButton("Clear boxes")
        clear.clicked.connect(self.clear_boxes_requested)
        self.find_faces_button = QPushButton("Find faces")
        self.find_faces_button.setToolTip("Look for faces now and show them as boxes to check, move or delete "
                                          "before the run.")
        self.find_faces_button.clicked.connect(self.find_faces_requested)
        boxes_buttons = QHBoxLayout()
        boxes_buttons.addWidget(self.find_faces_button)
        boxes_buttons.addWidget(draw)
        boxes_buttons.addWidget(clear)
        boxes_layout = QVBoxLayout(self.regions_box)
        boxes_layout.addWidget(self.regions_label)
        boxes_layout.addLayout(boxes_buttons)

        self.input_label = QLabel("Runs on: —")
        self.input_label.setObjectName("hint")
        self.input_label.setWordWrap(True)
        self.input_label.setToolTip("Each run adds a version made from this one (pick another in the Versions tab).")
        self.original_box = QCheckBox("Apply to the original instead")
        self.original_box.setToolTip("Run on the original photo rather than on the version shown.")
        self.original_box.toggled.connect(lambda _on: self._show_input())
        self._input_text = ""
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("primary")
        self.run_button.setToolTip("Run the engine on the current version (Ctrl+Return).")
        self.run_button.clicked.connect(self._emit_run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Idle")
        self.cancelling = False  # Cancel pressed, the job not ended yet
        self._step = ""  # the running job's last progress message
        self._cancel_wait = QTimer(self)
        self._cancel_wait.setSingleShot(True)
        self._cancel_wait.timeout.connect(self._still_cancelling)
        self.banner = Banner()

        chooser = QFormLayout()
        chooser.addRow("Task", self.task_combo)
        chooser.addRow("Engine", self.engine_combo)
        settings = QWidget()
        settings_layout = QVBoxLayout(settings)
        settings_layout.setContentsMargins(0, 0, 0, 0)
        settings_header = QHBoxLayout()
        title = QLabel("Settings")
        title.setObjectName("section")
        settings_header.addWidget(title)
        settings_header.addStretch(1)
        settings_header.addWidget(self.reset_button)
        settings_layout.addLayout(settings_header)
        settings_layout.addWidget(self.form)
        settings_layout.addWidget(self.regions_box)
        settings_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # settings follow the dock's width
        scroll.setWidget(settings)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button, 2)
        buttons.addWidget(self.cancel_button, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(chooser)
        layout.addWidget(self.description)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.banner)
        layout.addWidget(self.input_label)
        layout.addWidget(self.original_box)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)

        self.task_combo.currentIndexChanged.connect(self._task_chosen)
        self.engine_combo.currentIndexChanged.connect(self._engine_chosen)
        self.chosen_by_user = False  # the user picked a task or engine since clear_choice()
        self.task_combo.activated.connect(self._user_chose)  # activated: by the user only, never by code
        self.engine_combo.activated.connect(self._user_chose)
        self.set_engines([])

    # --- engines ----------------------------------------------------------------------------------
    def set_engines(self, engines: list[Engine], preferred_task: str | None = None) -> None:
        self.engines = list(engines)
        tasks = [t for t in TASK_TITLES if any(e.task == t for e in self.engines)]
        tasks += sorted({e.task for e in self.engines} - set(tasks))
        keep = preferred_task or self.task_combo.currentData()
        self.task_combo.blockSignals(True)
        self.task_combo.clear()
        for t in tasks:
            self.task_combo.addItem(TASK_TITLES.get(t, t.capitalize()), t)
        self.task_combo.blockSignals(False)
        if keep in tasks:
            self.task_combo.setCurrentIndex(tasks.index(keep))
        self._task_chosen()
        self.run_button.setEnabled(bool(self.engines))
        if not self.engines:
            self.description.setText("Looking for engines…")

    def _user_chose(self, _index: int = 0) -> None:
        self.chosen_by_user = True

    def clear_choice(self) -> None:
        """Forget that the user picked an engine (a new photo was opened)."""
        self.chosen_by_user = False

    def offer_task(self, task: str) -> bool:
        """Switch to `task` and its first (default) engine unless the user picked an engine since
        clear_choice(); True when the task is shown."""
        index = self.task_combo.findData(task)
        if self.chosen_by_user or index < 0:
            return False
        self.task_combo.setCurrentIndex(index)
        return True

    def select_engine(self, engine_id: str) -> bool:
        for e in self.engines:
            if e.id == engine_id:
                self.task_combo.setCurrentIndex(self.task_combo.findData(e.task))
                self.engine_combo.setCurrentIndex(self.engine_combo.findData(engine_id))
                return True
        return False

    def _task_chosen(self) -> None:
        task = self.task_combo.currentData()
        self.engine_combo.blockSignals(True)
        self.engine_combo.clear()
        for e in self.engines:
            if e.task == task:
                self.engine_combo.addItem(e.title, e.id)
                self.engine_combo.setItemData(self.engine_combo.count() - 1, e.description, Qt.ItemDataRole.ToolTipRole)
        default = default_engine(self.engines, task) if task else None  # start from the one-click default
        if default is not None:
            self.engine_combo.setCurrentIndex(self.engine_combo.findData(default.id))
        self.engine_combo.blockSignals(False)
        self._engine_chosen()
        self.regions_box.setVisible(task == "face")

    def current_engine(self) -> Engine | None:
        engine_id = self.engine_combo.currentData()
        return next((e for e in self.engines if e.id == engine_id), None)

    def _engine_chosen(self) -> None:
        engine = self.current_engine()
        self.form.set_params(engine.params if engine else ())
        if engine is not None:
            note = " Paint a mask over the area to fill first." if engine.requirements.needs_mask else ""
            self.description.setText(f"{engine.description}{note}")

    def _emit_run(self) -> None:
        engine = self.current_engine()
        if engine is not None:
            self.banner.hide()
            self.run_requested.emit(engine, self.form.values())

    # --- state from the window -----------------------------------------------------------------
    def set_busy(self, busy: bool, message: str = "") -> None:
        self.cancelling = False
        self._step = ""
        self._cancel_wait.stop()
        self.progress.setToolTip("")
        self.run_button.setEnabled(not busy and bool(self.engines))
        self.cancel_button.setEnabled(busy)
        if busy:
            self.progress.setRange(0, 0)  # busy indicator until the first progress report
            self.progress.setFormat(message or "Starting…")
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(0)
            self.progress.setFormat(message or "Idle")

    def set_cancelling(self) -> None:
        """Cancel was pressed: at once the bar stops where it is and says "Cancelling…", Cancel is disabled,
        and so it stays until the job ends (set_busy(False)); after CANCEL_WAIT_MS the bar says which step
        the job is still finishing."""
        if self.cancelling:
            return
        self.cancelling = True
        self.cancel_button.setEnabled(False)
        value = self.progress.value() if self.progress.maximum() > 0 else 0
        self.progress.setRange(0, 100)  # a busy indicator would keep moving
        self.progress.setValue(max(0, value))
        self.progress.setFormat("Cancelling…")
        self.progress.setToolTip("Cancelling: the job stops at its next check.")
        self._cancel_wait.start(CANCEL_WAIT_MS)

    def _still_cancelling(self) -> None:
        """Still cancelling after CANCEL_WAIT_MS: the bar (short enough for a narrow panel) says the job waits
        for its current step; the note and the bar's tooltip name the step."""
        if self.cancelling:
            step = f" ({self._step})" if self._step else ""
            self.progress.setFormat("Cancelling… waiting for the current step")
            detail = f"Cancelling… waiting for the current step{step} to finish: the job stops at its next check."
            self.progress.setToolTip(detail)
            self.show_note(detail)

    def set_progress(self, done: int, total: int, message: str = "") -> None:
        new_step = bool(message) and message != self._step
        if message:
            self._step = message
        if self.cancelling:  # the bar stays where Cancel left it; only the step it waits for may change
            if new_step and not self._cancel_wait.isActive():
                self._still_cancelling()
            return
        if total > 0:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(100 * done / total))
            self.progress.setFormat(f"{message or 'Working'} %p%")

    def set_input(self, description: str) -> None:
        """What a run works on: the version shown (its number, title and origin)."""
        self._input_text = description
        self._show_input()

    def _show_input(self) -> None:
        text = "the original" if self.original_box.isChecked() else (self._input_text or "—")
        self.input_label.setText(f"Runs on: {text}")

    def applies_to_original(self) -> bool:
        return self.original_box.isChecked()

    def clear_messages(self) -> None:
        """Forget what was said about the previous photo or run."""
        self.banner.hide()
        self.original_box.setChecked(False)

    def show_error(self, message: str) -> None:
        self.banner.show_message(message, "error")

    def show_note(self, message: str) -> None:
        self.banner.show_message(message, "note")

    def set_finding_faces(self, busy: bool) -> None:
        self.find_faces_button.setEnabled(not busy)
        self.find_faces_button.setText("Finding faces…" if busy else "Find faces")

    def set_regions(self, regions: list[tuple[int, int, int, int]]) -> None:
        self.regions = list(regions)
        if regions:
            self.regions_label.setText(f"{len(regions)} box{'es' if len(regions) != 1 else ''}: drag to move, "
                                       "drag a corner to resize, Delete removes the selected one.")
        else:
            self.regions_label.setText(NO_BOXES)
