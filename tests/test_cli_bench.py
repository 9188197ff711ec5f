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
