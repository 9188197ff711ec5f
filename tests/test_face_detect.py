"""Face detection: the offline Haar detector on synthetic group photos (faces, landmarks, no false faces on
clutter), YuNet's rows and its plumbing (used when installed, refused when asked for and missing), and the
YuNet asset's download into the store's detectors folder."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from core.engines.face.detect import DetectorUnavailableError, find_faces
from core.engines.face.haar import HaarOptions, detect_haar
from core.engines.face.measure import match
from core.engines.face.synthetic import background, group_photo
from core.engines.face.yunet import parse_yunet, yunet_path
from core.store.catalog import YUNET, asset_path, assets, fetch_asset
from tests.test_downloads import serve


def test_haar_finds_the_faces_of_a_group_photo_with_their_eyes():
    image, truth = group_photo(1200, 900, 6, np.random.default_rng(5), min_side=110, max_side=220, max_angle=6)
    found = detect_haar(image, HaarOptions(profiles=False))
    hit, false, eye_errors = match(found, truth)
    assert hit >= 5 and false <= 1
    assert np.median(eye_errors) < 0.15  # eyes within 15% of the eye distance
    for face in found:
        assert face.detector == "Haar" and len(face.region.landmarks) == 5 and face.region.source == "detected"
        assert face.landmarks_from in ("eyes", "box") and face.region.score >= 1


def test_clutter_without_faces_gives_no_face():
    image = background(600, 800, np.random.default_rng(2), clutter=40)
    assert find_faces(image, detector="haar").faces == []


def test_yunet_rows_become_faces_in_photo_coordinates():
    row = [10, 20, 40, 50, 15, 30, 35, 31, 25, 40, 17, 55, 33, 56, 0.93]  # box, re, le, nose, rcm, lcm, score
    faces = parse_yunet(np.array([row], np.float32), scale=0.5)
    (face,) = faces
    assert face.detector == "YuNet" and face.landmarks_from == "detector"
    assert face.region.box == (20.0, 40.0, 80.0, 100.0)
    assert face.region.landmarks[0] == (30.5, 60.5) and face.region.landmarks[1] == (70.5, 62.5)  # image-left first
    assert face.region.score == pytest.approx(0.93)
    assert parse_yunet(None, 1.0) == [] and parse_yunet(np.array([row], np.float32), 1.0, min_face=60) == []


def test_yunet_is_used_when_its_file_is_in_the_store_and_refused_when_missing(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch):
    image = np.full((100, 200, 3), 0.5, np.float32)
    assert yunet_path(tmp_path) is None
    with pytest.raises(DetectorUnavailableError, match="detectors"):
        find_faces(image, detector="yunet", store_root=tmp_path)
    assert find_faces(image, detector="auto", store_root=tmp_path).detector == "Haar"

    path = asset_path(YUNET, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"onnx")
    seen = {}

    class FakeYN:  # stands in for cv2.FaceDetectorYN: the real one needs the real ONNX file
        def setInputSize(self, size):  # noqa: N802
            seen["size"] = size

        def detect(self, bgr):
            seen["shape"] = bgr.shape
            return 1, np.array([[50, 20, 40, 40, 60, 35, 80, 35, 70, 45, 62, 52, 78, 52, 0.9]], np.float32)

    monkeypatch.setattr("cv2.FaceDetectorYN.create", lambda *args: seen.setdefault("args", args) and FakeYN())
    found = find_faces(image, store_root=tmp_path)
    assert found.detector == "YuNet" and len(found.faces) == 1
    assert seen["args"][0] == str(path) and seen["size"] == (200, 100) and seen["shape"] == (100, 200, 3)
    assert find_faces(image, detector="haar", store_root=tmp_path).detector == "Haar"


def test_the_yunet_asset_downloads_into_the_detectors_folder(tmp_path: Path):
    assert YUNET in assets() and YUNET.filename == "face_detection_yunet_2023mar.onnx"
    assert "opencv/opencv_zoo" in YUNET.url and YUNET.size == 232_589 and len(YUNET.sha256 or "") == 64
    data = b"not really an onnx file" * 100
    with serve(data) as srv:
        item = dataclasses.replace(YUNET, url=srv.url.replace("model.pth", YUNET.filename),
                                   sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        got = fetch_asset(item, tmp_path)
    assert got == tmp_path / "detectors" / YUNET.filename and got.read_bytes() == data
    assert yunet_path(tmp_path) == got


def test_profile_faces_come_from_both_directions_and_never_double_a_frontal_face(monkeypatch):
    from core.engines.face import haar

    class FakeCascade:  # the profile cascade finds one face in the image and one in its mirror image
        def detectMultiScale2(self, grey, **kwargs):  # noqa: N802
            mirrored = grey[0, 0] == 7
            return np.array([[10, 20, 40, 40]] if mirrored else [[100, 30, 50, 50]]), np.array([9])

    grey = np.zeros((120, 200), np.uint8)
    grey[0, -1] = 7  # marks the mirror image (its first pixel)
    monkeypatch.setattr(haar, "_cascade", lambda name: FakeCascade())
    frontal = [haar.DetectedFace(haar.Region((196.0, 56.0, 104.0, 104.0)), "Haar", "box")]  # photo pixels
    found = haar._profiles(grey, 0.5, 20, frontal)
    (face,) = found  # the one at x=100 overlaps the frontal face; the mirrored one is new
    assert face.pose == "profile" and face.detector == "Haar (profile)" and face.landmarks_from == "box"
    assert face.region.box == ((200 - 10 - 40) / 0.5, 40.0, 80.0, 80.0) and len(face.region.landmarks) == 5
