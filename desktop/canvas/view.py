"""PhotoView: a QGraphicsView for big photos: zoom around the cursor, Space/middle-drag pan, fit and 100%,
and a readout of the pixel under the cursor."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QTransform, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

from desktop.canvas.display import DisplayImage
from desktop.canvas.items import ImageItem

MIN_ZOOM, MAX_ZOOM = 0.01, 64.0
WHEEL_STEP = 1.25  # zoom factor per wheel notch


class PhotoView(QGraphicsView):
    """Shows one DisplayImage; subclasses add layers and tools."""

    zoom_changed = Signal(float)
    view_changed = Signal()  # zoom or scroll moved: side-by-side views follow
    pixel_hovered = Signal(int, int, object)  # x, y, (r, g, b) or None outside the photo

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setScene(QGraphicsScene(self))
        self.scene().setBackgroundBrush(QColor("#111214"))
        self.photo_item = ImageItem()
        self.scene().addItem(self.photo_item)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._space_held = False
        self._pan_from: QPoint | None = None
        self._fit_mode = True  # refit on resize until the user zooms
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self.view_changed.emit())
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.view_changed.emit())

    # --- content --------------------------------------------------------------------------------
    @property
    def display(self) -> DisplayImage | None:
        return self.photo_item.display

    def set_display(self, display: DisplayImage | None, fit: bool = True) -> None:
        same_size = (self.display is not None and display is not None
                     and (self.display.width, self.display.height) == (display.width, display.height))
        self.photo_item.set_display(display)
        if display is not None:
            self.scene().setSceneRect(QRectF(-0.0, -0.0, display.width, display.height))
        if fit and not same_size:
            self.fit()

    # --- zoom -------------------------------------------------------------------------------------
    def zoom(self) -> float:
        return float(self.transform().m11())

    def set_zoom(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom to an absolute factor, keeping the scene point at `anchor` (viewport pos) still."""
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        anchor_pos = anchor if anchor is not None else QPointF(self.viewport().rect().center())
        scene_before = self.mapToScene(anchor_pos.toPoint())
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setTransform(QTransform.fromScale(factor, factor))
        # scroll so the scene point that was under the anchor is under it again
        drift = self.mapFromScene(scene_before) - anchor_pos.toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self._fit_mode = False
        self.zoom_changed.emit(factor)
        self.view_changed.emit()

    def fit(self) -> None:
        rect = self.scene().sceneRect()
        if rect.isEmpty():
            return
        self.resetTransform()
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self._fit_mode = True
        self.zoom_changed.emit(self.zoom())
        self.view_changed.emit()

    def actual_pixels(self) -> None:
        """100%: one photo pixel per screen pixel, around the view centre."""
        self.set_zoom(1.0)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom() * WHEEL_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom() / WHEEL_STEP)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        # Plain wheel and Ctrl+wheel both zoom around the cursor; Shift+wheel scrolls sideways.
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            super().wheelEvent(event)
            return
        notches = event.angleDelta().y() / 120.0
        if notches:
            self.set_zoom(self.zoom() * (WHEEL_STEP ** notches), event.position())
        event.accept()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()

    def center_scene_point(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def follow(self, other: "PhotoView") -> None:
        """Show the same zoom and centre as another view."""
        self.setTransform(other.transform())
        self.centerOn(other.center_scene_point())
        self._fit_mode = other._fit_mode

    # --- pan ----------------------------------------------------------------------------------------
    def is_panning(self) -> bool:
        return self._pan_from is not None

    def wants_pan(self, event: QMouseEvent) -> bool:
        """Middle button, or left button while Space is held, pans in every tool."""
        return (event.button() == Qt.MouseButton.MiddleButton
                or (event.button() == Qt.MouseButton.LeftButton and self._space_held))

    def start_pan(self, pos: QPoint) -> None:
        self._pan_from = pos
        self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.restore_cursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def restore_cursor(self) -> None:
        self.viewport().unsetCursor()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.wants_pan(event):
            self.start_pan(event.position().toPoint())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position().toPoint()
        if self._pan_from is not None:
            delta = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        self._report_pixel(pos)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_from is not None:
            self._pan_from = None
            if self._space_held:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.restore_cursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def _report_pixel(self, pos: QPoint) -> None:
        d = self.display
        if d is None:
            return
        p = self.mapToScene(pos)
        x, y = int(p.x() // 1), int(p.y() // 1)
        self.pixel_hovered.emit(x, y, d.rgb_at(x, y))
