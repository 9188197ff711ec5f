"""The main window: composition of canvas, panels, menus and status bar; little logic of its own."""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox,
                               QStackedWidget, QTabWidget, QToolBar, QToolButton, QVBoxLayout, QWidget)

from desktop.canvas.compare import SideBySideView
from desktop.canvas.editor import EditorCanvas
from desktop.canvas.tools import Tool
from desktop.panels.history_panel import HistoryPanel
from desktop.panels.mask_panel import MaskPanel
from desktop.panels.restore_panel import RestorePanel
from desktop.settings_store import add_recent, clear_recent, desktop_settings, recent_files
from desktop.shortcuts import all_keys_for
from desktop.status_bar import StatusWidgets
from desktop.versions import VersionHistory
from desktop.workers import JobHandle, WorkerPool

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
OPEN_FILTER = "Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp);;All files (*)"
MASK_FILTER = "Mask (*.png);;All files (*)"
VIEW_SINGLE, VIEW_SPLIT, VIEW_SIDE = "single", "split", "side"
TRAINING_MODULE = "desktop.panels.training_panel"


class _DeviceProbe(QObject):
    """Imports torch off the GUI thread and reports the device through a signal."""

    found = Signal(str, str)  # description, device name ("cuda:0", "cpu")

    def start(self) -> None:
        threading.Thread(target=self._probe, name="restora-device-probe", daemon=True).start()

    def _probe(self) -> None:
        try:
            from core.devices import device_info

            info = device_info()
            self.found.emit(f"Device: {info.describe()}", info.device)
        except Exception as e:  # the editor must open even if torch is broken
            self.found.emit(f"Device: unavailable ({e})", "cpu")


def _load_job(path: Path):
    def job(progress, cancel):
        from core.imageio import load_photo

        from desktop.canvas.display import make_display

        progress(0, 2, f"Reading {path.name}")
        photo = load_photo(path)
        cancel.raise_if_cancelled()
        progress(1, 2, "Preparing the display")
        return photo, make_display(photo)

    return job


class MainWindow(QMainWindow):
    first_paint = Signal()
    photo_opened = Signal(object)
    engines_loaded = Signal(list)
    version_added = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Restora")
        self.setAcceptDrops(True)
        self.resize(1440, 900)
        self.photo = None  # the current version's core Photo
        self.device = "cpu"
        self.engines: list[type] = []
        self.run_job: JobHandle | None = None
        self.load_job: JobHandle | None = None
        self.last_export: Path | None = None
        self.view_mode = VIEW_SINGLE
        self._painted = False
        self._training_loaded = False
        self._dialogs: dict[str, QWidget] = {}
        self.settings = desktop_settings()

        self.pool = WorkerPool(self)
        self.versions = VersionHistory(self)
        self.canvas = EditorCanvas()
        self.view = self.canvas  # the main photo view (older name)
        self.side_by_side = SideBySideView()
        self.empty = QLabel("Open a photo (Ctrl+O), drop one here, or pick a recent file from the File menu.")
        self.empty.setObjectName("empty-state")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
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
        if importlib.util.find_spec(TRAINING_MODULE) is not None:
            self._training_host = QWidget()
            QVBoxLayout(self._training_host).setContentsMargins(0, 0, 0, 0)
            self.tabs.addTab(self._training_host, "Training")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.dock = QDockWidget("Tools", self)
        self.dock.setObjectName("tools-dock")
        self.dock.setWidget(self.tabs)
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.dock.setMinimumWidth(340)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)

        self.status = StatusWidgets(self.statusBar())
        self._device_label = self.status.device
        self._probe = _DeviceProbe(self)
        self._probe.found.connect(self._device_found)
        self.actions: dict[str, QAction] = {}
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._connect()
        self._restore_state()

    # --- building ---------------------------------------------------------------------------------
    def _action(self, action_id: str, text: str, slot, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in all_keys_for(action_id)])  # the main key first
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work whichever widget has focus
        self.actions[action_id] = action
        return action

    def _build_actions(self) -> None:
        c, layer = self.canvas, self.canvas.mask_layer
        a = self._action
        a("open", "&Open…", self.open_dialog)
        a("save", "&Save", self.save)
        a("export", "&Export as…", self.export_dialog)
        a("batch", "&Batch…", self.open_batch)
        a("models", "&Models…", self.open_model_manager)
        a("quit", "&Quit", self.close)
        a("undo", "&Undo", layer.undo)
        a("redo", "&Redo", layer.redo)
        a("invert_mask", "&Invert mask", layer.invert)
        a("clear_mask", "&Clear mask", layer.clear)
        a("brush_smaller", "Smaller brush", c.shrink_brush)
        a("brush_larger", "Larger brush", c.grow_brush)
        for tool in Tool:
            a(f"tool_{tool.value}", tool.title, lambda _c=False, t=tool: c.set_tool(t), checkable=True)
        a("run", "&Run", self.restore_panel.run_button.click)
        a("cancel", "&Cancel job", self.cancel_run)
        a("fit", "&Fit", self._fit)
        a("actual_size", "&Actual pixels", self._actual)
        a("zoom_in", "Zoom &in", lambda: self._current_view().zoom_in())
        a("zoom_out", "Zoom &out", lambda: self._current_view().zoom_out())
        a("view_single", "&Single", lambda: self.set_view_mode(VIEW_SINGLE), checkable=True)
        a("view_split", "S&plit before/after", lambda: self.set_view_mode(VIEW_SPLIT), checkable=True)
        a("view_side", "Side &by side", lambda: self.set_view_mode(VIEW_SIDE), checkable=True)
        a("shortcuts", "&Keyboard shortcuts", self.show_shortcuts)
        self.actions["view_single"].setChecked(True)
        self._action_group_exclusive(["view_single", "view_split", "view_side"])
        self._action_group_exclusive([f"tool_{t.value}" for t in Tool])

    def _action_group_exclusive(self, ids: list[str]) -> None:
        from PySide6.QtGui import QActionGroup

        group = QActionGroup(self)
        for i in ids:
            group.addAction(self.actions[i])

    def _build_menus(self) -> None:
        m = self.menuBar()
        acts = self.actions
        file_menu = m.addMenu("&File")
        file_menu.addAction(acts["open"])
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addAction(acts["save"])
        file_menu.addAction(acts["export"])
        file_menu.addSeparator()
        file_menu.addAction("Load mask…", self.load_mask_dialog)
        file_menu.addAction("Save mask…", self.save_mask_dialog)
        file_menu.addSeparator()
        file_menu.addAction(acts["batch"])
        file_menu.addAction(acts["models"])
        file_menu.addSeparator()
        file_menu.addAction(acts["quit"])
        edit = m.addMenu("&Edit")
        for i in ("undo", "redo"):
            edit.addAction(acts[i])
        edit.addSeparator()
        for i in ("invert_mask", "clear_mask"):
            edit.addAction(acts[i])
        edit.addAction("Grow mask", lambda: self.canvas.mask_layer.grow(self.mask_panel.grow_px.value()))
        edit.addAction("Shrink mask", lambda: self.canvas.mask_layer.shrink(self.mask_panel.grow_px.value()))
        view = m.addMenu("&View")
        for i in ("fit", "actual_size", "zoom_in", "zoom_out"):
            view.addAction(acts[i])
        view.addSeparator()
        for i in ("view_single", "view_split", "view_side"):
            view.addAction(acts[i])
        view.addSeparator()
        view.addAction(self.dock.toggleViewAction())
        tools = m.addMenu("&Tools")
        for tool in Tool:
            tools.addAction(acts[f"tool_{tool.value}"])
        tools.addSeparator()
        tools.addAction(acts["brush_smaller"])
        tools.addAction(acts["brush_larger"])
        restore = m.addMenu("&Restore")
        restore.addAction(acts["run"])
        restore.addAction(acts["cancel"])
        help_menu = m.addMenu("&Help")
        help_menu.addAction(acts["shortcuts"])
        help_menu.addAction("About Restora", self._about)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("main-toolbar")
        bar.setMovable(False)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        acts = self.actions
        for i, text in (("open", "Open"), ("save", "Save"), ("export", "Export")):
            self._tool_button(bar, acts[i], text)
        bar.addSeparator()
        for tool in Tool:
            b = self._tool_button(bar, acts[f"tool_{tool.value}"], tool.title)
            b.setToolTip(f"{tool.hint} ({tool.key})")
        bar.addSeparator()
        for i, text in (("view_single", "Single"), ("view_split", "Split"), ("view_side", "Side by side")):
            self._tool_button(bar, acts[i], text)
        bar.addSeparator()
        for i, text in (("fit", "Fit"), ("actual_size", "100%")):
            self._tool_button(bar, acts[i], text)
        bar.addSeparator()
        for i, text in (("undo", "Undo"), ("redo", "Redo")):
            self._tool_button(bar, acts[i], text)
        spacer = QWidget()
        spacer.setStyleSheet("background: transparent;")
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy().Preferred)
        bar.addWidget(spacer)
        for i, text in (("batch", "Batch"), ("models", "Models")):
            self._tool_button(bar, acts[i], text)
        self._sync_tool_buttons(self.canvas.tool)

    def _tool_button(self, bar: QToolBar, action: QAction, text: str) -> QToolButton:
        action.setIconText(text)  # the short label the toolbar shows; menus keep the full text
        b = QToolButton()
        b.setDefaultAction(action)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        sc = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        b.setToolTip(f"{action.text().replace('&', '')} ({sc})" if sc else action.text().replace("&", ""))
        bar.addWidget(b)
        return b

    def _sync_tool_buttons(self, tool) -> None:
        self.actions[f"tool_{Tool(tool).value}"].setChecked(True)

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
        c.regions.regions_changed.connect(self.restore_panel.set_regions)
        c.mask_layer.history_changed.connect(self._history_changed)
        self.restore_panel.run_requested.connect(self.run_engine)
        self.restore_panel.cancel_requested.connect(self.cancel_run)
        self.restore_panel.draw_box_requested.connect(lambda: c.set_tool(Tool.BOX))
        self.restore_panel.clear_boxes_requested.connect(lambda: c.regions.set_regions([]))
        self.mask_panel.load_requested.connect(self.load_mask_dialog)
        self.mask_panel.save_requested.connect(self.save_mask_dialog)
        self.versions.current_changed.connect(self._version_shown)
        self.versions.reference_changed.connect(self._reference_shown)
        self.pool.job_started.connect(self._job_status)
        self.pool.job_finished.connect(self._job_status)
        self._history_changed()

    # --- start-up ---------------------------------------------------------------------------------
    def start_background_services(self) -> None:
        """Work that must not delay the first frame: device detection (imports torch), engine discovery."""
        self._probe.start()
        self.refresh_engines()

    def refresh_engines(self) -> JobHandle:
        from desktop.engines import discover_engines

        handle = self.pool.submit(discover_engines, name="Finding engines")
        handle.on(succeeded=self._engines_found)
        handle.on(failed=lambda message, _d: self.restore_panel.show_error(f"No engines: {message}"))
        return handle

    def _engines_found(self, found) -> None:
        engines, notes = found
        self.engines = list(engines)
        self.restore_panel.set_engines(self.engines)
        if notes:
            self.restore_panel.show_note("\n".join(notes))
        self.engines_loaded.emit(self.engines)

    def _device_found(self, description: str, device: str) -> None:
        self.status.device.setText(description)
        self.device = device

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_paint.emit()

    def _restore_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        try:
            self.canvas.set_brush_size(float(self.settings.value("mask/brush_size", 40)))
            self.mask_panel.restore_opacity(self.settings.value("mask/opacity"))  # never an invisible overlay
            self.tabs.setCurrentIndex(int(self.settings.value("window/tab", 0)))
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

    def closeEvent(self, event) -> None:  # noqa: N802
        self.save_state()
        self.pool.cancel_all()
        super().closeEvent(event)

    def _tab_changed(self, index: int) -> None:
        if self._training_loaded or self.tabs.tabText(index) != "Training":
            return
        if not self._painted:  # restored as the open tab: load it after the window shows, never before
            self.first_paint.connect(lambda: QTimer.singleShot(0, lambda: self._tab_changed(self.tabs.currentIndex())))
            return
        self._training_loaded = True
        try:
            module = importlib.import_module(TRAINING_MODULE)
            panel = module.TrainingPanel(self._training_host, pool=self.pool)
        except Exception as e:  # a broken training panel must not break the editor
            panel = QLabel(f"The training panel could not be loaded: {e}")
            panel.setWordWrap(True)
        self._training_host.layout().addWidget(panel)

    # --- opening ------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = self.settings.value("last_folder", "")
        path, _ = QFileDialog.getOpenFileName(self, "Open photo", str(start or ""), OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> JobHandle:
        """Load a photo in the worker pool; a bad file shows a message and leaves the current photo as it was."""
        p = Path(path)
        if self.load_job is not None and not self.load_job.done:
            self.load_job.cancel()
        handle = self.pool.submit(_load_job(p), name=f"Opening {p.name}")
        handle.on(succeeded=lambda out: self._photo_loaded(p, *out))
        handle.on(failed=lambda message, _d: self.show_error("Cannot open photo", message))
        self.load_job = handle
        return handle

    def _photo_loaded(self, path: Path, photo, display) -> None:
        add_recent(self.settings, path)
        self.settings.setValue("last_folder", str(path.parent))
        self._show_new_photo(photo, display)

    def set_photo(self, photo) -> None:
        """Show a photo at once (the display copy is built here: for tests and small photos)."""
        from desktop.canvas.display import make_display

        self._show_new_photo(photo, make_display(photo))

    def _show_new_photo(self, photo, display) -> None:
        self.last_export = None
        self.canvas.set_display(None)
        self.versions.reset(photo, display)
        self.canvas.fit()
        if self.view_mode == VIEW_SIDE:
            self.stack.setCurrentWidget(self.side_by_side)
        else:
            self.stack.setCurrentWidget(self.canvas)
        self.canvas.setFocus()
        name = photo.meta.source_path.name if photo.meta.source_path else "untitled"
        self.setWindowTitle(f"{name} — Restora")
        notes = f" ({'; '.join(photo.meta.notes)})" if photo.meta.notes else ""
        self.statusBar().showMessage(f"{name}: {photo.width} x {photo.height}, {photo.meta.bit_depth}-bit{notes}", 6000)
        self.photo_opened.emit(photo)

    def _version_shown(self, version) -> None:
        self.photo = version.photo
        self.canvas.set_display(version.display, fit=False)
        self._refresh_side_by_side()

    def _reference_shown(self, version) -> None:
        self.canvas.set_before(version.display)
        self._refresh_side_by_side()

    def _refresh_side_by_side(self) -> None:
        ref, cur = self.versions.reference, self.versions.current
        if ref is not None and cur is not None:
            self.side_by_side.set_images(ref.display, cur.display, f"{ref.id}. {ref.label}", f"{cur.id}. {cur.label}")

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = recent_files(self.settings)
        for f in files:
            self.recent_menu.addAction(f, lambda f=f: self.open_path(f))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", lambda: clear_recent(self.settings))
        else:
            self.recent_menu.addAction("No recent photos").setEnabled(False)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        from desktop.dialogs.model_manager import is_checkpoint

        paths = [u.toLocalFile() for u in event.mimeData().urls()]
        if any(Path(p).suffix.lower() in PHOTO_SUFFIXES or is_checkpoint(p) for p in paths):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        self.open_dropped([u.toLocalFile() for u in event.mimeData().urls()])
        event.acceptProposedAction()

    def open_dropped(self, paths: list[str]) -> None:
        """Photos open (the first one); checkpoints go to the model manager's import."""
        from desktop.dialogs.model_manager import is_checkpoint

        checkpoints = [p for p in paths if is_checkpoint(p)]
        photos = [p for p in paths if Path(p).suffix.lower() in PHOTO_SUFFIXES]
        if checkpoints:
            self.open_model_manager().import_files(checkpoints)
        if photos:
            self.open_path(photos[0])

    # --- running engines --------------------------------------------------------------------------
    def run_engine(self, engine, params: dict[str, Any]) -> JobHandle | None:
        from desktop.canvas.display import make_display

        current = self.versions.current
        if current is None:
            self.restore_panel.show_error("Open a photo first.")
            return None
        if self.run_job is not None and not self.run_job.done:
            self.restore_panel.show_error("A job is already running: wait for it or cancel it.")
            return None
        mask = None
        if engine.requirements.needs_mask:
            if self.canvas.mask_layer.is_empty():
                self.restore_panel.show_error(f"{engine.title} needs a mask: paint over the area to fill "
                                              "with the brush (B), rectangle (R) or lasso (L).")
                self.canvas.set_tool(Tool.BRUSH)
                return None
            mask = self.canvas.mask_layer.mask.copy()  # a plain copy here; thresholding happens in the worker
        photo, device = current.photo, self.device
        run_params = dict(params)
        regions = self._user_regions() if engine.task == "face" else None

        def job(progress, cancel):
            from core.engines.request import EngineRequest
            from core.masks import check_mask

            started = time.perf_counter()
            engine_mask = None if mask is None else check_mask(mask, (photo.height, photo.width))
            runner = engine.on_device(device)
            result = runner.run(EngineRequest(photo, engine_mask, regions, run_params, progress, cancel))
            return result, make_display(result.photo), time.perf_counter() - started

        handle = self.pool.submit(job, name=engine.title, device=device)
        handle.on(progress=self.restore_panel.set_progress)
        handle.on(succeeded=lambda out: self._run_done(engine, run_params, *out))
        handle.on(failed=lambda message, _d: self.restore_panel.show_error(message))
        handle.on(cancelled=lambda message: self.restore_panel.show_note(message))
        handle.on(finished=lambda: self.restore_panel.set_busy(False))
        self.restore_panel.set_busy(True, f"Running {engine.title}…")
        self.run_job = handle
        return handle

    def _run_done(self, engine, params: dict[str, Any], result, display, seconds: float) -> None:
        changed = {k: v for k, v in params.items() if v != engine.defaults().get(k)}
        detail = ", ".join(f"{k}={v}" for k, v in changed.items())
        label = engine.title + (f" ({detail})" if detail else "")
        version = self.versions.add(result.photo, display, label, engine_id=engine.id, params=params,
                                    regions=list(result.regions), notes=list(result.notes), seconds=seconds)
        if result.regions:
            self.canvas.regions.set_regions([r.int_box for r in result.regions], "engine")
        if result.notes:
            self.restore_panel.show_note("\n".join(result.notes))
        self.statusBar().showMessage(f"{engine.title} finished in {seconds:.1f} s", 6000)
        self.version_added.emit(version)

    def _user_regions(self):
        """The face boxes on the canvas as engine regions (None when there are none)."""
        from core.regions import Region

        boxes = self.canvas.regions.regions()
        return tuple(Region(tuple(float(v) for v in b), source="user") for b in boxes) or None

    def cancel_run(self) -> None:
        if self.run_job is not None and not self.run_job.done:
            self.run_job.cancel()

    def _job_status(self, _handle=None) -> None:
        running = self.pool.running_jobs()
        if running:
            h = running[0]
            done, total, _m = h.last_progress
            self.status.show_job(h.name + (f" (+{len(running) - 1})" if len(running) > 1 else ""), done, total)
            if not getattr(h, "_status_connected", False):
                h._status_connected = True
                h.on(progress=lambda d, t, _m, h=h: self.status.show_job(h.name, d, t))
        else:
            self.status.show_job("")

    # --- saving -----------------------------------------------------------------------------------
    def confirm_overwrite(self, path: Path) -> bool:
        """Ask before replacing the original photo (tests replace this method)."""
        answer = QMessageBox.question(
            self, "Replace the original?",
            f"Save over the original photo?\n\n{path}\n\nThe original pixels cannot be recovered afterwards.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def save(self) -> JobHandle | None:
        """Save the shown version: to the last export path, else over the original after confirmation."""
        current = self.versions.current
        if current is None:
            return None
        if self.last_export is not None:
            return self.save_to(self.last_export)
        source = current.photo.meta.source_path
        if source is None:
            self.export_dialog()
            return None
        return self.save_to(source)

    def save_to(self, path: Path, quality: int = 95, bit_depth: int | None = None,
                keep_metadata: bool = True) -> JobHandle | None:
        current = self.versions.current
        if current is None:
            return None
        source = current.photo.meta.source_path
        overwrite = False
        if source is not None and path.exists() and _same_file(path, source):
            if not self.confirm_overwrite(path):
                return None
            overwrite = True
        photo = current.photo

        def job(progress, cancel):
            from core.imageio import save_photo

            return save_photo(photo, path, quality=quality, bit_depth=bit_depth, keep_metadata=keep_metadata,
                              overwrite_source=overwrite)

        handle = self.pool.submit(job, name=f"Saving {path.name}")
        handle.on(succeeded=lambda written: self._saved(Path(written)))
        handle.on(failed=lambda message, _d: self.show_error("Cannot save", message))
        return handle

    def _saved(self, path: Path) -> None:
        self.last_export = path
        self.statusBar().showMessage(f"Saved {path}", 6000)

    def export_dialog(self) -> None:
        from desktop.dialogs.export_dialog import ExportDialog

        current = self.versions.current
        if current is None:
            return
        dialog = ExportDialog(current.photo.meta.source_path, current.photo.meta.bit_depth, self)
        if dialog.exec():
            o = dialog.options()
            self.save_to(o.path, o.quality, o.bit_depth, o.keep_metadata)

    # --- masks --------------------------------------------------------------------------------------
    def load_mask_dialog(self) -> None:
        if self.versions.current is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Load mask", "", MASK_FILTER)
        if path:
            self.load_mask(path)

    def load_mask(self, path: str | Path) -> bool:
        from core.errors import RestoraError

        try:
            self.canvas.mask_layer.load(path)
        except RestoraError as e:
            self.show_error("Cannot load mask", str(e))
            return False
        return True

    def save_mask_dialog(self) -> None:
        if self.versions.current is None:
            return
        source = self.versions.current.photo.meta.source_path
        start = str(source.with_name(f"{source.stem}_mask.png")) if source else "mask.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save mask", start, MASK_FILTER)
        if path:
            from core.errors import RestoraError

            try:
                self.canvas.mask_layer.save(path)
            except RestoraError as e:
                self.show_error("Cannot save mask", str(e))

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
        QMessageBox.about(self, "About Restora", "Restora: restore dark photos, fill holes and restore faces, "
                                                 "locally, on your GPU or CPU.")

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

    def _history_changed(self) -> None:
        h = self.canvas.mask_layer.history
        self.actions["undo"].setEnabled(h.can_undo())
        self.actions["redo"].setEnabled(h.can_redo())


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or a.samefile(b)
    except OSError:
        return False
