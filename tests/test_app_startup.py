"""The window: it appears before torch is imported, opens photos, and survives a corrupt file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QMessageBox

from desktop.window import MainWindow
from tests.conftest import gradient_image

ROOT = Path(__file__).resolve().parent.parent


def test_window_visible_before_torch_is_imported(restora_home):
    env = dict(os.environ, RESTORA_STARTUP_PROBE="1", QT_QPA_PLATFORM="offscreen", RESTORA_HOME=str(restora_home))
    done = subprocess.run([sys.executable, str(ROOT / "main.py")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "window visible after" in done.stdout
    assert "torch imported: False" in done.stdout


def test_open_photo_and_corrupt_file(qtbot, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    good = tmp_path / "good.png"
    Image.fromarray(gradient_image()).save(good)
    assert _open(qtbot, window, good) == "succeeded"
    assert window.photo is not None and window.photo.size == (64, 48)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert _open(qtbot, window, bad) == "failed"
    box = window.findChild(QMessageBox, "error-dialog")
    assert box is not None and "bad.jpg" in box.text()
    assert window.photo.meta.source_path == good  # the photo that was open stays open
    box.close()
    assert _open(qtbot, window, good) == "succeeded"


def _open(qtbot, window, path):
    """Photos load in the worker pool: wait until the result reached the window."""
    handle = window.open_path(path)
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    return handle.state


def test_window_screenshot(qtbot, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_photo(__import__("core.photo", fromlist=["Photo"]).Photo.from_uint8(gradient_image(300, 400)))
    shot = window.grab()
    assert not shot.isNull() and shot.width() > 100
    assert np.asarray(Image.open(_save(shot, tmp_path / "w.png"))).std() > 0


def _save(pixmap, path):
    pixmap.save(str(path))
    return path


def test_the_background_services_wait_for_a_photo_opened_at_start(qtbot, tmp_path, monkeypatch):
    """Their torch import would compete with decoding the photo: they start once it is loaded, once."""
    window = MainWindow()
    qtbot.addWidget(window)
    started: list[str] = []
    monkeypatch.setattr(window, "refresh_engines", lambda *a, **k: started.append("engines"))
    monkeypatch.setattr(window, "offer_recovery", lambda: None)
    photo = tmp_path / "start.png"
    Image.fromarray(gradient_image()).save(photo)
    handle = window.open_path(photo)
    window.start_background_services()
    assert started == [] and not handle.delivered  # the load's result has not reached the window yet
    qtbot.waitUntil(lambda: started == ["engines"], timeout=10000)
    assert handle.delivered and window.photo is not None
    window.start_background_services()
    assert started == ["engines"]  # started once, whatever calls it again (the time limit, say)
