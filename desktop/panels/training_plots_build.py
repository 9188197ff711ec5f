"""The widgets of the curves view: its wrapping toolbar and its three x-linked plots."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QSlider, QToolButton

from desktop.panels import training_style as style
from desktop.panels.training_axis import CompactAxis
from desktop.panels.training_flow import FlowLayout, flow_group

if TYPE_CHECKING:
    from desktop.panels.training_plots import CurvesView

SMOOTHING_STEPS = 1000  # slider positions; weight = position / SMOOTHING_STEPS
MAX_SMOOTHING = 0.995
X_STEP, X_HOURS = "step", "hours"


def style_plot(plot: pg.PlotItem, title: str, left: str) -> None:
    plot.setTitle(title, color=style.TITLE_COLOR, size="10pt")
    plot.setLabel("left", left, color=style.TEXT_COLOR)
    plot.showGrid(x=True, y=True, alpha=0.12)
    for name in ("left", "bottom", "right"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(style.AXIS_COLOR))
        axis.setTextPen(pg.mkPen(style.TEXT_COLOR))
    for name in ("left", "right"):
        plot.getAxis(name).enableAutoSIPrefix(False)  # "loss (x0.001)" reads worse than plain 0.05
    plot.getAxis("left").setWidth(52)
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)
    plot.hideButtons()


def build_toolbar(view: CurvesView) -> FlowLayout:
    """Smoothing, log scale, fit, x axis, loss filter and legend switch, wired to `view`."""
    bar = FlowLayout(spacing=10, line_spacing=3)
    bar.setContentsMargins(4, 2, 4, 2)
    slider = view.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
    slider.setObjectName("smoothing")
    slider.setRange(0, int(MAX_SMOOTHING * SMOOTHING_STEPS))
    slider.setValue(int(view.smoothing * SMOOTHING_STEPS))
    slider.setFixedWidth(90)
    slider.setToolTip("Exponential moving average of the loss curves (0 = raw values)")
    slider.valueChanged.connect(view.smoothing_moved)
    slider.sliderReleased.connect(view.apply_smoothing)
    timer = view.smoothing_timer = QTimer(view)
    timer.setSingleShot(True)
    timer.setInterval(150)
    timer.timeout.connect(view.apply_smoothing)
    view.smoothing_label = QLabel(f"{view.smoothing:.3f}")
    view.smoothing_label.setMinimumWidth(36)
    bar.addWidget(flow_group(QLabel("Smoothing"), slider, view.smoothing_label))
    view.log_check = QCheckBox("Log scale")
    view.log_check.setToolTip("Logarithmic y axis for losses and learning rate (points at or below 0 are left out)")
    view.log_check.toggled.connect(view.set_log_scale)
    view.fit_button = QToolButton()
    view.fit_button.setText("Fit")
    view.fit_button.setToolTip("Zoom every plot to show all data (and follow new data again)")
    view.fit_button.clicked.connect(view.fit)
    bar.addWidget(flow_group(view.log_check, view.fit_button, spacing=10))
    x_combo = view.x_combo = QComboBox()
    x_combo.addItem("Step", X_STEP)
    x_combo.addItem("Hours", X_HOURS)
    x_combo.currentIndexChanged.connect(lambda _i: view.set_x_mode(x_combo.currentData()))
    bar.addWidget(flow_group(QLabel("X axis"), x_combo))
    loss_combo = view.loss_combo = QComboBox()
    loss_combo.addItem("All", "")
    loss_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    loss_combo.setMinimumContentsLength(6)
    loss_combo.currentIndexChanged.connect(lambda _i: view.set_loss_filter(loss_combo.currentData()))
    bar.addWidget(flow_group(QLabel("Losses"), loss_combo))
    view.legend_check = QCheckBox("Legend")
    view.legend_check.setChecked(True)
    view.legend_check.setToolTip("Show which colour and line belongs to which run and curve")
    view.legend_check.toggled.connect(lambda on: view.legend.setVisible(on))
    bar.addWidget(view.legend_check)
    return bar


def build_plots(view: CurvesView) -> None:
    """Loss, learning-rate and validation plots (SSIM on a right axis), the empty-state texts."""
    graphics = view.graphics = pg.GraphicsLayoutWidget()
    graphics.setBackground(style.PLOT_BACKGROUND)
    graphics.ci.setContentsMargins(6, 6, 12, 6)
    graphics.ci.setSpacing(4)
    view.loss_plot = graphics.addPlot(row=0, col=0, axisItems={"left": CompactAxis("left")})
    view.lr_plot = graphics.addPlot(row=1, col=0, axisItems={"left": CompactAxis("left")})
    val_plot = view.val_plot = graphics.addPlot(row=2, col=0)
    style_plot(view.loss_plot, "Training losses", "loss")
    style_plot(view.lr_plot, "Learning rate", "lr")
    style_plot(val_plot, "Validation", "PSNR (dB)")
    layout = graphics.ci.layout
    for row, stretch in enumerate((5, 2, 3)):
        layout.setRowStretchFactor(row, stretch)
    view.lr_plot.setXLink(view.loss_plot)
    val_plot.setXLink(view.loss_plot)
    val_plot.setLabel("bottom", "step", color=style.TEXT_COLOR)
    # SSIM and other 0..1 metrics get their own axis on the right of the validation plot.
    right = view.val_right = pg.ViewBox()
    val_plot.showAxis("right")
    val_plot.scene().addItem(right)
    val_plot.getAxis("right").linkToView(right)
    val_plot.getAxis("right").setLabel("SSIM", color=style.TEXT_COLOR)
    val_plot.getAxis("right").setWidth(44)
    right.setXLink(val_plot)
    val_plot.vb.sigResized.connect(view.sync_right_view)
    for plot in (view.loss_plot, view.lr_plot):
        plot.showAxis("right")
        plot.getAxis("right").setStyle(showValues=False)
        plot.getAxis("right").setWidth(44)  # same as the validation plot's, so the x axes line up
    # Why the validation plot is empty (zero-reference runs have no PSNR): pixel-placed in its view box.
    note = view.val_note = pg.TextItem("", color=style.TEXT_COLOR, anchor=(0, 0))
    note_font = note.textItem.font()
    note_font.setPointSizeF(8.5)
    note.setFont(note_font)
    note.setParentItem(val_plot.vb)
    note.setZValue(900)
    note.setVisible(False)
    val_plot.vb.sigResized.connect(view.place_val_note)
    view.placeholder = pg.TextItem("Open a run folder or start a run\nto see its curves.",
                                   color=style.TEXT_COLOR, anchor=(0.5, 0.5))
    view.loss_plot.addItem(view.placeholder, ignoreBounds=True)
    view.placeholder.setPos(0.5, 0.5)  # the middle of the empty view's default 0..1 range
