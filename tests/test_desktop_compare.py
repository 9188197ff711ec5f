"""Before/after: the split divider follows a drag, side-by-side views stay in step, holding \\ shows
the comparison version, and versions can be compared in any pair."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from core.photo import Photo
from desktop.canvas.compare import SideBySideView
from desktop.canvas.display import make_display
from desktop.canvas.editor import EditorCanvas
from desktop.window import MainWindow
from tests.conftest import gradient_image


def _displays():
    before = make_display(Photo.from_uint8(gradient_image(120, 160)))
    after = make_display(Photo.from_uint8(255 - gradient_image(120, 160)))
    return before, after


def test_split_divider_drag_moves_the_clip(qtbot):
    canvas = EditorCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(400, 300)
    canvas.show()
    before, after = _displays()
    canvas.set_display(after)
    canvas.set_before(before)
    canvas.set_split(True)
    canvas.set_zoom(2.0)
    assert canvas.before_item.isVisible() and canvas.before_item.clip_x == 80.0
    start = canvas.mapFromScene(QPointF(80, 60))
    end = start + type(start)(-40, 0)
    QTest.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(canvas.viewport(), end)
    QTest.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert abs(canvas.split_x - 60.0) <= 1.0  # 40 screen pixels at 200% = 20 photo pixels
    assert canvas.before_item.clip_x == canvas.split_x
    assert canvas.mask_layer.history.can_undo() is False  # dragging the divider painted nothing
    # the rendered view really shows the before image left of the divider and the after image right of it
    image = canvas.viewport().grab().toImage()
    left = image.pixelColor(canvas.mapFromScene(QPointF(canvas.split_x - 10, 60)))
    right = image.pixelColor(canvas.mapFromScene(QPointF(canvas.split_x + 10, 60)))
    bx, ax = before.rgb_at(int(canvas.split_x - 10), 60), after.rgb_at(int(canvas.split_x + 10), 60)
    assert abs(left.red() - bx[0]) < 12 and abs(right.red() - ax[0]) < 12


def test_hold_backslash_shows_the_original(qtbot):
    canvas = EditorCanvas()
    qtbot.addWidget(canvas)
    canvas.show()
    before, after = _displays()
    canvas.set_display(after)
    canvas.set_before(before)
    assert not canvas.before_item.isVisible()
    QTest.keyPress(canvas, Qt.Key.Key_Backslash)
    assert canvas.showing_original and canvas.before_item.isVisible() and canvas.before_item.clip_x is None
    QTest.keyRelease(canvas, Qt.Key.Key_Backslash)
    assert not canvas.showing_original and not canvas.before_item.isVisible()


def test_side_by_side_zoom_and_pan_stay_in_step(qtbot):
    view = SideBySideView()
    qtbot.addWidget(view)
    view.resize(800, 400)
    view.show()
    before, after = _displays()
    view.set_images(before, after)
    view.left.set_zoom(4.0)
    assert view.right.zoom() == 4.0
    view.right.horizontalScrollBar().setValue(view.right.horizontalScrollBar().value() + 37)
    c1, c2 = view.left.center_scene_point(), view.right.center_scene_point()
    assert abs(c1.x() - c2.x()) <= 1.0 and abs(c1.y() - c2.y()) <= 1.0
    # wheel zoom around the cursor on one pane zooms the other too
    QTest.mouseMove(view.right.viewport(), view.right.viewport().rect().center())
    view.right.set_zoom(8.0, QPointF(view.right.viewport().rect().center()))
    assert view.left.zoom() == 8.0


def test_any_two_versions_can_be_compared(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_photo(Photo.from_uint8(gradient_image(40, 60)))
    original = window.versions.current
    v2 = window.versions.add(original.photo.with_rgb(original.photo.rgb * 0.5),
                             make_display(original.photo.with_rgb(original.photo.rgb * 0.5)), "Darker")
    v3 = window.versions.add(original.photo.with_rgb(original.photo.rgb ** 2),
                             make_display(original.photo.with_rgb(original.photo.rgb ** 2)), "Squared")
    assert window.history_panel.list.count() == 3
    window.history_panel.reference_combo.setCurrentIndex(1)  # compare against version 2
    assert window.versions.reference is v2 and window.canvas.before_item.display is window.versions.display(v2)
    window.history_panel.list.setCurrentRow(0)  # show the original, compared against v2
    assert window.versions.current is original and window.canvas.display is window.versions.display(original)
    window.set_view_mode("side")
    assert window.stack.currentWidget() is window.side_by_side
    assert window.side_by_side.left.display is window.versions.display(v2)
    assert window.side_by_side.right.display is window.versions.display(original)
    window.set_view_mode("split")
    assert window.stack.currentWidget() is window.canvas and window.canvas.split_enabled
    assert np.allclose(v3.photo.rgb, original.photo.rgb ** 2)
