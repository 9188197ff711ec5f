"""YuNet (OpenCV Zoo's face_detection_yunet_2023mar.onnx) through cv2.FaceDetectorYN, when its file is installed.

YuNet is an ONNX file, not a PyTorch checkpoint, so it does not go through the model store's import path:
the catalog lists it as an asset (core.store.catalog.ASSETS) kept in the store's `detectors/` folder,
where this module looks for it (`yunet_path`). It returns a box, five landmarks (right eye, left eye, nose
tip, right and left mouth corner of the person, i.e. image-left first, which is Restora's order) and a
score in [0, 1] per face. It runs on a copy no longer than WORK_SIDE.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.engines.face.detect_types import DetectedFace, photo_box, photo_point, to_work
from core.regions import Region
from core.store.catalog import YUNET, asset_path

WORK_SIDE = 1600
SCORE_THRESHOLD = 0.7
NMS_THRESHOLD = 0.3
TOP_K = 5000

_local = threading.local()


def yunet_path(store_root: Path | str | None) -> Path | None:
    """The YuNet file in the store's detectors folder, or None when it is not installed."""
    if store_root is None:
        return None
    path = asset_path(YUNET, Path(store_root))
    return path if path.is_file() else None


def _detector(path: Path, size: tuple[int, int], threshold: float) -> Any:
    key = (str(path), threshold)
    cache = getattr(_local, "detectors", None)
    if cache is None:
        cache = _local.detectors = {}
    if key not in cache:
        cache[key] = cv2.FaceDetectorYN.create(str(path), "", size, threshold, NMS_THRESHOLD, TOP_K)
    det = cache[key]
    det.setInputSize(size)
    return det


def detect_yunet(rgb: np.ndarray, path: Path, *, min_face: int = 24,
                 threshold: float = SCORE_THRESHOLD) -> list[DetectedFace]:
    """Faces in a float32 RGB photo found by YuNet, in photo coordinates."""
    small, scale = to_work(rgb, WORK_SIDE)
    bgr = cv2.cvtColor(np.clip(small * 255.0 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
    h, w = bgr.shape[:2]
    _, faces = _detector(path, (w, h), threshold).detect(bgr)
    return parse_yunet(faces, scale, min_face)


def parse_yunet(faces: np.ndarray | None, scale: float, min_face: int = 0) -> list[DetectedFace]:
    """FaceDetectorYN's N x 15 rows (x, y, w, h, five (x, y) landmarks, score) as DetectedFaces."""
    out: list[DetectedFace] = []
    if faces is None:
        return out
    for row in np.asarray(faces, dtype=np.float64).reshape(-1, 15):
        box = photo_box(row[:4], scale)
        if max(box[2], box[3]) < min_face:
            continue
        points = tuple(photo_point(row[4 + 2 * i], row[5 + 2 * i], scale) for i in range(5))
        out.append(DetectedFace(Region(box, points, "detected", float(row[14])), "YuNet", "detector"))
    return out
