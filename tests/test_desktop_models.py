"""The Models dialog as a new user meets it: the real catalog loads (and a failure to load it shows), sizes
in human units, the catalog's name and licence for a known checkpoint, which engine runs each model, notes
and store problems, the empty state, reopening shows the store as it is now, downloads cancel, and the
layout fits a 1366x768 screen with most of the catalog visible."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from core.store import ModelStore
from core.store.catalog import CATALOG
from desktop.dialogs.model_manager import CHECKPOINT_FILTER, ModelManagerDialog, human_size, is_checkpoint
from desktop.workers import WorkerPool
from tests.test_store import save_compact


@dataclass
class Entry:
    name: str
    architecture: str = "Compact"
    task: str = "general"
    scale: int = 1
    file_size: int = 52_395
    license: str = ""
    sha256: str = "0" * 64
    source: str = "imported"
    catalog_id: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Item:
    id: str
    name: str
    task: str = "general"
    architecture: str = "Compact"
    size: int | None = 1_000_000
    license: str = "BSD-3-Clause"
    sha256: str | None = None
    notes: str = ""


class Store:
    def __init__(self, entries: list[Entry] | None = None) -> None:
        self.entries = list(entries or [])
        self.problems: list[str] = []
        self.release = threading.Event()

    def list(self) -> list[Entry]:
        return list(self.entries)

    def remove(self, name: str) -> None:
        self.entries = [e for e in self.entries if e.name != name]

    def download(self, catalog_id, progress=None, cancel=None):
        progress(1000, 4000, "Downloading")
        while not cancel.cancelled:  # a slow server: only Cancel ends it
            self.release.wait(0.01)
        cancel.raise_if_cancelled()


def opened(qtbot, store, catalog=None, **kwargs) -> ModelManagerDialog:
    dialog = ModelManagerDialog(WorkerPool(), store_factory=lambda: store, catalog=catalog, **kwargs)
    qtbot.addWidget(dialog)
    settle(qtbot, dialog)
    return dialog


def settle(qtbot, dialog: ModelManagerDialog) -> None:
    qtbot.waitUntil(lambda: dialog.last_job is not None and dialog.last_job.delivered, timeout=20000)


def cells(table, row: int) -> list[str]:
    return [table.item(row, c).text() for c in range(table.columnCount())]


def shot(widget, name: str) -> None:
    """With RESTORA_SHOTS=FOLDER, save the widget as FOLDER/name.png to look at."""
    import os

    if os.environ.get("RESTORA_SHOTS"):
        folder = Path(os.environ["RESTORA_SHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        from desktop.app import STYLE_SHEET

        widget.setStyleSheet(STYLE_SHEET.read_text(encoding="utf-8"))  # as the app shows it
        widget.grab().save(str(folder / f"{name}.png"))


def test_model_manager_helpers_keep_their_names():
    assert is_checkpoint("a/b/GPEN.PTH") and not is_checkpoint("photo.png")
    assert CHECKPOINT_FILTER.startswith("Checkpoints (*.pth *.pt *.ckpt *.safetensors *.bin)")
    assert [human_size(v) for v in (0, 900, 52_395, 320_000, 200 * 2**20, None)] == \
        ["0 B", "900 B", "51.2 KB", "312.5 KB", "200.0 MB", "unknown"]


def test_model_manager_lists_the_real_catalog_and_the_empty_store(qtbot, tmp_path):
    dialog = opened(qtbot, ModelStore(tmp_path / "store"))
    assert dialog.available.rowCount() == len(CATALOG)
    assert [dialog.available.item(r, 0).text() for r in range(len(CATALOG))] == [c.name for c in CATALOG]
    zero_pp = next(r for r in range(len(CATALOG)) if CATALOG[r].id == "zero-dce-pp")
    assert cells(dialog.available, zero_pp)[:3] == ["Zero-DCE++", "Brighten a dark photo", "51.2 KB"]
    assert dialog.tabs.tabText(0) == "Installed (0)" and dialog.tabs.tabText(1) == f"Download ({len(CATALOG)})"
    assert dialog.installed_tab.stack.currentIndex() == 1  # the empty-state page, not an empty table
    assert "No models installed yet" in dialog.installed_tab.empty.text()
    assert dialog.banner.text() == ""
    assert dialog.download_button.isEnabled()  # the first item is selected and can be downloaded
    dialog.show()
    shot(dialog, "models-empty")


def test_model_manager_says_when_the_catalog_cannot_be_loaded(qtbot, monkeypatch):
    monkeypatch.setitem(sys.modules, "core.store.catalog", None)  # importing it now raises ImportError
    dialog = opened(qtbot, Store())
    assert "download catalog could not be loaded" in dialog.banner.text()
    assert "download catalog could not be loaded" in dialog.download_tab.message.text()
    assert dialog.download_tab.stack.currentIndex() == 1 and not dialog.download_button.isEnabled()


def test_model_manager_shows_a_real_model_in_human_terms(qtbot, tmp_path):
    store = ModelStore(tmp_path / "store")
    dialog = opened(qtbot, store, catalog=[])
    src = save_compact(tmp_path / "tiny x2.pth")
    with qtbot.waitSignal(dialog.store_changed, timeout=20000):
        dialog.import_files([src])
    row = cells(dialog.installed, 0)
    size = human_size(src.stat().st_size)
    assert size.endswith(" KB") and not size.startswith("0")
    assert row == ["tiny-x2", "General clean-up", "Compact", "2x", size, "", "Own engine", "Imported"]
    assert "tiny-x2 (Compact)" in dialog.installed.item(0, 6).toolTip()  # where the restore panel lists it
    assert dialog.installed_tab.stack.currentIndex() == 0 and dialog.tabs.tabText(0) == "Installed (1)"
    assert "Licence: not recorded" in dialog.installed_tab.details.text()


def test_model_manager_names_checkpoints_the_catalog_knows(qtbot, tmp_path):
    store = ModelStore(tmp_path / "store")
    entry = store.import_file(save_compact(tmp_path / "Epoch99.pth"))  # imported by hand, no licence given
    catalog = [Item("other", "Other model"), Item("tiny", "Tiny Compact x2", sha256=entry.sha256,
                                                  license="BSD-3-Clause", notes="A small test model.")]
    dialog = opened(qtbot, store, catalog=catalog)
    row = cells(dialog.installed, 0)
    assert row[0] == "Epoch99 (Tiny Compact x2)" and row[5] == "BSD-3-Clause"
    assert "“Tiny Compact x2” from the download catalog" in dialog.installed.item(0, 0).toolTip()
    assert cells(dialog.available, 1)[5] == "Installed as Epoch99" and cells(dialog.available, 0)[5] == ""
    assert dialog.available.currentRow() == 0 and dialog.download_button.isEnabled()
    dialog.available.selectRow(1)
    assert not dialog.download_button.isEnabled() and dialog.download_button.text() == "Installed"
    assert "A small test model." in dialog.download_tab.details.text()


def test_model_manager_matches_by_catalog_id_and_says_which_engine_runs_each_model(qtbot):
    store = Store([Entry("zero-dce", "Zero-DCE", "lowlight", catalog_id="zero-dce"),
                   Entry("pp-mine", "Zero-DCE++", "lowlight", file_size=52_395),
                   Entry("unet", "Restora gain U-Net", "lowlight", source="trained"),
                   Entry("lama", "LaMa", "inpaint", notes=["the export names LaMa but its weights are Big LaMa"])])
    dialog = opened(qtbot, store, catalog=[Item("zero-dce", "Zero-DCE", "lowlight", "Zero-DCE", 320_017,
                                                "see Li-Chongyi/Zero-DCE")])
    rows = [cells(dialog.installed, r) for r in range(4)]
    assert [r[6] for r in rows] == ["Zero-DCE (weights choice)", "Zero-DCE++ (weights choice)",
                                    "Gain-map U-Net (weights choice)", "Own engine"]
    assert rows[0][5] == "see Li-Chongyi/Zero-DCE" and rows[0][0] == "zero-dce"  # same name: shown once
    assert [r[7] for r in rows] == ["Imported", "Imported", "Trained here", "Imported"]
    assert rows[1][4] == "51.2 KB"
    assert "choose “pp-mine” under Weights" in dialog.installed.item(1, 6).toolTip()
    assert dialog.installed.item(0, 0).icon().isNull()  # no notes, no icon
    assert not dialog.installed.item(3, 0).icon().isNull()  # notes: an info icon, the note in the tooltip
    assert "its weights are Big LaMa" in dialog.installed.item(3, 0).toolTip()
    dialog.installed.selectRow(3)
    assert "Note: the export names LaMa but its weights are Big LaMa" in dialog.installed_tab.details.text()
    assert cells(dialog.available, 0)[5] == "Installed as zero-dce" and not dialog.download_button.isEnabled()
    dialog.show()
    shot(dialog, "models-engines-and-notes")


def test_model_manager_shows_store_problems_in_its_banner(qtbot, tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    (root / "manifest.json").write_text(json.dumps({"version": 2, "models": [{"name": "broken"}]}))
    dialog = opened(qtbot, ModelStore(root), catalog=[])
    text = dialog.banner.text()
    assert "reported problems" in text and "'broken'" in text and "damaged manifest was kept" in text
    dialog.show()
    shot(dialog, "models-store-problems")


def test_model_manager_reopened_shows_the_store_as_it_is_now(qtbot, tmp_path):
    root = tmp_path / "store"
    dialog = opened(qtbot, ModelStore(root), catalog=[])
    dialog.show()
    handle = dialog.import_files([tmp_path / "missing.pth"])
    qtbot.waitUntil(lambda: handle.delivered, timeout=20000)
    assert "missing.pth" in dialog.banner.text() and dialog.installed.rowCount() == 0
    dialog.reject()  # closed; the window keeps the dialog and shows it again later
    ModelStore(root).import_file(save_compact(tmp_path / "from-cli.pth"))  # `restora models import` meanwhile
    with qtbot.waitSignal(dialog.store_changed, timeout=20000):  # the window refreshes its engines too
        dialog.show()
        assert dialog.banner.text() == "" and dialog.status.text() == "Reading the model store…"
    settle(qtbot, dialog)
    assert cells(dialog.installed, 0)[0] == "from-cli" and dialog.status.text() == "1 model installed."


def test_model_manager_imports_the_good_files_and_names_the_bad_ones(qtbot, tmp_path):
    bad = tmp_path / "notes.pth"
    bad.write_bytes(b"not a checkpoint")
    dialog = opened(qtbot, ModelStore(tmp_path / "store"), catalog=[])
    with qtbot.waitSignal(dialog.store_changed, timeout=20000):
        dialog.import_files([bad, save_compact(tmp_path / "good.pth")])
    assert dialog.installed.rowCount() == 1 and "notes.pth" in dialog.banner.text()
    assert dialog.status.text() == "Imported good."


def test_model_manager_download_shows_progress_and_cancels(qtbot):
    store = Store()
    dialog = opened(qtbot, store, catalog=[Item("slow", "Slow model", size=4000)])
    dialog.show()
    dialog.tabs.setCurrentWidget(dialog.download_tab)
    dialog.download_button.click()
    handle = dialog.last_job
    qtbot.waitUntil(lambda: dialog.progress.value() == 25, timeout=20000)
    assert dialog.cancel_button.isVisible() and not dialog.download_button.isEnabled()
    assert dialog.progress.format() == "1000 B of 3.9 KB"
    shot(dialog, "models-downloading")
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: handle.delivered, timeout=20000)
    assert handle.state == "cancelled"
    assert not dialog.cancel_button.isVisible() and not dialog.progress.isVisible()
    assert dialog.download_button.isEnabled()


def test_model_manager_remove_button_asks_first(qtbot, monkeypatch):
    store = Store([Entry("keep-me")])
    dialog = opened(qtbot, store, catalog=[])
    answers = iter([QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: next(answers))
    dialog.installed.selectRow(0)
    dialog.remove_button.click()
    assert dialog.last_job.name == "List models" and store.entries
    with qtbot.waitSignal(dialog.store_changed, timeout=20000):
        dialog.remove_button.click()
    assert not store.entries and dialog.installed_tab.stack.currentIndex() == 1


@pytest.mark.parametrize("size", [(960, 640), (1366, 768)])
def test_model_manager_layout_fits_and_shows_most_of_the_catalog(qtbot, tmp_path, size):
    store = ModelStore(tmp_path / "store")
    store.import_file(save_compact(tmp_path / "tiny.pth"))
    dialog = opened(qtbot, store)
    dialog.show()
    qtbot.waitExposed(dialog)
    if size != (960, 640):
        dialog.resize(*size)
    assert dialog.size().width() == size[0] and dialog.size().height() == size[1]
    assert dialog.minimumSizeHint().width() <= 1366 and dialog.minimumSizeHint().height() <= 700
    table = dialog.installed
    assert table.viewport().height() < 0.6 * dialog.height()  # one model: no big empty table
    shot(dialog, f"models-installed-{size[0]}x{size[1]}")
    dialog.tabs.setCurrentWidget(dialog.download_tab)
    qtbot.wait(50)
    rows_visible = dialog.available.viewport().height() / dialog.available.rowHeight(0)
    assert rows_visible >= 0.75 * len(CATALOG)
    assert dialog.available.horizontalScrollBar().maximum() == 0  # no sideways scrolling
    shot(dialog, f"models-download-{size[0]}x{size[1]}")


def test_model_manager_window_reuses_the_dialog_and_sees_new_models(qtbot, tmp_path, monkeypatch):
    from desktop.window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    dialog = window.open_model_manager()
    settle(qtbot, dialog)
    assert dialog.installed.rowCount() == 0 and dialog.available.rowCount() == len(CATALOG)
    dialog.reject()
    ModelStore().import_file(save_compact(tmp_path / "from-training.pth"), source="trained")  # "Use in editor"
    refreshed = []
    monkeypatch.setattr(window, "refresh_engines", lambda *a: refreshed.append(a))
    dialog.store_changed.disconnect()
    dialog.store_changed.connect(window.refresh_engines)
    assert window.open_model_manager() is dialog
    settle(qtbot, dialog)
    assert cells(dialog.installed, 0)[0] == "from-training" and cells(dialog.installed, 0)[7] == "Trained here"
    assert refreshed  # the window was told to list its engines again


def test_model_manager_says_when_the_store_cannot_be_opened(qtbot):
    from core.store import StoreError

    def broken_store():
        raise StoreError("The model store folder /nowhere cannot be created: Permission denied.")

    dialog = ModelManagerDialog(WorkerPool(), store_factory=broken_store, catalog=[])
    qtbot.addWidget(dialog)
    settle(qtbot, dialog)
    assert "cannot be created" in dialog.banner.text() and dialog.status.text() == "List models: failed (see above)."
