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
