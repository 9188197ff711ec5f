"""Live training curves: losses, learning rate and validation metrics of one or several runs.

Display only: the numbers come from core.train.runs (RunReader series, EMA smoothing). Each curve is
redrawn only when its series' revision moved, and pyqtgraph draws a peak-downsampled, view-clipped
version of it, so a million points stay cheap. The legend lives outside the plots (training_legend), the
toolbar wraps (training_flow), and axis labels stay short (training_axis), so the view works ~340 px wide.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QLabel,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.train.runs.figures import ema_smooth
from core.train.runs.reader import RunReader
from core.train.runs.series import GrowingArray, Series
from desktop.panels import training_style as style
from desktop.panels.training_curves import (
    LOG_GROUPS,
    NO_REFERENCE,
    NO_REFERENCE_SHORT,
    NO_VALIDATION,
    SYMBOLS,
    Curve,
    PlotRun,
    apply_pens,
    drawable,
    group_of,
    has_reference_metrics,
    legend_title,
)
from desktop.panels.training_hover import HoverReadout
from desktop.panels.training_legend import CurveLegend, LegendEntry, legend_sections
from desktop.panels.training_plots_build import (
    MAX_SMOOTHING,
    SMOOTHING_STEPS,
    X_HOURS,
    X_STEP,
    build_plots,
    build_toolbar,
)

DOWNSAMPLE_FACTOR = 1.5
REFRESH_BUSY_SHARE = 0.25  # live redraws may use at most this share of the GUI thread's time
MAX_REFRESH_GAP_S = 3.0
MIN_PLOTS_HEIGHT = 380  # below this the plots scroll rather than shrink into unreadable strips
NEUTRAL = "#c8cad0"  # the colour of a style sample in the legend when runs are told apart by colour


class CurvesView(QWidget):
    """Three x-linked plots (loss, learning rate, validation) with smoothing, log scale and a hover read-out."""

    hovered = Signal(str)  # plain text of the read-out under the mouse (empty when it leaves)
    # made by training_plots_build
    smoothing_slider: QSlider
    smoothing_timer: QTimer
    smoothing_label: QLabel
    log_check: QCheckBox
    fit_button: QToolButton
    x_combo: QComboBox
    loss_combo: QComboBox
    legend_check: QCheckBox
    graphics: pg.GraphicsLayoutWidget
    loss_plot: pg.PlotItem
    lr_plot: pg.PlotItem
    val_plot: pg.PlotItem
    val_right: pg.ViewBox
    val_note: pg.TextItem
    placeholder: pg.TextItem

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runs: dict[str, PlotRun] = {}
        self._curves: dict[tuple[str, str], Curve] = {}
        self._weight = 0.6
        self._x_mode = X_STEP
        self._loss_filter = ""  # "" = all losses
        self._dirty: set[str] = set()
        self._log = False
        self._validated: set[str] = set()  # runs with at least one validation record
        self._last_refresh_cost = 0.0
        self._last_refresh_end = 0.0
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self._refresh_dirty)
        self._toolbar = build_toolbar(self)
        build_plots(self)
        self._hover = HoverReadout(self)
        self.legend = CurveLegend()
        self.legend.setVisible(self.legend_check.isChecked())
        self.graphics.setMinimumHeight(MIN_PLOTS_HEIGHT)
        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.setSpacing(0)
        body_layout.addWidget(self.legend)
        body_layout.addWidget(self.graphics, 1)
        self.scroll_area = QScrollArea()  # a short dock scrolls the legend and plots instead of squashing them
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setWidget(body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._toolbar)
        layout.addWidget(self.scroll_area, 1)

    # -- construction (training_plots_build) ---------------------------------------------------

    def place_val_note(self) -> None:
        box = self.val_plot.vb.boundingRect()
        self.val_note.setTextWidth(max(80.0, box.width() - 16))
        self.val_note.setPos(8, 6)

    def sync_right_view(self) -> None:
        self.val_right.setGeometry(self.val_plot.vb.sceneBoundingRect())
        self.val_right.linkedViewChanged(self.val_plot.vb, self.val_right.XAxis)

    # -- runs -----------------------------------------------------------------------------------

    def add_run(self, run_id: str, reader: RunReader, color: QColor, label: str | None = None) -> None:
        self._runs[run_id] = PlotRun(reader, label or reader.name, QColor(color))
        self.refresh(run_id)
        self._restyle()

    def remove_run(self, run_id: str) -> None:
        self._runs.pop(run_id, None)
        self._validated.discard(run_id)
        for key in [k for k in self._curves if k[0] == run_id]:
            curve = self._curves.pop(key)
            for item in curve.items():
                item.getViewBox() and item.getViewBox().removeItem(item)
        self._restyle()

    def set_run_visible(self, run_id: str, visible: bool) -> None:
        run = self._runs.get(run_id)
        if run is None or run.visible == visible:
            return
        run.visible = visible
        if visible:
            self.refresh(run_id)
        self._restyle()

    def run_ids(self) -> list[str]:
        return list(self._runs)

    def curve_points(self, run_id: str, key: str) -> int:
        """How many points the curve of `key` shows (for tests and status text)."""
        curve = self._curves.get((run_id, key))
        return curve.shown_points if curve is not None else 0

    def curve(self, run_id: str, key: str) -> Curve | None:
        return self._curves.get((run_id, key))

    # -- options --------------------------------------------------------------------------------

    @property
    def smoothing(self) -> float:
        return self._weight

    def set_smoothing(self, weight: float) -> None:
        self.smoothing_slider.setValue(int(round(weight * SMOOTHING_STEPS)))

    def smoothing_moved(self, position: int) -> None:
        weight = min(MAX_SMOOTHING, max(0.0, position / SMOOTHING_STEPS))
        self.smoothing_label.setText(f"{weight:.3f}")
        if self.smoothing_slider.isSliderDown():  # dragging: recompute once the hand rests (big runs)
            self.smoothing_timer.start()
        else:
            self.apply_smoothing()

    def apply_smoothing(self) -> None:
        weight = min(MAX_SMOOTHING, max(0.0, self.smoothing_slider.value() / SMOOTHING_STEPS))
        if weight == self._weight:
            return
        self._weight = weight
        for curve in self._curves.values():
            if curve.smooth is not None:
                curve.revision = -1
        self.refresh()
        self._restyle()

    def set_log_scale(self, on: bool) -> None:
        """Log y for losses and learning rate; every positive point stays (values at or below 0 cannot be shown)."""
        if self.log_check.isChecked() != on:
            self.log_check.setChecked(on)
            return
        self._log = bool(on)
        for plot in (self.loss_plot, self.lr_plot):
            plot.setLogMode(x=False, y=on)
        for curve in self._curves.values():
            if curve.group in LOG_GROUPS:
                curve.revision = -1  # redrawn with (or again without) the non-positive points
        self.refresh()

    def set_x_mode(self, mode: str) -> None:
        if mode not in (X_STEP, X_HOURS) or mode == self._x_mode:
            return
        self._x_mode = mode
        self.x_combo.setCurrentIndex(0 if mode == X_STEP else 1)
        self.val_plot.setLabel("bottom", "step" if mode == X_STEP else "training time (h)", color=style.TEXT_COLOR)
        self.refresh()
        self.fit()

    def set_loss_filter(self, name: str) -> None:
        self._loss_filter = name or ""
        self._restyle()

    def fit(self) -> None:
        for plot in (self.loss_plot, self.lr_plot, self.val_plot):
            plot.enableAutoRange()
        self.val_right.enableAutoRange()

    # -- data -----------------------------------------------------------------------------------

    def request_refresh(self, run_id: str) -> None:
        """Redraw soon: at once when redraws are cheap, less often when the last one was slow (huge runs)."""
        self._dirty.add(run_id)
        if self._refresh_timer.isActive():
            return
        gap = min(MAX_REFRESH_GAP_S, self._last_refresh_cost / REFRESH_BUSY_SHARE)
        wait = max(0.0, gap - (time.perf_counter() - self._last_refresh_end))
        self._refresh_timer.start(int(wait * 1000))

    def _refresh_dirty(self) -> None:
        dirty, self._dirty = self._dirty, set()
        started = time.perf_counter()
        for run_id in dirty:
            self.refresh(run_id)
        self.graphics.viewport().repaint()  # paint now, so the cost measured includes drawing
        self._last_refresh_end = time.perf_counter()
        self._last_refresh_cost = self._last_refresh_end - started

    def refresh(self, run_id: str | None = None) -> int:
        """Redraw the curves whose series changed (of one run, or all); returns how many were redrawn."""
        created = False
        updated = 0
        for rid in [run_id] if run_id is not None else list(self._runs):
            run = self._runs.get(rid)
            if run is None or not run.visible:
                continue
            metrics = run.reader.metrics
            loss_names = set(metrics.names("loss"))
            for key, series in list(metrics.series.items()):
                curve = self._curves.get((rid, key))
                if curve is None:
                    group = group_of(key, loss_names)
                    if group is None:
                        continue
                    curve = self._create_curve(rid, key, group)
                    created = True
                if curve.revision != series.revision or curve.x_mode != self._x_mode:
                    self._update_curve(curve, series)
                    updated += 1
            if metrics.last_val is not None and rid not in self._validated:
                self._validated.add(rid)
                created = True  # the validation note may change
        if created:
            self._restyle()
        return updated

    def _create_curve(self, run_id: str, key: str, group: str) -> Curve:
        raw = pg.PlotDataItem()
        smooth = pg.PlotDataItem() if group == "loss" else None
        curve = Curve(run_id, key, group, raw, smooth)
        for item in curve.items():
            item.setDownsampling(auto=True, method="peak")
            # pyqtgraph keeps ~5 samples per pixel by default; peak mode already keeps each pixel's min and
            # max, so ~1.5 per pixel looks the same and draws 3x fewer segments (no setter for this option).
            item.opts["autoDownsampleFactor"] = DOWNSAMPLE_FACTOR
            item.setClipToView(True)
            item.setSkipFiniteCheck(True)  # the reader keeps only finite values
            if group == "val":
                self.val_right.addItem(item)
            else:
                self._plot_for(group).addItem(item)
        self._curves[(run_id, key)] = curve
        self.placeholder.setVisible(False)
        return curve

    def _plot_for(self, group: str) -> pg.PlotItem:
        return {"loss": self.loss_plot, "val_loss": self.loss_plot, "lr": self.lr_plot,
                "psnr": self.val_plot}.get(group, self.val_plot)

    def _x(self, series: Series) -> np.ndarray:
        return series.steps if self._x_mode == X_STEP else series.wall / 3600.0

    def _update_curve(self, curve: Curve, series: Series) -> None:
        x = self._x(series)
        log = self._log and curve.group in LOG_GROUPS
        curve.raw.setData(*drawable(x, series.values, log))
        if curve.smooth is not None and self._weight > 0:
            smoothed = self._smoothed(curve, series)
            curve.smooth.setData(*drawable(x, smoothed, log))
        elif curve.smooth is not None:
            curve.smooth.setData([], [])
        curve.revision = series.revision
        curve.x_mode = self._x_mode
        curve.shown_points = len(series)

    def _smoothed(self, curve: Curve, series: Series) -> np.ndarray:
        n = len(series)
        if curve.ema_weight != self._weight or curve.truncations != series.truncations or len(curve.ema) > n:
            curve.ema = GrowingArray(max(n, 16))
            curve.ema_state = None
            curve.ema_weight = self._weight
            curve.truncations = series.truncations
        done = len(curve.ema)
        if done < n:  # only the new points: the EMA state carries the history
            values, curve.ema_state = ema_smooth(series.values[done:], self._weight, curve.ema_state)
            curve.ema.extend(values)
        return curve.ema.values

    # -- styling --------------------------------------------------------------------------------

    def _visible_runs(self) -> list[str]:
        return [rid for rid, run in self._runs.items() if run.visible]

    def _restyle(self) -> None:
        """Colours, dashes, visibility, the legend and the validation note for the current runs and options.

        One run: a colour per curve. Several: each run keeps its colour family (a shade per curve) and each
        curve name keeps one line style in every run, so the legend needs one entry per run and one per style.
        """
        visible_runs = self._visible_runs()
        single = len(visible_runs) == 1
        smoothing = self._weight > 0
        names_by_group: dict[str, list[str]] = {}
        for curve in self._curves.values():
            names_by_group.setdefault(curve.group, [])
            if curve.name not in names_by_group[curve.group]:
                names_by_group[curve.group].append(curve.name)
        for names in names_by_group.values():
            names.sort(key=lambda n: (n != "total", n != "g", n))  # the generator's lr first, as "total" of losses
        self._update_loss_combo(names_by_group.get("loss", []))
        styles: dict[tuple[str, str], LegendEntry] = {}  # (group, name) -> its legend entry
        for (rid, key), curve in sorted(self._curves.items(), key=lambda kv: (kv[0][0], kv[1].group, kv[1].name)):
            run = self._runs.get(rid)
            shown = run is not None and run.visible
            if curve.group in ("loss", "val_loss") and self._loss_filter:
                overall = curve.group == "val_loss" and curve.name in ("loss", "val_loss")
                shown = shown and (curve.name == self._loss_filter or (overall and self._loss_filter == "total"))
            index = names_by_group[curve.group].index(curve.name)
            if curve.group in ("psnr", "val"):
                index = 0 if curve.group == "psnr" else 1 + names_by_group.get("val", []).index(curve.name)
            dash = style.VAL_LOSS_DASH if curve.group == "val_loss" else (0 if single else index)
            if single:
                color = style.series_color(index)
            else:
                color = style.shade(run.color if run is not None else QColor(style.TEXT_COLOR), index)
            apply_pens(curve, color, dash, smoothing)
            for item in curve.items():
                item.setVisible(shown)
            if shown and (curve.group, curve.name) not in styles:
                styles[(curve.group, curve.name)] = LegendEntry(legend_title(curve), color.name() if single
                                                                else NEUTRAL, dash, SYMBOLS.get(curve.group, ""))
        self.placeholder.setVisible(not any(c.raw.isVisible() for c in self._curves.values()))
        self._update_legend(visible_runs, styles, single)

    def _update_legend(self, visible_runs: list[str], styles: dict[tuple[str, str], LegendEntry],
                       single: bool) -> None:
        runs = [] if single else [LegendEntry(self._runs[rid].label, self._runs[rid].color.name())
                                  for rid in visible_runs]
        sections = legend_sections(runs, styles)
        # Runs that validate without targets (zero-reference presets) can have no PSNR or SSIM: say so.
        without = [self._runs[rid].label for rid in visible_runs
                   if rid in self._validated and not has_reference_metrics(self._runs[rid].reader)]
        plotted = any(c.raw.isVisible() for c in self._curves.values() if c.group in ("psnr", "val"))
        notes = []
        note = ""
        if without and plotted:
            notes.append(NO_REFERENCE_SHORT.format(runs=", ".join(without)))
        elif without:
            note = NO_REFERENCE.format(runs=", ".join(without), verb="trains" if len(without) == 1 else "train")
        elif visible_runs and not plotted:
            note = NO_VALIDATION
        self.val_note.setText(note)
        self.val_note.setVisible(bool(note))
        self.place_val_note()
        self.legend.set_content(sections, notes)

    def validation_note(self) -> str:
        """The text shown over the validation plot ('' when it has curves or nothing to explain)."""
        return self.val_note.textItem.toPlainText() if self.val_note.isVisible() else ""

    def _update_loss_combo(self, names: list[str]) -> None:
        current = [self.loss_combo.itemData(i) for i in range(1, self.loss_combo.count())]
        if current == names:
            return
        chosen = self._loss_filter
        self.loss_combo.blockSignals(True)
        self.loss_combo.clear()
        self.loss_combo.addItem("All", "")
        for name in names:
            self.loss_combo.addItem(name, name)
        index = self.loss_combo.findData(chosen)
        self.loss_combo.setCurrentIndex(max(index, 0))
        self.loss_combo.blockSignals(False)

    # -- hover read-out (training_hover) ------------------------------------------------------------

    def plots(self) -> tuple[pg.PlotItem, pg.PlotItem, pg.PlotItem]:
        return self.loss_plot, self.lr_plot, self.val_plot

    def has_curves(self) -> bool:
        return bool(self._curves)

    def curves_by_key(self) -> dict[tuple[str, str], Curve]:
        return self._curves

    def plot_run(self, run_id: str) -> PlotRun | None:
        return self._runs.get(run_id)

    def visible_runs(self) -> list[str]:
        return self._visible_runs()

    def x_of(self, series: Series) -> np.ndarray:
        return self._x(series)

    def x_in_steps(self) -> bool:
        return self._x_mode == X_STEP

    def readout(self, plot: pg.PlotItem, x: float) -> tuple[str, str]:
        """(html, plain text) listing the value of every visible curve of `plot` nearest to x."""
        return self._hover.readout(plot, x)

    def show_hover(self, plot: pg.PlotItem, x: float, y: float) -> str:
        return self._hover.show(plot, x, y)

    def clear_hover(self) -> None:
        self._hover.clear()
