"""The editable mask: a uint8 array (255 = fill), its overlay item, painting tools and undo history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtGui import QColor, QImage, qRgba

from desktop.canvas.items import MaskItem
from desktop.canvas.mask_history import InvertEdit, MaskHistory, StrokeRecorder, patch_edit

if TYPE_CHECKING:  # numpy loads with the first photo, not with the window
    import numpy as np

Rect = tuple[int, int, int, int]
DEFAULT_COLOR = QColor(255, 70, 70)


class MaskLayer(QObject):
    """Owns the mask array; every change goes through here so the overlay repaints just the changed
    rectangle and the history records it."""

    changed = Signal(object)  # the changed rect (x, y, w, h)
    history_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.item = MaskItem()
        self.item.setZValue(2)
        self.history = MaskHistory()
        self.mask: np.ndarray | None = None  # created by reset() for the first photo
        self._image: QImage | None = None
        self._color = QColor(DEFAULT_COLOR)
        self._stroke: StrokeRecorder | None = None
        self._last_point: tuple[float, float] | None = None
        self.brush_size = 40.0  # diameter in photo pixels
        self.hardness = 1.0
        self.item.setOpacity(0.5)

    # --- set-up ---------------------------------------------------------------------------------
    def reset(self, height: int, width: int) -> None:
        """A new empty mask for a photo of this size (history cleared)."""
        import numpy as np

        self.mask = np.zeros((height, width), np.uint8)
        self.history.clear()
        self._rewrap()
        self.history_changed.emit()
        self.changed.emit((0, 0, width, height))

    def _rewrap(self) -> None:
        h, w = self.mask.shape
        image = QImage(self.mask.data, w, h, self.mask.strides[0], QImage.Format.Format_Indexed8)
        c = self._color
        image.setColorTable([qRgba(c.red(), c.green(), c.blue(), i) for i in range(256)])
        self._image = image
        self.item.set_image(image)

    @property
    def shape(self) -> tuple[int, int]:
        return self.mask.shape  # type: ignore[return-value]

    def set_opacity(self, opacity: float) -> None:
        self.item.setOpacity(min(max(opacity, 0.0), 1.0))

    def opacity(self) -> float:
        return float(self.item.opacity())

    def set_color(self, color: QColor) -> None:
        self._color = QColor(color)
        self._rewrap()

    def is_empty(self) -> bool:
        return self.mask is None or not self.mask.any()

    def _repaint(self, rect: Rect | None) -> None:
        if rect is None:
            return
        x, y, w, h = rect
        self.item.update(QRectF(x, y, w, h))
        self.changed.emit(rect)

    def _record(self, edit) -> None:
        if edit is not None:
            self.history.push(edit)
            self.history_changed.emit()
            self._repaint(edit.rect if hasattr(edit, "rect") else (0, 0, self.shape[1], self.shape[0]))

    # --- brush ------------------------------------------------------------------------------------
    def begin_stroke(self, x: float, y: float, erase: bool = False) -> Rect | None:
        if self.mask is None:
            return None
        self._stroke = StrokeRecorder(self.mask, "Erase" if erase else "Brush stroke")
        self._erase = erase
        self._last_point = (x, y)
        return self.stroke_to(x, y)

    def stroke_to(self, x: float, y: float) -> Rect | None:
        """Paint from the last point to (x, y); repaints only the segment's rectangle."""
        from core.masks import paint_segment, segment_rect

        if self._stroke is None or self._last_point is None:
            return None
        radius = self.brush_size / 2.0
        start, end = self._last_point, (x, y)
        self._stroke.touch(segment_rect(self.mask.shape, start, end, radius))
        rect = paint_segment(self.mask, start, end, radius, self.hardness, erase=self._erase)
        self._last_point = end
        self._repaint(rect)
        return rect

    def end_stroke(self) -> None:
        if self._stroke is None:
            return
        edit = self._stroke.finish()
        self._stroke = None
        self._last_point = None
        if edit is not None:
            self.history.push(edit)
            self.history_changed.emit()

    @property
    def stroking(self) -> bool:
        return self._stroke is not None

    # --- whole-shape edits --------------------------------------------------------------------
    def fill_rect(self, rect: Rect, erase: bool = False) -> None:
        if self.mask is None:
            return None
        from core.masks import fill_rect

        recorder = StrokeRecorder(self.mask, "Rectangle")
        x, y, w, h = (int(round(v)) for v in rect)
        recorder.touch(_clip(self.mask.shape, (x, y, w, h)))
        fill_rect(self.mask, (x, y, w, h), 0 if erase else 255)
        self._record(recorder.finish())

    def fill_lasso(self, points: list[tuple[float, float]], erase: bool = False) -> None:
        if self.mask is None:
            return None
        from core.masks import fill_polygon

        if len(points) < 3:
            return
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        recorder = StrokeRecorder(self.mask, "Lasso")
        recorder.touch(_clip(self.mask.shape, (int(min(xs)) - 1, int(min(ys)) - 1,
                                               int(max(xs) - min(xs)) + 3, int(max(ys) - min(ys)) + 3)))
        fill_polygon(self.mask, points, 0 if erase else 255)
        self._record(recorder.finish())

    def invert(self) -> None:
        if self.mask is None:
            return None
        edit = InvertEdit()
        edit.apply(self.mask, undo=False)
        self._record(edit)

    def clear(self) -> None:
        if self.mask is None:
            return None
        import numpy as np

        self._record(patch_edit("Clear mask", self.mask, np.zeros_like(self.mask)))

    def grow(self, px: int) -> None:
        if self.mask is None:
            return None
        from core.masks import grow_mask

        self._record(patch_edit(f"Grow {px} px", self.mask, grow_mask(self.mask, px)))

    def shrink(self, px: int) -> None:
        if self.mask is None:
            return None
        from core.masks import shrink_mask

        self._record(patch_edit(f"Shrink {px} px", self.mask, shrink_mask(self.mask, px)))

    def set_mask(self, values: np.ndarray, label: str = "Load mask") -> None:
        """Replace the mask's content (same shape; undoable)."""
        import numpy as np

        self._record(patch_edit(label, self.mask, np.asarray(values, np.uint8)))

    # --- files ----------------------------------------------------------------------------------
    def load(self, path: str | Path) -> None:
        """Read a mask PNG of the photo's size (raises core.masks.MaskError / ImageError)."""
        from core.masks import load_mask

        self.set_mask(load_mask(path, self.mask.shape), label=f"Load {Path(path).name}")

    def save(self, path: str | Path) -> Path:
        """Write the mask as a gray PNG (white = fill)."""
        from core.imageio import write_atomic
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice

        target = Path(path)
        gray = QImage(self.mask.data, self.mask.shape[1], self.mask.shape[0], self.mask.strides[0],
                      QImage.Format.Format_Grayscale8)
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        gray.save(buf, "PNG")
        buf.close()
        write_atomic(target, bytes(data.data()))
        return target

    # --- history --------------------------------------------------------------------------------
    def undo(self) -> None:
        rect = self.history.undo(self.mask)
        self.history_changed.emit()
        self._repaint(rect)

    def redo(self) -> None:
        rect = self.history.redo(self.mask)
        self.history_changed.emit()
        self._repaint(rect)

    def engine_mask(self) -> np.ndarray:
        """A binary copy for an engine (soft brush coverage thresholded at half), safe to hand to a worker."""
        from core.masks import check_mask

        return check_mask(self.mask.copy(), self.mask.shape)


def _clip(shape: tuple[int, ...], rect: Rect) -> Rect | None:
    x, y, w, h = rect
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(shape[1], x + w), min(shape[0], y + h)
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None
