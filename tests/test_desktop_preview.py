"""Opening a big photo shows a reduced preview first; the full display then replaces it with the real pixels,
and nothing can be edited or run on the preview."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import core.imageio
from core.engines.inpaint.classical import OpenCVInpaint
from core.errors import CorruptImageError
from core.imageio import load_photo
from core.pixels import rgba8
from desktop import open_preview
from desktop.canvas import display as display_module
from desktop.canvas.display import make_preview
from desktop.window import MainWindow


@pytest.fixture
def small_previews(monkeypatch: pytest.MonkeyPatch) -> None:
    """Previews for test-sized photos: any photo over 100 x 100 pixels gets one, reduced to about 64 px."""
    monkeypatch.setattr(display_module, "PREVIEW_MIN_PIXELS", 10_000)
    monkeypatch.setattr(display_module, "PREVIEW_SIDE", 64)


def _photo_file(path: Path, w: int = 480, h: int = 320, orientation: int | None = None) -> Path:
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.dstack([x * 255 // w, y * 255 // h, np.full_like(x, 90)]).astype(np.uint8)
    image = Image.fromarray(rgb)
    if orientation is None:
        image.save(path, quality=95)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(path, quality=95, exif=exif.tobytes())
    return path


def _held_load(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Make the full load wait until the returned event is set (the preview job is not held)."""
    gate = threading.Event()
    real = core.imageio.load_photo

    def slow_load(path, **kw):
        assert gate.wait(20), "the test never released the load"
        return real(path, **kw)

    monkeypatch.setattr(core.imageio, "load_photo", slow_load)
    return gate


def test_preview_is_reduced_upright_and_keeps_the_photo_size(tmp_path: Path, small_previews):
    path = _photo_file(tmp_path / "turned.jpg", orientation=6)  # to be turned 90 degrees clockwise
    preview = make_preview(path)
    assert preview is not None and preview.is_preview
    assert (preview.width, preview.height) == (320, 480)  # the upright photo's size, in scene pixels
    assert max(preview.pixels.shape[:2]) < 480 and preview.pixels.shape[1] < preview.pixels.shape[0]
    photo = load_photo(path)
    assert (photo.width, photo.height) == (320, 480)
    full = rgba8(photo.rgb, None)
    for x, y in ((10, 10), (300, 40), (160, 470)):  # the readout reads the matching preview pixel
        assert np.abs(np.subtract(preview.rgb_at(x, y), full[y, x, :3], dtype=int)).max() < 40
    image, factor = preview.level_for(1.0)
    assert image.width() == preview.pixels.shape[1] and factor == pytest.approx(image.width() / 320)


def test_small_or_unreadable_files_get_no_preview(tmp_path: Path):
    assert make_preview(_photo_file(tmp_path / "small.jpg")) is None  # loads fast enough without one
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    assert make_preview(junk) is None


def test_preview_shows_first_then_the_real_pixels_replace_it(qtbot, tmp_path: Path, monkeypatch, small_previews):
    path = _photo_file(tmp_path / "big.jpg")
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    gate = _held_load(monkeypatch)
    handle = window.open_path(path)
    assert handle is not None
    preview = window.open_preview
    qtbot.waitUntil(lambda: preview.showing, timeout=10000)
    shown = preview.view.display
    assert window.stack.currentWidget() is preview.view
    assert shown.is_preview and (shown.width, shown.height) == (480, 320)
    assert window.document is None and window.photo is None  # nothing to edit yet
    assert not window.restore_panel.isEnabled() and not window.restore_panel.run_button.isEnabled()
    assert not window.mask_panel.isEnabled()
    assert window.run_engine(OpenCVInpaint(), {}) is None  # "Open a photo first"
    grab = preview.view.grab().toImage()
    assert grab.width() > 0  # the preview paints

    gate.set()
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    assert not preview.showing and preview.view.display is None
    assert window.stack.currentWidget() is window.canvas
    final = window.canvas.display
    assert final is not None and not final.is_preview
    assert np.array_equal(final.pixels, rgba8(load_photo(path).rgb, None))  # the real pixels, not the preview's
    assert window.restore_panel.isEnabled() and window.mask_panel.isEnabled()
    assert window.document is not None and window.photo.width == 480


def test_a_failed_load_takes_the_preview_away(qtbot, tmp_path: Path, monkeypatch, small_previews):
    path = _photo_file(tmp_path / "big.jpg")
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.show_error = lambda title, message: None
    before = window.stack.currentWidget()
    gate = threading.Event()

    def broken_load(path, **kw):
        gate.wait(20)
        raise CorruptImageError(f"{path} is damaged")

    monkeypatch.setattr(core.imageio, "load_photo", broken_load)
    handle = window.open_path(path)
    qtbot.waitUntil(lambda: window.open_preview.showing, timeout=10000)
    gate.set()
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    assert handle.state == "failed" and not window.open_preview.showing
    assert window.stack.currentWidget() is before and window.restore_panel.isEnabled()


def test_a_preview_arriving_after_the_photo_is_ignored(qtbot, tmp_path: Path, monkeypatch, small_previews):
    path = _photo_file(tmp_path / "big.jpg")
    gate = threading.Event()
    real_job = open_preview._preview_job

    def late_preview(p):
        job = real_job(p)

        def wait_then(progress, cancel):
            gate.wait(20)
            return job(progress, cancel)
        return wait_then

    monkeypatch.setattr(open_preview, "_preview_job", late_preview)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    handle = window.open_path(path)
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    gate.set()
    qtbot.wait(300)
    assert not window.open_preview.showing and window.stack.currentWidget() is window.canvas
    assert not window.canvas.display.is_preview and window.restore_panel.isEnabled()
