"""Side-by-side comparison: two photo views of always equal width whose zoom and pan follow each other.
The pair answers the same view commands as one PhotoView (fit, 100%, zoom in/out) and reports its zoom."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from desktop.canvas.display import DisplayImage
from desktop.canvas.view import PhotoView

GAP_PX = 2  # the dark line between the panes
MIN_PANE_PX = 80


class _TitleLabel(QLabel):
    """A one-line title that elides instead of widening its pane; the full text is its tooltip."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self._full = ""
        self.setObjectName("pane-title")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.set_title(text)

    def set_title(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def title(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = max(self.contentsRect().width() - 2 * self.margin(), 0)
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, room))


class _Pane(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = _TitleLabel(title)
        self.view = PhotoView(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)


class SideBySideView(QWidget):
    """Left shows version A, right version B; zooming or panning either moves both. The panes are laid
    out by hand so they are always exactly as wide as each other, whatever their contents ask for."""

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.left_pane = _Pane("Before", self)
        self.right_pane = _Pane("After", self)
        self.left, self.right = self.left_pane.view, self.right_pane.view
        self._syncing = False
        self.left.view_changed.connect(lambda: self._sync(self.left, self.right))
        self.right.view_changed.connect(lambda: self._sync(self.right, self.left))
        self.left.zoom_changed.connect(self._zoom_changed)
        self.right.zoom_changed.connect(self._zoom_changed)
        self._layout_panes()

    # --- layout ---------------------------------------------------------------------------------
    def pane_width(self) -> int:
        return max((self.width() - GAP_PX) // 2, 0)

    def _layout_panes(self) -> None:
        w, h = self.pane_width(), self.height()
        self.left_pane.setGeometry(0, 0, w, h)
        self.right_pane.setGeometry(self.width() - w, 0, w, h)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._layout_panes()
        self._sync(self.right, self.left)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self.zoom_changed.emit(self.zoom())  # the window's zoom readout switches to this pair

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(800, 600)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(2 * MIN_PANE_PX + GAP_PX, MIN_PANE_PX)

    # --- keeping the panes in step --------------------------------------------------------------
    def _sync(self, source: PhotoView, target: PhotoView) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            target.follow(source)
        finally:
            self._syncing = False

    def _zoom_changed(self, factor: float) -> None:
        if not self._syncing:
            self.zoom_changed.emit(factor)

    def follow(self, view: PhotoView) -> None:
        """Show the zoom and centre of another view (the single canvas) in both panes."""
        self.right.follow(view)
        self._sync(self.right, self.left)
        self.zoom_changed.emit(self.zoom())

    # --- the view commands, on both panes -------------------------------------------------------
    def zoom(self) -> float:
        return self.right.zoom()

    def fit(self) -> None:
        self.right.fit()

    def actual_pixels(self) -> None:
        self.right.actual_pixels()

    def zoom_in(self) -> None:
        self.right.zoom_in()

    def zoom_out(self) -> None:
        self.right.zoom_out()

    # --- content --------------------------------------------------------------------------------
    def set_images(self, before: DisplayImage | None, after: DisplayImage | None,
                   before_title: str = "Before", after_title: str = "After") -> None:
        self.left.set_display(before)
        self.right.set_display(after)
        self.left_pane.title.set_title(before_title)
        self.right_pane.title.set_title(after_title)
        self._sync(self.right, self.left)
