"""Finding faces from the main window (a mixin of MainWindow): the restore panel's "Find faces" runs core's
detector (core.engines.face.detect.find_faces) in the worker pool on the version shown and puts what it
finds into the document's face regions, where the canvas shows them as boxes to check and edit before the
run. The detector settings come from the face engine's form when it is the engine chosen."""

from __future__ import annotations

from typing import Any

from desktop.window_base import WindowParts
from desktop.workers import JobHandle

FACE_ENGINE = "face.restore"


def detection_settings(engine: Any, values: dict[str, Any]) -> dict[str, Any]:
    """detector, profiles and min_face for find_faces: the face engine's current values, else its defaults."""
    settings: dict[str, Any] = {"detector": "auto", "profiles": False, "min_face": 32}
    if engine is not None and getattr(engine, "id", None) == FACE_ENGINE:
        settings.update({k: values[k] for k in settings if k in values})
    return settings


class FacesMixin(WindowParts):
    face_job: JobHandle | None = None

    def find_faces(self) -> JobHandle | None:
        if self.versions.current is None or self.document is None:
            self.restore_panel.show_error("Open a photo first.")
            return None
        if self.face_job is not None and not self.face_job.done:
            return self.face_job
        photo = self.versions.current.photo
        document = self.document
        settings = detection_settings(self.restore_panel.current_engine(), self.restore_panel.form.values())

        def job(progress, cancel):
            from core.engines.face.detect import find_faces
            from core.store import ModelStore, StoreError

            try:
                root = ModelStore().root
            except StoreError:
                root = None  # no store: the Haar cascades need none
            progress(0, 1, "Finding faces")
            min_face = max(8, int(settings["min_face"]) // 2)
            return find_faces(photo.rgb, detector=str(settings["detector"]), store_root=root, min_face=min_face,
                              profiles=bool(settings["profiles"]), cancel=cancel)

        handle = self.pool.submit(job, name="Finding faces")
        handle.on(succeeded=lambda found: self._faces_found(document, found))
        handle.on(failed=lambda message, _d: self.restore_panel.show_error(message))
        handle.on(finished=lambda: self.restore_panel.set_finding_faces(False))
        self.restore_panel.set_finding_faces(True)
        self.face_job = handle
        return handle

    def _faces_found(self, document: Any, found: Any) -> None:
        if document is not self.document:
            return  # another photo was opened meanwhile
        faces = list(found.faces)
        if not faces:
            self.restore_panel.show_note(f"{found.detector or 'The detector'} found no face. Draw a box around "
                                         "each face with the Face box tool (F).")
            return
        document.faces.set([f.region for f in faces])
        profiles = sum(f.pose == "profile" for f in faces)
        extra = f" ({profiles} in profile)" if profiles else ""
        self.statusBar().showMessage(f"{found.detector} found {len(faces)} face{'s' if len(faces) != 1 else ''}"
                                     f"{extra}: check the boxes, then Run.", 8000)
