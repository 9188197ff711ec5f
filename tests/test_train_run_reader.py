"""core.train.runs: reading run folders as they grow, smoothing, ETA, command lines. No Qt."""

from __future__ import annotations

import json
import math
import os
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from core.train.runs.commands import (
    FORM_KEYS,
    TrainArgsError,
    find_new_run,
    list_presets,
    parse_overrides,
    resume_command,
    train_command,
)
from core.train.runs.figures import ema_smooth, eta_seconds, format_duration, short_run_name
from core.train.runs.reader import RunFolderError, RunReader, request_stop
from core.train.runs.series import Series, parse_lines

# --------------------------------------------------------------------------------------------------
# A fake run folder, in the format the training engine writes (also used by the panel tests)


def train_line(step: int, total: float | None = None, wall: float | None = None, **extra) -> str:
    loss = 1.0 / step if total is None else total
    record = {"kind": "train", "step": step, "epoch": step // 100, "wall_time": step * 0.1 if wall is None else wall,
              "losses": {"l1": loss * 0.5, "total": loss}, "lr": {"g": 1e-3}, "it_per_s": 10.0,
              "data_wait_s": 0.002, "gpu_mem_mb": None, **extra}
    return json.dumps(record) + "\n"


def val_line(step: int, psnr: float, ssim: float = 0.8) -> str:
    return json.dumps({"kind": "val", "step": step, "epoch": step // 100, "wall_time": step * 0.1,
                       "metrics": {"psnr": psnr, "ssim": ssim}, "previews": f"previews/step_{step:08d}"}) + "\n"


def write_status(run: Path, state: str = "running", step: int = 0, total: int = 1000, pid: int | None = None,
                 message: str = "") -> None:
    run.joinpath("status.json").write_text(json.dumps(
        {"state": state, "message": message, "pid": os.getpid() if pid is None else pid, "step": step,
         "total_steps": total, "updated": "2025-01-01T00:00:00+00:00"}), encoding="utf-8")


def write_preview(run: Path, step: int, index: int, with_target: bool = True, size: int = 16) -> None:
    from PIL import Image

    folder = run / "previews" / f"step_{step:08d}"
    folder.mkdir(parents=True, exist_ok=True)
    shade = (step // 10) % 255
    roles = ["input", "output"] + (["target"] if with_target else [])
    for k, role in enumerate(roles):
        pixels = np.full((size, size + 8, 3), (shade, 40 * k, 200), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index:02d}_{role}.png")


def write_run(run: Path, steps: int = 0, val_every: int = 0, total: int = 1000, state: str = "running",
              previews: tuple[int, ...] = (), checkpoints: tuple[str, ...] = ()) -> Path:
    run.mkdir(parents=True, exist_ok=True)
    run.joinpath("config.toml").write_text('preset = "test"\n\n[train]\nmax_steps = %d\n' % total, encoding="utf-8")
    write_status(run, state=state, step=steps, total=total)
    with open(run / "metrics.jsonl", "w", encoding="utf-8") as fh:
        for step in range(1, steps + 1):
            fh.write(train_line(step))
            if val_every and step % val_every == 0:
                fh.write(val_line(step, 20.0 + step / 100))
    for step in previews:
        write_preview(run, step, 0)
        write_preview(run, step, 1, with_target=False)
    if checkpoints:
        (run / "checkpoints").mkdir(exist_ok=True)
        for name in checkpoints:
            (run / "checkpoints" / name).write_bytes(b"0" * 100)
    return run


# --------------------------------------------------------------------------------------------------
# Incremental reading


def test_partial_last_line_waits_and_reading_resumes_from_the_offset(tmp_path):
    run = write_run(tmp_path / "run")
    metrics = run / "metrics.jsonl"
    complete = "".join(train_line(s) for s in (1, 2, 3))
    half = train_line(4)
    metrics.write_text(complete + half[:25], encoding="utf-8")
    reader = RunReader(run)
    first = reader.poll()
    assert first.records == 3
    assert reader.offset == len(complete.encode())
    assert reader.pending_bytes == 0
    assert list(reader.metrics.get("loss/total").steps) == [1, 2, 3]
    assert reader.poll().records == 0  # still only half a line
    with open(metrics, "a", encoding="utf-8") as fh:
        fh.write(half[25:] + train_line(5))
    second = reader.poll()
    assert second.records == 2
    assert "loss/total" in second.changed and "lr/g" in second.changed
    total = reader.metrics.get("loss/total")
    assert list(total.steps) == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(total.values, [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    assert reader.offset == metrics.stat().st_size
    assert reader.metrics.skipped_lines == 0


def test_slices_read_everything_once(tmp_path):
    run = write_run(tmp_path / "run", steps=500, val_every=50)
    reader = RunReader(run)
    reader.poll(max_bytes=2000)
    assert reader.pending_bytes > 0
    polls = 1
    while reader.pending_bytes:
        reader.poll(max_bytes=2000, metrics_only=True)
        polls += 1
    assert polls > 10
    assert list(reader.metrics.get("loss/total").steps) == list(range(1, 501))
    assert list(reader.metrics.get("val/psnr").steps) == list(range(50, 501, 50))
    assert reader.metrics.val_previews[100] == "previews/step_00000100"
    assert reader.metrics.lines == 510


def test_a_bad_line_costs_only_itself(tmp_path):
    run = write_run(tmp_path / "run")
    (run / "metrics.jsonl").write_text(train_line(1) + "{not json\n" + '"just a string"\n' + train_line(2)
                                       + json.dumps({"kind": "train", "step": "x"}) + "\n", encoding="utf-8")
    reader = RunReader(run)
    reader.poll()
    assert list(reader.metrics.get("loss/total").steps) == [1, 2]
    assert reader.metrics.skipped_lines == 3


def test_gaps_and_non_numbers_are_left_out_of_a_series(tmp_path):
    run = write_run(tmp_path / "run")
    third = train_line(3).replace('"l1": 0.16666666666666666', '"l1": "?"')
    lines = [train_line(1), train_line(2, gpu_mem_mb=512.0), third]
    (run / "metrics.jsonl").write_text("".join(lines), encoding="utf-8")
    reader = RunReader(run)
    reader.poll()
    assert list(reader.metrics.get("gpu_mem_mb").steps) == [2]
    assert list(reader.metrics.get("loss/l1").steps) == [1, 2]
    assert reader.metrics.names("loss") == ["total", "l1"]


def test_replaced_metrics_file_is_read_again(tmp_path):
    run = write_run(tmp_path / "run", steps=20)
    reader = RunReader(run)
    reader.poll()
    assert len(reader.metrics.get("loss/total")) == 20
    # A resumed run drops the lines after its checkpoint by writing a new file (atomic replace).
    tmp = run / "metrics.tmp"
    tmp.write_text("".join(train_line(s) for s in range(1, 11)), encoding="utf-8")
    os.replace(tmp, run / "metrics.jsonl")
    result = reader.poll()
    assert result.reset
    assert list(reader.metrics.get("loss/total").steps) == list(range(1, 11))


def test_steps_going_back_replace_the_history_after_them(tmp_path):
    run = write_run(tmp_path / "run")
    lines = [train_line(s, total=1.0, wall=s) for s in range(1, 11)]
    lines += [train_line(s, total=2.0, wall=s - 6) for s in range(7, 13)]  # resumed at step 7, clock restarted
    (run / "metrics.jsonl").write_text("".join(lines), encoding="utf-8")
    reader = RunReader(run)
    reader.poll()
    series = reader.metrics.get("loss/total")
    assert list(series.steps) == list(range(1, 13))
    assert list(series.values) == [1.0] * 6 + [2.0] * 6
    assert series.truncations == 1
    assert np.all(np.diff(series.wall) >= 0), "training time never runs backwards"


def test_series_value_at_picks_the_nearest_point():
    s = Series("x")
    s.extend(np.array([10.0, 20.0, 30.0]), np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0]))
    assert s.value_at(0) == (10.0, 1.0)
    assert s.value_at(24) == (20.0, 2.0)
    assert s.value_at(26) == (30.0, 3.0)
    assert s.value_at(1e9) == (30.0, 3.0)
    assert Series("empty").value_at(3) is None


def test_parse_lines_handles_blank_lines_and_bad_ones():
    records, bad = parse_lines('{"a": 1}\n\n{"b": 2}\n')
    assert records == [{"a": 1}, {"b": 2}] and bad == 0
    records, bad = parse_lines('{"a": 1}\n{oops\n{"b": 2}\n')
    assert records == [{"a": 1}, {"b": 2}] and bad == 1


def test_not_a_run_folder(tmp_path):
    with pytest.raises(RunFolderError):
        RunReader(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match="not a training run"):
        RunReader(tmp_path / "empty")


# --------------------------------------------------------------------------------------------------
# Status, previews, checkpoints


def test_status_progress_eta_and_a_half_written_status(tmp_path):
    run = write_run(tmp_path / "run", steps=100, total=1100)
    reader = RunReader(run)
    reader.poll()
    assert reader.status.state == "running" and reader.status.total_steps == 1100
    assert reader.progress() == (100, 1100)
    assert reader.speed() == pytest.approx(10.0)
    assert reader.eta_seconds() == pytest.approx(100.0)  # 1000 steps at 10 it/s
    assert not reader.stale()  # our own pid is alive
    (run / "status.json").write_text('{"state": "fini', encoding="utf-8")
    time.sleep(0.01)
    assert not reader.poll().status_changed
    assert reader.status.state == "running"
    write_status(run, state="finished", step=1100, total=1100)
    assert reader.poll().status_changed
    assert reader.status.finished and reader.eta_seconds() == 0.0


def test_a_running_status_whose_process_is_gone_is_stale(tmp_path):
    if sys.platform == "win32":
        pytest.skip("process probing is not available on Windows")
    import subprocess

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    run = write_run(tmp_path / "run")
    write_status(run, pid=int(done.stdout))
    reader = RunReader(run)
    reader.poll()
    assert reader.stale()


def test_preview_steps_and_samples(tmp_path):
    run = write_run(tmp_path / "run", previews=(100, 200))
    (run / "previews" / "not_a_step").mkdir()
    reader = RunReader(run)
    assert reader.poll().previews_changed
    steps = reader.preview_steps()
    assert [p.step for p in steps] == [100, 200]
    samples = steps[0].samples()
    assert [s.index for s in samples] == [0, 1]
    assert samples[0].target is not None and samples[0].input.name == "00_input.png"
    assert samples[1].target is None and samples[1].output.name == "01_output.png"
    assert not reader.poll().previews_changed
    write_preview(run, 300, 0)
    assert reader.poll().previews_changed
    assert [p.step for p in reader.preview_steps()] == [100, 200, 300]


def test_checkpoints_best_export_first(tmp_path):
    run = write_run(tmp_path / "run", checkpoints=("latest.pt", "best.pt", "best.safetensors", "notes.txt"))
    reader = RunReader(run)
    assert reader.poll().checkpoints_changed
    assert [c.name for c in reader.checkpoints()] == ["best.safetensors", "best.pt", "latest.pt"]
    assert reader.checkpoints()[0].is_safetensors
    assert not reader.poll().checkpoints_changed
    (run / "checkpoints" / "latest.pt").write_bytes(b"1" * 300)
    assert reader.poll().checkpoints_changed


def test_request_stop_writes_the_stop_file(tmp_path):
    run = write_run(tmp_path / "run")
    assert request_stop(run) == run / "STOP"
    assert (run / "STOP").is_file()
    with pytest.raises(RunFolderError):
        request_stop(tmp_path / "no" / "such" / "run")


# --------------------------------------------------------------------------------------------------
# Smoothing and figures


def _ema_reference(values, weight):
    last, count, out = 0.0, 0, []
    for v in values:
        if not math.isfinite(v):
            out.append(math.nan)
            continue
        last = last * weight + (1 - weight) * v
        count += 1
        out.append(last / (1 - weight ** count))
    return np.array(out)


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.9, 0.99, 0.999])
def test_ema_matches_the_step_by_step_definition(weight, rng):
    values = rng.normal(1.0, 0.5, size=3000)
    smoothed, _ = ema_smooth(values, weight)
    np.testing.assert_allclose(smoothed, _ema_reference(values, weight), rtol=1e-9, atol=1e-12)


def test_ema_is_debiased_and_continues_from_its_state(rng):
    constant, _ = ema_smooth(np.full(10, 5.0), 0.9)
    np.testing.assert_allclose(constant, 5.0)  # no pull towards 0 at the start
    values = rng.uniform(0, 1, size=1000)
    whole, state = ema_smooth(values, 0.95)
    head, mid = ema_smooth(values[:377], 0.95)
    tail, end = ema_smooth(values[377:], 0.95, mid)
    np.testing.assert_allclose(np.concatenate([head, tail]), whole, rtol=1e-12)
    assert end[1] == state[1] == 1000


def test_ema_skips_non_finite_values():
    values = np.array([1.0, np.nan, 3.0, np.inf, 5.0])
    smoothed, state = ema_smooth(values, 0.5)
    np.testing.assert_allclose(smoothed, _ema_reference(values, 0.5))
    assert np.isnan(smoothed[1]) and state[1] == 3
    with pytest.raises(ValueError):
        ema_smooth(values, 1.0)


def test_eta_and_durations():
    assert eta_seconds(100, 1100, 10.0) == 100.0
    assert eta_seconds(2000, 1000, 10.0) == 0.0
    assert eta_seconds(0, 0, 10.0) is None and eta_seconds(0, 100, None) is None and eta_seconds(0, 100, 0) is None
    assert format_duration(42) == "42 s"
    assert format_duration(125) == "2 min 05 s"
    assert format_duration(3 * 3600 + 7 * 60) == "3 h 07 min"
    assert format_duration(50 * 3600) == "2 d 2 h"
    assert format_duration(None) == "—"


# --------------------------------------------------------------------------------------------------
# Command lines


def test_train_command_and_its_errors(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    args = train_command("zero_dce", data, None, tmp_path / "runs", {"train.max_steps": 100, "train.device": "cpu"})
    assert args == ["train", "--preset", "zero_dce", "--data", str(data), "--out", str(tmp_path / "runs"),
                    "--set", "train.max_steps=100", "--set", "train.device=cpu"]
    assert train_command("p", data, data)[5:7] == ["--val", str(data)]
    with pytest.raises(TrainArgsError, match="preset"):
        train_command(" ", data)
    with pytest.raises(TrainArgsError, match="dataset"):
        train_command("p", "")
    with pytest.raises(TrainArgsError, match="does not exist"):
        train_command("p", tmp_path / "nope")
    with pytest.raises(TrainArgsError, match="validation"):
        train_command("p", data, tmp_path / "nope")
    weights = tmp_path / "start.safetensors"
    weights.write_bytes(b"x")
    assert train_command("p", data, init=weights)[5:7] == ["--init", str(weights)]
    with pytest.raises(TrainArgsError, match="start from"):
        train_command("p", data, init=tmp_path / "missing.pth")


def test_resume_command_needs_a_config(tmp_path):
    run = write_run(tmp_path / "run")
    assert resume_command(run) == ["train", "--resume", str(run)]
    with pytest.raises(TrainArgsError):
        resume_command(tmp_path)


def test_parse_overrides():
    assert parse_overrides("a.b=1  c=x,d=2\ne=3") == {"a.b": "1", "c": "x", "d": "2", "e": "3"}
    assert parse_overrides("  ") == {}
    with pytest.raises(TrainArgsError):
        parse_overrides("novalue")
    with pytest.raises(TrainArgsError):
        parse_overrides("=3")


def test_find_new_run_by_pid_or_as_the_only_new_folder(tmp_path):
    old = write_run(tmp_path / "old")
    write_status(old, pid=1)
    since = time.time() - 1
    assert find_new_run(tmp_path, pid=4242, since=time.time() + 60) is None
    new = write_run(tmp_path / "new")
    write_status(new, pid=4242)
    assert find_new_run(tmp_path, pid=4242, since=since) == new
    os.utime(old, (0, 0))
    assert find_new_run(tmp_path, pid=None, since=since) == new
    assert find_new_run(tmp_path / "missing", pid=1) is None


def test_list_presets_reads_the_registry(monkeypatch):
    config = types.SimpleNamespace(train=types.SimpleNamespace(max_steps=5000, val_every=500, device="auto"),
                                   data=types.SimpleNamespace(batch_size=16, crop=128),
                                   optim=types.SimpleNamespace(g_lr=5e-4))
    preset = types.SimpleNamespace(name="gamma_net", title="GammaNet", description="global gamma", task="lowlight",
                                   defaults=lambda: config)
    broken = types.SimpleNamespace(name="broken", defaults=lambda: 1 / 0)
    fake = types.ModuleType("core.train.presets")
    fake.all_presets = lambda: {"gamma_net": preset, "broken": broken}
    monkeypatch.setitem(sys.modules, "core.train.presets", fake)
    presets = list_presets()
    assert [p.name for p in presets] == ["broken", "gamma_net"]
    assert presets[1].defaults == {"steps": 5000, "batch_size": 16, "lr": 5e-4, "crop": 128, "val_every": 500,
                                   "device": "auto"}
    assert presets[0].defaults == {}
    assert set(FORM_KEYS) == {"steps", "batch_size", "lr", "crop", "val_every", "device"}


def test_list_presets_without_the_training_engine(monkeypatch):
    monkeypatch.setitem(sys.modules, "core.train.presets", None)  # import raises ModuleNotFoundError
    assert list_presets() == []


def test_short_run_name():
    assert short_run_name("20250101-120000_zero_dce") == "zero_dce 01-01 12:00"
    assert short_run_name("my-run") == "my-run"


def test_reading_many_lines_is_quick_enough(tmp_path):
    """A loose bound only; the benchmark in desktop/panels/training_bench.py measures properly."""
    run = write_run(tmp_path / "run")
    (run / "metrics.jsonl").write_text("".join(train_line(s) for s in range(1, 20001)), encoding="utf-8")
    reader = RunReader(run)
    started = time.perf_counter()
    reader.read_all(chunk_bytes=1 << 20)
    assert time.perf_counter() - started < 20
    assert len(reader.metrics.get("loss/total")) == 20000
