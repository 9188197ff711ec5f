"""A form built from an engine's parameter schema (core.engines.base.Param): one control per parameter."""

from __future__ import annotations

from typing import Any, Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QSpinBox,
    QWidget,
)

SLIDER_STEPS = 1000


def _decimals(step: float | None) -> int:
    if not step:
        return 3
    text = f"{step:.6f}".rstrip("0")
    return max(1, len(text.split(".")[1])) if "." in text else 0


class ParamForm(QWidget):
    """float -> spin box + slider, int -> spin box (+ slider when bounded), bool -> check box,
    choice -> combo box, str -> line edit; tooltips come from each Param's help."""

    changed = Signal()

    def __init__(self, params: Iterable[Any] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QFormLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._layout.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.params: tuple[Any, ...] = ()
        self._controls: dict[str, QWidget] = {}
        self.set_params(params)

    def set_params(self, params: Iterable[Any]) -> None:
        while self._layout.rowCount():
            self._layout.removeRow(0)
        self._controls = {}
        self.params = tuple(params)
        for p in self.params:
            control, row = self._build(p)
            self._controls[p.name] = control
            label = QLabel(p.title)
            label.setToolTip(p.help)
            row.setToolTip(p.help)
            self._layout.addRow(label, row)
        if not self.params:
            note = QLabel("This engine has no settings.")
            note.setObjectName("hint")
            self._layout.addRow(note)

    def _build(self, p: Any) -> tuple[QWidget, QWidget]:
        if p.type == "float":
            spin = QDoubleSpinBox()
            spin.setDecimals(_decimals(p.step))
            spin.setRange(p.min if p.min is not None else -1e9, p.max if p.max is not None else 1e9)
            spin.setSingleStep(p.step or (((p.max - p.min) / 100) if p.min is not None and p.max is not None else 0.1))
            spin.setValue(float(p.default))
            spin.valueChanged.connect(lambda _v: self.changed.emit())
            return spin, self._with_slider(spin, p, is_float=True)
        if p.type == "int":
            int_spin = QSpinBox()
            int_spin.setRange(int(p.min) if p.min is not None else -2**31 + 1,
                              int(p.max) if p.max is not None else 2**31 - 1)
            int_spin.setSingleStep(int(p.step or 1))
            int_spin.setValue(int(p.default))
            int_spin.valueChanged.connect(lambda _v: self.changed.emit())
            return int_spin, self._with_slider(int_spin, p, is_float=False)
        if p.type == "bool":
            box = QCheckBox()
            box.setChecked(bool(p.default))
            box.toggled.connect(lambda _v: self.changed.emit())
            return box, box
        if p.type == "choice":
            combo = QComboBox()
            for choice in p.choices:  # the title shows, the choice itself is the value
                combo.addItem(p.choice_title(str(choice)), str(choice))
            combo.setCurrentIndex(max(0, combo.findData(str(p.default))))
            # long titles ("Around each painted area") must not widen a narrow dock: the combo elides them
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
            combo.currentTextChanged.connect(lambda _v: self.changed.emit())
            return combo, combo
        edit = QLineEdit(str(p.default if p.default is not None else ""))
        edit.textChanged.connect(lambda _v: self.changed.emit())
        return edit, edit

    def _with_slider(self, spin: QSpinBox | QDoubleSpinBox, p: Any, is_float: bool) -> QWidget:
        if p.min is None or p.max is None or p.max <= p.min:
            return spin
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setObjectName(f"slider-{p.name}")
        lo, hi = float(p.min), float(p.max)
        steps = SLIDER_STEPS if is_float else int(hi - lo)
        slider.setRange(0, max(1, steps))

        def to_slider(value: float) -> int:
            return int(round((value - lo) / (hi - lo) * slider.maximum()))

        def from_slider(pos: int) -> None:
            value = lo + (hi - lo) * pos / slider.maximum()
            if to_slider(spin.value()) != pos:
                if isinstance(spin, QDoubleSpinBox):
                    spin.setValue(value)
                else:
                    spin.setValue(int(round(value)))

        slider.setValue(to_slider(float(p.default)))
        slider.valueChanged.connect(from_slider)
        spin.valueChanged.connect(lambda v: slider.setValue(to_slider(v)) if to_slider(v) != slider.value() else None)
        spin.setMinimumWidth(80)
        layout.addWidget(slider, 1)
        layout.addWidget(spin)
        return row

    def control(self, name: str) -> QWidget:
        return self._controls[name]

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in self.params:
            c = self._controls[p.name]
            if isinstance(c, QDoubleSpinBox):
                out[p.name] = float(c.value())
            elif isinstance(c, QSpinBox):
                out[p.name] = int(c.value())
            elif isinstance(c, QCheckBox):
                out[p.name] = c.isChecked()
            elif isinstance(c, QComboBox):
                out[p.name] = c.currentData() if c.currentData() is not None else c.currentText()
            elif isinstance(c, QLineEdit):
                out[p.name] = c.text()
        return out

    def set_values(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            c = self._controls.get(name)
            if isinstance(c, (QDoubleSpinBox, QSpinBox)):
                c.setValue(value)
            elif isinstance(c, QCheckBox):
                c.setChecked(bool(value))
            elif isinstance(c, QComboBox):
                index = c.findData(str(value))
                c.setCurrentIndex(index) if index >= 0 else c.setCurrentText(str(value))
            elif isinstance(c, QLineEdit):
                c.setText(str(value))

    def set_value(self, name: str, value: Any) -> None:
        self.set_values({name: value})

    def reset(self) -> None:
        self.set_values({p.name: p.default for p in self.params})
