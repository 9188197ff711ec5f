"""Validation previews of a run: input, output (and, for inpainting, the composite that is measured) and target
side by side, one row per sample, with a step slider."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from core.train.runs.reader import PreviewSample, PreviewStep, RunReader

COLUMNS = (("input", "Input"), ("output", "Output"), ("composite", "Composite"), ("target", "Target"))
OPTIONAL_COLUMNS = frozenset({"composite"})  # shown only for steps whose samples have them


def preview_captions(reader: RunReader) -> dict[int, str]:
    """'PSNR 21.00 dB  SSIM 0.800' for each preview step validated with those metrics."""
    captions = {}
    psnr, ssim = reader.metrics.get("val/psnr"), reader.metrics.get("val/ssim")
    for preview in reader.preview_steps():
        parts = []
        for name, series, digits, unit in (("PSNR", psnr, 2, " dB"), ("SSIM", ssim, 3, "")):
            point = series.value_at(preview.step) if series is not None else None
            if point is not None and point[0] == preview.step:
                parts.append(f"{name} {point[1]:.{digits}f}{unit}")
        captions[preview.step] = "  ".join(parts)
    return captions


class ScaledImage(QLabel):
    """A QLabel that shows its pixmap scaled to fit (keeping the aspect ratio) whatever its size."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._original = QPixmap()
        self.path: Path | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(64, 64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet("background-color: #111214; border: 1px solid #2b2d31; color: #6b6e75;")

    def set_image(self, path: Path | None, missing_text: str = "—") -> None:
        self.path = path
        self._original = QPixmap(str(path)) if path is not None else QPixmap()
        if self._original.isNull():
            self.clear()
            self.setText("cannot read image" if path is not None else missing_text)
        else:
            self.setText("")
            self._rescale()

    def has_image(self) -> bool:
        return not self._original.isNull()

    def original_size(self) -> QSize:
        return self._original.size()

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt name)
        if self._original.isNull() or self._original.width() == 0:
            return width
        return int(width * self._original.height() / self._original.width())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._original.isNull():
            return
        size = self.contentsRect().size()
        if size.width() < 2 or size.height() < 2:
            return
        # Enlarging small previews uses nearest pixels so the network's output is shown honestly.
        mode = (Qt.TransformationMode.SmoothTransformation if size.width() < self._original.width()
                else Qt.TransformationMode.FastTransformation)
        self.setPixmap(self._original.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, mode))


class PreviewGallery(QWidget):
    """Pick a validation step with the slider; see each sample's input, output and target."""

    step_shown = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._steps: list[PreviewStep] = []
        self._captions: dict[int, str] = {}
        self._rows: list[list[ScaledImage]] = []
        self._current: int | None = None
        self._columns = [c for c in COLUMNS if c[0] not in OPTIONAL_COLUMNS]
        self._header_labels: list[QLabel] = []

        top = QHBoxLayout()
        top.addWidget(QLabel("Step"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("preview-step")
        self.slider.setEnabled(False)
        self.slider.setMinimumWidth(60)
        self.slider.valueChanged.connect(self._slider_moved)
        top.addWidget(self.slider, 1)
        self.follow_check = QCheckBox("Follow latest")
        self.follow_check.setChecked(True)
        self.follow_check.setToolTip("Jump to each new validation step as it arrives")
        top.addWidget(self.follow_check)
        # On its own line and wrapping: a long caption (step, PSNR, SSIM) never widens the panel.
        self.step_label = QLabel("no previews yet")
        self.step_label.setWordWrap(True)
        self.step_label.setStyleSheet("color: #a0a3aa;")

        header = self._header = QGridLayout()
        self._build_header()
        self._grid_host = QWidget()
        self.grid = QGridLayout(self._grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(6)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setWidget(self._grid_host)
        self.scroll_area.setFrameShape(QScrollArea.Shape.NoFrame)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.step_label)
        layout.addLayout(header)
        layout.addWidget(self.scroll_area, 1)

    # -- data -----------------------------------------------------------------------------------

    def set_steps(self, steps: list[PreviewStep], captions: dict[int, str] | None = None) -> None:
        """The run's preview steps (sorted); captions add e.g. the PSNR at a step to its label."""
        previous = self._current
        if list(steps) == self._steps and previous is not None:  # nothing new: refresh the caption only
            self._captions = dict(captions or {})
            self._update_label()
            return
        at_end = previous is None or (self._steps and previous == self._steps[-1].step)
        self._steps = list(steps)
        self._captions = dict(captions or {})
        self.slider.blockSignals(True)
        self.slider.setEnabled(bool(steps))
        self.slider.setRange(0, max(0, len(steps) - 1))
        self.slider.blockSignals(False)
        if not steps:
            self._current = None
            self._show_samples([])
            self.step_label.setText("no previews yet")
            return
        known = [s.step for s in steps]
        if self.follow_check.isChecked() and at_end:
            self.show_step(known[-1])
        elif previous in known:
            self.show_step(previous)
        else:
            self.show_step(known[-1])

    def steps(self) -> list[int]:
        return [s.step for s in self._steps]

    def current_step(self) -> int | None:
        return self._current

    def show_step(self, step: int) -> None:
        index = next((i for i, s in enumerate(self._steps) if s.step == step), None)
        if index is None:
            return
        self._current = step
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self._update_label()
        self._show_samples(self._steps[index].samples())
        self.step_shown.emit(step)

    def _update_label(self) -> None:
        step = self._current
        index = next((i for i, s in enumerate(self._steps) if s.step == step), None)
        if step is None or index is None:
            return
        caption = self._captions.get(step, "")
        text = f"step {step:,}  ({index + 1}/{len(self._steps)})"
        self.step_label.setText(text + (f"  ·  {caption}" if caption else ""))

    def _slider_moved(self, index: int) -> None:
        if 0 <= index < len(self._steps):
            if index != len(self._steps) - 1:
                self.follow_check.setChecked(False)
            self.show_step(self._steps[index].step)

    def image_labels(self) -> list[list[ScaledImage]]:
        """One [input, output, (composite,) target] row of labels per sample shown."""
        return [list(row) for row in self._rows]

    def _build_header(self) -> None:
        for label in self._header_labels:
            self._header.removeWidget(label)
            label.deleteLater()
        self._header_labels = []
        for col, (_key, title) in enumerate(self._columns):
            label = QLabel(title)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("color: #a0a3aa; font-weight: bold;")
            self._header.addWidget(label, 0, col)
            self._header_labels.append(label)

    def _show_samples(self, samples: list[PreviewSample]) -> None:
        columns = [c for c in COLUMNS if c[0] not in OPTIONAL_COLUMNS or any(getattr(s, c[0]) for s in samples)]
        if columns != self._columns:  # e.g. an inpainting run's composite: rows are rebuilt with its column
            self._columns = columns
            self._build_header()
            while self._rows:
                for label in self._rows.pop():
                    self.grid.removeWidget(label)
                    label.deleteLater()
        while len(self._rows) > len(samples):
            for label in self._rows.pop():
                self.grid.removeWidget(label)
                label.deleteLater()
        while len(self._rows) < len(samples):
            row = len(self._rows)
            labels = [ScaledImage() for _ in self._columns]
            for col, label in enumerate(labels):
                self.grid.addWidget(label, row, col)
            self._rows.append(labels)
        for sample, labels in zip(samples, self._rows):
            for (key, _title), label in zip(self._columns, labels):
                label.set_image(getattr(sample, key), "no target" if key == "target" else "missing")
        for row in range(self.grid.rowCount()):
            self.grid.setRowStretch(row, 0)
        self.grid.setRowStretch(len(samples), 1)  # rows keep their fitted height; spare room goes below
        # Rows keep the images' aspect: a row is as tall as its widest column allows.
        self._fit_rows()

    def _fit_rows(self) -> None:
        # From our own width: the scroll area's viewport is resized only after this widget is.
        spare = 12 + (len(self._columns) - 1) * self.grid.spacing() + 16  # margins, column gaps, a scroll bar
        width = max(64, (self.width() - spare) // len(self._columns))
        for labels in self._rows:
            height = max((lbl.heightForWidth(width) for lbl in labels if lbl.has_image()), default=width // 2)
            for lbl in labels:
                lbl.setFixedHeight(max(64, min(height, 2048)))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self._fit_rows()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        self._fit_rows()
