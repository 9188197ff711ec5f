"""The offline face detector: OpenCV 4's Haar cascades (shipped inside opencv-python, in cv2.data), no download.

Faces are found on a downscaled grey copy of the photo (long side WORK_SIDE) by the frontal cascade, then,
optionally, the profile cascade on the copy and its mirror image. For each frontal face the eye cascade runs
on the upper part of the face, resampled from the full-resolution photo to EYE_ROI pixels wide; a plausible
pair of eyes gives the two eye landmarks, and the nose and mouth corners follow from the eye line with the
template's proportions (core.engines.face.align.eyes_to_five). Without a pair, and for profile faces, the
landmarks come from the face-box model (align.box_landmarks). The score is the cascade's vote count (how many
neighbouring windows agreed), not a probability.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from core.engines.face.align import box_landmarks, eyes_to_five
from core.engines.face.detect_types import DetectedFace, photo_box, to_work
from core.jobs import CancelToken
from core.regions import Region

WORK_SIDE = 1024  # the long side of the copy faces are searched on (a 12 MP photo: faces from ~80 px)
MIN_WORK_FACE = 20  # the smallest face the cascade looks for, in pixels of that copy
FRONTAL = "haarcascade_frontalface_default.xml"  # as good as alt2 on our group photos, twice as fast
PROFILE = "haarcascade_profileface.xml"
EYES = "haarcascade_eye.xml"
FRONTAL_VOTES = 4  # minNeighbors: fewer finds more faces and more false ones
# The pyramid step. 1.15 would cost a third less, but on the measured group photos it finds 4 (synthetic) to
# 9 (real face) percentage points fewer faces, for a third of the false ones (core.engines.face.measure).
SCALE_STEP = 1.1
PROFILE_VOTES = 6
EYE_ROI = 128  # the face box is resampled to this width for the eye search
OVERLAP_IOU = 0.25  # a profile face overlapping a frontal one this much is the same face

_local = threading.local()  # CascadeClassifier objects are not shared between threads


def _cascade(name: str) -> cv2.CascadeClassifier:
    cache = getattr(_local, "cascades", None)
    if cache is None:
        cache = _local.cascades = {}
    if name not in cache:
        folder = cv2.data.haarcascades  # type: ignore[attr-defined]  # not in OpenCV's stubs
        c = cv2.CascadeClassifier(folder + name)
        if c.empty():
            raise RuntimeError(f"OpenCV's {name} could not be read from {folder}")
        cache[name] = c
    return cache[name]


def grey_u8(rgb: np.ndarray) -> np.ndarray:
    """A float RGB image (in [0, 1]) as equalised 8-bit grey."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2GRAY)
    return cv2.equalizeHist(np.clip(grey * 255.0 + 0.5, 0, 255).astype(np.uint8))


@dataclass(frozen=True)
class HaarOptions:
    min_face: int = 24  # photo pixels
    profiles: bool = True


def detect_haar(rgb: np.ndarray, options: HaarOptions = HaarOptions(),
                cancel: CancelToken | None = None) -> list[DetectedFace]:
    """Faces in a float32 RGB photo, in photo coordinates, each with five landmarks."""
    small, scale = to_work(rgb, WORK_SIDE)
    grey = grey_u8(small)
    min_px = max(MIN_WORK_FACE, int(round(options.min_face * scale)))
    found: list[DetectedFace] = []
    rects, votes = _cascade(FRONTAL).detectMultiScale2(grey, scaleFactor=SCALE_STEP, minNeighbors=FRONTAL_VOTES,
                                                        minSize=(min_px, min_px))
    for rect, n in zip(np.asarray(rects).reshape(-1, 4), np.asarray(votes).reshape(-1)):
        if cancel is not None:
            cancel.raise_if_cancelled()
        box = photo_box(rect, scale)
        eyes = find_eyes(rgb, box)
        if eyes is not None:
            points, how = eyes_to_five(*eyes), "eyes"
        else:
            points, how = box_landmarks(box), "box"
        found.append(DetectedFace(Region(box, _points(points), "detected", float(n)), "Haar", how))
    if options.profiles:
        found += _profiles(grey, scale, min_px, found)
    return found


def _profiles(grey: np.ndarray, scale: float, min_px: int, frontal: list[DetectedFace]) -> list[DetectedFace]:
    """Faces seen from the side: the profile cascade finds faces turned one way; the mirror image the other."""
    width = grey.shape[1]
    out: list[DetectedFace] = []
    for mirrored in (False, True):
        image = grey[:, ::-1].copy() if mirrored else grey
        rects, votes = _cascade(PROFILE).detectMultiScale2(image, scaleFactor=SCALE_STEP, minNeighbors=PROFILE_VOTES,
                                                            minSize=(min_px, min_px))
        for rect, n in zip(np.asarray(rects).reshape(-1, 4), np.asarray(votes).reshape(-1)):
            x, y, w, h = (int(v) for v in rect)
            if mirrored:
                x = width - x - w
            box = photo_box((x, y, w, h), scale)
            if any(iou(box, f.region.box) > OVERLAP_IOU for f in frontal + out):
                continue
            region = Region(box, _points(box_landmarks(box)), "detected", float(n))
            out.append(DetectedFace(region, "Haar (profile)", "box", pose="profile"))
    return out


def find_eyes(rgb: np.ndarray, box: tuple[float, float, float, float]
              ) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The two eye centres (photo coordinates; image-left first) inside a face box, or None without a
    plausible pair (one eye each side of the middle, at about the same height and distance apart)."""
    x, y, w, h = box
    H, W = rgb.shape[:2]
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(W, int(np.ceil(x + w))), min(H, int(np.ceil(y + 0.62 * h)))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    k = EYE_ROI / (x1 - x0)
    patch = cv2.resize(np.ascontiguousarray(rgb[y0:y1, x0:x1]), (EYE_ROI, max(8, int(round((y1 - y0) * k)))),
                       interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    grey = grey_u8(patch)
    fw = w * k  # the face width in patch pixels
    lo, hi = int(0.10 * fw), int(0.40 * fw)
    rects = _cascade(EYES).detectMultiScale(grey, scaleFactor=1.1, minNeighbors=3, minSize=(lo, lo),
                                            maxSize=(hi, hi))
    centres = [((rx + rw / 2 - 0.5) / k + x0, (ry + rh / 2 - 0.5) / k + y0, rw / k)
               for rx, ry, rw, rh in np.asarray(rects).reshape(-1, 4)]
    mid = x + w / 2 - 0.5
    best: tuple[float, tuple[float, float], tuple[float, float]] | None = None
    for lx, ly, _ in (c for c in centres if c[0] < mid):
        for rx, ry, _ in (c for c in centres if c[0] > mid):
            sep = (rx - lx) / w
            if not (0.25 <= sep <= 0.6) or abs(ry - ly) > 0.12 * w:
                continue
            if not (0.2 * h <= (ly + ry) / 2 - y <= 0.55 * h):
                continue
            cost = abs(sep - 0.38) + abs(ry - ly) / w + abs((lx + rx) / 2 - mid) / w
            if best is None or cost < best[0]:
                best = (cost, (lx, ly), (rx, ry))
    return None if best is None else (best[1], best[2])


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _points(p: np.ndarray) -> tuple[tuple[float, float], ...]:
    return tuple((float(a), float(b)) for a, b in np.asarray(p, dtype=np.float64))
