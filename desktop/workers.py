"""The worker pool: core jobs run in a QThreadPool; progress and results reach the GUI thread by signals.

A job is any callable `fn(progress, cancel) -> result` using core.jobs' Progress and CancelToken. Jobs on a
GPU run one at a time per device (the next waits in a queue held by the GUI thread); CPU jobs run beside
them. Each job gets a `JobHandle`, a QObject created in the GUI thread: a worker thread only *emits* its
signals, so every connected slot runs in the GUI thread and no widget is touched from a worker.
"""

from __future__ import annotations

import itertools
import time
import traceback
from collections import deque
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

JobFn = Callable[[Callable[..., None], Any], Any]

CALLBACK_NAMES = ("started", "progress", "succeeded", "failed", "cancelled", "finished")
PROGRESS_INTERVAL_S = 0.03  # progress faster than this is coalesced: the GUI needs ~30 updates a second


class JobHandle(QObject):
    """One submitted job: its signals (delivered in the GUI thread), its state and its cancel token."""

    started = Signal()
    progress = Signal(int, int, str)  # done, total, message
    succeeded = Signal(object)  # the job's return value
    failed = Signal(str, str)  # message for a person, technical detail (traceback)
    cancelled = Signal(str)
    finished = Signal()  # after any of succeeded / failed / cancelled

    def __init__(self, job_id: int, name: str, device: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from core.jobs import CancelToken

        self.job_id = job_id
        self.name = name
        self.device = device
        self.token = CancelToken()
        self.state = "queued"  # queued | running | succeeded | failed | cancelled
        self.result: Any = None
        self.error = ""
        self.last_progress: tuple[int, int, str] = (0, 0, "")
        self.delivered = False  # True once `finished` has reached the GUI thread (all results delivered)
        self.status_followed = False  # True once the window's status bar shows its progress (window_run)
        self._callbacks: dict[str, list[Callable[..., Any]]] = {name: [] for name in CALLBACK_NAMES}
        # Only bound methods of the handle itself are connected: PySide can drop a lambda connected to one
        # object's signal when another object whose signal had a lambda from the same line is deleted.
        self.started.connect(self._on_started)
        self.progress.connect(self._on_progress)
        self.succeeded.connect(self._on_succeeded)
        self.failed.connect(self._on_failed)
        self.cancelled.connect(self._on_cancelled)
        self.finished.connect(self._on_finished)

    @property
    def done(self) -> bool:
        return self.state in ("succeeded", "failed", "cancelled")

    def on(self, *, started: Callable[[], Any] | None = None, progress: Callable[[int, int, str], Any] | None = None,
           succeeded: Callable[[Any], Any] | None = None, failed: Callable[[str, str], Any] | None = None,
           cancelled: Callable[[str], Any] | None = None, finished: Callable[[], Any] | None = None) -> "JobHandle":
        """Register callbacks (run in the GUI thread); use this rather than connecting lambdas to the signals."""
        for name, fn in (("started", started), ("progress", progress), ("succeeded", succeeded),
                         ("failed", failed), ("cancelled", cancelled), ("finished", finished)):
            if fn is not None:
                self._callbacks[name].append(fn)
        return self

    def _call(self, name: str, *args: Any) -> None:
        for fn in list(self._callbacks[name]):
            fn(*args)

    def _on_started(self) -> None:
        self._call("started")

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self._call("progress", done, total, message)

    def _on_succeeded(self, result: Any) -> None:
        self._call("succeeded", result)

    def _on_failed(self, message: str, detail: str) -> None:
        self._call("failed", message, detail)

    def _on_cancelled(self, message: str) -> None:
        self._call("cancelled", message)

    def _on_finished(self) -> None:
        self.delivered = True
        self._call("finished")

    def cancel(self) -> None:
        """Ask the job to stop at its next check; a queued job never starts."""
        self.token.cancel()


def _emit(signal: Any, *args: Any) -> None:
    """Emit from a pool thread; a receiver deleted meanwhile (the window closed) is not an error."""
    try:
        signal.emit(*args)
    except RuntimeError:
        pass


class _Runner(QRunnable):
    """Runs in a pool thread: calls the job and emits (never touches widgets)."""

    def __init__(self, handle: JobHandle, fn: JobFn, on_exit: Callable[[], None]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._handle = handle
        self._fn = fn
        self._on_exit = on_exit  # emitted through a signal of the pool, so it too runs in the GUI thread
        self._last_emit = 0.0

    def _progress(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        if done < total and now - self._last_emit < PROGRESS_INTERVAL_S:
            return
        self._last_emit = now
        self._handle.last_progress = (int(done), int(total), str(message))
        _emit(self._handle.progress, int(done), int(total), str(message))

    def run(self) -> None:  # noqa: D102 (Qt name)
        from core.errors import CancelledError, RestoraError

        h = self._handle
        try:
            if h.token.cancelled:
                raise CancelledError(h.token.reason or "Cancelled.")
            h.state = "running"
            _emit(h.started)
            result = self._fn(self._progress, h.token)
            h.token.raise_if_cancelled()
        except CancelledError as e:
            h.state, h.error = "cancelled", str(e)
            _emit(h.cancelled, str(e))
        except RestoraError as e:
            h.state, h.error = "failed", str(e)
            _emit(h.failed, str(e), traceback.format_exc())
        except Exception as e:  # noqa: BLE001  a bug in a job must reach the user as a message, not kill the app
            h.state, h.error = "failed", f"{type(e).__name__}: {e}"
            _emit(h.failed, f"Unexpected error: {type(e).__name__}: {e}", traceback.format_exc())
        else:
            h.result = result
            h.state = "succeeded"
            _emit(h.succeeded, result)
        _emit(h.finished)
        try:
            self._on_exit()
        except RuntimeError:  # the pool is gone (the app or the panel closed while the job ran)
            pass
        # Drop our references here so the handle's last reference goes away in the GUI thread, never
        # in this one (a QObject must be deleted in the thread it lives in).
        self._handle = None  # type: ignore[assignment]
        self._fn = None  # type: ignore[assignment]
        self._on_exit = None  # type: ignore[assignment]


class WorkerPool(QObject):
    """Submits jobs; one job per GPU device at a time, CPU jobs beside them."""

    job_started = Signal(object)  # JobHandle
    job_finished = Signal(object)
    _runner_exited = Signal(object)  # emitted from a pool thread, handled in the GUI thread

    def __init__(self, parent: QObject | None = None, max_threads: int | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        if max_threads is not None:
            self._pool.setMaxThreadCount(max_threads)
        elif self._pool.maxThreadCount() < 3:
            self._pool.setMaxThreadCount(3)  # a GPU job, a CPU job and a photo load at once on small machines
        self._ids = itertools.count(1)
        self._gpu_busy: dict[str, JobHandle] = {}
        self._gpu_queue: dict[str, deque[tuple[JobHandle, JobFn]]] = {}
        self._active: set[JobHandle] = set()
        self._runner_exited.connect(self._on_runner_exited)

    @staticmethod
    def is_gpu(device: str) -> bool:
        return not device.lower().startswith("cpu")

    def submit(self, fn: JobFn, name: str = "job", device: str = "cpu") -> JobHandle:
        """Queue fn(progress, cancel); returns its handle at once. Connect to the handle's signals."""
        handle = JobHandle(next(self._ids), name, str(device))
        self._active.add(handle)
        if self.is_gpu(handle.device):
            if handle.device in self._gpu_busy:
                self._gpu_queue.setdefault(handle.device, deque()).append((handle, fn))
                return handle
            self._gpu_busy[handle.device] = handle
        self._start(handle, fn)
        return handle

    def _start(self, handle: JobHandle, fn: JobFn) -> None:
        handle.on(started=lambda: self.job_started.emit(handle))
        self._pool.start(_Runner(handle, fn, lambda: self._runner_exited.emit(handle)))

    def _on_runner_exited(self, handle: JobHandle) -> None:
        self._active.discard(handle)
        self.job_finished.emit(handle)
        if self._gpu_busy.get(handle.device) is handle:
            del self._gpu_busy[handle.device]
            queue = self._gpu_queue.get(handle.device)
            if queue:
                nxt, fn = queue.popleft()
                self._gpu_busy[handle.device] = nxt
                self._start(nxt, fn)  # a cancelled queued job starts and ends at once as cancelled

    def active_jobs(self) -> list[JobHandle]:
        return sorted(self._active, key=lambda h: h.job_id)

    def running_jobs(self) -> list[JobHandle]:
        return [h for h in self.active_jobs() if h.state == "running"]

    def cancel_all(self) -> None:
        for handle in list(self._active):
            handle.cancel()

    def shutdown(self, msecs: int = 5000) -> bool:
        """Cancel every job and wait (at most msecs) for the threads to finish: before the pool goes away,
        so no job is left running against deleted objects."""
        self.cancel_all()
        return self._pool.waitForDone(msecs)

    def wait_for_done(self, msecs: int = -1) -> bool:
        """Block until the pool's threads are idle (shutdown and tests only, never from a slot)."""
        return self._pool.waitForDone(msecs)
