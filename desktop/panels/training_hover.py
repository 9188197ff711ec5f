"""The hover read-out of the training plots: a vertical line on every plot and, in the plot under the mouse,
the value of each visible curve at that step."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from desktop.panels import training_style as style

if TYPE_CHECKING:
    from desktop.panels.training_plots import CurvesView


class HoverReadout:
    """Owns the crosshair items of a CurvesView and writes its read-out."""

    def __init__(self, view: "CurvesView") -> None:
        self.view = view
        pen = pg.mkPen(style.CROSSHAIR_COLOR, width=1, style=Qt.PenStyle.DashLine)
        self._vlines = {}
        self._labels = {}
        for plot in view.plots():
            line = pg.InfiniteLine(angle=90, movable=False, pen=pen)
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self._vlines[plot] = line
            label = pg.TextItem("", anchor=(0, 0), fill=pg.mkBrush(30, 31, 34, 230),
                                border=pg.mkPen(style.AXIS_COLOR))
            label.setZValue(1000)
            label.setVisible(False)
            plot.addItem(label, ignoreBounds=True)
            self._labels[plot] = label
        self._proxy = pg.SignalProxy(view.graphics.scene().sigMouseMoved, rateLimit=60, slot=self._mouse_moved)

    def _mouse_moved(self, event: tuple) -> None:
        pos = event[0]
        hovered = None
        for plot in self.view.plots():
            if plot.vb.sceneBoundingRect().contains(pos):
                hovered = plot
        if hovered is None or not self.view.has_curves():
            self.clear()
            return
        point = hovered.vb.mapSceneToView(pos)
        self.show(hovered, point.x(), point.y())

    def clear(self) -> None:
        for line in self._vlines.values():
            line.setVisible(False)
        for label in self._labels.values():
            label.setVisible(False)
        self.view.hovered.emit("")

    def readout(self, plot: pg.PlotItem, x: float) -> tuple[str, str]:
        """(html, plain text) listing the value of every visible curve of `plot` nearest to x."""
        v = self.view
        groups = {v.loss_plot: ("loss", "val_loss"), v.lr_plot: ("lr",), v.val_plot: ("psnr", "val")}[plot]
        rows_html, rows_text = [], []
        step_at = None
        for (rid, key), curve in sorted(v.curves_by_key().items()):
            if curve.group not in groups or not curve.raw.isVisible():
                continue
            run = v.plot_run(rid)
            series = run.reader.metrics.get(key) if run is not None else None
            if run is None or series is None or len(series) == 0:
                continue
            xs = v.x_of(series)
            i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
            if i > 0 and abs(xs[i - 1] - x) <= abs(xs[i] - x):
                i -= 1
            value = float(series.values[i])
            step_at = int(series.steps[i]) if step_at is None else step_at
            shown = value
            if curve.smooth is not None and v.smoothing > 0 and i < len(curve.ema):
                shown = float(curve.ema.values[i])
            pen_color = (curve.smooth if curve.smooth is not None and v.smoothing > 0 else curve.raw).opts["pen"]
            color = pg.mkPen(pen_color).color().name()
            name = curve.title if len(v.visible_runs()) == 1 else f"{run.label} · {curve.title}"
            if curve.group in ("psnr", "val", "val_loss"):
                name = "val " + name if len(v.visible_runs()) == 1 else name.replace(" · ", " · val ")
            text = f"{name}: {shown:.5g}" + (f" (raw {value:.5g})" if shown != value else "")
            rows_text.append(text)
            rows_html.append(f'<span style="color:{color}">&#9632;</span> {html.escape(text)}')
        if not rows_text:
            return "", ""
        if v.x_in_steps():
            head = f"step {step_at:,}" if step_at is not None else f"step {x:,.0f}"
        else:
            head = f"{x:.2f} h (step {step_at:,})" if step_at is not None else f"{x:.2f} h"
        body = "<br>".join(rows_html)
        return (f'<div style="color:{style.TITLE_COLOR}; font-size:8pt"><b>{head}</b><br>{body}</div>',
                head + " | " + " | ".join(rows_text))

    def show(self, plot: pg.PlotItem, x: float, y: float) -> str:
        v = self.view
        for line in self._vlines.values():
            line.setPos(x)
            line.setVisible(True)
        for other, label in self._labels.items():
            if other is not plot:
                label.setVisible(False)
        markup, text = self.readout(plot, x)
        label = self._labels[plot]
        if not markup:
            label.setVisible(False)
            v.hovered.emit("")
            return ""
        label.setHtml(markup)
        (x0, x1), (y0, y1) = plot.vb.viewRange()
        right = x > (x0 + x1) / 2
        top = y > (y0 + y1) / 2
        label.setAnchor((1.0 if right else 0.0, 0.0 if top else 1.0))
        offset_x = (x1 - x0) * 0.01 * (-1 if right else 1)
        label.setPos(x + offset_x, y)
        label.setVisible(True)
        v.hovered.emit(text)
        return text
