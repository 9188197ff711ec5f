"""Export: where, which format, quality, bit depth, and whether to keep the photo's metadata."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

FORMATS = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".bmp"}
SIXTEEN_BIT = ("PNG", "TIFF")
LOSSY = ("JPEG", "WEBP")


@dataclass(frozen=True)
class ExportOptions:
    path: Path
    quality: int = 95
    bit_depth: int | None = None  # None: the source's depth where the format holds it
    keep_metadata: bool = True


def suggested_path(source: Path | None, label: str = "restored", fmt: str = "PNG") -> Path:
    """A name beside the source that never equals it: photo.jpg -> photo-restored.png."""
    ext = FORMATS.get(fmt, ".png")
    if source is None:
        return Path.home() / f"{label}{ext}"
    return source.with_name(f"{source.stem}-{label}{ext}")


class ExportDialog(QDialog):
    def __init__(self, source: Path | None, bit_depth: int = 8, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("export-dialog")
        self.setWindowTitle("Export")
        self.setMinimumWidth(520)
        self.source = source
        self.format = QComboBox()
        self.format.addItems(list(FORMATS))
        fmt = (source.suffix.lower() if source else ".png")
        start_fmt = next((k for k, v in FORMATS.items() if v == fmt or (k == "JPEG" and fmt == ".jpeg")
                          or (k == "TIFF" and fmt == ".tiff")), "PNG")
        self.format.setCurrentText(start_fmt)
        self.path = QLineEdit(str(suggested_path(source, fmt=start_fmt)))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(95)
        self.quality.setToolTip("JPEG and WebP quality; 90 and above also keeps full colour resolution in JPEG.")
        self.depth = QComboBox()
        self.depth.addItem("Same as the original", None)
        self.depth.addItem("8 bits per channel", 8)
        self.depth.addItem("16 bits per channel", 16)
        self.depth.setToolTip(f"The original has {bit_depth} bits per channel. 16-bit needs PNG or TIFF.")
        self.keep_metadata = QCheckBox("Keep colour profile and EXIF")
        self.keep_metadata.setChecked(True)
        self.warning = QLabel()
        self.warning.setObjectName("hint")
        self.warning.setWordWrap(True)
        form = QFormLayout()
        form.addRow("File", path_row)
        form.addRow("Format", self.format)
        form.addRow("Quality", self.quality)
        form.addRow("Bit depth", self.depth)
        form.addRow("", self.keep_metadata)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.warning)
        layout.addWidget(buttons)
        self.format.currentTextChanged.connect(self._format_changed)
        self.path.textChanged.connect(self._update_warning)
        self._format_changed(start_fmt)

    def _format_changed(self, fmt: str) -> None:
        current = Path(self.path.text())
        self.path.setText(str(current.with_suffix(FORMATS[fmt])))
        self.quality.setEnabled(fmt in LOSSY)
        self.depth.setEnabled(fmt in SIXTEEN_BIT)
        self._update_warning()

    def _update_warning(self) -> None:
        same = self.source is not None and Path(self.path.text()).expanduser() == self.source
        self.warning.setText("This replaces the original photo: you will be asked to confirm." if same else "")

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export as", self.path.text())
        if path:
            self.path.setText(path)
            suffix = Path(path).suffix.lower()
            for fmt, ext in FORMATS.items():
                if ext == suffix or (fmt == "JPEG" and suffix == ".jpeg") or (fmt == "TIFF" and suffix == ".tiff"):
                    self.format.setCurrentText(fmt)

    def options(self) -> ExportOptions:
        fmt = self.format.currentText()
        return ExportOptions(path=Path(self.path.text()).expanduser(), quality=self.quality.value(),
                             bit_depth=self.depth.currentData() if fmt in SIXTEEN_BIT else None,
                             keep_metadata=self.keep_metadata.isChecked())
