"""Export: where, which format, quality, bit depth, and whether to keep the photo's metadata."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

FORMATS = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".bmp"}
SIXTEEN_BIT = ("PNG", "TIFF")
LOSSY = ("JPEG", "WEBP")


@dataclass(frozen=True)
class ExportOptions:
    path: Path
    quality: int = 95
    bit_depth: int | None = None  # None: the source's depth where the format holds it
    keep_metadata: bool = True


def slug(text: str) -> str:
    """A version's title as a file-name part: 'Zero-DCE++ (strength=0.5)' -> 'zero-dce-strength-0.5'."""
    s = re.sub(r"[^A-Za-z0-9.]+", "-", text.lower()).strip("-.")
    return s[:60] or "restored"


def free_path(path: Path) -> Path:
    """`path`, or the first of path-2, path-3, ... that does not exist: an export never silently replaces one."""
    if not path.exists():
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def suggested_path(source: Path | None, label: str = "restored", fmt: str = "PNG") -> Path:
    """A free name beside the source that never equals it: photo.jpg -> photo-restored.png (or -2, -3...)."""
    ext = FORMATS.get(fmt, ".png")
    if source is None:
        return free_path(Path.home() / f"{slug(label)}{ext}")
    return free_path(source.with_name(f"{source.stem}-{slug(label)}{ext}"))


class ExportDialog(QDialog):
    """`last_format` (the format of the previous export) is where the format starts; else the source's."""

    def __init__(self, source: Path | None, bit_depth: int = 8, parent: QWidget | None = None, *,
                 label: str = "restored", last_format: str | None = None, quality: int = 95) -> None:
        super().__init__(parent)
        self.setObjectName("export-dialog")
        self.setWindowTitle("Export")
        self.setMinimumWidth(480)
        self.source = source
        self.label = label
        self.format = QComboBox()
        self.format.addItems(list(FORMATS))
        fmt = (source.suffix.lower() if source else ".png")
        start_fmt = next((k for k, v in FORMATS.items() if v == fmt or (k == "JPEG" and fmt == ".jpeg")
                          or (k == "TIFF" and fmt == ".tiff")), "PNG")
        if last_format in FORMATS:
            start_fmt = str(last_format)
        self.format.setCurrentText(start_fmt)
        self.path = QLineEdit(str(suggested_path(source, label, fmt=start_fmt)))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(int(min(max(quality, 1), 100)))
        self.quality.setToolTip("JPEG and WebP quality; 90 and above also keeps full colour resolution in JPEG.")
        self.depth_combo = QComboBox()
        self.depth_combo.addItem("Same as the original", None)
        self.depth_combo.addItem("8 bits per channel", 8)
        self.depth_combo.addItem("16 bits per channel", 16)
        self.depth_combo.setToolTip(f"The original has {bit_depth} bits per channel. 16-bit needs PNG or TIFF.")
        self.keep_metadata = QCheckBox("Keep colour profile and EXIF")
        self.keep_metadata.setChecked(True)
        self.warning = QLabel()
        self.warning.setObjectName("hint")
        self.warning.setWordWrap(True)
        form = QFormLayout()
        form.addRow("File", path_row)
        form.addRow("Format", self.format)
        form.addRow("Quality", self.quality)
        form.addRow("Bit depth", self.depth_combo)
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
        wanted = current.with_suffix(FORMATS[fmt])
        if self.source is not None and wanted != self.source and current.parent == self.source.parent:
            suggested = suggested_path(self.source, self.label, fmt)
            if current.stem.startswith(suggested.stem.rsplit("-", 1)[0]):
                wanted = suggested  # still the suggested name: keep it free in the new format too
        self.path.setText(str(wanted))
        self.quality.setEnabled(fmt in LOSSY)
        self.depth_combo.setEnabled(fmt in SIXTEEN_BIT)
        self._update_warning()

    def _update_warning(self) -> None:
        target = Path(self.path.text()).expanduser()
        same = self.source is not None and target == self.source
        if same:
            self.warning.setText("This replaces the original photo: you will be asked to confirm.")
        elif target.exists():
            self.warning.setText(f"{target.name} exists: saving replaces it (you will be asked).")
        else:
            self.warning.setText("")

    def confirm_replace(self, path: Path) -> bool:
        """Ask before replacing an existing file that is not the original (tests replace this method)."""
        answer = QMessageBox.question(self, "Replace the file?", f"{path.name} already exists in {path.parent}.\n\n"
                                      "Replace it?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def accept(self) -> None:  # noqa: D102 (Qt name)
        target = Path(self.path.text()).expanduser()
        is_source = self.source is not None and target == self.source
        asked = target == getattr(self, "_browsed", None)
        if target.exists() and not is_source and not asked and not self.confirm_replace(target):
            return
        super().accept()

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export as", self.path.text())
        if path:
            self._browsed = Path(path).expanduser()  # the file dialog already asked before replacing it
            self.path.setText(path)
            suffix = Path(path).suffix.lower()
            for fmt, ext in FORMATS.items():
                if ext == suffix or (fmt == "JPEG" and suffix == ".jpeg") or (fmt == "TIFF" and suffix == ".tiff"):
                    self.format.setCurrentText(fmt)

    def options(self) -> ExportOptions:
        fmt = self.format.currentText()
        return ExportOptions(path=Path(self.path.text()).expanduser(), quality=self.quality.value(),
                             bit_depth=self.depth_combo.currentData() if fmt in SIXTEEN_BIT else None,
                             keep_metadata=self.keep_metadata.isChecked())
