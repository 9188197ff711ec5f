"""`restora bench`: the sub-commands and the whole-machine run, on tiny photos.

One test runs a real child process (it proves the figures are the child's own); the others run the
benchmark children in this process (core.benchmarks.child.run_python swapped for `in_process`), which keeps
the file fast on a 2-core machine: the figures are then this process's, but every section's plumbing,
parsing and table are the real ones."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import traceback
from pathlib import Path

import numpy as np
import pytest

import main
from core.benchmarks import child
from core.benchmarks.subjects import measurable_engines
from core.engines.registry import default_registry
from core.store import ModelStore
from tests.test_store import save_compact


def in_process(args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> child.Finished:
    """run_python without a new process: `-m MODULE ARGS` calls MODULE.main(ARGS); `main.py ARGS` main.main."""
    module, argv = (args[1], args[2:]) if args[0] == "-m" else ("main", args[1:])
    assert module != "main" or argv, "start-up is measured in a real process only"
    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = importlib.import_module(module).main(argv)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except Exception:  # noqa: BLE001  a child's crash is its exit status and its stderr
                traceback.print_exc()
                code = 1
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return child.Finished(int(code or 0), out.getvalue(), err.getvalue())


@pytest.fixture
def children_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(child, "run_python", in_process)


def test_bench_engine_measures_its_own_peak_in_a_child_process(tmp_path, capsys):
    ballast = np.ones(700 * 2**20, np.uint8)  # this process is big: the child's peak must not include it
    out = tmp_path / "bench.json"
    code = main.main(["bench", "engine", "--engine", "inpaint.telea", "--megapixels", "0.05", "--json", str(out)])
    assert code == 0
    (row,) = json.loads(out.read_text())
    assert row["engine"] == "inpaint.telea" and row["seconds"] > 0 and row["seconds_per_megapixel"] > 0
    assert 0 < row["peak_rss_mb"] < child.peak_rss_mb() - 500  # not the parent's peak (ru_maxrss was)
    assert row["precision"] == "default"  # a classical engine has no network precision
    assert "seconds_per_megapixel" in capsys.readouterr().out
    del ballast


def test_peak_memory_can_be_reset_between_measurements():
    big = np.ones(300 * 2**20, np.uint8)
    high = child.peak_rss_mb()
    del big
    if not child.reset_peak():
        pytest.skip("this system cannot reset the peak (no /proc/self/clear_refs)")
    assert child.peak_rss_mb() < high - 200 and child.current_rss_mb() > 0


def test_bench_unknown_engine_reports_error(tmp_path, children_here):
    out = tmp_path / "bench.json"
    assert main.main(["bench", "engine", "--engine", "nope", "--megapixels", "0.01", "--json", str(out)]) == 1
    assert "No engine" in json.loads(out.read_text())[0]["error"]


def test_bench_cancel_reports_latency_and_the_longest_stretch_without_a_check(tmp_path, capsys, children_here):
    out = tmp_path / "cancel.json"
    code = main.main(["bench", "cancel", "--engine", "lowlight.auto_gamma", "--megapixels", "0.05", "--after", "0",
                      "--after", "60", "--gaps", "--json", str(out)])
    assert code == 0
    cancelled, finished = json.loads(out.read_text())
    assert cancelled["engine"] == "lowlight.auto_gamma" and cancelled["after_s"] == 0
    assert cancelled["latency_s"] >= 0
    assert finished["latency_s"] is None and finished["finished_before_cancel_s"] > 0  # done long before 60 s
    for row in (cancelled, finished):
        assert row["checks"] > 0 and 0 <= row["max_check_gap_s"] <= row["run_s"]
    assert "latency_s" in capsys.readouterr().out


def test_bench_cancel_runs_a_learned_engine_without_shipped_weights(tmp_path, children_here):
    out = tmp_path / "cancel.json"
    code = main.main(["bench", "cancel", "--engine", "lowlight.zero_dce", "--megapixels", "0.05", "--after", "0",
                      "--param", "full_resolution=false", "--json", str(out)])
    assert code == 0
    row = json.loads(out.read_text())[0]
    assert "error" not in row and row["latency_s"] >= 0 and row["weights"] == "random"


def test_every_registered_engine_and_imported_family_is_measured():
    ModelStore().import_file(save_compact(Path(os.environ["RESTORA_HOME"]) / "compact.pth"))
    items = measurable_engines()
    registry = default_registry()
    assert {i["id"] for i in items} == set(registry.ids())  # discovered, not a hard-coded list
    (imported,) = [i for i in items if i["family"] is not None]
    assert imported["id"] == "model.compact" and "float32" in imported["precisions"]


def test_whole_machine_bench_writes_every_section_it_ran(tmp_path, capsys, children_here):
    ModelStore().import_file(save_compact(tmp_path / "compact.pth"))
    out = tmp_path / "bench.json"
    code = main.main(["bench", "--quick", "--sizes", "0.02", "--only", "engines,restore,tiling", "--engine",
                      "inpaint.telea", "--engine", "lowlight.zero_dce_pp", "--engine", "model.compact",
                      "--device", "cpu", "--json", str(out)])
    assert code == 0
    results = json.loads(out.read_text())
    assert results["quick"] is True and list(results["sections"]) == ["engines", "restore", "tiling"]
    machine = results["machine"]
    assert machine["cpu_count"] >= 1 and any(d["device"] == "cpu" for d in machine["devices"])
    assert len(machine["load_average_at_start"]) == 3
    rows = results["sections"]["engines"]
    assert {r["engine"] for r in rows} == {"inpaint.telea", "lowlight.zero_dce_pp", "model.compact"}
    for row in rows:
        assert "error" not in row and row["device"] == "cpu" and row["megapixels"] == 0.02
        assert row["seconds_per_megapixel"] > 0 and row["peak_rss_mb"] > 0 and row["runs"] >= 1
        assert row["seconds_min"] <= row["seconds"] <= row["seconds_max"]
    precisions = {(r["engine"], r["precision"]) for r in rows}
    assert ("lowlight.zero_dce_pp", "auto (float32)") in precisions  # the CPU runs learned engines in float32
    assert ("model.compact", "float32") in precisions and ("model.compact", "bfloat16") in precisions
    assert next(r for r in rows if r["engine"] == "model.compact")["family"] == "Compact"
    restore = results["sections"]["restore"]
    for phase in ("decode_s", "engine_s", "encode_s", "write_s", "command_s"):
        assert restore[phase]["runs"] >= 1 and restore[phase]["min"] <= restore[phase]["median"]
    assert restore["output_mb"] > 0 and "other_s" in restore
    tiling = results["sections"]["tiling"]
    assert {(r["megapixels"], r["tile"]) for r in tiling} == {(0.02, 512), (0.02, 64), (0.02, 128)}
    assert all(r["peak_rss_mb"] > 0 and r["seconds"] > 0 for r in tiling)
    printed = capsys.readouterr().out
    assert "s/MP" in printed and "whole command" in printed and "tile px" in printed and "bfloat16" in printed


def test_whole_machine_bench_times_training_steps(tmp_path, children_here):
    out = tmp_path / "bench.json"
    code = main.main(["bench", "--quick", "--only", "training", "--preset", "zero_dce_pp", "--preset", "gamma_net",
                      "--crop", "32", "--device", "cpu", "--json", str(out)])
    assert code == 0
    rows = json.loads(out.read_text())["sections"]["training"]
    assert [r["preset"] for r in rows] == ["gamma_net", "zero_dce_pp"]  # both, in one child process
    for row in rows:
        assert "error" not in row and row["crop"] == 32 and row["batch"] == 2
        assert row["steps_per_s"]["runs"] == 3 and row["steps_per_s"]["median"] > 0 and row["samples_per_s"] > 0


def test_training_rows_say_why_a_preset_gave_no_figures(tmp_path, children_here):
    from core.benchmarks.training import bench_training

    (row,) = bench_training(["cpu"], crop=32, warmup=1, steps=1, presets=["zero_dce"], batch=2, workers=-1)
    assert "workers" in row["error"] and "steps_per_s" not in row  # data.workers must be >= 0


def test_whole_machine_bench_measures_the_desktop(tmp_path, qapp, children_here):
    out = tmp_path / "bench.json"
    code = main.main(["bench", "--quick", "--sizes", "0.05", "--runs", "1", "--only", "open,gui", "--json",
                      str(out)])
    assert code == 0
    sections = json.loads(out.read_text())["sections"]
    assert [r["file"].split(".")[-1] for r in sections["open"]] == ["jpg", "png"]
    for row in sections["open"]:
        assert row["photo_s"]["runs"] == 1 and row["preview_s"]["median"] <= row["photo_s"]["median"]
    gui = sections["gui"]
    assert gui["stroke_fit"]["max_ms"] >= gui["stroke_fit"]["median_ms"] > 0
    assert gui["engine_stalls"]["state"] == "succeeded" and gui["engine_stalls"]["max_gap_ms"] > 0


def test_unknown_whole_machine_section_is_refused(capsys):
    assert main.main(["bench", "--only", "nope"]) == 2
    assert "unknown section" in capsys.readouterr().out


def test_a_preset_over_its_time_budget_stops_with_the_steps_it_did(tmp_path, children_here):
    from core.benchmarks.training import bench_training

    (row,) = bench_training(["cpu"], crop=32, warmup=1, steps=500, presets=["zero_dce_pp"], batch=2, workers=0,
                            budget_s=2)
    assert "error" not in row and row["note"].startswith("stopped at the 2 s budget")
    assert 1 <= row["steps_per_s"]["runs"] < 499 and row["wall_s"] < 60
