"""Evaluation of low-light engines: paired, unpaired and synthetic folders, and `restora eval lowlight`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from core.cli import eval as eval_cli
from core.engines.lowlight.classical import AutoGamma, ClaheLightness
from core.engines.lowlight.learned import ZeroDCEPPEngine
from core.engines.registry import EngineRegistry, register_all
from core.evaluation.lowlight import (
    INPUT_ROW,
    EvaluationError,
    colourfulness,
    evaluate_pairs,
    evaluate_synthetic,
    evaluate_unpaired,
    format_table,
    unpaired_metrics,
)
from core.imageio import save_photo
from core.photo import Photo
from tests.conftest import gradient_image


@pytest.fixture
def registry() -> EngineRegistry:
    return register_all(EngineRegistry(), [AutoGamma, ClaheLightness, ZeroDCEPPEngine])


def _write(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_photo(Photo(rgb=np.ascontiguousarray(rgb, dtype=np.float32)), path)


def _scenes() -> list[np.ndarray]:
    a = gradient_image(32, 48).astype(np.float32) / 255.0
    b = np.ascontiguousarray(a[::-1, ::-1])
    return [a * 0.9 + 0.05, b * 0.8 + 0.1]


@pytest.fixture
def pairs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "pairs"
    for i, high in enumerate(_scenes()):
        _write(root / "high" / f"scene{i}.png", high)
        _write(root / "low" / f"scene{i}.png", (high ** 2.2) * 0.3)  # darker, as a dim exposure
    _write(root / "low" / "orphan.png", _scenes()[0] * 0.2)
    return root


@pytest.fixture
def photos_dir(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for i, image in enumerate(_scenes()):
        _write(root / f"photo{i}.png", image)
    return root


def test_pairs_score_each_engine_against_the_reference(pairs_dir, registry):
    report = evaluate_pairs(["lowlight.auto_gamma", "lowlight.clahe"], pairs_dir, registry=registry, device="cpu")
    assert report.images == ["scene0", "scene1"]
    assert any("orphan" in s for s in report.skipped)
    rows = {r.engine_id: r for r in report.engines}
    assert list(rows) == [INPUT_ROW, "lowlight.auto_gamma", "lowlight.clahe"]
    for row in rows.values():
        assert row.error is None and set(row.metrics) == {"psnr", "ssim", "noise"} and len(row.per_image) == 2
    assert rows["lowlight.auto_gamma"].metrics["psnr"] > rows[INPUT_ROW].metrics["psnr"] + 3.0
    table = format_table(report)
    assert "lowlight.auto_gamma" in table and "PSNR" in table and "orphan" in table


def test_unpaired_figures(pairs_dir, registry):
    report = evaluate_unpaired(["lowlight.auto_gamma"], pairs_dir / "low", registry=registry, device="cpu")
    rows = {r.engine_id: r for r in report.engines}
    assert set(rows[INPUT_ROW].metrics) == {"exposure", "clipped_highlights", "clipped_shadows", "colourfulness",
                                           "newly_clipped", "noise"}
    assert rows[INPUT_ROW].metrics["newly_clipped"] == 0.0
    assert rows["lowlight.auto_gamma"].metrics["exposure"] > rows[INPUT_ROW].metrics["exposure"] + 0.1


def test_no_reference_measures():
    gray = np.full((8, 8, 3), 0.5, np.float32)
    assert colourfulness(gray) == pytest.approx(0.0)
    vivid = np.zeros((8, 8, 3), np.float32)
    vivid[:, :4, 0] = 1.0
    vivid[:, 4:, 2] = 1.0
    assert colourfulness(vivid) > 50.0
    before = np.full((4, 4, 3), 0.5, np.float32)
    after = before.copy()
    after[0, :] = 1.0  # a quarter of the pixels newly blown
    after[1, 0] = 0.0
    m = unpaired_metrics(before, after)
    assert m["clipped_highlights"] == pytest.approx(0.25)
    assert m["clipped_shadows"] == pytest.approx(1 / 16)
    assert m["newly_clipped"] == pytest.approx(5 / 16)


def test_synthetic_mode_repeats_with_the_seed(photos_dir, registry):
    first = evaluate_synthetic(["lowlight.auto_gamma"], photos_dir, seed=5, registry=registry)
    again = evaluate_synthetic(["lowlight.auto_gamma"], photos_dir, seed=5, registry=registry)
    other = evaluate_synthetic(["lowlight.auto_gamma"], photos_dir, seed=6, registry=registry)
    assert first.engines[1].metrics == again.engines[1].metrics
    assert first.engines[1].metrics != other.engines[1].metrics
    assert first.engines[0].metrics["psnr"] < 30.0  # the darkened input really differs from the photo


@pytest.fixture
def no_default_weights(tmp_path, monkeypatch):
    """Engines look for their default weights in an empty folder (as on a checkout without resources/)."""
    import core.engines.lowlight.learned as learned

    empty = tmp_path / "no-weights"
    empty.mkdir()
    monkeypatch.setattr(learned, "default_weights_dir", lambda: empty)


def test_missing_weights_is_a_row_error_not_a_crash(pairs_dir, registry, no_default_weights):
    report = evaluate_pairs(["lowlight.zero_dce_pp", "lowlight.auto_gamma"], pairs_dir, registry=registry)
    rows = {r.engine_id: r for r in report.engines}
    assert "weights" in (rows["lowlight.zero_dce_pp"].error or "")
    assert rows["lowlight.zero_dce_pp"].metrics == {}
    assert rows["lowlight.auto_gamma"].error is None
    assert "error:" in format_table(report)


def test_unknown_engine_and_bad_folders(tmp_path, registry, pairs_dir):
    with pytest.raises(EvaluationError, match="Known engines"):
        evaluate_pairs(["lowlight.nope"], pairs_dir, registry=registry)
    with pytest.raises(EvaluationError, match="low/ and high/"):
        evaluate_pairs(["lowlight.clahe"], tmp_path, registry=registry)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="restora")
    eval_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli_prints_a_table_and_writes_json(pairs_dir, photos_dir, registry, tmp_path, capsys, no_default_weights):
    out = tmp_path / "report.json"
    args = _parse(["eval", "lowlight", "--engine", "lowlight.auto_gamma", "--engine", "lowlight.clahe",
                   "--pairs", str(pairs_dir), "--param", "lowlight.clahe:clip_limit=3", "--json", str(out)])
    assert eval_cli.run(args, registry=registry) == 0
    printed = capsys.readouterr().out
    assert "lowlight.clahe" in printed and INPUT_ROW in printed
    data = json.loads(out.read_text())
    assert data["mode"] == "pairs" and [e["engine_id"] for e in data["engines"]][1:] == ["lowlight.auto_gamma",
                                                                                         "lowlight.clahe"]
    args = _parse(["eval", "lowlight", "--engine", "lowlight.auto_gamma", "--synthetic", str(photos_dir),
                   "--seed", "3", "--max-side", "24"])
    assert eval_cli.run(args, registry=registry) == 0
    assert "synthetic" in capsys.readouterr().out
    args = _parse(["eval", "lowlight", "--engine", "lowlight.zero_dce_pp", "--unpaired", str(photos_dir)])
    assert eval_cli.run(args, registry=registry) == 1  # an engine failed: the exit status says so


def test_cli_param_syntax():
    assert eval_cli.parse_params(["a.b:x=1", "a.b:y=two"]) == {"a.b": {"x": "1", "y": "two"}}
    with pytest.raises(eval_cli.EvalArgumentError):
        eval_cli.parse_params(["clip_limit=3"])
    with pytest.raises(SystemExit):
        _parse(["eval", "lowlight", "--engine", "x"])  # no data source


def test_cli_compares_a_weight_file_with_the_default(photos_dir, registry, tmp_path, capsys, no_default_weights):
    import torch
    from safetensors.torch import save_file

    from core.archs.zero_dce_pp import ZeroDCEPP

    torch.manual_seed(0)
    weights = tmp_path / "run" / "best.safetensors"
    weights.parent.mkdir()
    save_file(ZeroDCEPP(scale_factor=1).state_dict(), str(weights))
    spec = f"lowlight.zero_dce_pp@{weights}"
    out = tmp_path / "report.json"
    args = _parse(["eval", "lowlight", "--engine", "lowlight.zero_dce_pp", "--engine", spec,
                   "--unpaired", str(photos_dir), "--param", f"{spec}:curve_resolution=64", "--json", str(out)])
    assert eval_cli.run(args, registry=registry) == 1  # the default has no weights here; the file does
    rows = {e["engine_id"]: e for e in json.loads(out.read_text())["engines"]}
    assert "weights" in rows["lowlight.zero_dce_pp"]["error"]
    assert rows[spec]["error"] is None and rows[spec]["metrics"]["exposure"] > 0
    assert spec in capsys.readouterr().out
    for bad, message in ((f"lowlight.clahe@{weights}", "no weight file to replace"),
                         (f"lowlight.zero_dce_pp@{tmp_path / 'nope.pth'}", "no weight file at"),
                         ("lowlight.zero_dce_pp@", "ENGINE_ID@WEIGHT_FILE"),
                         (f"lowlight.nope@{weights}", "Known engines")):
        with pytest.raises(eval_cli.EvalArgumentError, match=message):
            eval_cli.run(_parse(["eval", "lowlight", "--engine", bad, "--unpaired", str(photos_dir)]),
                         registry=registry)
