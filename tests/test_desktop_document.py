"""The studio as a new user meets it: unsaved versions are never dropped silently, exports never replace a
file silently, runs say what they work on and where each version came from, versions can be renamed and
deleted, the mask steps aside after a fill, and the window fits a laptop screen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from core.engines.inpaint.classical import OpenCVInpaint
from core.photo import Photo
from desktop.canvas.display import make_display
from desktop.canvas.tools import Tool
from desktop.dialogs.export_dialog import ExportDialog, free_path, suggested_path
from desktop.window import MainWindow
from tests.conftest import gradient_image


def _window(qtbot, h: int = 40, w: int = 60) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_photo(Photo.from_uint8(gradient_image(h, w)))
    return window


def _add_version(window: MainWindow, label: str = "Inverted"):
    photo = window.photo.with_rgb(1 - window.photo.rgb)
    return window.versions.add(photo, make_display(photo), label)


def test_unsaved_versions_are_never_dropped_without_asking(qtbot, tmp_path: Path):
    window = _window(qtbot)
    other = tmp_path / "other.png"
    Image.fromarray(gradient_image(20, 30)).save(other)
    assert window.open_path(other) is not None  # nothing unsaved: no question
    qtbot.waitUntil(lambda: window.versions.current is not None and window.photo.width == 30, timeout=5000)
    _add_version(window)
    asked: list[str] = []
    window.ask_unsaved = lambda count, doing: asked.append(f"{count} {doing}") or "cancel"
    assert window.open_path(other) is None and asked == ["1 opening another photo"]
    assert len(window.versions) == 2  # still the same document
    window.close()
    assert window.isVisible() and asked[-1] == "1 quitting"  # Cancel keeps the window open
    window.ask_unsaved = lambda count, doing: "discard"
    handle = window.open_path(other)
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    assert len(window.versions) == 1


def test_save_in_the_prompt_exports_then_goes_on(qtbot, tmp_path: Path):
    window = _window(qtbot)
    version = _add_version(window)
    target = tmp_path / "kept.png"
    window.ask_unsaved = lambda count, doing: "save"
    window.export_dialog = lambda version=None: window.save_to(target, version=version)
    assert window.confirm_discard("quitting")
    assert target.exists() and version.saved_to == target and not window.document.has_unsaved_work()


def test_exports_pick_a_free_name_and_ask_before_replacing(qtbot, tmp_path: Path):
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"x")
    first = suggested_path(source, "Zero-DCE++ (strength=0.5)", "PNG")
    assert first == tmp_path / "photo-zero-dce-strength-0.5.png"
    first.write_bytes(b"earlier export")
    assert suggested_path(source, "Zero-DCE++ (strength=0.5)", "PNG") == tmp_path / "photo-zero-dce-strength-0.5-2.png"
    assert free_path(tmp_path / "new.png") == tmp_path / "new.png"
    dialog = ExportDialog(source, 8, label="Zero-DCE++ (strength=0.5)", last_format="PNG")
    qtbot.addWidget(dialog)
    assert Path(dialog.path.text()).name == "photo-zero-dce-strength-0.5-2.png"
    dialog.format.setCurrentText("PNG")
    assert not dialog.quality.isEnabled()  # PNG has no quality
    dialog.path.setText(str(first))
    asked: list[Path] = []
    dialog.confirm_replace = lambda p: asked.append(p) or False
    dialog.accept()
    assert asked == [first] and not dialog.result()  # not replaced without a yes
    assert "exists" in dialog.warning.text()


def test_export_starts_from_the_last_format(qtbot, tmp_path: Path):
    window = _window(qtbot)
    window.settings.setValue("export/format", "TIFF")
    dialog = ExportDialog(tmp_path / "a.jpg", 8, last_format=window.settings.value("export/format"))
    qtbot.addWidget(dialog)
    assert dialog.format.currentText() == "TIFF" and dialog.path.text().endswith(".tif")


def test_runs_say_what_they_work_on_and_versions_show_their_parent(qtbot):
    window = _window(qtbot)
    panel = window.restore_panel
    assert panel.input_label.text() == "Runs on: 1. Original"
    window.canvas.mask_layer.fill_rect((10, 10, 8, 8))
    handle = window.run_engine(OpenCVInpaint(), {"radius": 3})
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    second = window.versions.current
    assert panel.input_label.text().startswith("Runs on: 2. Classical fill (Telea) (radius=3)")
    panel.original_box.setChecked(True)
    assert panel.input_label.text() == "Runs on: the original"
    handle = window.run_engine(OpenCVInpaint(), {"radius": 7})
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    third = window.versions.current
    assert third.parent_id == window.versions.original().id != second.id
    rows = [window.history_panel.list.item(i).text() for i in range(window.history_panel.list.count())]
    assert rows[1].startswith("2. Classical fill (Telea) (radius=3)  ← from the original")
    assert rows[2].startswith("3. Classical fill (Telea) (radius=7)  ← from the original")
    assert "not saved" in rows[2]
    assert "radius = 7" in window.history_panel.list.item(2).toolTip()


def test_versions_can_be_renamed_deleted_and_exported(qtbot, tmp_path: Path):
    window = _window(qtbot)
    a = _add_version(window, "A")
    b = _add_version(window, "B")
    history = window.history_panel
    history.rename_current("keeper")
    assert b.title == "keeper" and "keeper" in history.list.item(2).text()
    window.versions.set_current(a)
    history.delete_current()
    assert [v.id for v in window.versions.versions] == [1, 3] and b.parent_id == 1
    assert window.versions.current is window.versions.original()
    assert not history.delete_button.isEnabled()  # the original stays
    exported: list = []
    window.export_dialog = lambda version=None: exported.append(version)
    window.versions.set_current(b)
    history.export_button.click()
    assert exported == [b]


def test_the_mask_steps_aside_after_a_fill_and_h_brings_it_back(qtbot):
    window = _window(qtbot)
    layer = window.canvas.mask_layer
    window.canvas.set_tool(Tool.BRUSH)
    layer.fill_rect((5, 5, 10, 10))
    assert layer.is_visible()
    handle = window.run_engine(OpenCVInpaint(), {})
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    assert not layer.is_visible() and not window.actions["toggle_mask"].isChecked()
    assert not layer.is_empty()  # hidden, not cleared: it can be refined and run again
    window.actions["toggle_mask"].trigger()  # H
    assert layer.is_visible()
    window.set_mask_visible(False)
    window.canvas.set_tool(Tool.ERASER)  # painting shows the mask again
    assert layer.is_visible()
    window.mask_panel.restore_opacity(0.0)
    assert window.mask_panel.opacity_to_save() >= 0.1  # an invisible overlay is never what is saved


def test_a_new_photo_starts_fresh(qtbot):
    window = _window(qtbot)
    _add_version(window)
    window.restore_panel.show_error("about the last photo")
    window.set_photo(Photo.from_uint8(gradient_image(20, 20)))
    assert not window.restore_panel.banner.text()
    assert [v.id for v in window.versions.versions] == [1]
    assert window.canvas.mask_layer.doc is window.document.mask and window.document.mask.shape == (20, 20)


def test_the_window_fits_a_1366_by_768_screen_with_every_panel(qtbot):
    window = _window(qtbot)
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)  # the Training tab loads its panel
    qtbot.waitUntil(lambda: window._training_loaded, timeout=5000)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 768 - 40, hint
    assert window.width() <= 1366 or window.screen().availableGeometry().width() > 1366
    tools = window.dock.toggleViewAction()
    assert tools.isEnabled()  # View > Tools panel works
    tools.trigger()
    assert not window.dock.isVisible()
    window.reset_layout()
    assert window.dock.isVisible() and not window.dock.isFloating()


def test_use_in_editor_selects_the_new_model(qtbot, tmp_path: Path):
    from tests.test_store import save_compact

    window = _window(qtbot)
    from core.store import ModelStore

    entry = ModelStore().import_file(save_compact(tmp_path / "upscale.pth"), name="mine")
    handle = window.refresh_engines(select_model=entry.name)
    qtbot.waitUntil(lambda: handle.delivered, timeout=20000)
    assert window.restore_panel.current_engine().id == "model.mine"
    assert window.tabs.currentWidget() is window.restore_panel
    assert np.isfinite(window.photo.rgb).all()
