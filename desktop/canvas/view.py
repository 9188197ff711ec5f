"""PhotoView: a QGraphicsView for big photos: zoom around the cursor, Space/middle-drag pan, fit and 100%,
and a readout of the pixel under the cursor.

The view places the photo itself instead of leaving it to QGraphicsView's anchors: a zoom keeps the photo
point under the cursor exactly where it was, even while the photo is smaller than the window (the
scrollable area then grows to take in what is on screen). There are no scroll bars: they would change the
viewport's size as they come and go, and shift what is under the cursor with it."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QResizeEvent, QTransform, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

from desktop.canvas.display import DisplayImage
from desktop.canvas.items import ImageItem

MIN_ZOOM, MAX_ZOOM = 0.01, 64.0
WHEEL_STEP = 1.25  # zoom factor per wheel notch
PLACE_MARGIN_PX = 2  # slack around the visible area so rounding never clamps a placement
WHEEL_PAN_FRACTION = 0.1  # Shift+wheel pans this part of the view's width per notch


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
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # zoom and resize place the photo themselves (set_zoom, resizeEvent): no anchors of Qt's own
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._space_held = False
        self._pan_from: QPoint | None = None
        self._fit_mode = True  # refit on resize until the user zooms
        self._last_anchor: tuple[QPointF, QPointF] | None = None  # (viewport pos, exact scene point) of the last zoom
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self.view_changed.emit())
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.view_changed.emit())

    # --- content --------------------------------------------------------------------------------
    @property
    def display(self) -> DisplayImage | None:
        return self.photo_item.display

    def set_display(self, display: DisplayImage | None, fit: bool = True) -> None:
        same_size = (self.display is not None and display is not None
                     and (self.display.width, self.display.height) == (display.width, display.height))
        center = self.center_scene_point()
        self.photo_item.set_display(display)
        if display is not None:
            self.scene().setSceneRect(QRectF(-0.0, -0.0, display.width, display.height))
        if fit and not same_size:
            self.fit()
        elif display is not None:
            self.place(center, self.viewport_center())

    def image_rect(self) -> QRectF:
        """The photo's extent in scene pixels."""
        return self.scene().sceneRect()

    # --- placement ------------------------------------------------------------------------------
    def viewport_center(self) -> QPointF:
        vp = self.viewport()
        return QPointF(vp.width() / 2.0, vp.height() / 2.0)

    def to_scene(self, pos: QPointF) -> QPointF:
        """A viewport position in scene coordinates, without rounding to whole pixels."""
        inverse, _ok = self.viewportTransform().inverted()
        return inverse.map(QPointF(pos))

    def center_scene_point(self) -> QPointF:
        """The scene point at the middle of the viewport."""
        return self.to_scene(self.viewport_center())

    def place(self, scene_point: QPointF, viewport_pos: QPointF) -> None:
        """Scroll so that `scene_point` shows at `viewport_pos`, at the current zoom. The scrollable area
        is the photo plus the area this placement shows, so it is never clamped or recentred."""
        z = self.zoom()
        vp = self.viewport()
        margin = PLACE_MARGIN_PX / z
        visible = QRectF(scene_point.x() - viewport_pos.x() / z, scene_point.y() - viewport_pos.y() / z,
                         vp.width() / z, vp.height() / z)
        self.setSceneRect(self.image_rect().united(visible.adjusted(-margin, -margin, margin, margin)))
        now = self.viewportTransform().map(QPointF(scene_point))
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + round(now.x() - viewport_pos.x()))
        v.setValue(v.value() + round(now.y() - viewport_pos.y()))

    # --- zoom -------------------------------------------------------------------------------------
    def zoom(self) -> float:
        return float(self.transform().m11())

    def is_fit(self) -> bool:
        """True while the view refits the photo whenever it is resized (until the user zooms)."""
        return self._fit_mode

    def set_zoom(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom to an absolute factor, keeping the scene point at `anchor` (viewport pos) still."""
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        anchor_pos = QPointF(anchor) if anchor is not None else self.viewport_center()
        scene_before = self._anchor_point(anchor_pos)
        self.setTransform(QTransform.fromScale(factor, factor))
        self.place(scene_before, anchor_pos)
        self._fit_mode = False
        self.zoom_changed.emit(factor)
        self.view_changed.emit()

    def _anchor_point(self, anchor_pos: QPointF) -> QPointF:
        """The scene point under `anchor_pos`. Zooming again at the same place reuses the exact point of the
        last zoom, so whole-pixel scrolling cannot make the photo creep over many wheel notches."""
        point = self.to_scene(anchor_pos)
        last = self._last_anchor
        if last is not None and last[0] == anchor_pos:
            off = (point - last[1]) * self.zoom()
            if abs(off.x()) <= 1.0 and abs(off.y()) <= 1.0:  # only the rounding of the last placement moved it
                point = last[1]
        self._last_anchor = (QPointF(anchor_pos), point)
        return point

    def fit(self) -> None:
        rect = self.image_rect()
        if rect.isEmpty():
            return
        self.setSceneRect(rect)
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
        # Plain wheel and Ctrl+wheel both zoom around the cursor; Shift+wheel (or a sideways wheel) pans.
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier or abs(delta.x()) > abs(delta.y()):
            notches = (delta.y() or delta.x()) / 120.0  # some platforms turn Shift+wheel into x
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - round(notches * WHEEL_PAN_FRACTION * self.viewport().width()))
        elif delta.y():
            self.set_zoom(self.zoom() * (WHEEL_STEP ** (delta.y() / 120.0)), event.position())
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        old = event.oldSize()
        # the photo point at the old center stays at the center (scroll values are still the old ones here)
        center = self.to_scene(QPointF(old.width() / 2.0, old.height() / 2.0)) if old.isValid() else None
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()
        elif center is not None and not self.image_rect().isEmpty():
            self.place(center, self.viewport_center())

    def follow(self, other: "PhotoView") -> None:
        """Show the same zoom and center as another view (a fitted view fits here too)."""
        if other.is_fit():
            self.fit()
            return
        self.setTransform(other.transform())
        self.place(other.center_scene_point(), self.viewport_center())
        self._fit_mode = False

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
