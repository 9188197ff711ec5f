"""The main window: composition of menus, canvas and status bar; little logic of its own."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (QFileDialog, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QLabel,
                               QMainWindow, QMessageBox)

from core.photo import Photo
from core.pixels import rgba8

OPEN_FILTER = "Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp);;All files (*)"


class _DeviceProbe(QObject):
    """Imports torch off the GUI thread and reports the device through a signal."""

    found = Signal(str)

    def start(self) -> None:
        threading.Thread(target=self._probe, name="restora-device-probe", daemon=True).start()

    def _probe(self) -> None:
        try:
            from core.devices import device_info

            self.found.emit(f"Device: {device_info().describe()}")
        except Exception as e:  # the editor must open even if torch is broken
            self.found.emit(f"Device: unavailable ({e})")


class MainWindow(QMainWindow):
    first_paint = Signal()
    photo_opened = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Restora")
        self.resize(1280, 820)
        self.photo: Photo | None = None
        self._painted = False
        self._scene = QGraphicsScene(self)
        self._item = QGraphicsPixmapItem()
        self._scene.addItem(self._item)
        self.view = QGraphicsView(self._scene, self)
        self.view.setObjectName("canvas")
        self.view.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setCentralWidget(self.view)
        self._placeholder = self._scene.addText("Open a photo (Ctrl+O) to start restoring.")
        self._device_label = QLabel("Device: detecting…")
        self.statusBar().addPermanentWidget(self._device_label)
        self._probe = _DeviceProbe(self)
        self._probe.found.connect(self._device_label.setText)
        self._build_menus()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open…", self, shortcut=QKeySequence.StandardKey.Open, triggered=self.open_dialog)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.close)
        file_menu.addAction(open_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)

    def start_background_services(self) -> None:
        """Work that must not delay the first frame: device detection (imports torch)."""
        self._probe.start()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_paint.emit()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open photo", "", OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        """Load a photo; a bad file shows a message and leaves the current photo as it was."""
        from core.errors import ImageError
        from core.imageio import load_photo

        try:
            photo = load_photo(path)
        except ImageError as e:
            self.show_error("Cannot open photo", str(e))
            return False
        self.set_photo(photo)
        return True

    def set_photo(self, photo: Photo) -> None:
        self.photo = photo
        pixels = rgba8(photo.rgb, photo.alpha)
        image = QImage(pixels.data, photo.width, photo.height, photo.width * 4, QImage.Format.Format_RGBA8888)
        self._item.setPixmap(QPixmap.fromImage(image.copy()))
        self._placeholder.setVisible(False)
        self._scene.setSceneRect(self._item.boundingRect())
        self.view.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
        name = photo.meta.source_path.name if photo.meta.source_path else "untitled"
        self.setWindowTitle(f"{name} — Restora")
        self.statusBar().showMessage(f"{name}: {photo.width} x {photo.height}, {photo.meta.bit_depth}-bit", 5000)
        self.photo_opened.emit(photo)

    def show_error(self, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("error-dialog")
        box.open()
