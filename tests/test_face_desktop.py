"""The desktop's face workflow: Find faces puts the detected faces into the document as boxes to edit, and
the face engine's run restores the boxes the document holds (after the user removed one) and reports them."""

from __future__ import annotations

from PIL import Image

from core.engines.face.engine import FaceRestoreEngine
from core.tensors import to_uint8
from desktop.window import MainWindow
from desktop.window_faces import detection_settings
from tests.test_face_support import photo_with_faces


def test_find_faces_fills_the_face_boxes_and_the_run_restores_what_is_left(qtbot, tmp_path):
    image, truth = photo_with_faces(480, 320, [(60.0, 50.0, 150), (300.0, 80.0, 130)], seed=1)
    path = tmp_path / "group.png"
    Image.fromarray(to_uint8(image)).save(path)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    handle = window.open_path(path)
    qtbot.waitUntil(lambda: handle.delivered, timeout=10000)
    panel = window.restore_panel
    assert panel.find_faces_button.text() == "Find faces"
    panel.find_faces_button.click()
    qtbot.waitUntil(lambda: window.face_job is not None and window.face_job.delivered, timeout=20000)
    regions = window.document.faces.regions
    assert len(regions) == 2 and all(r.source == "detected" and len(r.landmarks) == 5 for r in regions)
    assert len(window.canvas.regions.boxes) == 2 and panel.find_faces_button.isEnabled()
    assert "2 boxes" in panel.regions_label.text()

    window.document.faces.remove([1])  # the user deletes one box before the run
    engine = FaceRestoreEngine()
    run = window.run_engine(engine, engine.defaults())
    assert run is not None
    qtbot.waitUntil(lambda: run.delivered, timeout=30000)
    assert window.versions.current is not None and window.versions.current.photo is not window.versions.original()
    assert len(window.document.faces.regions) == 1
    assert "Restored 1 of 1 face(s) given" in panel.banner.text() and "earlier detection" in panel.banner.text()


def test_detection_settings_follow_the_face_engine_form():
    engine = FaceRestoreEngine()
    assert detection_settings(engine, {"detector": "haar", "profiles": True, "min_face": 64, "fidelity": 0.2}) == {
        "detector": "haar", "profiles": True, "min_face": 64}
    assert detection_settings(None, {"detector": "haar"}) == {"detector": "auto", "profiles": False, "min_face": 32}
