"""Mask editing: exact brush pixels, fills, invert, grow/shrink, and undo/redo that stores only patches."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from core.masks import fill_polygon, grow_mask, invert_mask, paint_segment, shrink_mask
from core.photo import Photo
from desktop.canvas.editor import EditorCanvas
from desktop.canvas.mask_layer import MaskLayer
from desktop.canvas.tools import Tool


def _expected_disk_segment(shape, a, b, r):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / (dx * dx + dy * dy), 0, 1)
    d = np.hypot(xx - (ax + t * dx), yy - (ay + t * dy))
    return np.where(d <= r, 255, 0).astype(np.uint8)


def test_hard_brush_segment_sets_exactly_the_pixels_within_the_radius():
    mask = np.zeros((40, 60), np.uint8)
    rect = paint_segment(mask, (10, 12), (40, 20), 5.0, hardness=1.0)
    assert np.array_equal(mask, _expected_disk_segment(mask.shape, (10, 12), (40, 20), 5.0))
    x, y, w, h = rect
    outside = mask.copy()
    outside[y:y + h, x:x + w] = 0
    assert not outside.any()  # nothing painted outside the reported rectangle
    paint_segment(mask, (10, 12), (40, 20), 5.0, erase=True)
    assert not mask.any()


def test_soft_brush_fades_and_clips_at_the_border():
    mask = np.zeros((20, 20), np.uint8)
    rect = paint_segment(mask, (0, 0), (0, 0), 8.0, hardness=0.0)
    assert rect == (0, 0, 9, 9)
    assert mask[0, 0] == 255 and 0 < mask[0, 5] < 255 and mask[0, 9] == 0


def test_lasso_invert_grow_shrink():
    mask = np.zeros((50, 50), np.uint8)
    fill_polygon(mask, [(10, 10), (30, 10), (30, 30), (10, 30)])
    assert mask[10:31, 10:31].all() and mask.sum() == 21 * 21 * 255
    grown = grow_mask(mask, 3)
    assert grown[7, 20] == 255 and grown[6, 20] == 0 and grown[20, 33] == 255
    assert np.array_equal(shrink_mask(grown, 3), mask)
    shrunk = shrink_mask(mask, 2)
    assert shrunk[12:29, 12:29].all() and shrunk[11, 20] == 0
    invert_mask(mask)
    assert mask[0, 0] == 255 and mask[20, 20] == 0


def test_layer_undo_redo_restores_exactly_and_stores_only_patches(qapp):
    layer = MaskLayer()
    layer.reset(600, 800)
    layer.brush_size = 10
    layer.begin_stroke(100, 100)
    layer.stroke_to(300, 120)
    layer.end_stroke()
    after_stroke = layer.mask.copy()
    layer.fill_rect((500, 400, 50, 30))
    assert layer.mask[400:430, 500:550].all() and layer.mask[399, 500] == 0 and layer.mask[430, 549] == 0
    layer.fill_lasso([(600, 100), (700, 100), (650, 200)])
    assert layer.mask[150, 650] == 255
    after_all = layer.mask.copy()
    assert layer.history.nbytes < 2 * (210 * 30 + 50 * 30 + 102 * 102) + 1000  # patches, not full copies
    layer.undo()
    layer.undo()
    assert np.array_equal(layer.mask, after_stroke)
    layer.undo()
    assert not layer.mask.any()
    for _ in range(3):
        layer.redo()
    assert np.array_equal(layer.mask, after_all)
    layer.invert()
    layer.grow(4)
    layer.shrink(4)
    layer.clear()
    assert not layer.mask.any()
    for _ in range(4):
        layer.undo()
    assert np.array_equal(layer.mask, after_all)
    layer.undo()
    layer.brush_size = 4
    layer.begin_stroke(5, 5)
    layer.end_stroke()
    assert not layer.history.can_redo()  # a new edit drops the redo stack


def test_painting_with_the_mouse_on_the_canvas(qtbot):
    canvas = EditorCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(400, 300)
    canvas.show()
    canvas.set_display(_display(200, 100))
    canvas.set_zoom(1.0)
    canvas.set_tool(Tool.BRUSH)
    canvas.set_brush_size(10)
    start = canvas.mapFromScene(50, 50)
    end = canvas.mapFromScene(120, 50)
    QTest.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(canvas.viewport(), end)
    QTest.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    mask = canvas.mask_layer.mask
    p0, p1 = canvas.mapToScene(start), canvas.mapToScene(end)
    expected = _expected_disk_segment(mask.shape, (p0.x(), p0.y()), (p1.x(), p1.y()), 5.0)
    assert np.array_equal(mask, expected)
    canvas.mask_layer.undo()
    assert not mask.any()
    canvas.mask_layer.redo()
    assert np.array_equal(mask, expected)
    # a rectangle dragged with the rectangle tool, then Alt-erased
    canvas.set_tool(Tool.RECT)
    a, b = canvas.mapFromScene(10, 10), canvas.mapFromScene(30, 20)
    QTest.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(canvas.viewport(), b)
    QTest.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
    ra, rb = canvas.mapToScene(a), canvas.mapToScene(b)
    assert mask[int(ra.y()) + 1, int(ra.x()) + 1] == 255 and mask[int(rb.y()) + 2, int(rb.x()) + 2] == 0


def test_mask_save_and_load_round_trip(qapp, tmp_path):
    layer = MaskLayer()
    layer.reset(30, 40)
    layer.fill_rect((5, 5, 10, 10))
    path = layer.save(tmp_path / "m.png")
    saved = layer.mask.copy()
    layer.clear()
    layer.load(path)
    assert np.array_equal(layer.mask, saved)


def _display(w, h):
    from desktop.canvas.display import make_display

    rng = np.random.default_rng(0)
    return make_display(Photo.from_uint8(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)))


# --- the mask panel ---------------------------------------------------------------------------------
def test_mask_panel_sliders_show_their_values(qtbot):
    from desktop.panels.mask_panel import MaskPanel

    canvas = EditorCanvas()
    panel = MaskPanel(canvas)
    qtbot.addWidget(canvas)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.hardness_value.text() == f"{panel.hardness.value()}%"
    assert panel.opacity_value.text() == f"{panel.opacity.value()}%"
    panel.hardness.setValue(35)
    panel.opacity.setValue(80)
    assert panel.hardness_value.text() == "35%" and panel.opacity_value.text() == "80%"
    assert canvas.mask_layer.hardness == 0.35 and abs(canvas.mask_layer.opacity() - 0.8) < 1e-6
    # the value labels sit beside their sliders, wide enough for "100%"
    for slider, label in ((panel.hardness, panel.hardness_value), (panel.opacity, panel.opacity_value)):
        assert label.isVisible() and label.parentWidget() is slider.parentWidget()
        assert label.width() >= label.fontMetrics().horizontalAdvance("100%")


def test_an_invisible_overlay_opacity_is_never_restored(qtbot):
    from desktop.panels.mask_panel import DEFAULT_OPACITY_PERCENT, usable_opacity
    from desktop.window import MainWindow

    assert [usable_opacity(v) for v in (0, 5, "9", 10, 30, "75", 100, 250, None, "junk", -3)] == \
        [50, 50, 50, 10, 30, 75, 100, 50, 50, 50, 50]
    window = MainWindow()
    qtbot.addWidget(window)
    window.mask_panel.opacity.setValue(0)  # hidden during the session is fine...
    assert window.canvas.mask_layer.opacity() == 0.0
    window.save_state()  # ...but it is not what the next start gets
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.mask_panel.opacity.value() == DEFAULT_OPACITY_PERCENT == 50
    assert abs(again.canvas.mask_layer.opacity() - 0.5) < 1e-6
    # a settings file that already holds an invisible opacity (an older version wrote it) starts at 50% too
    again.settings.setValue("mask/opacity", 0)
    again.settings.sync()
    third = MainWindow()
    qtbot.addWidget(third)
    assert third.mask_panel.opacity.value() == 50
    third.mask_panel.opacity.setValue(30)  # a faint but visible overlay is remembered as it is
    third.save_state()
    fourth = MainWindow()
    qtbot.addWidget(fourth)
    assert fourth.mask_panel.opacity.value() == 30
