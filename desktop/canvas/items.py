"""Scene items that draw only the exposed part of big images: the photo and the mask overlay."""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from desktop.canvas.display import DisplayImage


def _pixel_bounds(rect: QRectF, width: int, height: int) -> QRectF:
    """rect grown to whole pixels and clipped to the image, so sub-rect draws never leave seams."""
    x0 = max(0, math.floor(rect.left()))
    y0 = max(0, math.floor(rect.top()))
    x1 = min(width, math.ceil(rect.right()))
    y1 = min(height, math.ceil(rect.bottom()))
    return QRectF(x0, y0, max(0, x1 - x0), max(0, y1 - y0))


class ImageItem(QGraphicsItem):
    """A photo in scene pixels. Zoomed out, it draws from a smaller pyramid level; `clip_x` (split view)
    limits it to the part left of a scene x."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.display: DisplayImage | None = None
        self.clip_x: float | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def set_display(self, display: DisplayImage | None) -> None:
        self.prepareGeometryChange()
        self.display = display
        self.update()

    def set_clip_x(self, x: float | None) -> None:
        self.clip_x = x
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt name)
        d = self.display
        return QRectF(0, 0, d.width, d.height) if d else QRectF()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        d = self.display
        if d is None:
            return
        exposed = option.exposedRect
        if self.clip_x is not None:
            exposed = exposed.intersected(QRectF(0, 0, max(0.0, self.clip_x), d.height))
        target = _pixel_bounds(exposed, d.width, d.height)
        if target.isEmpty():
            return
        scale = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        image, factor = d.level_for(scale)
        smooth = scale < 1.0  # zoomed in, pixels stay crisp squares for inspection
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        source = QRectF(target.x() * factor, target.y() * factor, target.width() * factor, target.height() * factor)
        if self.clip_x is not None:
            painter.setClipRect(exposed)
        painter.drawImage(target, image, source)


class MaskItem(QGraphicsItem):
    """The mask as a coloured overlay; its QImage shares the mask array's memory (an indexed image whose
    colour table maps coverage to transparency), so painting needs no copy and repaints one rectangle."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def set_image(self, image: QImage | None) -> None:
        self.prepareGeometryChange()
        self.image = image
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt name)
        return QRectF(0, 0, self.image.width(), self.image.height()) if self.image is not None else QRectF()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if self.image is None:
            return
        target = _pixel_bounds(option.exposedRect, self.image.width(), self.image.height())
        if not target.isEmpty():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            painter.drawImage(target, self.image, target)


def make_cosmetic(item, color, width: float = 1.5, style=Qt.PenStyle.SolidLine):
    """Give a shape item a pen that keeps its screen width at any zoom."""
    from PySide6.QtGui import QColor, QPen

    pen = QPen(QColor(color), width, style)
    pen.setCosmetic(True)
    item.setPen(pen)
    return item
