"""The main window's document handling (a mixin of MainWindow): opening photos into a core Document,
showing its versions, saving and exporting them, loading and saving masks, and asking before unsaved
versions are lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QEventLoop
from PySide6.QtWidgets import QFileDialog, QMessageBox

from core.kinds import IMAGE_SUFFIXES
from desktop.open_preview import OpenPreview
from desktop.settings_store import add_recent, clear_recent, recent_files
from desktop.window_base import WindowParts
from desktop.workers import JobHandle

OPEN_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ");;All files (*)"
MASK_FILTER = "Mask (*.png);;All files (*)"
SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


def _load_job(path: Path):
    def job(progress, cancel):
        from core.imageio import load_photo
        from desktop.canvas.display import make_display

        progress(0, 2, f"Reading {path.name}")
        photo = load_photo(path)
        cancel.raise_if_cancelled()
        progress(1, 2, "Preparing the display")
        return photo, make_display(photo)

    return job


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or a.samefile(b)
    except OSError:
        return False


class DocumentMixin(WindowParts):
    _open_preview: OpenPreview | None = None

    # --- opening ------------------------------------------------------------------------------------
    @property
    def open_preview(self) -> OpenPreview:
        """The reduced copy shown while a big photo loads (desktop.open_preview)."""
        if self._open_preview is None:
            self._open_preview = OpenPreview(self)
        return self._open_preview

    def open_dialog(self) -> None:
        if not self.confirm_discard("opening another photo"):
            return
        start = self.settings.value("last_folder", "")
        path, _ = QFileDialog.getOpenFileName(self, "Open photo", str(start or ""), OPEN_FILTER)
        if path:
            self.open_path(path, asked=True)

    def open_path(self, path: str | Path, asked: bool = False) -> JobHandle | None:
        """Load a photo in the worker pool; a bad file shows a message and leaves the current photo as it was.
        Unsaved versions of the open photo are not dropped without asking."""
        p = Path(path)
        if not asked and not self.confirm_discard("opening another photo"):
            return None
        if self.load_job is not None and not self.load_job.done:
            self.load_job.cancel()
        handle = self.pool.submit(_load_job(p), name=f"Opening {p.name}")
        handle.on(succeeded=lambda out: self._photo_loaded(p, *out))
        handle.on(failed=lambda message, _d: self.show_error("Cannot open photo", message))
        self.load_job = handle
        self.open_preview.start(p, handle)  # a reduced copy shows first; editing waits for the photo
        return handle

    def _photo_loaded(self, path: Path, photo, display) -> None:
        add_recent(self.settings, path)
        self.settings.setValue("last_folder", str(path.parent))
        self._show_new_photo(photo, display)

    def set_photo(self, photo) -> None:
        """Show a photo at once (the display copy is built here: for tests and small photos)."""
        from desktop.canvas.display import make_display

        self._show_new_photo(photo, make_display(photo))

    def _show_new_photo(self, photo, display) -> None:
        from core.session.document import Document

        self._show_document(Document(photo), display)

    def _show_document(self, document: Any, displays: Any, writer: Any = None) -> None:
        """Show a document (a photo just opened, or a recovered session) and autosave it from now on."""
        photo = document.versions.original().photo
        self.last_export = None
        self.document = document
        self.document.events.on("mask", self.canvas.mask_layer.attach)
        self.canvas.set_display(None)
        self.restore_panel.clear_messages()  # a banner about the last photo does not follow to this one
        self.canvas.regions.attach(self.document.faces)
        self.versions.attach(self.document.versions, displays)
        self.canvas.mask_layer.attach(self.document.mask)
        self.canvas.fit()
        self.autosave.follow(document, writer)
        self.stack.setCurrentWidget(self.side_by_side if self.view_mode == "side" else self.canvas)
        self.canvas.setFocus()
        name = self.document.name
        self.setWindowTitle(f"{name} — Restora")
        notes = f" ({'; '.join(photo.meta.notes)})" if photo.meta.notes else ""
        self.statusBar().showMessage(f"{name}: {photo.width} x {photo.height}, {photo.meta.bit_depth}-bit{notes}", 6000)
        self.photo_opened.emit(photo)

    def _version_shown(self, version) -> None:
        self.photo = version.photo
        self.canvas.set_display(self.versions.display(version), fit=False)
        if self.document is not None:
            self.canvas.mask_layer.attach(self.document.mask)
        self.restore_panel.set_input(self.versions.describe(version))
        self._refresh_side_by_side()

    def _reference_shown(self, version) -> None:
        self.canvas.set_before(self.versions.display(version))
        self._refresh_side_by_side()

    def _refresh_side_by_side(self) -> None:
        ref, cur = self.versions.reference, self.versions.current
        if ref is not None and cur is not None:
            self.side_by_side.set_images(self.versions.display(ref), self.versions.display(cur),
                                         f"{ref.id}. {ref.title}", f"{cur.id}. {cur.title}")

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = recent_files(self.settings)

        def opener(path: str) -> Callable[[], object]:
            return lambda: self.open_path(path)

        for f in files:
            self.recent_menu.addAction(f, opener(f))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", lambda: clear_recent(self.settings))
        else:
            self.recent_menu.addAction("No recent photos").setEnabled(False)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        from desktop.dialogs.model_manager import is_checkpoint

        paths = [u.toLocalFile() for u in event.mimeData().urls()]
        if any(Path(p).suffix.lower() in IMAGE_SUFFIXES or is_checkpoint(p) for p in paths):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        self.open_dropped([u.toLocalFile() for u in event.mimeData().urls()])
        event.acceptProposedAction()

    def open_dropped(self, paths: list[str]) -> None:
        """Photos open (the first one); checkpoints go to the model manager's import."""
        from desktop.dialogs.model_manager import is_checkpoint

        checkpoints = [p for p in paths if is_checkpoint(p)]
        photos = [p for p in paths if Path(p).suffix.lower() in IMAGE_SUFFIXES]
        if checkpoints:
            self.open_model_manager().import_files(checkpoints)
        if photos:
            self.open_path(photos[0])

    # --- recovery -----------------------------------------------------------------------------------
    def view_state(self) -> dict[str, Any]:
        """How the photo is shown, for session recovery."""
        if self.canvas.display is None:
            return {}
        centre = self.canvas.center_scene_point()
        return {"zoom": self.canvas.zoom(), "x": centre.x(), "y": centre.y(), "mode": self.view_mode}

    def offer_recovery(self) -> JobHandle:
        """Look for sessions a crash left (in the worker pool) and offer them if there are any."""
        from core.session.recovery import list_sessions

        handle = self.pool.submit(lambda progress, cancel: list_sessions(), name="Looking for unsaved work")
        handle.on(succeeded=lambda sessions: self.show_recovery(sessions) if sessions else None)
        return handle

    def show_recovery(self, sessions: list[Any]) -> Any:
        from desktop.dialogs.recovery_dialog import RecoveryDialog

        dialog = RecoveryDialog(sessions, self)
        dialog.restore_requested.connect(self.restore_session)
        dialog.open()
        return dialog

    def recover_dialog(self) -> None:
        from core.session.recovery import list_sessions

        sessions = list_sessions()
        if not sessions:
            self.statusBar().showMessage("No unsaved work to recover.", 6000)
            return
        self.show_recovery(sessions)

    def restore_session(self, session: Any) -> JobHandle | None:
        """Open a recovered session exactly as it was autosaved (its folder goes on being its autosave)."""
        if not self.confirm_discard("restoring another session"):
            return None

        def job(progress, cancel):
            from core.session.autosave import SessionWriter
            from core.session.recovery import load_session
            from desktop.canvas.display import make_display

            progress(0, 1, f"Restoring {session.name}")
            document = load_session(session.folder)
            displays = {v.id: make_display(v.photo) for v in document.versions.versions}
            writer = SessionWriter(document, session.folder.parent)
            return document, displays, writer, session.folder

        handle = self.pool.submit(job, name=f"Restoring {session.name}")
        handle.on(succeeded=lambda out: self._session_restored(*out))
        handle.on(failed=lambda message, _d: self.show_error("Cannot restore the session", message))
        return handle

    def _session_restored(self, document: Any, displays: dict[int, Any], writer: Any, old_folder: Any) -> None:
        from core.session.recovery import discard_session

        self._show_document(document, displays, writer)
        self.autosave.flush()  # the new folder holds everything before the old one goes
        discard_session(old_folder)
        view = document.view
        if view.get("mode") in ("single", "split", "side"):
            self.set_view_mode(str(view["mode"]))
        if "zoom" in view:
            from PySide6.QtCore import QPointF

            self.canvas.set_zoom(float(view["zoom"]))
            self.canvas.place(QPointF(float(view.get("x", 0.0)), float(view.get("y", 0.0))),
                              self.canvas.viewport_center())
        self.statusBar().showMessage(f"Restored {document.name}: {len(document.versions)} versions.", 8000)

    # --- unsaved work -------------------------------------------------------------------------------
    def ask_unsaved(self, count: int, doing: str) -> str:
        """Save / Discard / Cancel before `doing` loses `count` unsaved versions (tests replace this method)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved versions",
                          f"{count} version{'s' if count != 1 else ''} of this photo {'were' if count != 1 else 'was'} "
                          f"never saved. Save the shown version before {doing}?", parent=self)
        box.setInformativeText("Discard loses every unsaved version.")
        save = box.addButton("Save…", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return SAVE if box.clickedButton() is save else DISCARD if box.clickedButton() is discard else CANCEL

    def confirm_discard(self, doing: str) -> bool:
        """True when it is fine to drop the open document: nothing unsaved, or the user saved or discarded."""
        if self.document is None or not self.document.has_unsaved_work():
            return True
        answer = self.ask_unsaved(len(self.document.versions.unsaved()), doing)
        if answer == DISCARD:
            return True
        if answer == SAVE:
            handle = self.export_dialog()
            if handle is None:
                return False
            while not handle.delivered:  # the save runs in the pool; the window stays drawn meanwhile
                QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            return handle.state == "succeeded"
        return False

    # --- saving -------------------------------------------------------------------------------------
    def confirm_overwrite(self, path: Path) -> bool:
        """Ask before replacing the original photo (tests replace this method)."""
        answer = QMessageBox.question(
            self, "Replace the original?",
            f"Save over the original photo?\n\n{path}\n\nThe original pixels cannot be recovered afterwards.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def save(self) -> JobHandle | None:
        """Save the shown version: to the last export path, else over the original after confirmation."""
        current = self.versions.current
        if current is None:
            return None
        if self.last_export is not None:
            return self.save_to(self.last_export)
        source = current.photo.meta.source_path
        if source is None:
            return self.export_dialog()
        return self.save_to(source)

    def save_to(self, path: Path, quality: int = 95, bit_depth: int | None = None,
                keep_metadata: bool = True, version: Any = None) -> JobHandle | None:
        version = version or self.versions.current
        if version is None:
            return None
        source = version.photo.meta.source_path
        overwrite = False
        if source is not None and path.exists() and same_file(path, source):
            if not self.confirm_overwrite(path):
                return None
            overwrite = True
        photo = version.photo

        def job(progress, cancel):
            from core.imageio import save_photo

            return save_photo(photo, path, quality=quality, bit_depth=bit_depth, keep_metadata=keep_metadata,
                              overwrite_source=overwrite)

        handle = self.pool.submit(job, name=f"Saving {path.name}")
        handle.on(succeeded=lambda written: self._saved(version, Path(written)))
        handle.on(failed=lambda message, _d: self.show_error("Cannot save", message))
        return handle

    def _saved(self, version: Any, path: Path) -> None:
        self.last_export = path
        if self.document is not None and version in self.document.versions.versions:
            self.document.versions.mark_saved(version, path)
        self.statusBar().showMessage(f"Saved {path}", 6000)

    def export_dialog(self, version: Any = None) -> JobHandle | None:
        from desktop.dialogs.export_dialog import ExportDialog

        version = version or self.versions.current
        if version is None:
            return None
        label = version.title if version is not self.versions.original() else "copy"
        quality: Any = self.settings.value("export/quality", 95)  # what the INI file holds (a str)
        dialog = ExportDialog(version.photo.meta.source_path, version.photo.meta.bit_depth, self, label=label,
                              last_format=self.settings.value("export/format"), quality=int(quality or 95))
        if not dialog.exec():
            return None
        o = dialog.options()
        self.settings.setValue("export/format", dialog.format.currentText())
        self.settings.setValue("export/quality", o.quality)
        return self.save_to(o.path, o.quality, o.bit_depth, o.keep_metadata, version=version)

    # --- masks --------------------------------------------------------------------------------------
    def load_mask_dialog(self) -> None:
        if self.versions.current is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Load mask", "", MASK_FILTER)
        if path:
            self.load_mask(path)

    def load_mask(self, path: str | Path) -> bool:
        from core.errors import RestoraError

        try:
            self.canvas.mask_layer.load(path)
        except RestoraError as e:
            self.show_error("Cannot load mask", str(e))
            return False
        self.set_mask_visible(True)
        return True

    def save_mask_dialog(self) -> None:
        if self.versions.current is None:
            return
        source = self.versions.current.photo.meta.source_path
        start = str(source.with_name(f"{source.stem}_mask.png")) if source else "mask.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save mask", start, MASK_FILTER)
        if path:
            from core.errors import RestoraError

            try:
                self.canvas.mask_layer.save(path)
            except RestoraError as e:
                self.show_error("Cannot save mask", str(e))
