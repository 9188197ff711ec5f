"""The training panel: follows growing run folders, plots, gallery, checkpoints, and its child process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import Qt  # noqa: E402

from core.train.runs.commands import PresetInfo  # noqa: E402
from core.train.runs.reader import RunReader  # noqa: E402
from desktop.panels import training_follow  # noqa: E402
from desktop.panels.training_panel import TrainingPanel  # noqa: E402
from tests.test_train_run_reader import train_line, write_run, write_status  # noqa: E402


@pytest.fixture
def panel(qtbot, monkeypatch):
    monkeypatch.setattr(training_follow, "POLL_INTERVAL_MS", 50)
    widget = TrainingPanel(load_presets=False)
    qtbot.addWidget(widget)
    widget.resize(1200, 760)
    widget.process.stop_grace_ms = 300
    widget.process.kill_grace_ms = 300
    yield widget
    widget.shutdown()


def _run_id(path: Path) -> str:
    return str(path.resolve())


def test_follows_a_metrics_file_another_process_appends_to(panel, qtbot, tmp_path):
    run = write_run(tmp_path / "run", total=60)
    script = textwrap.dedent(f"""
        import json, sys, time
        path = {str(run / "metrics.jsonl")!r}
        for step in range(1, 61):
            line = json.dumps({{"kind": "train", "step": step, "wall_time": step * 0.1,
                               "losses": {{"total": 1.0 / step}}, "lr": {{"g": 0.001}}, "it_per_s": 20.0}}) + "\\n"
            with open(path, "a") as fh:  # half a line first: the reader must wait for the rest
                fh.write(line[:10]); fh.flush(); time.sleep(0.005)
                fh.write(line[10:]); fh.flush()
            time.sleep(0.02)
    """)
    writer = subprocess.Popen([sys.executable, "-c", script])
    try:
        panel.open_run(run)
        rid = _run_id(run)
        seen = []

        def grew() -> bool:
            seen.append(panel.curves.curve_points(rid, "loss/total"))
            return seen[-1] >= 60

        qtbot.waitUntil(grew, timeout=20000)
    finally:
        writer.wait(timeout=30)
    intermediate = [n for n in seen if 0 < n < 60]
    assert intermediate, f"the curve should grow while the file grows, saw {sorted(set(seen))}"
    curve = panel.curves.curve(rid, "loss/total")
    x, y = curve.raw.xData, curve.raw.yData
    assert list(x) == list(range(1, 61))
    np.testing.assert_allclose(y, 1.0 / np.arange(1, 61))
    assert panel.reader(rid).metrics.skipped_lines == 0
    assert "it/s" in panel.eta_text() and "ETA" in panel.eta_text()


def test_header_shows_speed_eta_and_best_psnr(panel, qtbot, tmp_path):
    run = write_run(tmp_path / "run", steps=100, val_every=50, total=1100)
    panel.open_run(run)
    qtbot.waitUntil(lambda: panel.curves.curve_points(_run_id(run), "val/psnr") == 2, timeout=5000)
    panel._update_header()
    text = panel.eta_text()
    assert "10.00 it/s" in text
    assert "ETA 1 min 40 s" in text  # 1000 steps left at 10 it/s
    assert "best PSNR 21.00 dB @ 100" in text
    assert panel.progress_bar.maximum() == 1100 and panel.progress_bar.value() == 100


def test_several_runs_overlay_and_can_be_hidden(panel, qtbot, tmp_path):
    a = write_run(tmp_path / "20250101-120000_a", steps=50)
    b = write_run(tmp_path / "20250102-120000_b", steps=30)
    panel.open_run(a)
    panel.open_run(b)
    ra, rb = _run_id(a), _run_id(b)
    qtbot.waitUntil(lambda: panel.curves.curve_points(ra, "loss/total") == 50
                    and panel.curves.curve_points(rb, "loss/total") == 30, timeout=5000)
    pen_a = panel.curves.curve(ra, "loss/total").smooth.opts["pen"].color().name()
    pen_b = panel.curves.curve(rb, "loss/total").smooth.opts["pen"].color().name()
    assert pen_a != pen_b, "each run has its own colour"
    assert panel.curves.curve(rb, "loss/total").raw.isVisible()
    text = panel.curves.show_hover(panel.curves.loss_plot, 20.2, 0.5)
    assert text.startswith("step 20")
    assert "a 01-01 12:00 · total" in text and "b 01-02 12:00 · total" in text
    panel.set_run_visible(rb, False)
    assert not panel.curves.curve(rb, "loss/total").raw.isVisible()
    assert panel.curves.curve(ra, "loss/total").raw.isVisible()
    text = panel.curves.show_hover(panel.curves.loss_plot, 20.2, 0.5)
    assert "total: " in text and "b 01-02" not in text
    panel.close_run(rb)
    assert panel.open_run_ids() == [ra]
    assert panel.curves.curve(rb, "loss/total") is None


def test_smoothing_slider_and_log_scale(panel, qtbot, tmp_path):
    run = write_run(tmp_path / "run", steps=40)
    panel.open_run(run)
    rid = _run_id(run)
    qtbot.waitUntil(lambda: panel.curves.curve_points(rid, "loss/total") == 40, timeout=5000)
    curve = panel.curves.curve(rid, "loss/total")
    panel.curves.set_smoothing(0.9)
    assert panel.curves.smoothing == pytest.approx(0.9)
    smoothed, raw = curve.smooth.yData, curve.raw.yData
    assert smoothed[-1] > raw[-1], "the smoothed falling curve lags above the raw values"
    panel.curves.set_smoothing(0.0)
    assert curve.smooth.yData is None or len(curve.smooth.yData) == 0
    panel.curves.set_log_scale(True)
    assert panel.curves.loss_plot.getAxis("left").logMode
    panel.curves.set_x_mode("hours")
    assert curve.raw.xData[-1] == pytest.approx(40 * 0.1 / 3600)


def test_gallery_shows_the_previews_of_a_selected_step(panel, qtbot, tmp_path):
    run = write_run(tmp_path / "run", steps=200, val_every=100, previews=(100, 200))
    panel.open_run(run)
    panel.tabs.setCurrentWidget(panel.gallery)
    qtbot.waitUntil(lambda: panel.gallery.steps() == [100, 200], timeout=5000)
    assert panel.gallery.current_step() == 200  # follows the latest
    panel.gallery.slider.setValue(0)
    assert panel.gallery.current_step() == 100
    rows = panel.gallery.image_labels()
    assert len(rows) == 2
    first, second = rows
    assert all(label.has_image() for label in first)
    assert first[0].path.name == "00_input.png" and first[2].path.name == "00_target.png"
    assert first[0].original_size().width() == 24
    assert second[0].has_image() and second[1].has_image() and not second[2].has_image()
    assert second[2].text() == "no target"
    assert "PSNR 21.00 dB" in panel.gallery.step_label.text()
    assert not panel.gallery.follow_check.isChecked()


class _FakeStore:
    calls: list = []
    fail: str = ""

    def import_file(self, path, name=None):
        if self.fail:
            raise RuntimeError(self.fail)
        _FakeStore.calls.append((Path(path), name))
        return types.SimpleNamespace(name=name)


def _fake_store_module(monkeypatch, fail: str = "") -> None:
    module = types.ModuleType("core.store")
    _FakeStore.calls = []
    _FakeStore.fail = fail
    module.ModelStore = _FakeStore
    monkeypatch.setitem(sys.modules, "core.store", module)


def test_checkpoint_list_and_use_in_editor(panel, qtbot, tmp_path, monkeypatch):
    run = write_run(tmp_path / "20250101-120000_zd", checkpoints=("latest.pt", "best.pt", "best.safetensors"))
    panel.open_run(run)
    assert panel.checkpoints.names() == ["best.safetensors", "best.pt", "latest.pt"]
    assert panel.checkpoints.name_edit.text() == "20250101-120000_zd-best"
    _fake_store_module(monkeypatch)
    panel.checkpoints.name_edit.setText("my-model")
    with qtbot.waitSignal(panel.use_model, timeout=5000) as signal:
        panel.checkpoints.use_selected()
    assert signal.args == ["my-model"]
    assert _FakeStore.calls == [(run / "checkpoints" / "best.safetensors", "my-model")]


def test_use_in_editor_reports_a_store_failure(panel, qtbot, tmp_path, monkeypatch):
    run = write_run(tmp_path / "run", checkpoints=("latest.pt",))
    panel.open_run(run)
    _fake_store_module(monkeypatch, fail="unknown architecture")
    with qtbot.waitSignal(panel.checkpoints.import_failed, timeout=5000):
        panel.checkpoints.use_selected()
    assert "unknown architecture" in panel.checkpoints.message.text()
    assert panel.checkpoints.use_button.isEnabled()


def test_a_failing_process_shows_its_output_and_exit_status(panel, qtbot):
    script = "import sys\nprint('loading data')\nprint('Traceback: boom', file=sys.stderr)\nsys.exit(1)"
    with qtbot.waitSignal(panel.process.finished, timeout=20000) as signal:
        assert panel.start_process(sys.executable, ["-c", script])
        assert not panel.start_button.isEnabled()
    assert signal.args[0] == 1
    log = panel.log_view.toPlainText()
    assert "loading data" in log and "Traceback: boom" in log
    assert "exit code 1" in panel.exit_label.text()
    assert panel.tabs.currentWidget() is panel.log_view.parentWidget()
    assert panel.start_button.isEnabled()


def test_a_program_that_cannot_start_is_reported(panel, qtbot, tmp_path):
    with qtbot.waitSignal(panel.process.finished, timeout=10000) as signal:
        panel.start_process(str(tmp_path / "no-such-python"), [])
    assert signal.args[0] == -1
    assert "could not start" in panel.exit_label.text()


def test_stop_writes_stop_and_the_trainer_ends(panel, qtbot, tmp_path):
    run = write_run(tmp_path / "run", state="stopped", checkpoints=("latest.pt",))
    (run / "STOP").write_text("old")
    script = textwrap.dedent("""
        import os, sys, time
        stop = os.path.join(sys.argv[1], "STOP")
        print("training", flush=True)
        while not os.path.exists(stop):
            time.sleep(0.02)
        print("saw STOP", flush=True)
    """)
    assert panel.start_process(sys.executable, ["-c", script, str(run)], run_dir=run)
    assert not (run / "STOP").exists(), "a STOP left from before would end the resumed run at once"
    qtbot.waitUntil(lambda: "training" in panel.log_view.toPlainText(), timeout=10000)
    with qtbot.waitSignal(panel.process.finished, timeout=10000) as signal:
        panel.stop()
        assert (run / "STOP").is_file()
    assert signal.args[0] == 0
    assert "saw STOP" in panel.log_view.toPlainText()


def test_stop_terminates_a_trainer_that_ignores_stop(panel, qtbot, tmp_path):
    if sys.platform == "win32":
        pytest.skip("terminate() is a kill on Windows")
    run = write_run(tmp_path / "run")
    script = "import time\nprint('busy', flush=True)\nwhile True:\n    time.sleep(0.05)"
    panel.start_process(sys.executable, ["-c", script], run_dir=run)
    qtbot.waitUntil(lambda: "busy" in panel.log_view.toPlainText(), timeout=10000)
    with qtbot.waitSignal(panel.process.finished, timeout=10000):
        panel.stop()
    assert (run / "STOP").is_file()
    assert not panel.process.is_running()


def test_stop_on_a_run_started_elsewhere_writes_stop(panel, tmp_path):
    run = write_run(tmp_path / "run")
    write_status(run, state="running")
    panel.open_run(run)
    assert panel.stop_button.isEnabled()
    panel.stop()
    assert (run / "STOP").is_file()


def test_start_from_form_builds_the_train_command(panel, tmp_path, monkeypatch):
    started = {}
    monkeypatch.setattr(panel, "start_process",
                        lambda program, args, **kw: started.update(program=program, args=args, **kw) or True)
    panel.form.set_presets([PresetInfo("zero_dce", "Zero-DCE", "curves", "lowlight", {"steps": 20000})])
    assert "20,000 (preset)" == panel.form.steps_edit.placeholderText()
    data = tmp_path / "photos"
    data.mkdir()
    assert not panel.start_from_form()
    assert "dataset" in panel.form_message.text().lower()
    panel.form.data_field.setText(str(data))
    panel.form.out_field.setText(str(tmp_path / "runs"))
    panel.form.steps_edit.setText("300")
    panel.form.lr_edit.setText("5e-4")
    panel.form.device_combo.setCurrentText("cpu")
    panel.form.extra_edit.setText("optim.warmup_steps=10")
    weights = tmp_path / "start.safetensors"
    weights.write_bytes(b"x")
    panel.form.init_field.setText(str(weights))
    assert panel.start_from_form()
    args = started["args"]
    assert args[args.index("--init") + 1] == str(weights)
    assert started["program"] == sys.executable and args[0].endswith("main.py")
    assert args[1:4] == ["train", "--preset", "zero_dce"]
    sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    assert sets == ["train.max_steps=300", "optim.g_lr=0.0005", "train.device=cpu", "optim.warmup_steps=10"]
    assert started["runs_folder"] == tmp_path / "runs"
    panel.form.lr_edit.setText("fast")
    assert not panel.start_from_form()
    assert "learning rate" in panel.form_message.text()


def test_the_vgg16_field_is_offered_for_presets_with_vgg_terms_and_passed_on(panel, tmp_path, monkeypatch):
    started = {}
    monkeypatch.setattr(panel, "start_process",
                        lambda program, args, **kw: started.update(args=args) or True)
    panel.form.set_presets([PresetInfo("zero_dce", "Zero-DCE", "curves", "lowlight"),
                            PresetInfo("lbam", "LBAM", "inpainting", "inpaint", {}, ("pool_perceptual", "style"))])
    form = panel.form
    form.preset_combo.setCurrentText("zero_dce")
    assert not form.vgg_field.isEnabled() and "not needed" in form.vgg_field.edit.placeholderText()
    form.preset_combo.setCurrentText("lbam")
    assert form.vgg_field.isEnabled() and "pool_perceptual and style loss terms need it" in \
        form.vgg_field.edit.toolTip()
    data = tmp_path / "photos"
    data.mkdir()
    form.data_field.setText(str(data))
    assert panel.start_from_form()
    assert "vgg16_weights" not in " ".join(started["args"])  # empty: the run says the terms are off
    vgg = tmp_path / "vgg16.pth"
    vgg.write_bytes(b"x")
    form.vgg_field.setText(str(vgg))
    assert panel.start_from_form()
    args = started["args"]
    assert f"vgg16_weights={vgg}" in [args[i + 1] for i, a in enumerate(args) if a == "--set"]


def test_a_preset_that_derives_its_steps_says_so_in_the_steps_field(panel):
    from core.train.runs.commands import list_presets

    gpen = next(p for p in list_presets() if p.name == "gpen")
    panel.form.set_presets([gpen])
    panel.form.preset_combo.setCurrentText("gpen")
    assert panel.form.steps_edit.placeholderText() == "from the recipe's epochs"
    assert gpen.vgg_terms == ("perceptual",) and panel.form.vgg_field.isEnabled()


def test_a_run_started_here_is_opened_when_its_folder_appears(panel, qtbot, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    script = textwrap.dedent("""
        import json, os, sys, time
        run = os.path.join(sys.argv[1], "20250101-000000_fake")
        os.makedirs(run)
        open(os.path.join(run, "config.toml"), "w").write('preset = "fake"\\n')
        json.dump({"state": "running", "message": "", "pid": os.getpid(), "step": 0, "total_steps": 10,
                   "updated": ""}, open(os.path.join(run, "status.json"), "w"))
        time.sleep(3)
    """)
    panel.start_process(sys.executable, ["-c", script, str(runs)], runs_folder=runs)
    qtbot.waitUntil(lambda: len(panel.open_run_ids()) == 1, timeout=15000)
    assert panel.open_run_ids()[0].endswith("20250101-000000_fake")
    assert panel.current_run() == panel.open_run_ids()[0]
    panel.process.kill()


def test_a_folder_that_is_not_a_run_is_refused_politely(panel, tmp_path):
    assert panel.open_run(tmp_path) is None
    assert "not a training run" in panel.form_message.text()


def test_refresh_with_many_points_stays_cheap(panel, tmp_path):
    """Loose bound only: 200,000 points per curve draw through peak downsampling, not point by point."""
    import time

    run = write_run(tmp_path / "run")
    reader = RunReader(run)
    n = 200_000
    steps = np.arange(1, n + 1, dtype=np.float64)
    for key in ("loss/total", "loss/l1", "lr/g"):
        from core.train.runs.series import Series

        series = reader.metrics.series.setdefault(key, Series(key))
        series.extend(steps, np.random.default_rng(0).random(n), steps / 10)
    panel.curves.add_run("big", reader, Qt.GlobalColor.red, "big")
    panel.curves.show()
    started = time.perf_counter()
    reader.metrics.get("loss/total").extend(np.array([n + 1.0]), np.array([0.5]), np.array([n / 10]))
    assert panel.curves.refresh("big") == 1  # only the curve that changed is redrawn
    panel.curves.grab()
    assert time.perf_counter() - started < 5.0


def test_a_big_file_is_read_over_several_event_loop_turns(panel, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(training_follow, "SLICE_BYTES", 4096)
    monkeypatch.setattr(training_follow, "TURN_BUDGET_S", 0.0)  # one slice per turn
    run = write_run(tmp_path / "run", steps=3000)
    panel.open_run(run)
    rid = _run_id(run)
    follower = panel._runs[rid].follower
    assert follower.catching_up or panel.reader(rid).pending_bytes > 0
    qtbot.waitUntil(lambda: panel.curves.curve_points(rid, "loss/total") == 3000, timeout=30000)
    assert not follower.catching_up
    assert panel.reader(rid).metrics.lines == 3000


def test_gallery_keeps_its_images_when_nothing_new_arrived(panel, qtbot, tmp_path):
    run = write_run(tmp_path / "run", steps=100, val_every=100, previews=(100,))
    panel.open_run(run)
    qtbot.waitUntil(lambda: panel.gallery.steps() == [100], timeout=5000)
    label = panel.gallery.image_labels()[0][0]
    pixmap_key = label.pixmap().cacheKey()
    panel._update_gallery(panel.reader())
    assert panel.gallery.image_labels()[0][0].pixmap().cacheKey() == pixmap_key
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as fh:
        fh.write(train_line(101))
    qtbot.waitUntil(lambda: panel.curves.curve_points(_run_id(run), "loss/total") == 101, timeout=5000)
    assert panel.gallery.image_labels()[0][0].pixmap().cacheKey() == pixmap_key


# ------------------------------------------------------------------------------ a new user's reports


def test_the_panel_fits_a_narrow_dock(qtbot, tmp_path):
    panel = TrainingPanel(load_presets=False)
    qtbot.addWidget(panel)
    assert panel.minimumSizeHint().width() <= 420 and panel.sizeHint().width() <= 420
    long_name = "20250101-120000_" + "a_really_long_experiment_name_" * 4
    panel.open_run(write_run(tmp_path / long_name, steps=20, val_every=10, previews=(10, 20)))
    panel.form.set_presets([PresetInfo("lowlight_gain_unet", "Gain U-Net", "a long description " * 30, "lowlight",
                                       {"steps": 20000})])
    panel.show()
    for width in (1300, 380):  # side by side when wide, stacked when narrow; never wider than it must be
        panel.resize(width, 720)
        qtbot.waitUntil(lambda: panel.width() == width, timeout=3000)
        assert panel.is_stacked() == (width < 900)
        assert panel.minimumSizeHint().width() <= 420
    for page in range(panel.tabs.count()):
        panel.tabs.setCurrentIndex(page)
        assert panel.tabs.currentWidget().minimumSizeHint().width() <= 400
    assert panel.minimumSizeHint().width() <= 420
    panel.grab().save(str(tmp_path / "narrow.png"))
    panel.shutdown()


def test_background_work_goes_through_the_window_pool(qtbot, tmp_path, monkeypatch):
    from desktop.panels import training_form
    from desktop.workers import WorkerPool

    monkeypatch.setattr(training_form, "list_presets", lambda: [PresetInfo("zero_dce", "Zero-DCE", "", "lowlight")])
    pool = WorkerPool()
    started = []
    pool.job_started.connect(lambda handle: started.append(handle.name))
    panel = TrainingPanel(pool=pool)
    qtbot.addWidget(panel)
    assert panel.pool is pool and panel.form.pool is pool and panel.checkpoints.pool is pool
    qtbot.waitUntil(lambda: panel.form.preset_names() == ["zero_dce"], timeout=5000)
    run = write_run(tmp_path / "run", checkpoints=("best.safetensors",))
    panel.open_run(run)
    _fake_store_module(monkeypatch)
    with qtbot.waitSignal(panel.use_model, timeout=5000):
        panel.checkpoints.use_selected()
    assert started == ["Reading the training presets", "Importing best.safetensors into the model store"]
    alone = TrainingPanel(load_presets=False)  # built on its own (tests, a plugin): it makes its own pool
    qtbot.addWidget(alone)
    assert isinstance(alone.pool, WorkerPool) and alone.pool is not pool
    panel.shutdown()
    alone.shutdown()


class _RenamingStore(_FakeStore):
    def import_file(self, path, name=None):
        _FakeStore.calls.append((Path(path), name))
        return types.SimpleNamespace(name=f"{name}-2")  # the store's name: that one was taken


def test_use_model_carries_the_store_name_and_only_after_the_import(panel, qtbot, tmp_path, monkeypatch):
    run = write_run(tmp_path / "run", checkpoints=("best.safetensors",))
    panel.open_run(run)
    _fake_store_module(monkeypatch)
    sys.modules["core.store"].ModelStore = _RenamingStore
    panel.checkpoints.name_edit.setText("mine")
    with qtbot.waitSignal(panel.use_model, timeout=5000) as signal:
        panel.checkpoints.use_selected()
    assert signal.args == ["mine-2"]
    assert "'mine-2'" in panel.checkpoints.message.text()
    _fake_store_module(monkeypatch, fail="not a checkpoint")
    with qtbot.assertNotEmitted(panel.use_model, wait=300):
        with qtbot.waitSignal(panel.checkpoints.import_failed, timeout=5000):
            panel.checkpoints.use_selected()


def test_checkpoint_news_stays_with_its_run(panel, qtbot, tmp_path, monkeypatch):
    import threading

    a = write_run(tmp_path / "20250101-120000_a", checkpoints=("best.safetensors",))
    b = write_run(tmp_path / "20250102-120000_b", checkpoints=("latest.pt",))
    panel.open_run(a)
    panel.open_run(b)
    release = threading.Event()

    class SlowStore(_FakeStore):
        def import_file(self, path, name=None):
            release.wait(10)
            return types.SimpleNamespace(name=name)

    _fake_store_module(monkeypatch)
    sys.modules["core.store"].ModelStore = SlowStore
    panel.run_list.setCurrentItem(panel._runs[_run_id(a)].item)
    panel.checkpoints.name_edit.setText("from-a")
    panel.checkpoints.use_selected()
    assert "Importing" in panel.checkpoints.message.text()
    panel.run_list.setCurrentItem(panel._runs[_run_id(b)].item)  # switch while the import runs
    assert panel.checkpoints.message.text() == ""
    with qtbot.waitSignal(panel.use_model, timeout=5000):
        release.set()
    assert panel.checkpoints.message.text() == "", "the news about run a is not shown under run b"
    panel.run_list.setCurrentItem(panel._runs[_run_id(a)].item)
    assert "'from-a' is in the model store" in panel.checkpoints.message.text()


def test_stop_says_stopped_at_its_step_not_finished(panel, qtbot, tmp_path):
    run = write_run(tmp_path / "run", steps=10, total=100, checkpoints=("latest.pt",))
    script = textwrap.dedent("""
        import os, sys, time
        from core.train.runs import layout
        run = sys.argv[1]
        layout.write_status(run, "running", "Training: step 40 of 100.", 40, 100, layout.PHASE_TRAINING)
        print("training", flush=True)
        while not layout.stop_requested(run):
            time.sleep(0.02)
        layout.clear_stop(run)
        layout.write_status(run, "stopped", "Stopped on request at step 40; checkpoints/latest.pt resumes it.",
                            40, 100)
    """)
    assert panel.start_process(sys.executable, ["-c", script, str(run)], run_dir=run)
    qtbot.waitUntil(lambda: "training" in panel.log_view.toPlainText(), timeout=10000)
    qtbot.waitUntil(lambda: panel.supervisor.state_of(_run_id(run), panel.reader()) == "running", timeout=5000)
    with qtbot.waitSignal(panel.process.finished, timeout=10000) as signal:
        panel.stop()
    assert signal.args[0] == 0
    for text in (panel.exit_label.text(), panel.run_message()):
        assert "Stopped at step 40" in text
        assert "finished" not in text and "exit code 0" not in text
    assert panel.resume_button.isEnabled()


def test_messages_stay_with_the_run_they_are_about(panel, tmp_path):
    a = write_run(tmp_path / "a")
    write_status(a, state="running")
    b = write_run(tmp_path / "b", state="finished")
    panel.open_run(a)
    panel.stop()  # a run started elsewhere: STOP is written, and the note is about run a
    assert "Asked the run to stop" in panel.run_message()
    panel.open_run(b)
    assert "Asked the run to stop" not in panel.run_message()
    assert "Asked the run to stop" not in panel.form_message.text()
    panel.run_list.setCurrentItem(panel._runs[_run_id(a)].item)
    assert "Asked the run to stop" in panel.run_message()
    write_status(a, state="stopped", step=3, message="Stopped on request at step 3.")
    panel.reader().poll()
    panel._update_header()
    assert panel.run_message() == "Stopped on request at step 3."


def test_open_runs_survive_a_restart(qtbot, tmp_path):
    a = write_run(tmp_path / "a", steps=5)
    b = write_run(tmp_path / "b", steps=5)
    gone = write_run(tmp_path / "gone", steps=5)
    first = TrainingPanel(load_presets=False)
    qtbot.addWidget(first)
    for run in (a, gone, b):
        first.open_run(run)
    first.set_run_visible(_run_id(b), False)
    first.run_list.setCurrentItem(first._runs[_run_id(a)].item)
    first.shutdown()
    import shutil

    shutil.rmtree(gone)
    second = TrainingPanel(load_presets=False)
    qtbot.addWidget(second)
    assert second.open_run_ids() == [_run_id(a), _run_id(b)], "reopened in order; a missing folder is dropped"
    assert second.current_run() == _run_id(a)
    assert second.run_visible(_run_id(a)) and not second.run_visible(_run_id(b))
    second.close_run(_run_id(a))
    second.shutdown()
    third = TrainingPanel(load_presets=False)
    qtbot.addWidget(third)
    assert third.open_run_ids() == [_run_id(b)]
    third.shutdown()


def test_progress_shows_starting_loading_and_the_step_from_the_first_step(panel, qtbot, tmp_path):
    from core.train.runs import layout

    run = write_run(tmp_path / "run", total=300)
    layout.write_status(run, "running", "Loading the first batch.", 0, 300, layout.PHASE_LOADING)
    panel.open_run(run)
    assert panel.progress_bar.format() == "loading data…"
    assert "loading data" in panel.run_list.currentItem().text()
    layout.write_status(run, "running", "Training: step 1 of 300.", 1, 300, layout.PHASE_TRAINING)
    qtbot.waitUntil(lambda: panel.progress_bar.format() == "step 1 of 300 (0.3 %)", timeout=5000)
    assert panel.progress_bar.value() == 1 and "step 1 / 300" not in panel.run_list.currentItem().text()
    assert "running · step 1 of 300" in panel.run_list.currentItem().text()


def test_the_training_tab_fits_a_1366_screen_and_uses_the_window_pool(qtbot):
    from desktop.window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1366, 740)
    window.show()
    window.tabs.setCurrentIndex([window.tabs.tabText(i) for i in range(window.tabs.count())].index("Training"))
    qtbot.waitUntil(lambda: window.findChild(TrainingPanel) is not None, timeout=10000)
    panel = window.findChild(TrainingPanel)
    assert panel.pool is window.pool
    assert window.minimumSizeHint().width() <= 1366
    assert window.width() <= 1366 and window.dock.minimumSizeHint().width() <= 420
    panel.shutdown()
