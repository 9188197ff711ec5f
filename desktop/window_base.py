"""What the main window's mixins (window_menus, window_document, window_run) may use of each other and of
the window, for type checking: MainWindow provides all of it. At run time the mixins derive from object."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QStackedWidget, QTabWidget

    from desktop.canvas.compare import SideBySideView
    from desktop.canvas.editor import EditorCanvas
    from desktop.panels.history_panel import HistoryPanel
    from desktop.panels.mask_panel import MaskPanel
    from desktop.panels.restore_panel import RestorePanel
    from desktop.status_bar import StatusWidgets
    from desktop.versions import VersionHistory
    from desktop.workers import JobHandle, WorkerPool

    class WindowParts(QMainWindow):
        document: Any
        photo: Any
        device: str
        engines: list[Any]
        run_job: JobHandle | None
        load_job: JobHandle | None
        last_export: Path | None
        view_mode: str
        settings: QSettings
        pool: WorkerPool
        versions: VersionHistory
        canvas: EditorCanvas
        side_by_side: SideBySideView
        stack: QStackedWidget
        restore_panel: RestorePanel
        mask_panel: MaskPanel
        history_panel: HistoryPanel
        tabs: QTabWidget
        dock: QDockWidget
        status: StatusWidgets
        actions: dict[str, QAction]  # type: ignore[assignment]  # QWidget.actions() is shadowed on purpose
        recent_menu: QMenu
        photo_opened: Any
        version_added: Any

        def show_error(self, title: str, message: str) -> None: ...
        def open_model_manager(self) -> Any: ...
        def open_batch(self) -> Any: ...
        def show_shortcuts(self) -> Any: ...
        def reset_layout(self) -> None: ...
        def set_view_mode(self, mode: str) -> None: ...
        def _current_view(self) -> Any: ...
        def _fit(self) -> None: ...
        def _actual(self) -> None: ...
        def _about(self) -> None: ...
        def open_dialog(self) -> None: ...
        def save(self) -> JobHandle | None: ...
        def export_dialog(self, version: Any = None) -> JobHandle | None: ...
        def load_mask_dialog(self) -> None: ...
        def save_mask_dialog(self) -> None: ...
        def _fill_recent(self) -> None: ...
        def confirm_discard(self, doing: str) -> bool: ...
        def cancel_run(self) -> None: ...
        def set_mask_visible(self, visible: bool) -> None: ...
        def _refresh_side_by_side(self) -> None: ...
else:
    WindowParts = object
