"""Unlimited undo for the mask, storing only what each edit changed (before/after patches of one rectangle)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

Rect = tuple[int, int, int, int]  # x, y, w, h


@dataclass
class PatchEdit:
    """Pixels of `rect` before and after an edit."""

    label: str
    rect: Rect
    before: np.ndarray
    after: np.ndarray

    def apply(self, mask: np.ndarray, undo: bool) -> Rect:
        x, y, w, h = self.rect
        mask[y:y + h, x:x + w] = self.before if undo else self.after
        return self.rect

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes


@dataclass
class InvertEdit:
    """Inverting is its own inverse: nothing to store."""

    label: str = "Invert mask"

    def apply(self, mask: np.ndarray, undo: bool) -> Rect:
        np.subtract(255, mask, out=mask)
        return 0, 0, mask.shape[1], mask.shape[0]

    nbytes = 0


Edit = Union[PatchEdit, InvertEdit]


def patch_edit(label: str, mask: np.ndarray, new: np.ndarray) -> PatchEdit | None:
    """Write `new` (a whole new mask) into mask and return the edit that undoes it, or None if nothing changed."""
    from core.masks import changed_rect

    rect = changed_rect(mask, new)
    if rect is None:
        return None
    x, y, w, h = rect
    edit = PatchEdit(label, rect, mask[y:y + h, x:x + w].copy(), new[y:y + h, x:x + w].copy())
    mask[y:y + h, x:x + w] = edit.after
    return edit


class StrokeRecorder:
    """Collects a stroke's 'before' pixels as it paints: each tile is copied the first time the stroke
    touches it, so a stroke never copies the whole mask."""

    TILE = 256

    def __init__(self, mask: np.ndarray, label: str) -> None:
        self.mask = mask
        self.label = label
        self._tiles: dict[tuple[int, int], np.ndarray] = {}
        self._bounds: list[int] | None = None  # x0, y0, x1, y1

    def touch(self, rect: Rect | None) -> None:
        """Call before writing into rect."""
        if rect is None:
            return
        x, y, w, h = rect
        t = self.TILE
        for ty in range(y // t, (y + h - 1) // t + 1):
            for tx in range(x // t, (x + w - 1) // t + 1):
                if (ty, tx) not in self._tiles:
                    self._tiles[(ty, tx)] = self.mask[ty * t:(ty + 1) * t, tx * t:(tx + 1) * t].copy()
        b = self._bounds
        self._bounds = [x, y, x + w, y + h] if b is None else [min(b[0], x), min(b[1], y),
                                                               max(b[2], x + w), max(b[3], y + h)]

    def finish(self) -> PatchEdit | None:
        """The stroke as one edit of its bounding rectangle (None if it changed nothing)."""
        if self._bounds is None:
            return None
        x0, y0, x1, y1 = self._bounds
        after = self.mask[y0:y1, x0:x1].copy()
        before = after.copy()
        t = self.TILE
        for (ty, tx), tile in self._tiles.items():
            # the tile's overlap with the stroke bounds, in both coordinate systems
            ax0, ay0 = max(x0, tx * t), max(y0, ty * t)
            ax1, ay1 = min(x1, tx * t + tile.shape[1]), min(y1, ty * t + tile.shape[0])
            if ax1 > ax0 and ay1 > ay0:
                src = tile[ay0 - ty * t:ay1 - ty * t, ax0 - tx * t:ax1 - tx * t]
                before[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0] = src
        self._tiles.clear()
        if np.array_equal(before, after):
            return None
        return PatchEdit(self.label, (x0, y0, x1 - x0, y1 - y0), before, after)


class MaskHistory:
    """Undo and redo stacks of edits; a new edit clears the redo stack."""

    def __init__(self) -> None:
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []

    def push(self, edit: Edit | None) -> None:
        if edit is not None:
            self._undo.append(edit)
            self._redo.clear()

    def undo(self, mask: np.ndarray) -> Rect | None:
        if not self._undo:
            return None
        edit = self._undo.pop()
        self._redo.append(edit)
        return edit.apply(mask, undo=True)

    def redo(self, mask: np.ndarray) -> Rect | None:
        if not self._redo:
            return None
        edit = self._redo.pop()
        self._undo.append(edit)
        return edit.apply(mask, undo=False)

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_label(self) -> str:
        return self._undo[-1].label if self._undo else ""

    def redo_label(self) -> str:
        return self._redo[-1].label if self._redo else ""

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()

    def stacks(self) -> tuple[list[Edit], list[Edit]]:
        """(undo stack, redo stack), oldest first: what session recovery writes."""
        return list(self._undo), list(self._redo)

    def restore(self, undo: list[Edit], redo: list[Edit]) -> None:
        """Replace both stacks (session recovery; the mask itself is rebuilt by replaying `undo`)."""
        self._undo, self._redo = list(undo), list(redo)

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self._undo) + sum(e.nbytes for e in self._redo)
