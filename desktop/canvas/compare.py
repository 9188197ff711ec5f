"""Side-by-side comparison: two photo views whose zoom and pan follow each other."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from desktop.canvas.display import DisplayImage
from desktop.canvas.view import PhotoView


class _Pane(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(title)
        self.title.setObjectName("pane-title")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.view = PhotoView(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)


class SideBySideView(QWidget):
    """Left shows version A, right version B; zooming or panning either moves both."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.left_pane = _Pane("Before")
        self.right_pane = _Pane("After")
        self.left, self.right = self.left_pane.view, self.right_pane.view
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.left_pane)
        splitter.addWidget(self.right_pane)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self._syncing = False
        self.left.view_changed.connect(lambda: self._sync(self.left, self.right))
        self.right.view_changed.connect(lambda: self._sync(self.right, self.left))

    def _sync(self, source: PhotoView, target: PhotoView) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            target.follow(source)
        finally:
            self._syncing = False

    def set_images(self, before: DisplayImage | None, after: DisplayImage | None,
                   before_title: str = "Before", after_title: str = "After") -> None:
        self.left.set_display(before)
        self.right.set_display(after)
        self.left_pane.title.setText(before_title)
        self.right_pane.title.setText(after_title)
        self._sync(self.right, self.left)
