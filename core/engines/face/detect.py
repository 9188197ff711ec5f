"""Finding faces with landmarks: YuNet when its file is in the store, else (or when asked) OpenCV's Haar
cascades, which need no download. Both return DetectedFace objects in photo coordinates with five
landmarks each (core.engines.face.detect_types). The desktop's "Find faces" button and the face engine
both call `find_faces`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.engines.face.detect_types import DetectedFace
from core.engines.face.haar import HaarOptions, detect_haar
from core.engines.face.yunet import detect_yunet, yunet_path
from core.errors import RestoraError
from core.jobs import CancelToken

DETECTORS = ("auto", "yunet", "haar")
DETECTOR_TITLES = ("Best installed (YuNet, else Haar)", "YuNet (needs its file)", "Haar cascades (offline)")


class DetectorUnavailableError(RestoraError):
    """The detector asked for is not installed."""


@dataclass
class Detection:
    faces: list[DetectedFace] = field(default_factory=list)
    detector: str = ""  # the one that ran: "YuNet" or "Haar"
    notes: list[str] = field(default_factory=list)


def find_faces(rgb: np.ndarray, *, detector: str = "auto", store_root: Path | str | None = None,
               min_face: int = 24, profiles: bool = True, cancel: CancelToken | None = None) -> Detection:
    """The faces in a float32 RGB photo, largest first. `store_root` is the model store's folder (where
    YuNet may be installed); min_face is the smallest face side, in photo pixels, worth finding."""
    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {DETECTORS}, got {detector!r}")
    path = yunet_path(store_root)
    if detector == "yunet" and path is None:
        where = f" ({Path(store_root) / 'detectors'})" if store_root else ""
        raise DetectorUnavailableError(
            "The YuNet face detector is not installed: put face_detection_yunet_2023mar.onnx (opencv_zoo) in "
            f"the model store's detectors folder{where}, or choose the Haar cascades.")
    if detector != "haar" and path is not None:
        faces, used = detect_yunet(rgb, path, min_face=min_face), "YuNet"
    else:
        faces, used = detect_haar(rgb, HaarOptions(min_face=min_face, profiles=profiles), cancel), "Haar"
    faces.sort(key=lambda f: -f.region.box[2] * f.region.box[3])
    return Detection(faces, used)
