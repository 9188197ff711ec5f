"""Mask tools: tool choice, brush size and hardness, overlay opacity, whole-mask edits, undo and files.
Every slider shows its value beside it. The overlay opacity the window remembers is never an invisible one."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.canvas.editor import EditorCanvas
from desktop.canvas.tools import Tool
from desktop.shortcuts import all_keys_for

DEFAULT_OPACITY_PERCENT = 50
MIN_SAVED_OPACITY_PERCENT = 10  # a remembered overlay fainter than this comes back as the default


def usable_opacity(value: object) -> int:
    """A remembered overlay opacity (percent) fit to start with: a missing, unreadable, out-of-range or
    nearly invisible one gives the default, so a restart never hides the mask."""
    try:
        percent = round(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return DEFAULT_OPACITY_PERCENT
    return percent if MIN_SAVED_OPACITY_PERCENT <= percent <= 100 else DEFAULT_OPACITY_PERCENT


def _keys(action_id: str) -> str:
    return " or ".join(all_keys_for(action_id))


def _slider(lo: int, hi: int, value: int) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setValue(value)
    return s


def _with_value(slider: QSlider, unit: str) -> tuple[QWidget, QLabel]:
    """The slider with a label beside it that shows its value (e.g. "75%")."""
    label = QLabel()
    label.setObjectName("slider-value")
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    label.ensurePolished()  # measure in the style sheet's font
    label.setMinimumWidth(label.fontMetrics().horizontalAdvance(f"{slider.maximum()}{unit}") + 6)
    slider.valueChanged.connect(lambda v: label.setText(f"{v}{unit}"))
    label.setText(f"{slider.value()}{unit}")
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(slider, 1)
    layout.addWidget(label)
    return row, label


class MaskPanel(QWidget):
    load_requested = Signal()
    save_requested = Signal()

    def __init__(self, canvas: EditorCanvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        layer = canvas.mask_layer

        tools = QGroupBox("Tool")
        grid = QGridLayout(tools)
        self.tool_buttons: dict[Tool, QPushButton] = {}
        self._group = QButtonGroup(self)
        for i, tool in enumerate(Tool):
            b = QPushButton(tool.label)
            b.setCheckable(True)
            b.setToolTip(f"{tool.hint} ({_keys(f'tool_{tool.value}') or tool.key})")
            b.clicked.connect(lambda _c=False, t=tool: canvas.set_tool(t))
            self._group.addButton(b)
            self.tool_buttons[tool] = b
            grid.addWidget(b, i // 3, i % 3)
        canvas.tool_changed.connect(self._tool_changed)
        self._tool_changed(canvas.tool)

        brush = QGroupBox("Brush")
        form = QFormLayout(brush)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, 2000)
        self.size_spin.setSuffix(" px")
        self.size_spin.setValue(int(layer.brush_size))
        self.size_spin.setToolTip("Brush diameter in photo pixels ([ smaller, ] larger).")
        self.size_spin.valueChanged.connect(lambda v: canvas.set_brush_size(v) if int(layer.brush_size) != v else None)
        canvas.brush_size_changed.connect(lambda v: self.size_spin.setValue(int(round(v))))
        self.hardness = _slider(0, 100, int(layer.hardness * 100))
        self.hardness.setToolTip("100% gives a hard edge; lower values feather the outer part of the brush.")
        self.hardness.valueChanged.connect(lambda v: setattr(layer, "hardness", v / 100.0))
        self.opacity = _slider(0, 100, int(layer.opacity() * 100))
        self.opacity.setToolTip("How strongly the mask overlay covers the photo (display only).")
        self.opacity.valueChanged.connect(lambda v: layer.set_opacity(v / 100.0))
        hardness_row, self.hardness_value = _with_value(self.hardness, "%")
        opacity_row, self.opacity_value = _with_value(self.opacity, "%")
        form.addRow("Size", self.size_spin)
        form.addRow("Hardness", hardness_row)
        form.addRow("Overlay", opacity_row)

        edits = QGroupBox("Mask")
        eg = QGridLayout(edits)
        self.grow_px = QSpinBox()
        self.grow_px.setRange(1, 500)
        self.grow_px.setValue(8)
        self.grow_px.setSuffix(" px")
        buttons = {
            "Invert": layer.invert, "Clear": layer.clear,
            "Grow": lambda: layer.grow(self.grow_px.value()), "Shrink": lambda: layer.shrink(self.grow_px.value()),
        }
        self.edit_buttons: dict[str, QPushButton] = {}
        for i, (name, fn) in enumerate(buttons.items()):
            b = QPushButton(name)
            b.clicked.connect(lambda _c=False, f=fn: f())
            self.edit_buttons[name] = b
            eg.addWidget(b, i // 2, i % 2)
        eg.addWidget(QLabel("Grow/shrink by"), 2, 0)
        eg.addWidget(self.grow_px, 2, 1)
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.undo_button.clicked.connect(layer.undo)
        self.redo_button.clicked.connect(layer.redo)
        eg.addWidget(self.undo_button, 3, 0)
        eg.addWidget(self.redo_button, 3, 1)
        load = QPushButton("Load…")
        save = QPushButton("Save…")
        load.clicked.connect(self.load_requested)
        save.clicked.connect(self.save_requested)
        eg.addWidget(load, 4, 0)
        eg.addWidget(save, 4, 1)
        layer.history_changed.connect(self._history_changed)
        self._history_changed()

        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(tools)
        layout.addWidget(brush)
        layout.addWidget(edits)
        layout.addWidget(self.hint)
        layout.addStretch(1)
        self._tool_changed(canvas.tool)

    def _tool_changed(self, tool: Tool) -> None:
        button = self.tool_buttons.get(Tool(tool))
        if button is not None:
            button.setChecked(True)
        if hasattr(self, "hint"):
            self.hint.setText(Tool(tool).hint)

    def _history_changed(self) -> None:
        h = self.canvas.mask_layer.history
        self.undo_button.setEnabled(h.can_undo())
        self.redo_button.setEnabled(h.can_redo())
        self.undo_button.setToolTip(f"Undo {h.undo_label()} ({_keys('undo')})" if h.can_undo() else "Nothing to undo")
        self.redo_button.setToolTip(f"Redo {h.redo_label()} ({_keys('redo')})" if h.can_redo() else "Nothing to redo")

    # --- remembered settings ------------------------------------------------------------------------
    def restore_opacity(self, saved: object) -> None:
        """Apply the overlay opacity remembered from the last session (percent)."""
        self.opacity.setValue(usable_opacity(saved))

    def opacity_to_save(self) -> int:
        """The overlay opacity to remember (percent): the present one unless it is nearly invisible."""
        return usable_opacity(self.opacity.value())
