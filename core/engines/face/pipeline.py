"""The face pipeline on one photo: faces (given or detected) -> aligned crops -> restored -> pasted back,
with a report per face. Network-free apart from the restorer it is handed (core.engines.face.restorers)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from core.engines.face.align import alignment
from core.engines.face.detect_types import DetectedFace
from core.engines.face.parsing import FaceParser
from core.engines.face.paste import face_mask, match_colour, paste_face
from core.engines.face.restorers import FaceRestorer
from core.engines.request import FaceReport
from core.jobs import CancelToken, Progress, no_progress
from core.regions import EMPTY_BOX, Region, RegionError, scaled, support_box, warp_in


@dataclass
class FaceOptions:
    fidelity: float = 0.5
    min_face: int = 32  # photo pixels: the face box's longer side
    colour_match: bool = True
    tone: str = "colour"  # the photo's (core.engines.face.paste.photo_tone)
    parser: FaceParser | None = None  # the paste mask follows the parsed face; None: the elliptical mask


@dataclass
class PipelineResult:
    rgb: np.ndarray
    reports: list[FaceReport]
    regions: list[Region]
    network_seconds: list[float] = field(default_factory=list)  # per restored face


def as_detected(region: Region) -> DetectedFace:
    """A face from the request (drawn by the user, or found earlier and kept in the document)."""
    detector = "user" if region.source == "user" else "earlier detection"
    how = "detector" if region.landmarks else "box"
    return DetectedFace(region, detector, how)


def _reason(face: DetectedFace, aligned_by: str, cut: bool) -> str:
    bits = []
    detected = face.detector not in ("user", "earlier detection")
    if face.pose == "profile":
        bits.append("seen in profile: aligned by its box")
    elif aligned_by == "box" and face.region.landmarks:
        bits.append("its landmarks lie outside its box: aligned by the box")
    elif detected and face.landmarks_from == "box":
        bits.append("no eyes found: aligned by its box")
    elif face.landmarks_from == "eyes":
        bits.append("nose and mouth placed from the eyes")
    if cut:
        bits.append("cut by the photo's edge")
    return "; ".join(bits)


def _report(i: int, face: DetectedFace, restorer: FaceRestorer, status: str, reason: str) -> FaceReport:
    r = face.region
    return FaceReport(index=i + 1, box=(float(r.box[0]), float(r.box[1]), float(r.box[2]), float(r.box[3])),
                      landmarks=tuple(r.landmarks), detector=face.detector, score=r.score,
                      restorer=restorer.name if status == "restored" else "", status=status, reason=reason)


def restore_faces(rgb: np.ndarray, faces: Sequence[DetectedFace], restorer: FaceRestorer, options: FaceOptions,
                  *, background: np.ndarray | None = None, progress: Progress = no_progress,
                  cancel: CancelToken | None = None) -> PipelineResult:
    """Restore every face big enough and inside the photo; the others are reported as skipped. `background`
    (an upscaled copy of rgb) receives the faces instead of rgb itself."""
    H, W = rgb.shape[:2]
    side = restorer.side
    target = rgb if background is None else background
    s = (target.shape[1] / W, target.shape[0] / H)
    reports: list[FaceReport] = []
    todo: list[tuple[int, np.ndarray]] = []
    for i, face in enumerate(faces):
        region = face.region
        M, aligned_by = alignment(region, restorer.template, side)
        x, y, w, h = region.box
        cut = x < 0 or y < 0 or x + w > W or y + h > H
        if max(w, h) < options.min_face:
            reports.append(_report(i, face, restorer, "skipped", f"smaller than {options.min_face} px "
                                                                   f"({max(w, h):.0f} px)"))
        elif support_box(scaled(M, s), (side, side), (target.shape[1], target.shape[0])) == EMPTY_BOX:
            reports.append(_report(i, face, restorer, "skipped", "outside the photo"))
        else:
            reports.append(_report(i, face, restorer, "restored", _reason(face, aligned_by, cut)))
            todo.append((i, M))
    seconds: list[float] = []
    ellipse = face_mask(side, restorer.template)
    out = target.copy()
    for n, (i, M) in enumerate(todo):
        if cancel is not None:
            cancel.raise_if_cancelled()
        crop = warp_in(rgb, M, side, border="reflect", interpolation="linear")  # as facexlib warps faces
        started = time.perf_counter()
        restored = np.asarray(restorer.restore(crop, options.fidelity), dtype=np.float32)
        seconds.append(time.perf_counter() - started)
        if not np.all(np.isfinite(restored)):
            raise RegionError(f"the face restorer returned NaN or infinity for face {n + 1}")
        mask = ellipse
        if options.parser is not None:
            parsed = options.parser.face_weight(restored, side)
            if parsed is None:
                reason = "; ".join(filter(None, [reports[i].reason, f"{options.parser.name} found no face in the "
                                                 "restored crop: pasted with the elliptical mask"]))
                reports[i] = dataclasses.replace(reports[i], reason=reason)
            else:
                mask = parsed
        restored = match_colour(restored, crop, mask, options.tone, options.colour_match)
        paste_face(out, restored, M, mask, s)
        progress(n + 1, len(todo), f"Face {n + 1} of {len(todo)}")
    regions = [f.region for f in faces]
    return PipelineResult(out, reports, regions, seconds)
