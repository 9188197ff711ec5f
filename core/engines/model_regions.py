"""Meeting a model's size rule by cropping ("crop" strategy): around each painted area for an inpainting
model, around each face box for a face model. Crops go through core.regions: cut out (resized to the model's
fixed size where it has one), run whole, pasted back. Inpainting pastes only hole pixels; faces are pasted
with a feathered edge, so no rectangle shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import cv2
import numpy as np

from core.jobs import ScaledProgress
from core.regions import Box, box_transform, paste_back, run_in_regions, warp_in

if TYPE_CHECKING:
    from core.engines.model_engine import ModelEngine
    from core.engines.request import EngineRequest

FACE_FEATHER = 0.08  # of the crop side: the face paste fades out over this border
HOLE_GROW_PX = 2  # a resized hole is grown a little so its interpolated edge is covered by the model's fill


def crop_boxes_around_mask(mask: np.ndarray, margin: int) -> list[Box]:
    """Bounding boxes (x, y, w, h) of the mask's painted areas, each grown by `margin` pixels of context,
    clipped to the photo, and merged where they overlap (one model run per merged box)."""
    count, _labels, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
    h, w = mask.shape
    boxes = []
    for i in range(1, count):
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        boxes.append([max(0, x - margin), max(0, y - margin), min(w, x + bw + margin), min(h, y + bh + margin)])
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return [(float(x0), float(y0), float(x1 - x0), float(y1 - y0)) for x0, y0, x1, y1 in sorted(boxes)]


def run_in_crops(engine: "ModelEngine", rgb: np.ndarray, mask: np.ndarray | None, boxes: Sequence[Box],
                 runtime: dict[str, Any], options: dict[str, Any], request: "EngineRequest",
                 margin: float) -> tuple[np.ndarray, list[str]]:
    """Run the engine's model in each box; returns the photo's new pixels and notes."""
    facts = engine.entry.facts
    fixed = facts.size.fixed
    notes: list[str] = []
    total = len(boxes)

    def step(i: int) -> "EngineRequest":
        return request.with_changes(progress=ScaledProgress(request.progress, i, 1, total))

    if mask is None:  # faces: a square crop around each box, pasted with a feathered edge
        def restore(crop: np.ndarray, i: list[int] = [0]) -> np.ndarray:
            out, run_notes = engine.run_whole(crop, None, runtime, options, step(i[0]))
            i[0] += 1
            notes[:] = run_notes
            return out

        side = fixed or _natural_side(boxes, facts.size.multiple_of)
        transforms = [box_transform(b, side, margin=margin, square=True) for b in boxes]
        out, _ = run_in_regions(rgb, transforms, side, restore, feather=FACE_FEATHER * side,
                                cancel=request.cancel)
        notes.append(f"Restored {total} region{'s' if total != 1 else ''} at {side} x {side} pixels.")
        return out, notes

    out = rgb.copy()
    for i, box in enumerate(boxes):
        request.cancel.raise_if_cancelled()
        if fixed is None:  # the crop at its own size: exact pixels, exact hole
            x, y, w, h = (int(round(v)) for v in box)
            crop, hole = rgb[y:y + h, x:x + w], mask[y:y + h, x:x + w]
            filled, notes = engine.run_whole(np.ascontiguousarray(crop), np.ascontiguousarray(hole), runtime, options,
                                             step(i))
            region = out[y:y + h, x:x + w]
            sel = hole > 0
            region[sel] = filled[:, :, :3][sel]
        else:  # resized to the model's fixed size and back; the hole decides what is pasted
            M = box_transform(box, fixed, margin=0.0, square=True)
            crop = warp_in(rgb, M, fixed)
            grown = cv2.dilate(mask, np.ones((2 * HOLE_GROW_PX + 1,) * 2, np.uint8))
            hole = warp_in(grown.astype(np.float32) / 255.0, M, fixed, border="constant", interpolation="linear")
            hole_u8 = np.where(hole > 0.01, 255, 0).astype(np.uint8)
            filled, notes = engine.run_whole(crop, hole_u8, runtime, options, step(i))
            paste_back(out, filled[:, :, :3], M, feather=0.0, weight=hole_u8.astype(np.float32) / 255.0, out=out)
    if fixed is not None:
        notes = notes + [f"Filled {total} area{'s' if total != 1 else ''} at {fixed} x {fixed} pixels."]
    return out, notes


def _natural_side(boxes: Sequence[Box], multiple: int) -> int:
    """A crop side for a model without a fixed size: the largest box's, to a multiple of the size rule."""
    side = max(int(round(max(b[2], b[3]))) for b in boxes)
    return max(multiple, -(-side // multiple) * multiple)
