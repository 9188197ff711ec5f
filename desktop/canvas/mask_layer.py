"""The mask overlay: renders the document's mask (core.session.mask.MaskDocument) and forwards painting to it.

The mask, its edits and its undo history live in core; this layer keeps only what drawing needs (the
overlay item wrapping the mask's memory, its colour and opacity) and the brush settings of the tools.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtGui import QColor, QImage, qRgba

from desktop.canvas.items import MaskItem

if TYPE_CHECKING:  # numpy and core load with the first photo, not with the window
    import numpy as np

    from core.session.mask import MaskDocument

Rect = tuple[int, int, int, int]
DEFAULT_COLOR = QColor(255, 70, 70)


class MaskLayer(QObject):
    changed = Signal(object)  # the changed rect (x, y, w, h)
    history_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.item = MaskItem()
        self.item.setZValue(2)
        self.doc: MaskDocument | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._image: QImage | None = None
        self._color = QColor(DEFAULT_COLOR)
        self.brush_size = 40.0  # diameter in photo pixels
        self.hardness = 1.0
        self.item.setOpacity(0.5)

    # --- the document's mask ------------------------------------------------------------------------
    def attach(self, doc: MaskDocument) -> None:
        """Show and edit this mask (the open document's, for the shown version's size)."""
        if doc is self.doc:
            return
        for off in self._unsubscribe:
            off()
        self.doc = doc
        self._unsubscribe = [doc.events.on("changed", self._repaint),
                             doc.events.on("history", self.history_changed.emit)]
        self._rewrap()
        self.history_changed.emit()
        h, w = doc.shape
        self.changed.emit((0, 0, w, h))

    def reset(self, height: int, width: int) -> None:
        """A new empty mask of this size, outside any document (for a canvas used on its own)."""
        from core.session.mask import MaskDocument

        self.attach(MaskDocument(height, width))

    @property
    def mask(self) -> np.ndarray | None:
        return None if self.doc is None else self.doc.array

    @property
    def history(self):
        from core.session.mask_history import MaskHistory

        return self.doc.history if self.doc is not None else MaskHistory()

    @property
    def shape(self) -> tuple[int, int]:
        assert self.doc is not None
        return self.doc.shape

    def _rewrap(self) -> None:
        assert self.doc is not None
        mask = self.doc.array
        h, w = mask.shape
        image = QImage(mask.data, w, h, mask.strides[0], QImage.Format.Format_Indexed8)
        c = self._color
        image.setColorTable([qRgba(c.red(), c.green(), c.blue(), i) for i in range(256)])
        self._image = image
        self.item.set_image(image)

    def _repaint(self, rect: Rect | None) -> None:
        if rect is None:
            return
        x, y, w, h = rect
        self.item.update(QRectF(x, y, w, h))
        self.changed.emit(rect)

    # --- look ---------------------------------------------------------------------------------------
    def set_opacity(self, opacity: float) -> None:
        self.item.setOpacity(min(max(opacity, 0.0), 1.0))

    def opacity(self) -> float:
        return float(self.item.opacity())

    def set_visible(self, visible: bool) -> None:
        self.item.setVisible(visible)

    def is_visible(self) -> bool:
        return bool(self.item.isVisible())

    def set_color(self, color: QColor) -> None:
        self._color = QColor(color)
        if self.doc is not None:
            self._rewrap()

    def is_empty(self) -> bool:
        return self.doc is None or self.doc.is_empty()

    # --- editing (forwarded to the document's mask) --------------------------------------------------
    def begin_stroke(self, x: float, y: float, erase: bool = False) -> Rect | None:
        if self.doc is None:
            return None
        return self.doc.begin_stroke(x, y, radius=self.brush_size / 2.0, hardness=self.hardness, erase=erase)

    def stroke_to(self, x: float, y: float) -> Rect | None:
        return None if self.doc is None else self.doc.stroke_to(x, y)

    def end_stroke(self) -> None:
        if self.doc is not None:
            self.doc.end_stroke()

    @property
    def stroking(self) -> bool:
        return self.doc is not None and self.doc.stroking

    def fill_rect(self, rect: Rect, erase: bool = False) -> None:
        if self.doc is not None:
            self.doc.fill_rect(rect, erase)

    def fill_lasso(self, points: list[tuple[float, float]], erase: bool = False) -> None:
        if self.doc is not None:
            self.doc.fill_lasso(points, erase)

    def invert(self) -> None:
        if self.doc is not None:
            self.doc.invert()

    def clear(self) -> None:
        if self.doc is not None:
            self.doc.clear()

    def grow(self, px: int) -> None:
        if self.doc is not None:
            self.doc.grow(px)

    def shrink(self, px: int) -> None:
        if self.doc is not None:
            self.doc.shrink(px)

    def set_mask(self, values: np.ndarray, label: str = "Load mask") -> None:
        if self.doc is not None:
            self.doc.set_mask(values, label)

    def load(self, path: str | Path) -> None:
        """Read a mask image of the photo's size, grey levels kept (raises MaskError / ImageError)."""
        if self.doc is not None:
            self.doc.load(path)

    def save(self, path: str | Path) -> Path:
        """Write the mask as an 8-bit grey PNG (white = fill)."""
        assert self.doc is not None
        return self.doc.save(path)

    def undo(self) -> None:
        if self.doc is not None:
            self.doc.undo()

    def redo(self) -> None:
        if self.doc is not None:
            self.doc.redo()

    def engine_mask(self) -> np.ndarray:
        """A binary copy for an engine (soft brush coverage thresholded at half), safe to hand to a worker."""
        assert self.doc is not None
        return self.doc.engine_mask()
