"""The "new run" form: preset, data folders and a few hyperparameters, turned into `main.py train` arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import Signal
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QStyle,
    QToolButton,
    QWidget,
)

from core.train.runs.commands import (
    FORM_KEYS,
    VGG_KEY,
    PresetInfo,
    TrainArgsError,
    list_presets,
    parse_overrides,
    train_command,
)
from desktop.dialogs.model_manager import CHECKPOINT_FILTER
from desktop.workers import JobHandle, WorkerPool

DEVICES = ("auto", "cpu", "cuda", "cuda:0", "cuda:1", "mps")
PRESET_DEFAULT = "preset default"


def _read_presets(_progress: Any, _cancel: Any) -> list[PresetInfo]:
    """The pool job: reading the preset registry imports torch, which takes seconds."""
    return list_presets()


def _narrow_combo(combo: QComboBox, characters: int = 10) -> QComboBox:
    """A combo box whose minimum width does not grow with its longest item."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)
    return combo


class _PathField(QWidget):
    """A path with a browse button: a folder, or a file when `file_filter` is given."""

    def __init__(self, placeholder: str, title: str, parent: QWidget | None = None, *,
                 file_filter: str = "") -> None:
        super().__init__(parent)
        self._title = title
        self._file_filter = file_filter
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setMinimumWidth(60)
        button = QToolButton()
        icon = QStyle.StandardPixmap.SP_FileIcon if file_filter else QStyle.StandardPixmap.SP_DirOpenIcon
        button.setIcon(self.style().standardIcon(icon))
        button.setToolTip(f"Choose the {title.lower()}")
        button.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.edit, 1)
        layout.addWidget(button)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:  # noqa: N802 (Qt-style, like QLineEdit)
        self.edit.setText(text)

    def set_placeholder(self, text: str) -> None:
        self.edit.setPlaceholderText(text)

    def _browse(self) -> None:
        start = self.text() or str(Path.home())
        if self._file_filter:
            chosen, _ = QFileDialog.getOpenFileName(self, self._title, start, self._file_filter)
        else:
            chosen = QFileDialog.getExistingDirectory(self, self._title, start)
        if chosen:
            self.edit.setText(chosen)


def _number_field(maximum: int) -> QLineEdit:
    """A whole-number field; left empty it keeps the preset's value (shown as the placeholder)."""
    edit = QLineEdit()
    edit.setValidator(QIntValidator(1, maximum, edit))
    edit.setPlaceholderText(PRESET_DEFAULT)
    return edit


class NewRunForm(QWidget):
    """Only fields the user changed become `--set key=value`; the rest stays as the preset defines it."""

    presets_loaded = Signal(list)

    def __init__(self, parent: QWidget | None = None, *, load_presets: bool = True,
                 pool: WorkerPool | None = None) -> None:
        super().__init__(parent)
        self.pool = pool if pool is not None else WorkerPool(self)
        self._presets: dict[str, PresetInfo] = {}
        self.preset_combo = _narrow_combo(QComboBox(), 14)
        self.preset_combo.setEditable(True)
        self.preset_combo.setObjectName("preset")
        self._set_placeholder("loading presets…" if load_presets else "preset name")
        self.preset_combo.currentTextChanged.connect(self._preset_changed)
        self.preset_info = QLabel("")
        self.preset_info.setWordWrap(True)
        self.preset_info.setStyleSheet("color: #8a8d94; font-size: 9pt;")
        self.data_field = _PathField("training images", "Dataset folder")
        self.val_field = _PathField("optional", "Validation folder")
        self.out_field = _PathField("Restora's runs folder", "Folder for the run")
        self.init_field = _PathField("the preset's initialisation", "Weights to fine-tune from",
                                       file_filter=CHECKPOINT_FILTER)
        self.init_field.setToolTip("Fine-tune: start from these weights (same architecture as the preset)")
        self.vgg_field = _PathField("not needed by this preset", "VGG16 weights (torchvision state dict)",
                                    file_filter=CHECKPOINT_FILTER)
        self.vgg_field.setToolTip("torchvision's vgg16 weights file, for the perceptual and style loss terms. "
                                  "Without it those terms are off for the run (it says so when it starts).")
        self.steps_edit = _number_field(1_000_000_000)
        self.batch_edit = _number_field(65536)
        self.lr_edit = QLineEdit()
        self.lr_edit.setPlaceholderText(PRESET_DEFAULT)
        self.crop_edit = _number_field(65536)
        self.val_every_edit = _number_field(1_000_000_000)
        self.device_combo = _narrow_combo(QComboBox())
        self.device_combo.setEditable(True)
        self.device_combo.addItem(PRESET_DEFAULT, "")
        for device in DEVICES:
            self.device_combo.addItem(device, device)
        self.extra_edit = QLineEdit()
        self.extra_edit.setPlaceholderText("key=value … e.g. optim.warmup_steps=500")
        self.extra_edit.setToolTip("Any other config value, as `--set key=value` (separate several with spaces)")

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(5)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow: the label goes above its field
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Preset", self.preset_combo)
        form.addRow("", self.preset_info)
        form.addRow("Dataset", self.data_field)
        form.addRow("Validation", self.val_field)
        form.addRow("Save in", self.out_field)
        form.addRow("Start from", self.init_field)
        form.addRow("VGG16", self.vgg_field)
        form.addRow("Steps", self.steps_edit)
        form.addRow("Batch size", self.batch_edit)
        form.addRow("Learning rate", self.lr_edit)
        form.addRow("Crop size", self.crop_edit)
        form.addRow("Validate every", self.val_every_edit)
        form.addRow("Device", self.device_combo)
        form.addRow("More", self.extra_edit)

        self.preset_job: JobHandle | None = None
        if load_presets:
            self.preset_job = self.pool.submit(_read_presets, name="Reading the training presets")
            self.preset_job.on(succeeded=self._presets_read, failed=self._presets_failed)

    def _presets_read(self, presets: list[PresetInfo]) -> None:
        if shiboken6.isValid(self):  # the form may be gone by the time the registry was read
            self.set_presets(presets)

    def _presets_failed(self, message: str, _detail: str) -> None:
        if shiboken6.isValid(self):
            self.preset_info.setText(f"Presets unavailable: {message}")

    # -- presets --------------------------------------------------------------------------------

    def _set_placeholder(self, text: str) -> None:
        line = self.preset_combo.lineEdit()  # the combo is editable, so it has one
        if line is not None:
            line.setPlaceholderText(text)

    def set_presets(self, presets: list[PresetInfo]) -> None:
        current = self.preset_combo.currentText()
        self._presets = {p.name: p for p in presets}
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        for p in presets:
            self.preset_combo.addItem(p.name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, p.description, 3)  # ToolTipRole
        self._set_placeholder("preset name")
        if current:
            self.preset_combo.setEditText(current)
        self.preset_combo.blockSignals(False)
        self._preset_changed(self.preset_combo.currentText())
        self.presets_loaded.emit(presets)

    def preset_names(self) -> list[str]:
        return [self.preset_combo.itemText(i) for i in range(self.preset_combo.count())]

    def _preset_changed(self, name: str) -> None:
        info = self._presets.get(name.strip())
        if info is None:
            self.preset_info.setText("" if not self._presets else "Not a known preset.")
            defaults = {}
        else:
            self.preset_info.setText(f"{info.title or info.name} ({info.task}): {info.description}")
            defaults = dict(info.defaults)
        # Show what "preset default" means for this preset.
        for key, widget in self._number_fields():
            value = defaults.get(key)
            widget.setPlaceholderText(f"{value:,} (preset)" if isinstance(value, int) else PRESET_DEFAULT)
        if info is not None and info.steps_hint:
            self.steps_edit.setPlaceholderText(info.steps_hint)
        lr = defaults.get("lr")
        self.lr_edit.setPlaceholderText(f"{lr:g} (preset)" if isinstance(lr, float) else PRESET_DEFAULT)
        device = defaults.get("device")
        self.device_combo.setItemText(0, f"{device} (preset)" if device else PRESET_DEFAULT)
        terms = info.vgg_terms if info is not None else ()
        self.vgg_field.setEnabled(bool(terms) or info is None)
        self.vgg_field.set_placeholder("optional (else no VGG loss)" if terms
                                       else "not needed by this preset" if info is not None else "optional")
        self.vgg_field.edit.setToolTip(f"This preset's {' and '.join(terms)} loss terms need it; without it they are "
                                       "off for the run." if terms else "")

    # -- values ---------------------------------------------------------------------------------

    def _number_fields(self) -> list[tuple[str, QLineEdit]]:
        return [("steps", self.steps_edit), ("batch_size", self.batch_edit), ("crop", self.crop_edit),
                ("val_every", self.val_every_edit)]

    def preset(self) -> str:
        return self.preset_combo.currentText().strip()

    def overrides(self) -> dict[str, str]:
        """The `--set` pairs: changed form fields first, then the free-form ones (which win)."""
        values: dict[str, str] = {}
        for key, widget in self._number_fields():
            text = widget.text().strip()
            if text:
                if not text.isdigit() or int(text) < 1:
                    raise TrainArgsError(f"{key.replace('_', ' ').capitalize()} must be a whole number above 0.")
                values[FORM_KEYS[key]] = str(int(text))
        lr_text = self.lr_edit.text().strip()
        if lr_text:
            try:
                lr = float(lr_text)
            except ValueError:
                raise TrainArgsError(f"The learning rate '{lr_text}' is not a number.") from None
            if not lr > 0 or lr != lr or lr == float("inf"):
                raise TrainArgsError("The learning rate must be a positive number.")
            values[FORM_KEYS["lr"]] = repr(lr)
        device = self.device_combo.currentText().strip()
        if device and device != self.device_combo.itemText(0):
            values[FORM_KEYS["device"]] = device
        vgg = self.vgg_field.text().strip()
        if vgg and self.vgg_field.isEnabled():
            values[VGG_KEY] = vgg
        values.update(parse_overrides(self.extra_edit.text()))
        return values

    def command_args(self) -> list[str]:
        """Arguments after main.py; raises TrainArgsError with a message for the user."""
        return train_command(self.preset(), self.data_field.text(), self.val_field.text() or None,
                             self.out_field.text() or None, self.overrides(), self.init_field.text() or None)
