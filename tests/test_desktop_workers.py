"""The worker pool: results reach the GUI thread by signal, the GUI keeps running, cancel works,
and one job per GPU runs at a time."""

from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QThread

from core.engines.base import Engine, EngineResult, Param
from core.photo import Photo
from core.regions import Region
from desktop.responsiveness import measure_stalls_during
from desktop.window import MainWindow
from desktop.workers import WorkerPool
from tests.conftest import gradient_image


class SlowBrighten(Engine):
    """A test engine: brightens in steps, sleeping between them, checking cancel each step."""

    id = "test.slow"
    task = "lowlight"
    title = "Slow brighten"
    params = (Param("steps", "int", 10, "How many steps.", min=1, max=100),
              Param("gain", "float", 1.5, "Brightness gain.", min=1.0, max=4.0, step=0.1))

    def process(self, request):
        photo, params, progress, cancel = request.photo, request.params, request.progress, request.cancel
        for i in range(params["steps"]):
            cancel.raise_if_cancelled()
            time.sleep(0.03)
            progress(i + 1, params["steps"], "Brightening")
        return EngineResult(photo.with_rgb(np.clip(photo.rgb * params["gain"], 0, 1)), regions=[Region((2, 3, 10, 12))],
                            notes=["brightened"])


def test_pool_delivers_on_gui_thread_and_reports_progress(qtbot):
    pool = WorkerPool()
    seen = {}

    def job(progress, cancel):
        seen["worker"] = threading.get_ident()
        for i in range(5):
            progress(i + 1, 5, "step")
            time.sleep(0.04)
        return 42

    handle = pool.submit(job, name="answer")
    progress = []
    handle.on(progress=lambda d, t, m: progress.append((d, t, QThread.currentThread() is qtbot_thread())))
    handle.on(succeeded=lambda r: seen.setdefault("result_on_gui", QThread.currentThread() is qtbot_thread()))
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert handle.state == "succeeded" and handle.result == 42
    assert seen["worker"] != threading.get_ident() and seen["result_on_gui"]
    assert progress and all(on_gui for *_x, on_gui in progress)


def qtbot_thread():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance().thread()


def test_cancel_and_failure_and_one_job_per_gpu(qtbot):
    pool = WorkerPool()
    running = []
    overlap = []

    def gpu_job(progress, cancel):
        running.append(1)
        overlap.append(len(running))
        for _ in range(10):
            time.sleep(0.01)
        running.pop()
        return "done"

    a = pool.submit(gpu_job, device="cuda:0")
    b = pool.submit(gpu_job, device="cuda:0")
    assert b.state == "queued"

    def forever(progress, cancel):
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.005)

    c = pool.submit(forever, device="cpu")
    qtbot.waitUntil(lambda: c.state == "running", timeout=5000)
    c.cancel()

    def broken(progress, cancel):
        raise ValueError("boom")

    d = pool.submit(broken)
    qtbot.waitUntil(lambda: all(h.delivered for h in (a, b, c, d)), timeout=10000)
    assert (a.state, b.state, c.state, d.state) == ("succeeded", "succeeded", "cancelled", "failed")
    assert max(overlap) == 1  # the two GPU jobs never ran together
    assert "boom" in d.error


def test_run_adds_a_version_while_the_gui_keeps_running(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_photo(Photo.from_uint8(gradient_image(60, 80)))
    window.restore_panel.set_engines([SlowBrighten()])
    window.restore_panel.form.set_values({"steps": 8})
    with qtbot.waitSignal(window.restore_panel.run_requested):
        window.restore_panel.run_button.click()
    handle = window.run_job
    assert handle is not None and window.restore_panel.cancel_button.isEnabled()
    report = measure_stalls_during(handle, timeout_s=10)
    assert handle.state == "succeeded"
    assert len(window.versions) == 2 and window.versions.current.engine_id == "test.slow"
    assert report.ticks >= 10  # the GUI thread kept processing events during the run
    assert report.max_gap_ms < 500  # loose bound: a blocked GUI thread would show the whole run (240+ ms)
    assert window.photo.rgb.mean() > window.versions.original().photo.rgb.mean()
    assert window.canvas.regions.regions() == [(2, 3, 10, 12)]  # engine regions shown as boxes
    assert window.restore_panel.regions == [(2, 3, 10, 12)]
    assert not window.restore_panel.cancel_button.isEnabled()


def test_cancel_a_run_keeps_the_photo(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_photo(Photo.from_uint8(gradient_image(30, 40)))
    window.restore_panel.set_engines([SlowBrighten()])
    handle = window.run_engine(SlowBrighten(), {"steps": 100})
    qtbot.waitUntil(lambda: handle.state == "running", timeout=5000)
    window.restore_panel.cancel_button.click()
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    assert handle.state == "cancelled" and len(window.versions) == 1
    assert window.restore_panel.banner.text()
    assert window.restore_panel.run_button.isEnabled()


def test_inpaint_needs_a_mask_then_runs_with_it(qtbot):
    from core.engines.inpaint.classical import OpenCVInpaint

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_photo(Photo.from_uint8(gradient_image(40, 50)))
    assert window.run_engine(OpenCVInpaint(), {}) is None  # no mask yet: a message, no job
    assert "mask" in window.restore_panel.banner.text()
    window.canvas.mask_layer.fill_rect((10, 10, 8, 8))
    handle = window.run_engine(OpenCVInpaint(), {"radius": 3})
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    assert handle.state == "succeeded", handle.error
    assert len(window.versions) == 2 and "radius=3" in window.versions.current.label


class SlowToStop(Engine):
    """A test engine with one long step that does not look at the cancel token until `release` is set:
    it keeps reporting progress meanwhile, as a real engine inside a long step would."""

    id = "test.slow_to_stop"
    task = "lowlight"
    title = "Slow to stop"

    def __init__(self, device=None, release: threading.Event | None = None) -> None:
        super().__init__(device)
        self.release = release or threading.Event()

    def on_device(self, device):
        return self  # keep the release event the test holds

    def process(self, request):
        step = 0
        while True:
            step += 1
            request.progress(min(step, 99), 100, "Long step")
            if self.release.is_set():
                request.cancel.raise_if_cancelled()
                return EngineResult(request.photo)
            time.sleep(0.01)


def test_cancel_shows_cancelling_at_once_and_until_the_job_ends(qtbot, monkeypatch):
    from desktop.panels import restore_panel

    monkeypatch.setattr(restore_panel, "CANCEL_WAIT_MS", 150)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_photo(Photo.from_uint8(gradient_image(30, 40)))
    engine = SlowToStop()
    window.restore_panel.set_engines([engine])
    panel = window.restore_panel
    handle = window.run_engine(engine, {})
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=5000)
    panel.cancel_button.click()
    # At once: the bar says so and stops, Cancel is disabled, Run still is.
    assert panel.cancelling and "Cancelling" in panel.progress.format()
    assert not panel.cancel_button.isEnabled() and not panel.run_button.isEnabled()
    frozen = panel.progress.value()
    assert panel.progress.maximum() == 100  # not the moving busy indicator
    # The job goes on reporting (its step has not checked yet): the bar does not move, and after the wait
    # it says what it is waiting for.
    qtbot.waitUntil(lambda: "waiting for the current step" in panel.progress.format(), timeout=5000)
    qtbot.wait(100)
    assert panel.progress.value() == frozen and "Long step" in panel.banner.text()
    assert handle.state == "running"
    engine.release.set()
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    assert handle.state == "cancelled" and len(window.versions) == 1
    assert not panel.cancelling and "Cancelling" not in panel.progress.format()
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert panel.banner.text() and "waiting" not in panel.banner.text()  # the cancelled note replaced it


def test_cancelling_state_clears_for_the_next_run(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_photo(Photo.from_uint8(gradient_image(30, 40)))
    window.restore_panel.set_engines([SlowBrighten()])
    handle = window.run_engine(SlowBrighten(), {"steps": 100})
    qtbot.waitUntil(lambda: handle.state == "running", timeout=5000)
    window.cancel_run()  # the menu's Cancel job goes the same way
    assert window.restore_panel.cancelling
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    handle = window.run_engine(SlowBrighten(), {"steps": 5})
    assert not window.restore_panel.cancelling and window.restore_panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    assert handle.state == "succeeded" and len(window.versions) == 2
