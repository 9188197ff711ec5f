"""What the training plots draw: one Curve per series of a run, the group (plot) it belongs to, its pen, its
legend title, and what to say when validation has nothing to plot. Used by training_plots and training_hover."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from core.train.runs.reader import RunReader
from core.train.runs.series import GrowingArray
from desktop.panels import training_style as style

LOG_GROUPS = ("loss", "val_loss", "lr")  # the groups drawn on the plots that log scale applies to
REFERENCE_METRICS = ("val/psnr", "val/ssim")  # what validation can only measure against target images
NO_REFERENCE = ("No PSNR or SSIM: {runs} {verb} without reference images (zero-reference), so validation has "
                "no target to compare the output with. The validation loss is drawn on the loss plot; the "
                "Validation tab shows the outputs.")
NO_REFERENCE_SHORT = "{runs}: no PSNR or SSIM (zero-reference: validation has no target images)."
NO_VALIDATION = "No validation results yet."


@dataclass
class PlotRun:
    """A run as the plots know it: its reader, its legend label, its colour, whether it is shown."""

    reader: RunReader
    label: str
    color: QColor
    visible: bool = True


@dataclass
class Curve:
    """One series of one run on one plot: the raw line and, for losses, a smoothed line above it."""

    run_id: str
    key: str
    group: str  # "loss", "lr", "psnr", "val" (right axis of the validation plot), "val_loss" (on the loss plot)
    raw: pg.PlotDataItem
    smooth: pg.PlotDataItem | None
    revision: int = -1
    x_mode: str = ""
    truncations: int = -1
    ema: GrowingArray = field(default_factory=GrowingArray)
    ema_state: tuple[float, int] | None = None
    ema_weight: float = -1.0
    shown_points: int = 0

    @property
    def name(self) -> str:
        return self.key.split("/", 1)[-1]

    @property
    def title(self) -> str:
        return LR_NAMES.get(self.name, self.name) if self.group == "lr" else self.name

    def items(self) -> list[pg.PlotDataItem]:
        return [self.raw] + ([self.smooth] if self.smooth is not None else [])


QUALITY_METRICS = {"psnr", "ssim", "ms_ssim", "lpips", "niqe", "fid"}
LR_NAMES = {"g": "generator", "d": "discriminator"}
SYMBOLS = {"psnr": "o", "val": "o", "val_loss": "t"}


def group_of(key: str, loss_names: set[str]) -> str | None:
    if key.startswith("loss/"):
        return "loss"
    if key.startswith("lr/"):
        return "lr"
    if key.startswith("val/"):
        name = key[4:]
        if name == "psnr":
            return "psnr"
        if name not in QUALITY_METRICS and (name in loss_names or "loss" in name):
            return "val_loss"  # a validation loss is drawn over the training loss of the same name
        return "val"
    return None  # performance figures are shown as numbers, not curves


def legend_title(curve: Curve) -> str:
    if curve.group == "val_loss":
        return "validation loss" if curve.name in ("loss", "val_loss") else f"val {curve.name}"
    if curve.group in ("psnr", "val"):
        return curve.name.upper() if curve.name in ("psnr", "ssim", "lpips") else curve.name
    return curve.title


def has_reference_metrics(reader: RunReader) -> bool:
    return any(reader.metrics.get(key) is not None for key in REFERENCE_METRICS)


def drawable(x: np.ndarray, y: np.ndarray, log: bool) -> tuple[np.ndarray, np.ndarray]:
    """On a log axis only the positive points: a zero or negative value would break the whole line there."""
    if not log:
        return x, y
    keep = y > 0
    return (x, y) if keep.all() else (x[keep], y[keep])


def apply_pens(curve: Curve, color: QColor, dash: int, smoothing: bool) -> None:
    """Validation curves get points (circles, triangles for losses); smoothed losses fade their raw line."""
    if curve.group in ("psnr", "val", "val_loss"):
        curve.raw.setPen(style.pen(color, 1.6, dash))
        curve.raw.setSymbol(SYMBOLS[curve.group])
        curve.raw.setSymbolSize(6)
        curve.raw.setSymbolBrush(pg.mkBrush(color))
        curve.raw.setSymbolPen(pg.mkPen(color))
        return
    if curve.smooth is not None and smoothing:
        curve.raw.setPen(pg.mkPen(style.faded(color, 55), width=1))
        curve.smooth.setPen(style.pen(color, 1.8, dash))
        curve.smooth.setZValue(2)
    else:
        curve.raw.setPen(style.pen(color, 1.4, dash))
