"""The Models dialog: the store's models on one tab, the download catalog on the other.

Every store call runs as a worker-pool job (the store imports torch and hashes large files); the store is
created lazily from a factory so tests can hand in a fake one. Each job ends with a fresh listing of the
store, so the tables always show the store as it is, and reopening the dialog reads it again (models the
CLI or the training panel added meanwhile appear; messages of earlier actions are cleared).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.dialogs.models.download_tab import DownloadTab
from desktop.dialogs.models.installed_tab import InstalledTab
from desktop.dialogs.models.listing import read_listing
from desktop.dialogs.models.rows import CHECKPOINT_FILTER, Listing, catalog_rows, installed_rows, is_checkpoint
from desktop.panels.restore_panel import Banner
from desktop.workers import JobHandle, WorkerPool

READING = "Reading the model store…"


def default_store() -> Any:
    from core.store import ModelStore

    return ModelStore()


def _signature(entries: list[Any]) -> set[tuple[str, str]]:
    return {(str(getattr(e, "name", e)), str(getattr(e, "sha256", ""))) for e in entries}


class ModelManagerDialog(QDialog):
    store_changed = Signal()  # imported, removed, downloaded, or changed elsewhere: the window refreshes engines

    def __init__(self, pool: WorkerPool, store_factory: Callable[[], Any] = default_store,
                 catalog: list[Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("model-manager")
        self.setWindowTitle("Models")
        self.setSizeGripEnabled(True)
        self.resize(960, 640)
        self.setMinimumSize(640, 420)
        self.setAcceptDrops(True)
        self.pool = pool
        self._store_factory = store_factory
        self.store: Any = None
        self._store_lock = threading.Lock()
        self.catalog: list[Any] | None = list(catalog) if catalog is not None else None  # None: read in a job
        self.engine_titles: dict[str, str] | None = None
        self.entries: list[Any] = []
        self._listed = False
        self._stale = False  # hidden since the last listing: read the store again when shown
        self._messages: dict[str, str] = {}  # banner sections: action, catalog, engines, store
        self._download: JobHandle | None = None
        self.last_job: JobHandle | None = None

        self.installed_tab = InstalledTab()
        self.download_tab = DownloadTab()
        self.installed = self.installed_tab.table
        self.available = self.download_tab.table
        self.import_button = self.installed_tab.import_button
        self.remove_button = self.installed_tab.remove_button
        self.download_button = self.download_tab.download_button
        self.cancel_button = self.download_tab.cancel_button
        self.progress = self.download_tab.progress
        self.installed_tab.import_requested.connect(self._pick_import)
        self.installed_tab.remove_requested.connect(self._confirm_remove)
        self.installed_tab.browse_downloads_requested.connect(lambda: self.tabs.setCurrentWidget(self.download_tab))
        self.download_tab.download_requested.connect(self.download)
        self.download_tab.cancel_requested.connect(self._cancel_download)
        self.tabs: QTabWidget = QTabWidget()  # annotated: the lambda above refers to it first
        self.tabs.addTab(self.installed_tab, "Installed")
        self.tabs.addTab(self.download_tab, "Download")

        self.banner = Banner()
        self.status = QLabel(READING)
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(buttons)
        layout.addLayout(bottom)
        if self.catalog is not None:
            self.download_tab.set_rows(catalog_rows(self.catalog, []))
        self.refresh()

    # --- jobs -------------------------------------------------------------------------------------
    def _store_job(self, name: str, action: Callable[[Any, Any, Any], Any], on_done: Callable[[Any], None],
                   *, notify_if_changed: bool = False) -> JobHandle:
        want_catalog, want_engines = self.catalog is None, self.engine_titles is None

        def job(progress: Callable[..., None], cancel: Any) -> tuple[Any, Listing]:
            with self._store_lock:
                if self.store is None:
                    self.store = self._store_factory()
            result = action(self.store, progress, cancel)
            return result, read_listing(self.store, want_catalog=want_catalog, want_engines=want_engines)

        def succeeded(out: tuple[Any, Listing]) -> None:
            changed = self._show_listing(out[1])
            on_done(out[0])
            if notify_if_changed and changed:
                self.store_changed.emit()

        handle = self.pool.submit(job, name=name, device="cpu")
        handle.on(succeeded=succeeded)
        handle.on(failed=lambda message, _detail: self._failed(name, message))
        handle.on(cancelled=lambda message: self.status.setText(message))
        self.last_job = handle
        return handle

    def _failed(self, name: str, message: str) -> None:
        self._set_message("action", message)
        self.status.setText(f"{name}: failed (see above).")

    def refresh(self) -> JobHandle:
        """Read the store again; a change made elsewhere (CLI, training panel) also emits store_changed."""
        return self._store_job("List models", lambda s, p, c: None, lambda _r: None, notify_if_changed=True)

    def import_files(self, paths: Sequence[str | Path]) -> JobHandle | None:
        files = [Path(p) for p in paths]
        if not files:
            return None
        self._set_message("action", "")
        self.tabs.setCurrentWidget(self.installed_tab)
        self.status.setText(f"Importing {', '.join(f.name for f in files)}…")

        def action(store, progress, cancel):
            from core.errors import RestoraError

            imported, failed = [], []
            for i, f in enumerate(files):
                cancel.raise_if_cancelled()
                progress(i, len(files), f"Importing {f.name}…")
                try:
                    imported.append(store.import_file(f))
                except (RestoraError, OSError) as e:  # one bad file never stops the others
                    failed.append(str(e) if str(f.name) in str(e) else f"{f.name}: {e}")
            progress(len(files), len(files), "")
            return imported, failed

        handle = self._store_job("Import model", action, self._imported)
        handle.on(progress=lambda d, t, m: self.status.setText(m) if m else None)
        return handle

    def _imported(self, result: tuple[list[Any], list[str]]) -> None:
        imported, failed = result
        names = ", ".join(str(getattr(e, "name", e)) for e in imported)
        self.status.setText(f"Imported {names}." if imported else "Nothing was imported.")
        self._set_message("action", "\n".join(failed))
        if imported:
            self.installed_tab.table.select_key(str(getattr(imported[-1], "name", "")))
            self.store_changed.emit()

    def remove(self, name: str) -> JobHandle:
        self._set_message("action", "")
        return self._store_job("Remove model", lambda s, p, c: s.remove(name), lambda _r: self._removed(name))

    def _removed(self, name: str) -> None:
        self.status.setText(f"Removed {name}.")
        self.store_changed.emit()

    def download(self, catalog_id: str) -> JobHandle:
        self._set_message("action", "")
        self.download_tab.set_busy(True)
        item = next((c for c in self.catalog or [] if getattr(c, "id", None) == catalog_id), None)
        self.status.setText(f"Downloading {getattr(item, 'name', catalog_id)}…")

        def action(store, progress, cancel):
            return store.download(catalog_id, progress=progress, cancel=cancel)

        handle = self._store_job(f"Download {catalog_id}", action, self._downloaded)
        handle.on(progress=self.download_tab.show_progress)
        handle.on(finished=self._download_finished)
        self._download = handle
        return handle

    def _downloaded(self, entry: Any) -> None:
        self.status.setText(f"Downloaded {getattr(entry, 'name', entry)}.")
        self.store_changed.emit()

    def _download_finished(self) -> None:
        self._download = None
        self.download_tab.set_busy(False)

    def _cancel_download(self) -> None:
        if self._download is not None:
            self._download.cancel()
            self.status.setText("Cancelling the download…")

    # --- showing what the jobs read ---------------------------------------------------------------
    def _show_listing(self, listing: Listing) -> bool:
        """Fill both tabs; True when the store's models differ from the previous listing's."""
        changed = self._listed and _signature(listing.entries) != _signature(self.entries)
        self._listed = True
        self.entries = listing.entries
        if listing.catalog is not None:
            self.catalog = listing.catalog
        if listing.engine_titles is not None:
            self.engine_titles = listing.engine_titles
        self._messages["catalog"] = listing.catalog_error
        self._messages["engines"] = listing.engine_error
        self._messages["store"] = ("The model store reported problems:\n" + "\n".join(f"• {p}" for p in
                                                                                     listing.problems)
                                   if listing.problems else "")
        self._update_banner()
        self.installed_tab.set_rows(installed_rows(self.entries, self.catalog or [], self.engine_titles or {}))
        if self.catalog is not None:
            self.download_tab.set_rows(catalog_rows(self.catalog, self.entries))
        elif listing.catalog_error:
            self.download_tab.show_message(listing.catalog_error)
        n, m = len(self.entries), len(self.catalog or [])
        self.tabs.setTabText(0, f"Installed ({n})")
        self.tabs.setTabText(1, f"Download ({m})" if self.catalog is not None else "Download")
        self.status.setText(f"{n} model{'s' if n != 1 else ''} installed." if n
                            else "No models installed yet: import a checkpoint or download one.")
        return changed

    def _set_message(self, section: str, text: str) -> None:
        self._messages[section] = text
        self._update_banner()

    def _update_banner(self) -> None:
        text = "\n\n".join(t for t in (self._messages.get(k, "") for k in ("action", "catalog", "engines", "store"))
                           if t)
        if text:
            self.banner.show_message(text)
        else:
            self.banner.hide()

    # --- reopening --------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        if self._stale and not event.spontaneous():
            self._stale = False
            self.reset_messages()
            self.refresh()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802
        super().hideEvent(event)
        if not event.spontaneous():
            self._stale = True

    def reset_messages(self) -> None:
        """Forget what earlier actions said (a running download keeps its progress)."""
        self._set_message("action", "")
        self.status.setText(READING if self._download is None else self.status.text())
        if self._download is None:
            self.download_tab.set_busy(False)

    # --- buttons and drops ------------------------------------------------------------------------
    def _pick_import(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Import checkpoints", "", CHECKPOINT_FILTER)
        self.import_files(paths)

    def _confirm_remove(self, name: str) -> None:
        answer = QMessageBox.question(self, "Remove model",
                                      f"Remove “{name}” from the model store? Its file in the store is deleted; "
                                      f"the file you imported it from is not touched.")
        if answer == QMessageBox.StandardButton.Yes:
            self.remove(name)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(is_checkpoint(u.toLocalFile()) for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.import_files([u.toLocalFile() for u in event.mimeData().urls() if is_checkpoint(u.toLocalFile())])
