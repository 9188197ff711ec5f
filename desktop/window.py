"""The main window: composition of canvas, panels, menus and status bar. Its document handling, engine
runs and menus live in mixins (window_document, window_run, window_menus); the document itself is core's
(core.session.document.Document), rendered through the thin bridges in desktop.versions and desktop.canvas."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.canvas.compare import SideBySideView
from desktop.canvas.editor import EditorCanvas
from desktop.canvas.tools import PAINT_TOOLS, Tool
from desktop.panels.history_panel import HistoryPanel
from desktop.panels.mask_panel import MaskPanel
from desktop.panels.restore_panel import RestorePanel
from desktop.session_autosave import SessionAutosave
from desktop.settings_store import desktop_settings
from desktop.status_bar import StatusWidgets
from desktop.versions import VersionHistory
from desktop.window_document import MASK_FILTER, OPEN_FILTER, DocumentMixin, same_file
from desktop.window_faces import FacesMixin
from desktop.window_menus import VIEW_SIDE, VIEW_SINGLE, VIEW_SPLIT, MenusMixin
from desktop.window_run import RunMixin
from desktop.workers import JobHandle, WorkerPool

__all__ = ["MainWindow", "OPEN_FILTER", "MASK_FILTER", "VIEW_SINGLE", "VIEW_SPLIT", "VIEW_SIDE"]

TRAINING_MODULE = "desktop.panels.training_panel"
DEFAULT_SIZE = (1440, 900)
DOCK_WIDTH = 380  # the tools dock's width after "Reset layout"
# A photo opened at start-up is decoded before the background services start (they import torch, which
# competes with the decoder for the CPU and the GIL), but never waits them more than this.
SERVICES_WAIT_MS = 4000
SCREEN_SHARE = 0.94  # the window never starts larger than this share of the screen's free area


def _probe_device(progress: Any = None, cancel: Any = None) -> tuple[str, str]:
    """(description, device name) of the compute device; imports torch, so it runs in the worker pool."""
    try:
        from core.devices import device_info

        info = device_info()
        return f"Device: {info.describe()}", info.device
    except Exception as e:  # noqa: BLE001  (the editor must open even if torch is broken)
        return f"Device: unavailable ({e})", "cpu"


class MainWindow(MenusMixin, DocumentMixin, RunMixin, FacesMixin, QMainWindow):
    first_paint = Signal()
    photo_opened = Signal(object)
    engines_loaded = Signal(list)
    version_added = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Restora")
        self.setAcceptDrops(True)
        self.resize(*self._fitting_size(*DEFAULT_SIZE))
        self.document: Any = None  # core.session.document.Document of the open photo
        self.photo = None  # the current version's core Photo
        self.device = "cpu"
        self.engines: list[Any] = []
        self.run_job: JobHandle | None = None
        self.face_job: JobHandle | None = None
        self.load_job: JobHandle | None = None
        self.last_export: Path | None = None
        self.view_mode = VIEW_SINGLE
        self._painted = False
        self._services = "not started"  # -> "waiting" (for a photo opened at start-up) -> "started"
        self._training_loaded = False
        self._dialogs: dict[str, QWidget] = {}
        self.settings = desktop_settings()

        self.pool = WorkerPool(self)
        self.autosave = SessionAutosave(self.pool, self.view_state, self)
        self.autosave.failed.connect(lambda message: self.statusBar().showMessage(message, 15000))
        self.versions = VersionHistory(self)
        self.canvas = EditorCanvas()
        self.view = self.canvas  # the main photo view (older name)
        self.side_by_side = SideBySideView()
        self.empty = QLabel("Open a photo (Ctrl+O), drop one here, or pick a recent file from the File menu.")
        self.empty.setObjectName("empty-state")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        for w in (self.empty, self.canvas, self.side_by_side):
            self.stack.addWidget(w)
        self.setCentralWidget(self.stack)

        self.restore_panel = RestorePanel()
        self.mask_panel = MaskPanel(self.canvas)
        self.history_panel = HistoryPanel(self.versions)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("side-tabs")
        self.tabs.addTab(self.restore_panel, "Restore")
        self.tabs.addTab(self.mask_panel, "Mask")
        self.tabs.addTab(self.history_panel, "Versions")
        self._training_panel: Any = None
        if importlib.util.find_spec(TRAINING_MODULE) is not None:
            self._training_host = QWidget()
            self._training_layout = QVBoxLayout(self._training_host)
            self._training_layout.setContentsMargins(0, 0, 0, 0)
            self.tabs.addTab(self._training_host, "Training")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.dock = QDockWidget("Tools", self)
        self.dock.setObjectName("tools-dock")
        self.dock.setWidget(self.tabs)
        # Closable, so View > Tools panel can hide it and bring it back.
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                              | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.dock.setMinimumWidth(340)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)

        self.status = StatusWidgets(self.statusBar())
        self._device_label = self.status.device
        self.actions = {}  # declared in WindowParts (it shadows QWidget.actions() on purpose)
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._connect()
        self._restore_state()

    def _fitting_size(self, width: int, height: int) -> tuple[int, int]:
        """A window size that fits the screen's free area (a 1366 x 768 laptop included)."""
        screen = self.screen() if hasattr(self, "screen") else None
        area = screen.availableGeometry() if screen is not None else None
        if area is None or area.width() <= 0:
            return width, height
        return min(width, int(area.width() * SCREEN_SHARE)), min(height, int(area.height() * SCREEN_SHARE))

    def _connect(self) -> None:
        c = self.canvas
        c.pixel_hovered.connect(self.status.show_pixel)
        self.side_by_side.left.pixel_hovered.connect(self.status.show_pixel)
        self.side_by_side.right.pixel_hovered.connect(self.status.show_pixel)
        # the zoom readout follows whichever view is on screen: the canvas, or the side-by-side pair
        c.zoom_changed.connect(lambda z: None if self._current_view() is not c else self.status.show_zoom(z))
        self.side_by_side.zoom_changed.connect(
            lambda z: self.status.show_zoom(z) if self._current_view() is self.side_by_side else None)
        c.tool_changed.connect(self._sync_tool_buttons)
        c.tool_changed.connect(self._tool_chosen)
        c.regions.regions_changed.connect(self.restore_panel.set_regions)
        c.mask_layer.history_changed.connect(self._history_changed)
        self.restore_panel.run_requested.connect(self.run_engine)
        self.restore_panel.cancel_requested.connect(self.cancel_run)
        self.restore_panel.draw_box_requested.connect(lambda: c.set_tool(Tool.BOX))
        self.restore_panel.clear_boxes_requested.connect(lambda: c.regions.set_regions([]))
        self.restore_panel.find_faces_requested.connect(self.find_faces)
        self.mask_panel.load_requested.connect(self.load_mask_dialog)
        self.mask_panel.save_requested.connect(self.save_mask_dialog)
        self.history_panel.export_requested.connect(self.export_dialog)
        self.versions.current_changed.connect(self._version_shown)
        self.versions.reference_changed.connect(self._reference_shown)
        self.pool.job_started.connect(self._job_status)
        self.pool.job_finished.connect(self._job_status)
        self._history_changed()

    # --- start-up ---------------------------------------------------------------------------------
    def start_background_services(self) -> None:
        """Work that must not delay the first frame: device detection (imports torch), engine discovery.
        While a photo opened at start-up is still loading they wait for it (at most SERVICES_WAIT_MS)."""
        if self._services == "started":
            return
        job = self.load_job
        if job is not None and not job.delivered and self._services == "not started":
            self._services = "waiting"
            job.on(finished=self.start_background_services)
            limit = QTimer(self)  # a child timer: it dies with the window, never calls a closed one
            limit.setSingleShot(True)
            limit.timeout.connect(self.start_background_services)
            limit.start(SERVICES_WAIT_MS)
            return
        self._services = "started"
        probe = self.pool.submit(_probe_device, name="Detecting the device")
        probe.on(succeeded=lambda found: self._device_found(*found))
        self.refresh_engines()
        self.offer_recovery()

    def refresh_engines(self, select_model: str | None = None) -> JobHandle:
        """Find the engines again (after the model store changed); `select_model` names a store model to
        select in the restore panel once they are listed."""
        from desktop.engines import discover_engines

        handle = self.pool.submit(discover_engines, name="Finding engines")
        handle.on(succeeded=lambda found: self._engines_found(found, select_model))
        handle.on(failed=lambda message, _d: self.restore_panel.show_error(f"No engines: {message}"))
        return handle

    def _engines_found(self, found, select_model: str | None = None) -> None:
        engines, notes = found
        self.engines = list(engines)
        self.restore_panel.set_engines(self.engines)
        if notes:
            self.restore_panel.show_note("\n".join(notes))
        if select_model:
            self.select_model(select_model)
        self.engines_loaded.emit(self.engines)

    def select_model(self, name: str) -> bool:
        """Select the engine that runs the store model `name` (its own engine, or a built-in engine whose
        weights choice it is) and show the Restore tab."""
        for engine in self.engines:
            weights = engine.param("weights")
            if engine.id == f"model.{name}" or (weights is not None and name in weights.choices):
                self.restore_panel.select_engine(engine.id)
                if weights is not None and name in weights.choices:
                    self.restore_panel.form.set_value("weights", name)
                self.tabs.setCurrentWidget(self.restore_panel)
                self.statusBar().showMessage(f"{name} is selected in the Restore panel ({engine.title}).", 8000)
                return True
        self.restore_panel.show_error(f"The model {name} is in the store, but no engine runs it.")
        return False

    def _device_found(self, description: str, device: str) -> None:
        self.status.device.setText(description)
        self.device = device

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_paint.emit()

    # --- layout and state -----------------------------------------------------------------------------
    def _restore_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
            self.resize(*self._fitting_size(self.width(), self.height()))  # a saved size never exceeds the screen
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        try:  # what the INI file holds (strs) is converted here; a value that does not convert is skipped
            brush_size: Any = self.settings.value("mask/brush_size", 40)
            self.canvas.set_brush_size(float(brush_size))
            self.mask_panel.restore_opacity(self.settings.value("mask/opacity"))  # never an invisible overlay
            tab: Any = self.settings.value("window/tab", 0)
            self.tabs.setCurrentIndex(int(tab))
        except (TypeError, ValueError):
            pass

    def save_state(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/tab", self.tabs.currentIndex())
        s.setValue("mask/brush_size", self.canvas.mask_layer.brush_size)
        s.setValue("mask/opacity", self.mask_panel.opacity_to_save())
        s.sync()

    def reset_layout(self) -> None:
        """The tools dock back on the right at its usual width, shown; the window fitted to the screen."""
        self.dock.setFloating(False)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.show()
        if not self.isMaximized() and not self.isFullScreen():
            self.resize(*self._fitting_size(*DEFAULT_SIZE))
        self.resizeDocks([self.dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)
        self.settings.remove("window/state")
        self.settings.remove("window/geometry")

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.confirm_discard("quitting"):
            event.ignore()
            return
        self.autosave.stop(discard=True)  # closed normally: nothing left to recover
        self.save_state()
        if self._training_panel is not None and hasattr(self._training_panel, "shutdown"):
            self._training_panel.shutdown()
        self.pool.shutdown()  # cancel the jobs and let them end before the window's objects go
        super().closeEvent(event)

    def _tab_changed(self, index: int) -> None:
        if self._training_loaded or self.tabs.tabText(index) != "Training":
            return
        if not self._painted:  # restored as the open tab: load it after the window shows, never before
            self.first_paint.connect(lambda: QTimer.singleShot(0, lambda: self._tab_changed(self.tabs.currentIndex())))
            return
        self._training_loaded = True
        width = self.dock.width()
        try:
            module = importlib.import_module(TRAINING_MODULE)
            panel = module.TrainingPanel(self._training_host, pool=self.pool)
            panel.use_model.connect(lambda name: self.refresh_engines(select_model=name))
            self._training_panel = panel
        except Exception as e:  # noqa: BLE001  a broken training panel must not break the editor
            panel = QLabel(f"The training panel could not be loaded: {e}")
            panel.setWordWrap(True)
        self._training_layout.addWidget(panel)
        # A new page changes the dock's size hint; keep the width the user had (no jump on the first visit).
        QTimer.singleShot(0, lambda: self.resizeDocks([self.dock], [width], Qt.Orientation.Horizontal))

    # --- dialogs ----------------------------------------------------------------------------------
    def open_model_manager(self):
        from desktop.dialogs.model_manager import ModelManagerDialog

        dialog = self._dialogs.get("models")
        if dialog is None:
            dialog = ModelManagerDialog(self.pool, parent=self)
            dialog.store_changed.connect(self.refresh_engines)
            self._dialogs["models"] = dialog
        dialog.show()
        dialog.raise_()
        return dialog

    def open_batch(self):
        from desktop.dialogs.batch_dialog import BatchDialog

        dialog = BatchDialog(self.pool, self.engines, self.device, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_shortcuts(self):
        from desktop.dialogs.shortcuts_dialog import ShortcutsDialog

        dialog = ShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _about(self) -> None:
        QMessageBox.about(self, "About Restora",
                          "Restora: brighten dark photos, fill holes and remove objects, restore faces, and run "
                          "community models (upscaling, inpainting, face restoration), locally, on your GPU or CPU. "
                          "Train or fine-tune the models on your own photos in the Training tab.")

    def show_error(self, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("error-dialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # --- views ----------------------------------------------------------------------------------------
    def set_view_mode(self, mode: str) -> None:
        self.view_mode = mode
        self.actions[f"view_{mode}"].setChecked(True)
        self.canvas.set_split(mode == VIEW_SPLIT)
        if self.versions.current is None:
            return
        if mode == VIEW_SIDE:
            self._refresh_side_by_side()
            self.stack.setCurrentWidget(self.side_by_side)
            self.side_by_side.follow(self.canvas)
        else:
            if self.stack.currentWidget() is self.side_by_side:
                self.canvas.follow(self.side_by_side.right)
            self.stack.setCurrentWidget(self.canvas)
            self.canvas.setFocus()
        self.status.show_zoom(self._current_view().zoom())

    def _current_view(self) -> EditorCanvas | SideBySideView:
        """What the view commands (fit, 100%, zoom in/out) act on: the canvas, or both side-by-side panes."""
        return self.side_by_side if self.stack.currentWidget() is self.side_by_side else self.canvas

    def _fit(self) -> None:
        self._current_view().fit()

    def _actual(self) -> None:
        self._current_view().actual_pixels()

    def _tool_chosen(self, tool) -> None:
        if tool in PAINT_TOOLS:
            self.set_mask_visible(True)  # painting with the overlay hidden would be painting blind

    def _history_changed(self) -> None:
        h = self.canvas.mask_layer.history
        self.actions["undo"].setEnabled(h.can_undo())
        self.actions["redo"].setEnabled(h.can_redo())
        self._offer_fill()

    def _offer_fill(self) -> None:
        """The first mask painted on a photo brings up the fill engines, unless the user picked an engine
        since the photo opened."""
        if self.document is None:
            return
        if getattr(self, "_fill_photo", None) is not self.document:  # a new photo: watch its mask afresh
            self._fill_photo, self._fill_offered = self.document, False
            self.restore_panel.clear_choice()
        mask = self.canvas.mask_layer.doc
        if not self._fill_offered and mask is not None and not mask.is_empty():
            self._fill_offered = self.restore_panel.offer_task("inpaint")


_same_file = same_file  # the older private name
