"""Panels and dialogs: the parameter form follows the schema, the model manager lists a store, the batch
dialog reports a failed file, a corrupt photo gives an error and the app stays usable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QMessageBox, QSlider, QSpinBox

from core.engines.base import Engine, EngineResult, Param
from desktop.dialogs.batch_dialog import BatchDialog
from desktop.dialogs.model_manager import ModelManagerDialog
from desktop.dialogs.shortcuts_dialog import ShortcutsDialog
from desktop.panels.param_form import ParamForm
from desktop.panels.restore_panel import RestorePanel
from desktop.window import MainWindow
from desktop.workers import WorkerPool
from tests.conftest import gradient_image

SCHEMA = (
    Param("strength", "float", 0.5, "How strong.", min=0.0, max=2.0, step=0.05),
    Param("iterations", "int", 4, "How many passes.", min=1, max=16),
    Param("keep_colour", "bool", True, "Keep the colours."),
    Param("mode", "choice", "fast", "Speed or quality.", choices=("fast", "best")),
    Param("tag", "str", "x", "Free text."),
)


class Invert(Engine):
    id = "test.invert"
    task = "general"
    title = "Invert"
    params = SCHEMA

    def process(self, request):
        return EngineResult(request.photo.with_rgb(1.0 - request.photo.rgb))


def test_param_form_is_built_from_the_schema(qtbot):
    form = ParamForm(SCHEMA)
    qtbot.addWidget(form)
    kinds = {name: type(form.control(name)) for name in ("strength", "iterations", "keep_colour", "mode", "tag")}
    assert kinds == {"strength": QDoubleSpinBox, "iterations": QSpinBox, "keep_colour": QCheckBox,
                     "mode": QComboBox, "tag": QLineEdit}
    assert form.values() == {"strength": 0.5, "iterations": 4, "keep_colour": True, "mode": "fast", "tag": "x"}
    spin = form.control("strength")
    assert (spin.minimum(), spin.maximum(), spin.singleStep()) == (0.0, 2.0, 0.05)
    slider = form.findChild(QSlider, "slider-strength")
    slider.setValue(slider.maximum())  # the slider drives the spin box
    assert spin.value() == 2.0
    form.control("mode").setCurrentText("best")
    form.control("iterations").setValue(9)
    assert form.values()["mode"] == "best" and form.values()["iterations"] == 9
    assert Invert().resolve_params(form.values())  # whatever the form produces, the engine accepts
    form.reset()
    assert form.values()["iterations"] == 4
    labels = [form._layout.itemAt(i, form._layout.ItemRole.LabelRole).widget() for i in range(5)]
    assert [lab.toolTip() for lab in labels] == [p.help for p in SCHEMA]


def test_restore_panel_lists_engines_by_task_and_emits_run(qtbot):
    from core.engines.inpaint.classical import OpenCVInpaint

    panel = RestorePanel()
    qtbot.addWidget(panel)
    invert = Invert()
    panel.set_engines([OpenCVInpaint(), invert])
    tasks = [panel.task_combo.itemData(i) for i in range(panel.task_combo.count())]
    assert tasks == ["inpaint", "general"]
    assert panel.select_engine("test.invert") and panel.current_engine() is invert
    with qtbot.waitSignal(panel.run_requested) as sig:
        panel.run_button.click()
    assert sig.args[0] is invert and sig.args[1]["mode"] == "fast"


@dataclass
class FakeEntry:
    name: str
    architecture: str
    task: str
    scale: int
    file_size: int
    license: str


@dataclass
class FakeCatalogEntry:
    id: str
    name: str
    task: str
    size: int
    license: str


class FakeStore:
    def __init__(self) -> None:
        self.entries = [FakeEntry("zero-dce-ours", "Zero-DCE", "lowlight", 1, 320_000, "MIT")]
        self.downloads = []

    def list(self):
        return list(self.entries)

    def import_file(self, path, name=None):
        entry = FakeEntry(name or Path(path).stem, "GPEN", "face", 1, Path(path).stat().st_size, "unknown")
        self.entries.append(entry)
        return entry

    def remove(self, name):
        self.entries = [e for e in self.entries if e.name != name]

    def download(self, catalog_id, progress=None, cancel=None):
        for i in range(4):
            cancel.raise_if_cancelled()
            progress((i + 1) * 1000, 4000, "downloading")
        entry = FakeEntry(catalog_id, "LaMa", "inpaint", 1, 4000, "Apache-2.0")
        self.entries.append(entry)
        return entry


def test_model_manager_lists_imports_removes_and_downloads(qtbot, tmp_path):
    pool = WorkerPool()
    store = FakeStore()
    catalog = [FakeCatalogEntry("lama", "LaMa (big)", "inpaint", 200 * 2**20, "Apache-2.0")]
    dialog = ModelManagerDialog(pool, store_factory=lambda: store, catalog=catalog)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.installed.rowCount() == 1, timeout=5000)
    cells = [dialog.installed.item(0, c).text() for c in range(6)]
    # the task column shows the task's title (core.kinds.TASK_TITLES); the task id stays on the item
    assert cells == ["zero-dce-ours", "Brighten a dark photo", "Zero-DCE", "1x", "312.5 KB", "MIT"]
    assert dialog.installed.item(0, 1).data(Qt.ItemDataRole.UserRole + 1) == "lowlight"
    assert dialog.available.item(0, 2).text() == "200.0 MB"
    ckpt = tmp_path / "GPEN-BFR-512.pth"
    ckpt.write_bytes(b"0" * 2048)
    with qtbot.waitSignal(dialog.store_changed, timeout=5000):
        dialog.import_files([ckpt])
    assert dialog.installed.rowCount() == 2 and dialog.installed.item(1, 0).text() == "GPEN-BFR-512"
    with qtbot.waitSignal(dialog.store_changed, timeout=5000):
        dialog.remove("zero-dce-ours")
    assert dialog.installed.rowCount() == 1
    dialog.available.selectRow(0)
    seen = []
    handle = dialog.download("lama")
    handle.on(progress=lambda d, t, m: seen.append(dialog.progress.value()))
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    assert handle.state == "succeeded", handle.error
    assert seen and max(seen) > 0  # the progress bar followed the download
    assert dialog.installed.rowCount() == 2 and dialog.download_button.isEnabled()


def test_model_manager_shows_store_errors(qtbot):
    class Broken(FakeStore):
        def import_file(self, path, name=None):
            from core.errors import RestoraError

            raise RestoraError(f"{Path(path).name} is not a checkpoint Restora recognises.")

    dialog = ModelManagerDialog(WorkerPool(), store_factory=Broken, catalog=[])
    qtbot.addWidget(dialog)
    handle = dialog.import_files(["/nonexistent/thing.pth"])
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    assert "not a checkpoint" in dialog.banner.text()


def test_batch_dialog_continues_past_a_bad_file_and_reports_it(qtbot, tmp_path):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("a.png", "c.png"):
        Image.fromarray(gradient_image(20, 30)).save(src / name)
    (src / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    dialog = BatchDialog(WorkerPool(), [Invert()])
    qtbot.addWidget(dialog)
    dialog.input_dir.setText(str(src))
    dialog.output_dir.setText(str(dst))
    handle = dialog.start()
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    assert handle.state == "succeeded", handle.error
    assert sorted(p.name for p in dst.iterdir()) == ["a.png", "c.png"]
    assert dialog.failures.count() == 1 and dialog.failures.item(0).text().startswith("b.jpg:")
    assert "2 written, 1 failed" in dialog.summary.text()
    out = np.asarray(Image.open(dst / "a.png"))
    assert np.array_equal(out, 255 - gradient_image(20, 30))


def test_batch_dialog_keeps_sub_folders_and_skips_what_is_done(qtbot, tmp_path):
    src, dst = tmp_path / "in", tmp_path / "out"
    for sub in ("day1", "day2"):
        (src / sub).mkdir(parents=True)
        Image.fromarray(gradient_image(20, 30)).save(src / sub / "IMG_1.png")
    dialog = BatchDialog(WorkerPool(), [Invert()])
    qtbot.addWidget(dialog)
    dialog.input_dir.setText(str(src))
    dialog.output_dir.setText(str(dst))
    dialog.recursive.setChecked(True)
    handle = dialog.start()
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*.png")) == ["day1/IMG_1.png", "day2/IMG_1.png"]
    (dst / "day2" / "IMG_1.png").unlink()
    dialog.skip_done.setChecked(True)
    handle = dialog.start()
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    assert "1 written, 0 failed, 1 skipped as already done" in dialog.summary.text()
    assert dialog.progress.format() == "Done"


def test_batch_dialog_shows_what_a_cancelled_batch_did(qtbot, tmp_path):
    class CancelsOnB(Invert):
        def process(self, request):
            if request.photo.meta.source_path.name == "b.png":
                request.cancel.cancel()  # as the Cancel button does, while b.png is being restored
            request.cancel.raise_if_cancelled()
            return super().process(request)

    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(gradient_image(20, 30)).save(src / name)
    dialog = BatchDialog(WorkerPool(), [CancelsOnB()])
    qtbot.addWidget(dialog)
    dialog.input_dir.setText(str(src))
    dialog.output_dir.setText(str(dst))
    handle = dialog.start()
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    assert handle.state == "cancelled"
    assert [p.name for p in dst.iterdir()] == ["a.png"]
    assert "1 written" in dialog.summary.text() and "cancelled; 2 not done" in dialog.summary.text()
    assert dialog.progress.format() == "Stopped"


def test_batch_dialog_refuses_the_input_folder_as_output(qtbot, tmp_path):
    dialog = BatchDialog(WorkerPool(), [Invert()])
    qtbot.addWidget(dialog)
    dialog.input_dir.setText(str(tmp_path))
    dialog.output_dir.setText(str(tmp_path))
    assert dialog.start() is None and "different" in dialog.banner.text()


def test_corrupt_file_shows_an_error_and_the_app_stays_usable(qtbot, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    handle = window.open_path(bad)
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    box = window.findChild(QMessageBox, "error-dialog")
    assert box is not None and "bad.png" in box.text()
    box.close()
    good = tmp_path / "good.png"
    Image.fromarray(gradient_image()).save(good)
    handle = window.open_path(good)
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    assert window.photo is not None and window.photo.size == (64, 48)


def test_save_never_overwrites_the_original_without_confirmation(qtbot, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    path = tmp_path / "photo.png"
    Image.fromarray(gradient_image()).save(path)
    before = path.read_bytes()
    handle = window.open_path(path)
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    window.versions.add(window.photo.with_rgb(1 - window.photo.rgb), window.versions.display(window.versions.current),
                        "Inverted")
    asked = []
    window.confirm_overwrite = lambda p: asked.append(p) or False
    assert window.save() is None and asked == [path] and path.read_bytes() == before
    window.confirm_overwrite = lambda p: True
    handle = window.save()
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    assert handle.state == "succeeded" and path.read_bytes() != before
    export = tmp_path / "copy.jpg"
    handle = window.save_to(export, quality=80, keep_metadata=False)
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    assert export.exists() and window.last_export == export


def test_recent_files_and_window_state_live_in_restora_home(qtbot, tmp_path, restora_home):
    window = MainWindow()
    qtbot.addWidget(window)
    path = tmp_path / "p.png"
    Image.fromarray(gradient_image()).save(path)
    handle = window.open_path(path)
    qtbot.waitUntil(lambda: handle.delivered, timeout=5000)
    window.canvas.set_brush_size(77)
    window.save_state()
    assert (restora_home / "config" / "desktop.ini").exists()
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.canvas.mask_layer.brush_size == 77
    from desktop.settings_store import recent_files

    assert recent_files(again.settings)[0] == str(path.resolve())


def test_shortcuts_dialog_lists_every_action(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    keys = {dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
    for action in window.actions.values():
        if not action.shortcut().isEmpty():
            shown = action.shortcut().toString()
            assert shown in keys or shown.replace("Return", "Return") in keys
