"""The studio brings up the fill engines when the user paints a mask on a photo, unless they picked an
engine themselves since the photo was opened."""

from __future__ import annotations

from core.engines.registry import default_registry
from core.photo import Photo
from desktop.window import MainWindow
from tests.conftest import gradient_image


def _window(qtbot) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.restore_panel.set_engines(default_registry(include_store=False).list())
    window.set_photo(Photo.from_uint8(gradient_image(40, 50)))
    return window


def _pick(panel, task: str) -> None:
    """What a click on the task list does: the index changes, then `activated` (user input only) fires."""
    index = panel.task_combo.findData(task)
    panel.task_combo.setCurrentIndex(index)
    panel.task_combo.activated.emit(index)


def test_painting_the_first_mask_switches_to_the_automatic_fill_once(qtbot):
    window = _window(qtbot)
    panel = window.restore_panel
    assert panel.task_combo.currentData() == "lowlight"  # the first task listed
    window.canvas.mask_layer.fill_rect((10, 10, 8, 8))
    assert panel.task_combo.currentData() == "inpaint" and panel.current_engine().id == "inpaint.auto"
    assert "thin scratches" in panel.description.text()
    _pick(panel, "lowlight")  # the user goes back on purpose: later strokes leave that alone
    window.canvas.mask_layer.fill_rect((20, 20, 5, 5))
    assert panel.task_combo.currentData() == "lowlight"
    window.set_photo(Photo.from_uint8(gradient_image(30, 30)))  # a new photo: its first mask offers again
    window.canvas.mask_layer.fill_rect((2, 2, 4, 4))
    assert panel.task_combo.currentData() == "inpaint"


def test_an_engine_picked_before_painting_is_kept(qtbot):
    window = _window(qtbot)
    panel = window.restore_panel
    engine = panel.engine_combo.findData("lowlight.clahe")
    panel.engine_combo.setCurrentIndex(engine)
    panel.engine_combo.activated.emit(engine)  # the user picked a brightening engine, then paints
    window.canvas.mask_layer.fill_rect((10, 10, 8, 8))
    assert panel.current_engine().id == "lowlight.clahe"
