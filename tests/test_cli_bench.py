import json

import main


def test_bench_engine_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main.main(["bench", "engine", "--engine", "inpaint.telea", "--megapixels", "0.05", "--json", str(out)])
    assert code == 0
    rows = json.loads(out.read_text())
    assert rows[0]["engine"] == "inpaint.telea" and rows[0]["seconds"] > 0 and rows[0]["peak_rss_mb"] > 0
    assert "seconds_per_megapixel" in capsys.readouterr().out


def test_bench_unknown_engine_reports_error(tmp_path):
    out = tmp_path / "bench.json"
    assert main.main(["bench", "engine", "--engine", "nope", "--megapixels", "0.01", "--json", str(out)]) == 1
    assert "No engine" in json.loads(out.read_text())[0]["error"]


def test_bench_cancel_reports_latency_and_the_longest_stretch_without_a_check(tmp_path, capsys):
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


def test_bench_cancel_runs_a_learned_engine_without_shipped_weights(tmp_path):
    out = tmp_path / "cancel.json"
    code = main.main(["bench", "cancel", "--engine", "lowlight.zero_dce", "--megapixels", "0.05", "--after", "0",
                      "--param", "full_resolution=false", "--json", str(out)])
    assert code == 0
    row = json.loads(out.read_text())[0]
    assert "error" not in row and row["latency_s"] >= 0


def test_whole_machine_bench_writes_every_section_it_ran(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main.main(["bench", "--quick", "--sizes", "0.05", "--only", "engines,restore,tiling", "--engine",
                      "inpaint.telea", "--engine", "lowlight.zero_dce", "--device", "cpu", "--json", str(out)])
    assert code == 0
    results = json.loads(out.read_text())
    assert results["quick"] is True and list(results["sections"]) == ["engines", "restore", "tiling"]
    machine = results["machine"]
    assert machine["cpu_count"] >= 1 and any(d["device"] == "cpu" for d in machine["devices"])
    assert len(machine["load_average_at_start"]) == 3
    rows = {r["engine"]: r for r in results["sections"]["engines"]}
    assert set(rows) == {"inpaint.telea", "lowlight.zero_dce"}
    for row in rows.values():
        assert "error" not in row and row["device"] == "cpu" and row["megapixels"] == 0.05
        assert row["seconds_per_megapixel"] > 0 and row["peak_rss_mb"] > 0 and row["runs"] >= 1
        assert row["seconds_min"] <= row["seconds"] <= row["seconds_max"]
    assert rows["lowlight.zero_dce"]["weights"] == "random"  # no shipped weights: timed with random ones
    restore = results["sections"]["restore"]
    for phase in ("decode_s", "engine_s", "encode_s", "write_s", "command_s"):
        assert restore[phase]["runs"] >= 1 and restore[phase]["min"] <= restore[phase]["median"]
    assert restore["output_mb"] > 0 and "other_s" in restore
    assert results["sections"]["tiling"][0]["peak_rss_mb"] > 0
    printed = capsys.readouterr().out
    assert "s/MP" in printed and "whole command" in printed and "tiling MP" in printed


def test_whole_machine_bench_times_training_steps(tmp_path):
    out = tmp_path / "bench.json"
    code = main.main(["bench", "--quick", "--only", "training", "--preset", "zero_dce_pp", "--crop", "32",
                      "--device", "cpu", "--json", str(out)])
    assert code == 0
    (row,) = json.loads(out.read_text())["sections"]["training"]
    assert row["preset"] == "zero_dce_pp" and row["crop"] == 32 and row["batch"] >= 1
    assert row["steps_per_s"]["runs"] >= 1 and row["steps_per_s"]["median"] > 0 and row["samples_per_s"] > 0


def test_whole_machine_bench_measures_the_desktop_in_child_processes(tmp_path):
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
