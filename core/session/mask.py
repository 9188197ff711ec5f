"""The document's mask: a uint8 array (255 = fill, soft brushes write grey levels), every edit through here
so its undo history stores only what each edit changed and listeners repaint only the changed rectangle.

Events: "changed" (rect x, y, w, h) after pixels changed; "history" () after the undo stack changed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.masks import (
    check_mask,
    fill_polygon,
    fill_rect,
    grow_mask,
    paint_segment,
    read_mask_levels,
    segment_rect,
    shrink_mask,
    write_mask_levels,
)
from core.session.events import Events
from core.session.mask_history import Edit, InvertEdit, MaskHistory, StrokeRecorder, patch_edit

Rect = tuple[int, int, int, int]


class MaskDocument:
    """A mask of one photo size with its undo history."""

    def __init__(self, height: int, width: int) -> None:
        self.array = np.zeros((int(height), int(width)), np.uint8)
        self.history = MaskHistory()
        self.events = Events()
        self._stroke: StrokeRecorder | None = None
        self._last: tuple[float, float] | None = None
        self._brush: tuple[float, float, bool] = (20.0, 1.0, False)  # radius, hardness, erase

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.array.shape[0]), int(self.array.shape[1])

    def is_empty(self) -> bool:
        return not self.array.any()

    def engine_mask(self) -> np.ndarray:
        """A binary copy for an engine (soft coverage thresholded at half), safe to hand to a worker."""
        return check_mask(self.array.copy(), self.shape)

    # --- strokes -----------------------------------------------------------------------------------------
    @property
    def stroking(self) -> bool:
        return self._stroke is not None

    def begin_stroke(self, x: float, y: float, *, radius: float, hardness: float = 1.0,
                     erase: bool = False) -> Rect | None:
        self._stroke = StrokeRecorder(self.array, "Erase" if erase else "Brush stroke")
        self._brush = (max(float(radius), 0.5), float(hardness), bool(erase))
        self._last = (x, y)
        return self.stroke_to(x, y)

    def stroke_to(self, x: float, y: float) -> Rect | None:
        """Paint from the last point to (x, y)."""
        if self._stroke is None or self._last is None:
            return None
        radius, hardness, erase = self._brush
        start, end = self._last, (x, y)
        self._stroke.touch(segment_rect(self.array.shape, start, end, radius))
        rect = paint_segment(self.array, start, end, radius, hardness, erase=erase)
        self._last = end
        if rect is not None:
            self.events.emit("changed", rect)
        return rect

    def end_stroke(self) -> None:
        if self._stroke is None:
            return
        edit = self._stroke.finish()
        self._stroke = None
        self._last = None
        if edit is not None:
            self.history.push(edit)
            self.events.emit("history")

    # --- whole-shape edits -------------------------------------------------------------------------------
    def fill_rect(self, rect: Rect, erase: bool = False) -> None:
        recorder = StrokeRecorder(self.array, "Rectangle")
        x, y, w, h = (int(round(v)) for v in rect)
        recorder.touch(_clip(self.array.shape, (x, y, w, h)))
        fill_rect(self.array, (x, y, w, h), 0 if erase else 255)
        self._record(recorder.finish())

    def fill_lasso(self, points: list[tuple[float, float]], erase: bool = False) -> None:
        if len(points) < 3:
            return
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        recorder = StrokeRecorder(self.array, "Lasso")
        recorder.touch(_clip(self.array.shape, (int(min(xs)) - 1, int(min(ys)) - 1,
                                                int(max(xs) - min(xs)) + 3, int(max(ys) - min(ys)) + 3)))
        fill_polygon(self.array, points, 0 if erase else 255)
        self._record(recorder.finish())

    def invert(self) -> None:
        edit = InvertEdit()
        edit.apply(self.array, undo=False)
        self._record(edit)

    def clear(self) -> None:
        self._record(patch_edit("Clear mask", self.array, np.zeros_like(self.array)))

    def grow(self, px: int) -> None:
        self._record(patch_edit(f"Grow {px} px", self.array, grow_mask(self.array, px)))

    def shrink(self, px: int) -> None:
        self._record(patch_edit(f"Shrink {px} px", self.array, shrink_mask(self.array, px)))

    def set_mask(self, values: np.ndarray, label: str = "Load mask") -> None:
        """Replace the content (same shape, grey levels kept; undoable)."""
        self._record(patch_edit(label, self.array, np.asarray(values, np.uint8)))

    # --- files -------------------------------------------------------------------------------------------
    def load(self, path: str | Path) -> None:
        """Read a mask image of the photo's size, keeping its grey levels (raises MaskError / ImageError)."""
        self.set_mask(read_mask_levels(path, self.shape), label=f"Load {Path(path).name}")

    def save(self, path: str | Path) -> Path:
        """Write the mask as an 8-bit grey PNG (white = fill), grey levels exactly as they are."""
        return write_mask_levels(path, self.array)

    # --- history -----------------------------------------------------------------------------------------
    def undo(self) -> Rect | None:
        rect = self.history.undo(self.array)
        self.events.emit("history")
        if rect is not None:
            self.events.emit("changed", rect)
        return rect

    def redo(self) -> Rect | None:
        rect = self.history.redo(self.array)
        self.events.emit("history")
        if rect is not None:
            self.events.emit("changed", rect)
        return rect

    def _record(self, edit: Edit | None) -> None:
        if edit is None:
            return
        self.history.push(edit)
        self.events.emit("history")
        self.events.emit("changed", edit.rect if hasattr(edit, "rect") else (0, 0, self.shape[1], self.shape[0]))


def _clip(shape: tuple[int, ...], rect: Rect) -> Rect | None:
    x, y, w, h = rect
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(shape[1], x + w), min(shape[0], y + h)
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None
