"""A fast first look while a big photo opens: a reduced copy (desktop.canvas.display.make_preview) decoded in
the worker pool beside the full load, shown in a plain view of its own until the photo itself arrives.

The preview is never the photo: it sits in its own view (no mask painting, no face boxes), the restore and
mask panels are disabled while it shows (Run waits for the full photo), and the document, versions and
autosave only ever see the photo the full load delivers. When that load fails or is cancelled, the window
goes back to what it showed before and the panels come back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.workers import JobHandle


def _preview_job(path: Path):
    def job(progress, cancel):
        from desktop.canvas.display import make_preview

        progress(0, 1, f"Previewing {path.name}")
        return make_preview(path)

    return job


class OpenPreview:
    """The preview of the photo being opened, for one main window."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.view: Any = None  # a desktop.canvas.view.PhotoView, made on first use
        self.load: JobHandle | None = None  # the load whose preview is on screen
        self._before: Any = None  # the widget the stack showed before the preview

    @property
    def showing(self) -> bool:
        return self.load is not None

    def start(self, path: Path, load: JobHandle) -> JobHandle:
        """Decode a preview of `path` beside `load`; it shows only while `load` is still the window's load
        and has not finished. Returns the preview job's handle."""
        handle = self.window.pool.submit(_preview_job(path), name=f"Previewing {path.name}")
        handle.on(succeeded=lambda display: self._ready(load, path, display))
        load.on(finished=lambda: self.end(load))
        return handle

    def _ready(self, load: JobHandle, path: Path, display: Any) -> None:
        w = self.window
        if display is None or load is not w.load_job or load.done:
            return  # nothing to preview, another photo is being opened, or the photo is already here
        if self.view is None:
            from desktop.canvas.view import PhotoView

            self.view = PhotoView()
            self.view.setObjectName("open-preview")
            self.view.setToolTip("Preview: the photo is still loading at full resolution.")
            w.stack.addWidget(self.view)
        if self.load is None:
            self._before = w.stack.currentWidget()
        self.load = load
        self.view.set_display(display)
        w.stack.setCurrentWidget(self.view)
        w.restore_panel.setEnabled(False)
        w.mask_panel.setEnabled(False)
        w.statusBar().showMessage(f"{path.name}: preview, loading the full {display.width} x {display.height} "
                                  "photo…")

    def end(self, load: JobHandle) -> None:
        """`load` finished: its photo is shown already (success), or the window goes back to what it showed."""
        if self.load is not load:
            return
        w = self.window
        self.load = None
        if w.stack.currentWidget() is self.view and self._before is not None:
            w.stack.setCurrentWidget(self._before)
        self._before = None
        self.view.set_display(None)  # the reduced copy's memory goes
        w.restore_panel.setEnabled(True)
        w.mask_panel.setEnabled(True)
