"""The bridge between the open document and its recovery folder: after each change (coalesced for a
quarter second) a snapshot is taken on the GUI thread and written in the worker pool, one write at a time."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.workers import WorkerPool

DELAY_MS = 250


class SessionAutosave(QObject):
    failed = Signal(str)  # an autosave could not be written (a full disk, say): the window tells the user

    def __init__(self, pool: WorkerPool, view_state: Callable[[], dict[str, Any]],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self.view_state = view_state
        self.writer: Any = None  # core.session.autosave.SessionWriter of the open document
        self._off: Callable[[], None] | None = None
        self._writing = False
        self._again = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DELAY_MS)
        self._timer.timeout.connect(self._write)
        self.last_error = ""

    def follow(self, document: Any, writer: Any = None) -> None:
        """Autosave this document (into `writer`'s folder, e.g. the one it was recovered from)."""
        from core.session.autosave import SessionWriter

        self.stop(discard=True)
        self.writer = writer or SessionWriter(document)
        self._off = document.events.on("edited", self.schedule)
        self.schedule()

    def schedule(self) -> None:
        if self.writer is not None:
            self._timer.start()

    def stop(self, discard: bool) -> None:
        """Stop following the document; with `discard`, remove its recovery folder (saved or discarded)."""
        self._timer.stop()
        if self._off is not None:
            self._off()
            self._off = None
        if self.writer is not None and discard:
            self.writer.discard()  # waits for a write in progress (the writer's lock); later ones find no folder
        self.writer = None

    def flush(self) -> None:
        """Write now and wait (tests; before the process is about to lose its state); a write already
        scheduled has nothing left to do."""
        if self.writer is not None:
            self._timer.stop()
            self.writer.save_now(self.view_state())

    def _write(self) -> None:
        if self.writer is None:
            return
        if self._writing:
            self._again = True
            return
        writer, snapshot = self.writer, self.writer.snapshot(self.view_state())
        self._writing = True
        handle = self.pool.submit(lambda progress, cancel: writer.write(snapshot), name="Autosave")
        handle.on(finished=self._written)
        handle.on(failed=self._failed)

    def _failed(self, message: str, _detail: str = "") -> None:
        if message != self.last_error:  # said once, not after every stroke
            self.failed.emit(f"Unsaved work is not being backed up: {message}")
        self.last_error = message

    def _written(self) -> None:
        self._writing = False
        if self._again:
            self._again = False
            self._write()
