"""Editable boxes over the photo (faces an engine found, or ones the user drew)."""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsScene

from desktop.canvas.items import make_cosmetic

Rect = tuple[int, int, int, int]
HANDLE_PX = 10  # screen pixels around the bottom-right corner that resize instead of move


def _box(rect: Rect) -> tuple[float, float, float, float]:
    """A canvas rectangle (x, y, w, h) as a Region's box."""
    x, y, w, h = rect
    return float(x), float(y), float(w), float(h)


class RegionBox(QGraphicsRectItem):
    """A movable, resizable box; geometry lives in rect() with the item at the origin."""

    def __init__(self, rect: QRectF, layer: "RegionsLayer", source: str) -> None:
        super().__init__(rect)
        self.layer = layer
        self.source = source  # "engine" or "user"
        self.setZValue(4)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setAcceptHoverEvents(True)
        color = "#ffd43b" if source == "engine" else "#69db7c"
        make_cosmetic(self, color, 2.0)
        self.setBrush(QBrush(QColor(0, 0, 0, 0)))
        self._drag: tuple[str, QPointF, QRectF] | None = None

    def box(self) -> Rect:
        r = self.rect().normalized()
        return int(round(r.x())), int(round(r.y())), int(round(r.width())), int(round(r.height()))

    def _near_corner(self, pos: QPointF) -> bool:
        views = self.scene().views() if self.scene() else []
        scale = views[0].transform().m11() if views else 1.0
        corner = self.rect().bottomRight()
        return abs(pos.x() - corner.x()) * scale < HANDLE_PX and abs(pos.y() - corner.y()) * scale < HANDLE_PX

    def hoverMoveEvent(self, event) -> None:  # noqa: N802
        self.setCursor(Qt.CursorShape.SizeFDiagCursor if self._near_corner(event.pos())
                       else Qt.CursorShape.SizeAllCursor)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        mode = "resize" if self._near_corner(event.pos()) else "move"
        self._drag = (mode, event.scenePos(), QRectF(self.rect()))
        self.setSelected(True)
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag is None:
            return
        mode, start, rect = self._drag
        delta = event.scenePos() - start
        if mode == "move":
            self.setRect(rect.translated(delta))
        else:
            self.setRect(QRectF(rect.topLeft(), rect.bottomRight() + delta).normalized())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drag is not None:
            self._drag = None
            self.layer.emit_changed()


class RegionsLayer(QObject):
    """Draws the document's face regions (core.session.faces.FaceRegions) as boxes and writes the user's
    edits (draw, move, resize, delete) back to it; emits their rectangles (x, y, w, h) whenever they change."""

    regions_changed = Signal(list)

    def __init__(self, scene: QGraphicsScene, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from core.session.faces import FaceRegions

        self.scene = scene
        self.boxes: list[RegionBox] = []
        self.faces = FaceRegions()
        self._off = self.faces.events.on("changed", self._rebuild)
        self._visible = True

    def attach(self, faces) -> None:
        """Show and edit these face regions (the open document's)."""
        if faces is self.faces:
            return
        self._off()
        self.faces = faces
        self._off = faces.events.on("changed", self._rebuild)
        self._rebuild(faces.regions)

    def set_regions(self, regions: list[Rect], source: str = "engine") -> None:
        from core.regions import Region

        kind = "user" if source == "user" else "detected"
        self.faces.set([Region(_box(r), source=kind) for r in regions])

    def add(self, rect: Rect, source: str = "user") -> RegionBox | None:
        from core.regions import Region

        if rect[2] < 2 or rect[3] < 2:
            return None
        self.faces.add(Region(_box(rect), source="user" if source == "user" else "detected"))
        return self.boxes[-1] if self.boxes else None

    def remove_selected(self) -> int:
        chosen = [i for i, b in enumerate(self.boxes) if b.isSelected()]
        if chosen:
            self.faces.remove(chosen)
        return len(chosen)

    def regions(self) -> list[Rect]:
        return [b.box() for b in self.boxes]

    def set_visible(self, visible: bool) -> None:
        self._visible = visible
        for box in self.boxes:
            box.setVisible(visible)

    def emit_changed(self) -> None:
        """A box was moved or resized on the canvas: write its new geometry to the document."""
        import dataclasses

        current = self.faces.regions
        updated = [dataclasses.replace(r, box=_box(b.box())) if i < len(current) else r
                   for i, (r, b) in enumerate(zip(current, self.boxes))]
        self.faces.set(updated)

    def _rebuild(self, regions) -> None:
        for box in self.boxes:
            self.scene.removeItem(box)
        self.boxes = []
        for r in regions:
            box = RegionBox(QRectF(*r.int_box), self, "user" if r.source == "user" else "engine")
            box.setVisible(self._visible)
            self.scene.addItem(box)
            self.boxes.append(box)
        self.regions_changed.emit(self.regions())
