"""Photo views: wheel zoom keeps the photo point under the cursor still (from Fit too), the side-by-side
panes are always equally wide and answer Fit/100%/zoom together, and the status bar's zoom readout follows
whichever view is shown."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from core.photo import Photo
from desktop.canvas.compare import SideBySideView
from desktop.canvas.display import make_display
from desktop.canvas.editor import EditorCanvas
from desktop.canvas.view import PhotoView
from desktop.window import MainWindow
from tests.conftest import gradient_image


def _wheel(view: PhotoView, pos: QPointF, notches: float,
           modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    event = QWheelEvent(pos, QPointF(view.viewport().mapToGlobal(pos.toPoint())), QPoint(),
                        QPoint(0, round(120 * notches)), Qt.MouseButton.NoButton, modifiers,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)


def _screen_drift(view: PhotoView, scene_point: QPointF, pos: QPointF) -> float:
    """How far (screen pixels) the scene point has moved away from the viewport position."""
    now = view.viewportTransform().map(scene_point)
    return max(abs(now.x() - pos.x()), abs(now.y() - pos.y()))


@pytest.mark.parametrize("view_class", [PhotoView, EditorCanvas])
@pytest.mark.parametrize("shape", [(300, 600), (600, 300), (40, 50)])
def test_wheel_zoom_from_fit_keeps_the_point_under_the_cursor(qtbot, view_class, shape):
    view = view_class()
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    view.set_display(make_display(Photo.from_uint8(gradient_image(*shape))))
    for pos in (QPointF(90, 70), QPointF(420.5, 351), QPointF(250, 200)):
        view.fit()
        assert view.is_fit()
        point = view.to_scene(pos)
        for notches in (1, 1, 2, -1, -3, -2, 4, 0.5):
            _wheel(view, pos, notches)
            assert _screen_drift(view, point, pos) <= 0.75, (shape, pos.x(), pos.y(), notches)
        assert not view.is_fit()


def test_keyboard_zoom_keeps_the_view_centre(qtbot):
    view = PhotoView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    view.set_display(make_display(Photo.from_uint8(gradient_image(200, 300))))
    centre = view.center_scene_point()
    for step in (view.zoom_in, view.zoom_in, view.actual_pixels, view.zoom_out, view.zoom_out):
        step()
        assert _screen_drift(view, centre, view.viewport_center()) <= 0.75


def test_shift_wheel_pans_sideways_without_zooming(qtbot):
    view = PhotoView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    view.set_display(make_display(Photo.from_uint8(gradient_image(200, 300))))
    view.set_zoom(4.0)
    before = view.center_scene_point()
    _wheel(view, QPointF(200, 150), -1, Qt.KeyboardModifier.ShiftModifier)
    after = view.center_scene_point()
    assert view.zoom() == 4.0 and after.x() > before.x() + 5 and abs(after.y() - before.y()) < 0.5


def _side_by_side(qtbot, width: int = 801, height: int = 400) -> SideBySideView:
    view = SideBySideView()
    qtbot.addWidget(view)
    view.resize(width, height)
    view.show()
    before = make_display(Photo.from_uint8(gradient_image(120, 160)))
    after = make_display(Photo.from_uint8(255 - gradient_image(120, 160)))
    view.set_images(before, after, "1. Original", "2. " + "A very long engine label with parameters " * 4)
    return view


def _same_view(a: PhotoView, b: PhotoView) -> bool:
    ca, cb = a.center_scene_point(), b.center_scene_point()
    return a.zoom() == b.zoom() and abs(ca.x() - cb.x()) <= 0.5 and abs(ca.y() - cb.y()) <= 0.5


def test_side_by_side_panes_are_always_equal(qtbot):
    view = _side_by_side(qtbot)
    for width in (801, 640, 333, 1200, 500):
        view.resize(width, 400)
        QApplication.processEvents()
        left, right = view.left_pane.geometry(), view.right_pane.geometry()
        assert left.width() == right.width() == view.pane_width()
        assert left.left() == 0 and right.right() == width - 1  # nothing cropped off either side
        assert view.left.viewport().size() == view.right.viewport().size()
        assert _same_view(view.left, view.right)
    # a long version label is elided, not allowed to widen its pane
    assert view.right_pane.title.text() != view.right_pane.title.title()
    assert view.right_pane.title.toolTip() == view.right_pane.title.title()


def test_side_by_side_fit_actual_and_zoom_act_on_both(qtbot):
    view = _side_by_side(qtbot)
    zooms: list[float] = []
    view.zoom_changed.connect(zooms.append)
    view.actual_pixels()
    assert view.left.zoom() == view.right.zoom() == 1.0 and zooms[-1] == 1.0
    view.zoom_in()
    assert view.left.zoom() == view.right.zoom() == 1.25 and zooms[-1] == 1.25
    view.zoom_out()
    view.zoom_out()
    assert view.left.zoom() == pytest.approx(0.8) and _same_view(view.left, view.right)
    view.left.set_zoom(6.0, QPointF(30, 40))  # zooming one pane with the wheel moves the other
    assert _same_view(view.left, view.right) and zooms[-1] == 6.0
    view.fit()
    assert view.left.is_fit() and view.right.is_fit() and _same_view(view.left, view.right)
    assert zooms[-1] == view.zoom() < 6.0
    view.resize(1000, 500)  # still fitted after a resize, both panes
    QApplication.processEvents()
    assert view.left.is_fit() and _same_view(view.left, view.right)


def _window_with_photo(qtbot) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1024, 700)
    window.show()
    window.set_photo(Photo.from_uint8(gradient_image(600, 900)))
    QApplication.processEvents()
    return window


def _readout(window: MainWindow) -> str:
    return window.status.zoom.text()


def test_window_view_actions_and_zoom_readout_in_side_by_side(qtbot):
    window = _window_with_photo(qtbot)
    window.canvas.set_zoom(3.0, QPointF(100, 100))
    centre = window.canvas.center_scene_point()
    assert _readout(window) == "300%"
    window.actions["view_side"].trigger()
    QApplication.processEvents()
    side = window.side_by_side
    assert window.stack.currentWidget() is side
    assert side.left.zoom() == side.right.zoom() == 3.0 and _readout(window) == "300%"
    c = side.right.center_scene_point()
    assert abs(c.x() - centre.x()) <= 0.5 and abs(c.y() - centre.y()) <= 0.5
    assert _same_view(side.left, side.right)
    assert side.left_pane.width() == side.right_pane.width()

    window.actions["fit"].trigger()  # Ctrl+0
    assert side.left.is_fit() and side.right.is_fit() and _same_view(side.left, side.right)
    assert _readout(window) == f"{side.zoom() * 100:.0f}%" and side.zoom() < 1.0
    window.actions["actual_size"].trigger()
    assert side.left.zoom() == side.right.zoom() == 1.0 and _readout(window) == "100%"
    window.actions["zoom_in"].trigger()
    assert side.left.zoom() == side.right.zoom() == 1.25 and _readout(window) == "125%"
    window.actions["zoom_out"].trigger()
    window.actions["zoom_out"].trigger()
    assert side.left.zoom() == side.right.zoom() == pytest.approx(0.8) and _readout(window) == "80%"
    _wheel(side.left, QPointF(50, 60), 1)  # the wheel on either pane updates the readout too
    assert side.right.zoom() == pytest.approx(1.0) and _readout(window) == "100%"
    assert not window.canvas.is_fit() or window.canvas.zoom() != 1.0  # the hidden canvas did not move

    window.actions["view_single"].trigger()  # back to the canvas at the side-by-side zoom
    assert window.stack.currentWidget() is window.canvas
    assert window.canvas.zoom() == pytest.approx(1.0) and _readout(window) == "100%"
    window.actions["fit"].trigger()
    assert window.canvas.is_fit() and _readout(window) == f"{window.canvas.zoom() * 100:.0f}%"


def test_side_by_side_follows_a_fitted_canvas(qtbot):
    window = _window_with_photo(qtbot)
    assert window.canvas.is_fit()
    window.set_view_mode("side")
    QApplication.processEvents()
    side = window.side_by_side
    assert side.left.is_fit() and side.right.is_fit() and _same_view(side.left, side.right)
    assert _readout(window) == f"{side.zoom() * 100:.0f}%"
    # opening another photo while side by side keeps the readout on the panes
    window.set_photo(Photo.from_uint8(gradient_image(300, 200)))
    QApplication.processEvents()
    assert window.stack.currentWidget() is side and _readout(window) == f"{side.zoom() * 100:.0f}%"


def test_status_bar_fits_a_1024_px_window(qtbot):
    window = _window_with_photo(qtbot)
    window.statusBar().showMessage("untitled: 900 x 600, 8-bit", 6000)  # messages never cover the zoom readout
    long_device = ("Device: cpu (AMD EPYC 7B13 64-Core Processor, 2 threads, 22.4 of 23.5 GiB free; "
                   "float32, bfloat16)")
    window.status.device.setText(long_device)
    window.status.show_job("Running Zero-DCE++ on a photo with a long file name.png (+1)", 3, 10)
    window.status.show_zoom(0.75)
    QApplication.processEvents()
    bar, s = window.statusBar(), window.status
    shown = [s.zoom, s.job, s.job_progress, s.memory, s.device]
    assert all(w.isVisible() for w in shown)
    spans = sorted((w.geometry().left(), w.geometry().right()) for w in shown)
    assert spans[0][0] >= 0 and spans[-1][1] < bar.width()  # nothing runs off the right edge
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))  # nor over a neighbour
    zoom = s.zoom
    assert zoom.fontMetrics().horizontalAdvance(zoom.text()) <= zoom.contentsRect().width()
    # the long labels elide (full text kept and in the tooltip) instead of being cut off
    assert s.device.text() == long_device and s.device.toolTip() == long_device
    assert s.device.shown_text().endswith("…") and s.device.shown_text() != long_device
    for label in (s.device, s.job):
        assert label.fontMetrics().horizontalAdvance(label.shown_text()) <= label.contentsRect().width()
    # once the message is gone, the pixel readout fits beside them too
    bar.clearMessage()
    window.status.show_pixel(1234, 567, (255, 128, 3))
    QApplication.processEvents()
    pixel = s.pixel
    assert pixel.isVisible() and pixel.geometry().right() < min(w.geometry().left() for w in shown)
    assert pixel.fontMetrics().horizontalAdvance(pixel.text()) <= pixel.contentsRect().width()
