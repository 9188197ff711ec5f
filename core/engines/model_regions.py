"""Meeting a model's size rule by cropping: around each face box for a face model (through core.regions: cut
out at the model's fixed size, run whole, pasted back with a feathered edge so no rectangle shows), and, for
a masked (inpainting) model, the method the shared inpainting strategy drives (ModelFiller: the strategy
cuts the pieces around each painted area and pastes only hole pixels back)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from core.engines.inpaint.pieces import fill_reduced
from core.engines.inpaint.strategy import Filler
from core.jobs import Progress, ScaledProgress
from core.regions import Box, box_transform, run_in_regions

if TYPE_CHECKING:
    from core.engines.model_engine import ModelEngine
    from core.engines.request import EngineRequest

FACE_FEATHER = 0.08  # of the crop side: the face paste fades out over this border


def run_in_crops(engine: "ModelEngine", rgb: np.ndarray, boxes: Sequence[Box], runtime: dict[str, Any],
                 options: dict[str, Any], request: "EngineRequest", margin: float) -> tuple[np.ndarray, list[str]]:
    """Run a face model in a square crop around each box (grown by `margin` of its size), pasted back with a
    feathered edge; returns the photo's new pixels and notes."""
    facts = engine.entry.facts
    fixed = facts.size.fixed
    notes: list[str] = []
    total = len(boxes)
    done = [0]

    def restore(crop: np.ndarray) -> np.ndarray:
        step = request.with_changes(progress=ScaledProgress(request.progress, done[0], 1, total))
        out, run_notes = engine.run_whole(crop, None, runtime, options, step)
        done[0] += 1
        notes[:] = run_notes
        return out

    side = fixed or _natural_side(boxes, facts.size.multiple_of)
    transforms = [box_transform(b, side, margin=margin, square=True) for b in boxes]
    out, _ = run_in_regions(rgb, transforms, side, restore, feather=FACE_FEATHER * side, cancel=request.cancel)
    notes.append(f"Restored {total} region{'s' if total != 1 else ''} at {side} x {side} pixels.")
    return out, notes


class ModelFiller(Filler):
    """A masked network as the method of the inpainting strategy (core.engines.inpaint.strategy): each piece
    runs at its own size (the runner pads it to the size rule) or, for a fixed-size network, is padded square
    by reflection and resized to that size and back. The network's fill is what lands in the hole pixels."""

    def __init__(self, engine: "ModelEngine", runtime: dict[str, Any], options: dict[str, Any],
                 request: "EngineRequest") -> None:
        self.engine, self.runtime, self.options, self.request = engine, runtime, options, request
        self.run_notes: list[str] = []
        self.pieces = 0

    def plan(self, holes: Sequence[np.ndarray]) -> None:
        self.pieces = len(holes)

    def fill(self, index: int, rgb: np.ndarray, hole: np.ndarray, progress: Progress) -> np.ndarray:
        size = self.engine.entry.facts.size
        h, w = hole.shape
        side = size.fixed if size.fixed is not None else size.minimum
        target_h, target_w = (max(h, w),) * 2 if size.fixed is not None else (max(h, side), max(w, side))
        padded_rgb, padded_hole = _pad(rgb, target_h, target_w), _pad(hole, target_h, target_w, constant=True)
        step = self.request.with_changes(progress=progress)

        def run(image: np.ndarray, holes: np.ndarray) -> np.ndarray:
            out, self.run_notes = self.engine.run_whole(image, holes, self.runtime, self.options, step)
            return np.asarray(out[:, :, :3], np.float32)

        if size.fixed is None:
            filled = run(padded_rgb, padded_hole)
        else:
            filled = fill_reduced(padded_rgb, padded_hole, run, (size.fixed, size.fixed))
        return filled[:h, :w]

    def notes(self) -> list[str]:
        fixed = self.engine.entry.facts.size.fixed
        if fixed is None:
            return list(self.run_notes)
        n = self.pieces
        return self.run_notes + [f"Filled {n} area{'s' if n != 1 else ''} at {fixed} x {fixed} pixels."]


def _pad(a: np.ndarray, height: int, width: int, constant: bool = False) -> np.ndarray:
    """a grown at the bottom and right to height x width: mirrored (an image) or with zeros (a hole)."""
    dh, dw = height - a.shape[0], width - a.shape[1]
    if dh <= 0 and dw <= 0:
        return a
    pad = ((0, max(dh, 0)), (0, max(dw, 0))) + ((0, 0),) * (a.ndim - 2)
    if constant:
        return np.pad(a, pad, mode="constant")
    return np.pad(a, pad, mode="symmetric")


def _natural_side(boxes: Sequence[Box], multiple: int) -> int:
    """A crop side for a model without a fixed size: the largest box's, to a multiple of the size rule."""
    side = max(int(round(max(b[2], b[3]))) for b in boxes)
    return max(multiple, -(-side // multiple) * multiple)
