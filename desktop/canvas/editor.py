"""EditorCanvas: the main photo view with the mask layer, painting tools, face boxes and the split
before/after divider. It emits signals; the window decides what they mean."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsRectItem, QWidget

from desktop.canvas.display import DisplayImage
from desktop.canvas.items import ImageItem, make_cosmetic
from desktop.canvas.mask_layer import MaskLayer
from desktop.canvas.regions import RegionBox, RegionsLayer
from desktop.canvas.tools import Tool
from desktop.canvas.view import PhotoView

DIVIDER_GRAB_PX = 8  # how close (screen pixels) a press must be to the divider to drag it
HOLD_ORIGINAL_KEY = Qt.Key.Key_Backslash


class EditorCanvas(PhotoView):
    tool_changed = Signal(object)
    brush_size_changed = Signal(float)
    split_moved = Signal(float)  # the divider's scene x
    showing_original_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.photo_item.setZValue(0)
        self.before_item = ImageItem()
        self.before_item.setZValue(1)
        self.before_item.setVisible(False)
        self.scene().addItem(self.before_item)
        self.mask_layer = MaskLayer(self)
        self.scene().addItem(self.mask_layer.item)
        self.regions = RegionsLayer(self.scene(), self)
        self.tool = Tool.NAVIGATE
        self.split_enabled = False
        self.split_x = 0.0
        self.showing_original = False
        self._dragging_divider = False
        self._shape_start: QPointF | None = None
        self._lasso: list[tuple[float, float]] = []
        self._brush_cursor = make_cosmetic(QGraphicsEllipseItem(), "#ffffff", 1.0)
        self._brush_cursor.setZValue(10)
        self._brush_cursor.setVisible(False)
        self.scene().addItem(self._brush_cursor)
        self._rubber = make_cosmetic(QGraphicsRectItem(), "#8ea2ff", 1.5, Qt.PenStyle.DashLine)
        self._rubber.setZValue(10)
        self._rubber.setVisible(False)
        self.scene().addItem(self._rubber)
        self._lasso_item = make_cosmetic(QGraphicsPathItem(), "#8ea2ff", 1.5, Qt.PenStyle.DashLine)
        self._lasso_item.setZValue(10)
        self.scene().addItem(self._lasso_item)

    # --- content ----------------------------------------------------------------------------------
    def set_display(self, display: DisplayImage | None, fit: bool = True) -> None:
        old = self.display
        super().set_display(display, fit)
        if display is not None and (old is None or (old.width, old.height) != (display.width, display.height)):
            layer = self.mask_layer
            if layer.doc is None or layer.doc.shape != (display.height, display.width):
                layer.reset(display.height, display.width)  # the window attaches the document's mask after
            self.split_x = display.width / 2.0
            self._update_before()

    def set_before(self, display: DisplayImage | None) -> None:
        """The image shown left of the divider and while the original is held."""
        self.before_item.set_display(display)
        self._update_before()

    # --- tools ------------------------------------------------------------------------------------
    def set_tool(self, tool: Tool) -> None:
        self.tool = Tool(tool)
        self._brush_cursor.setVisible(False)
        self.viewport().unsetCursor()
        if self.tool in (Tool.RECT, Tool.LASSO, Tool.BOX):
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        elif self.tool in (Tool.BRUSH, Tool.ERASER):
            self.viewport().setCursor(Qt.CursorShape.BlankCursor)
        self.tool_changed.emit(self.tool)

    def restore_cursor(self) -> None:
        self.set_tool(self.tool)

    def set_brush_size(self, size: float) -> None:
        size = float(min(max(size, 1.0), 2000.0))
        self.mask_layer.brush_size = size
        r = size / 2
        c = self._brush_cursor.rect().center() if not self._brush_cursor.rect().isEmpty() else QPointF()
        self._brush_cursor.setRect(QRectF(c.x() - r, c.y() - r, size, size))
        self.brush_size_changed.emit(size)

    def grow_brush(self) -> None:
        self.set_brush_size(self.mask_layer.brush_size * 1.25)

    def shrink_brush(self) -> None:
        self.set_brush_size(self.mask_layer.brush_size / 1.25)

    # --- before/after -----------------------------------------------------------------------------
    def set_split(self, enabled: bool) -> None:
        self.split_enabled = enabled
        self._update_before()

    def set_split_x(self, x: float) -> None:
        d = self.display
        width = d.width if d else 0
        self.split_x = float(min(max(x, 0.0), width))
        self._update_before()
        self.split_moved.emit(self.split_x)

    def set_showing_original(self, showing: bool) -> None:
        if showing != self.showing_original:
            self.showing_original = showing
            self._update_before()
            self.showing_original_changed.emit(showing)

    def _update_before(self) -> None:
        has_before = self.before_item.display is not None
        if self.showing_original and has_before:
            self.before_item.set_clip_x(None)
            self.before_item.setVisible(True)
        elif self.split_enabled and has_before:
            self.before_item.set_clip_x(self.split_x)
            self.before_item.setVisible(True)
        else:
            self.before_item.setVisible(False)
        self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:  # noqa: N802 (Qt passes a QRectF)
        if not (self.split_enabled and self.display is not None and not self.showing_original):
            return
        h = self.display.height
        painter.save()
        pen = QPen(QColor("#ffffff"), 2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawLine(QPointF(self.split_x, 0), QPointF(self.split_x, h))
        # a round handle of constant screen size in the middle of the visible part of the line
        top = max(0.0, rect.top())
        bottom = min(float(h), rect.bottom())
        mid = QPointF(self.mapFromScene(QPointF(self.split_x, (top + bottom) / 2)))
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(QColor("#3b5bdb"))
        painter.drawEllipse(mid, 11, 11)
        painter.setPen(QPen(QColor("#ffffff"), 2))
        painter.drawLine(mid + QPointF(-5, 0), mid + QPointF(-2, -3))
        painter.drawLine(mid + QPointF(-5, 0), mid + QPointF(-2, 3))
        painter.drawLine(mid + QPointF(5, 0), mid + QPointF(2, -3))
        painter.drawLine(mid + QPointF(5, 0), mid + QPointF(2, 3))
        painter.setFont(self.font())
        painter.setPen(QColor("#ffffff"))
        left = QPointF(self.mapFromScene(QPointF(self.split_x, top)))
        painter.drawText(left + QPointF(-70, 22), "Before")
        painter.drawText(left + QPointF(12, 22), "After")
        painter.restore()

    def _near_divider(self, pos: QPointF) -> bool:
        if not (self.split_enabled and self.display is not None and not self.showing_original):
            return False
        line_x = self.mapFromScene(QPointF(self.split_x, 0)).x()
        return abs(pos.x() - line_x) <= DIVIDER_GRAB_PX

    # --- keys ---------------------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == HOLD_ORIGINAL_KEY:
            if not event.isAutoRepeat():
                self.set_showing_original(True)
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.regions.remove_selected():
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == HOLD_ORIGINAL_KEY:
            if not event.isAutoRepeat():
                self.set_showing_original(False)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802
        self.set_showing_original(False)  # a key released elsewhere must not leave the original showing
        super().focusOutEvent(event)

    # --- mouse --------------------------------------------------------------------------------------
    def _scene_pos(self, event: QMouseEvent) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def _box_under(self, event: QMouseEvent) -> bool:
        return isinstance(self.itemAt(event.position().toPoint()), RegionBox)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.wants_pan(event):
            self.start_pan(event.position().toPoint())
            event.accept()
            return
        if event.button() != Qt.MouseButton.LeftButton or self.display is None:
            super().mousePressEvent(event)
            return
        if self._near_divider(event.position()):
            self._dragging_divider = True
            self.set_split_x(self._scene_pos(event).x())
            event.accept()
            return
        p = self._scene_pos(event)
        erase = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        if self.tool in (Tool.BRUSH, Tool.ERASER):
            self.mask_layer.begin_stroke(p.x(), p.y(), erase=self.tool == Tool.ERASER or erase)
        elif self.tool in (Tool.RECT, Tool.BOX) and not (self.tool == Tool.BOX and self._box_under(event)):
            self._shape_start = p
            self._rubber.setRect(QRectF(p, p))
            self._rubber.setVisible(True)
        elif self.tool == Tool.LASSO:
            self._lasso = [(p.x(), p.y())]
            self._lasso_item.setPath(QPainterPath(p))
        elif self.tool == Tool.NAVIGATE and not self._box_under(event):
            self.start_pan(event.position().toPoint())
        else:
            super().mousePressEvent(event)
            return
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        p = self._scene_pos(event)
        if self.tool in (Tool.BRUSH, Tool.ERASER) and not self.is_panning():
            r = self.mask_layer.brush_size / 2
            self._brush_cursor.setRect(QRectF(p.x() - r, p.y() - r, 2 * r, 2 * r))
            self._brush_cursor.setVisible(True)
        if self._dragging_divider:
            self.set_split_x(p.x())
        elif self.mask_layer.stroking:
            self.mask_layer.stroke_to(p.x(), p.y())
        elif self._shape_start is not None:
            self._rubber.setRect(QRectF(self._shape_start, p).normalized())
        elif self._lasso:
            self._lasso.append((p.x(), p.y()))
            path = self._lasso_item.path()
            path.lineTo(p)
            self._lasso_item.setPath(path)
        elif self._near_divider(event.position()) and not self.is_panning():
            self.viewport().setCursor(Qt.CursorShape.SplitHCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton or self.is_panning():
            super().mouseReleaseEvent(event)
            return
        erase = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        if self._dragging_divider:
            self._dragging_divider = False
        elif self.mask_layer.stroking:
            self.mask_layer.end_stroke()
        elif self._shape_start is not None:
            r = QRectF(self._shape_start, self._scene_pos(event)).normalized()
            self._shape_start = None
            self._rubber.setVisible(False)
            box = (int(round(r.x())), int(round(r.y())), int(round(r.width())), int(round(r.height())))
            if self.tool == Tool.RECT:
                self.mask_layer.fill_rect(box, erase=erase)
            else:
                self.regions.add(box, "user")
        elif self._lasso:
            points, self._lasso = self._lasso, []
            self._lasso_item.setPath(QPainterPath())
            self.mask_layer.fill_lasso(points, erase=erase)
        else:
            super().mouseReleaseEvent(event)
            return
        event.accept()

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._brush_cursor.setVisible(False)
        super().leaveEvent(event)
