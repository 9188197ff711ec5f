"""The training curves: a legend outside the plots, distinct pens per curve, log scale that keeps every positive
point, short axis labels, and a word on the empty validation plot of a zero-reference run."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402

from core.train.runs.reader import RunReader  # noqa: E402
from desktop.panels import training_style as style  # noqa: E402
from desktop.panels.training_axis import CompactAxis, short_number  # noqa: E402
from desktop.panels.training_plots import CurvesView  # noqa: E402
from tests.test_train_run_reader import write_run  # noqa: E402


def _run(tmp_path, name, losses, val=None, steps=40, lr=None):
    """A run folder whose train lines carry `losses` (name -> f(step)) and val lines `val` (name -> f(step))."""
    run = write_run(tmp_path / name)
    with open(run / "metrics.jsonl", "w", encoding="utf-8") as fh:
        for step in range(1, steps + 1):
            values = {k: f(step) for k, f in losses.items()}
            fh.write(json.dumps({"kind": "train", "step": step, "wall_time": step * 0.1, "losses": values,
                                 "lr": lr(step) if lr else {"g": 1e-4}}) + "\n")
            if val and step % 10 == 0:
                fh.write(json.dumps({"kind": "val", "step": step, "wall_time": step * 0.1,
                                     "metrics": {k: f(step) for k, f in val.items()}}) + "\n")
    reader = RunReader(run)
    reader.read_all()
    return reader


@pytest.fixture
def view(qtbot):
    widget = CurvesView()
    qtbot.addWidget(widget)
    widget.resize(400, 700)
    return widget


SUPERVISED = {"total": lambda s: 1.0 / s, "l1": lambda s: 0.5 / s, "ssim": lambda s: 0.3 / s}
ZERO_REFERENCE = {"total": lambda s: 2.0 / s, "spatial": lambda s: 1.0 / s, "exposure": lambda s: 0.4 / s,
                  "color": lambda s: 0.1 / s}


def test_the_legend_is_outside_the_plots_with_one_entry_per_run_and_per_style(view, tmp_path):
    a = _run(tmp_path, "20250101-120000_gain", SUPERVISED, {"psnr": lambda s: 20 + s / 10, "ssim": lambda s: 0.8,
                                                            "val_loss": lambda s: 1.0 / s})
    b = _run(tmp_path, "20250102-090000_zero_dce", ZERO_REFERENCE, {"psnr": lambda s: None,
                                                                    "val_loss": lambda s: 1.5 / s},
             lr=lambda s: {"g": 1e-4, "d": 4e-4})
    view.add_run("a", a, style.run_color(0), "gain 01-01 12:00")
    view.add_run("b", b, style.run_color(1), "zero_dce 01-02 09:00")
    assert all(plot.legend is None for plot in (view.loss_plot, view.lr_plot, view.val_plot)), "nothing covers a curve"
    texts = view.legend.texts()
    assert texts[:2] == ["gain 01-01 12:00", "zero_dce 01-02 09:00"]  # one entry per run ...
    styles = texts[2:]  # ... then one per curve style, never one per run and curve
    assert len(styles) == len(set(styles))
    assert set(styles) == {"total", "l1", "ssim", "spatial", "exposure", "color", "validation loss", "generator",
                           "discriminator", "PSNR", "SSIM"}
    assert any("zero_dce 01-02 09:00: no PSNR or SSIM" in note for note in view.legend.notes())
    view.legend_check.setChecked(False)
    assert view.legend.isHidden()


def _pen_key(curve):
    pen = (curve.smooth if curve.smooth is not None else curve.raw).opts["pen"]
    return pen.color().name(), tuple(pen.dashPattern()) if pen.style() == Qt.PenStyle.CustomDashLine else ()


def test_curves_of_one_run_are_told_apart_and_each_name_keeps_its_line(view, tmp_path):
    a = _run(tmp_path, "a", SUPERVISED)
    b = _run(tmp_path, "b", SUPERVISED)
    view.add_run("a", a, style.run_color(0), "a")
    view.add_run("b", b, style.run_color(1), "b")
    keys = ("loss/total", "loss/l1", "loss/ssim")
    pens_a = [_pen_key(view.curve("a", k)) for k in keys]
    pens_b = [_pen_key(view.curve("b", k)) for k in keys]
    assert len({color for color, _ in pens_a}) == 3, "each curve of a run has its own colour"
    assert len({dash for _, dash in pens_a}) == 3, "... and its own line"
    assert [dash for _, dash in pens_a] == [dash for _, dash in pens_b], "a name keeps its line in every run"
    assert pens_a[0][0] != pens_b[0][0], "runs differ by colour"
    view.set_run_visible("b", False)  # one run: a colour per curve, solid lines
    assert len({_pen_key(view.curve("a", k))[0] for k in keys}) == 3


def test_log_scale_keeps_every_positive_point(view, tmp_path):
    values = [0.5, 0.0, 0.4, -0.1, 0.3, 0.25]
    reader = _run(tmp_path, "run", {"total": lambda s: values[s - 1]}, {"val_loss": lambda s: 0.2}, steps=6,
                  lr=lambda s: {"g": 0.0 if s == 1 else 1e-4 * s})
    view.add_run("r", reader, QColor("#5b8def"), "r")
    view.set_smoothing(0.0)
    curve = view.curve("r", "loss/total")
    assert list(curve.raw.yData) == values
    view.set_log_scale(True)
    assert list(curve.raw.xData) == [1, 3, 5, 6] and list(curve.raw.yData) == [0.5, 0.4, 0.3, 0.25]
    assert len(view.curve("r", "lr/g").raw.yData) == 5  # the zero learning rate of step 1 only
    view.set_smoothing(0.6)
    assert len(curve.smooth.yData) == np.count_nonzero(np.asarray(curve.smooth.yData) > 0) > 0
    view.set_log_scale(False)
    assert list(curve.raw.yData) == values, "linear again: every point is back"


def test_axis_labels_stay_short_and_log_axes_label_whole_decades_only():
    assert [short_number(v) for v in (0, 2e-4, 1.5e-4, 0.05, 12000, 1.0)] == ["0", "2e-4", "1.5e-4", "0.05",
                                                                                 "1.2e4", "1"]
    axis = CompactAxis("left")
    assert axis.tickStrings([0.0001, 0.0002, 0.0003], 1.0, 0.0001) == ["1e-4", "2e-4", "3e-4"]
    axis.setLogMode(False, True)
    ticks = [-5, np.log10(2e-5), np.log10(5e-5), -4, np.log10(3e-4)]
    assert axis.tickStrings(ticks, 1.0, 1.0) == ["1e-5", "", "", "1e-4", ""]
    inside_a_decade = [np.log10(2e-4), np.log10(3e-4), np.log10(5e-4)]
    assert axis.tickStrings(inside_a_decade, 1.0, 0.1) == ["2e-4", "", "5e-4"]


def test_an_empty_validation_plot_says_why(view, tmp_path):
    zero = _run(tmp_path, "20250102-090000_zero_dce", ZERO_REFERENCE, {"psnr": lambda s: None,
                                                                       "val_loss": lambda s: 1.0 / s})
    view.add_run("z", zero, style.run_color(0), "zero_dce 01-02 09:00")
    note = view.validation_note()
    assert "zero_dce 01-02 09:00" in note and "zero-reference" in note and "loss plot" in note
    fresh = _run(tmp_path, "fresh", SUPERVISED)  # trained, not validated yet
    other = CurvesView()
    other.add_run("f", fresh, style.run_color(0), "fresh")
    assert other.validation_note() == "No validation results yet."
    with_psnr = _run(tmp_path, "sup", SUPERVISED, {"psnr": lambda s: 20.0, "ssim": lambda s: 0.8})
    other.add_run("s", with_psnr, style.run_color(1), "sup")
    assert other.validation_note() == "", "PSNR is plotted: nothing to explain"
    other.deleteLater()


def test_the_curves_fit_a_narrow_dock(view, tmp_path):
    view.add_run("a", _run(tmp_path, "a", SUPERVISED), style.run_color(0), "a")
    view.add_run("b", _run(tmp_path, "b", ZERO_REFERENCE), style.run_color(1), "b" * 80)
    assert view.minimumSizeHint().width() <= 340
    view.show()
    shot = view.grab()
    assert not shot.isNull() and shot.width() == 400
