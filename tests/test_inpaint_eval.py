"""`restora eval inpaint`: seeded holes in six area buckets, PSNR/SSIM/texture of the composite per bucket and
engine, and the command with its JSON report."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import main
from core.engines.base import Engine, EngineRequest, EngineResult, Requirements
from core.engines.inpaint.classical import OpenCVInpaint
from core.engines.inpaint.patchmatch import PatchMatchInpaint
from core.engines.inpaint.strategy import strategy_params
from core.engines.registry import EngineRegistry, register_all
from core.evaluation.inpaint import EvaluationError, evaluate_inpaint, format_table, hole_metrics, texture_ratio
from core.evaluation.inpaint_masks import BUCKETS, bucket_label, bucket_mask
from core.imageio import save_photo
from core.photo import Photo


class Peek(Engine):
    """Returns the photo it was given: scores perfectly only if the evaluation let it see the truth."""

    id, task, title = "inpaint.peek", "inpaint", "Peek"
    requirements = Requirements(needs_mask=True)

    def process(self, request: EngineRequest) -> EngineResult:
        return EngineResult(photo=request.photo)


def _textured(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 0.5 + 0.3 * np.sign(np.sin((x + 2 * y + seed) * 2 * np.pi / 9))
    rgb = np.repeat(base[:, :, None], 3, axis=2) * np.array([1.0, 0.85, 0.7]) + rng.normal(0, 0.03, (h, w, 3))
    return np.clip(rgb, 0, 1).astype(np.float32)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        save_photo(Photo(rgb=_textured(48, 64, i)), folder / f"{i}.png")
    return folder


def test_bucket_masks_fall_in_their_bucket_and_repeat_with_the_seed():
    for bucket in BUCKETS:
        for seed in range(3):
            mask = bucket_mask(120, 160, bucket, np.random.default_rng([seed]))
            share = float((mask > 0).mean())
            assert bucket[0] <= share < bucket[1], (bucket, share)
            assert np.array_equal(mask, bucket_mask(120, 160, bucket, np.random.default_rng([seed])))
    assert [bucket_label(b) for b in BUCKETS] == ["0-10%", "10-20%", "20-30%", "30-40%", "40-50%", "50-60%"]


def test_texture_is_one_for_the_truth_and_low_for_a_blur():
    truth = _textured(64, 64, 0)
    hole = np.zeros((64, 64), np.uint8)
    hole[16:48, 16:48] = 255
    assert texture_ratio(truth, truth, hole) == pytest.approx(1.0)
    blurred = cv2.GaussianBlur(truth, (0, 0), 3)
    assert texture_ratio(blurred, truth, hole) < 0.5
    scores = hole_metrics(blurred, truth, hole)
    assert 5 < scores["psnr"] < 40 and 0 < scores["ssim"] < 1


def test_engines_are_scored_side_by_side_per_bucket_and_never_see_the_truth(photos: Path):
    registry = register_all(EngineRegistry(), [OpenCVInpaint, PatchMatchInpaint, Peek])
    ids = ["inpaint.telea", "inpaint.patchmatch", "inpaint.peek"]
    report = evaluate_inpaint(ids, photos, registry=registry, buckets=BUCKETS[:3])
    assert report.images == ["0", "1", "2"] and report.buckets == ["0-10%", "10-20%", "20-30%"]
    assert len(report.rows) == 9
    for row in report.rows:
        assert row.error is None and len(row.per_image) == 3 and row.seconds_per_image >= 0
        assert set(row.metrics) == {"psnr", "ssim", "texture"}
    for label in report.buckets:
        peek = report.row("inpaint.peek", label)
        assert peek.metrics["psnr"] < 40  # it saw mid-grey in the holes, not the photo
        telea, pm = report.row("inpaint.telea", label), report.row("inpaint.patchmatch", label)
        assert pm.metrics["texture"] > telea.metrics["texture"]
    table = format_table(report)
    assert "0-10% (mean" in table and "inpaint.patchmatch" in table and "texture" in table
    again = evaluate_inpaint(ids[:1], photos, registry=registry, buckets=BUCKETS[:3])
    assert again.row("inpaint.telea", "10-20%").per_image == report.row("inpaint.telea", "10-20%").per_image


def test_the_eval_inpaint_command_prints_the_table_and_writes_json(photos: Path, tmp_path: Path, capsys):
    out = tmp_path / "report.json"
    code = main.main(["eval", "inpaint", "--engine", "inpaint.telea", "--photos", str(photos), "--limit", "2",
                      "--max-side", "32", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "50-60%" in printed and "inpaint.telea" in printed
    data = json.loads(out.read_text())
    assert data["images"] == ["0", "2"] and data["working_side"] == 32 and len(data["rows"]) == 6
    assert main.main(["eval", "inpaint", "--engine", "nope", "--photos", str(photos)]) == 2
    assert "No engine 'nope'" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EvaluationError, match="holds no photos"):
        evaluate_inpaint(["inpaint.telea"], empty, registry=register_all(EngineRegistry(), [OpenCVInpaint]))


class Feathered(Peek):
    """Records the feather it was run with (its own default is 5)."""

    id = "inpaint.feathered"
    params = strategy_params(feather=5)
    seen: list[int] = []

    def process(self, request: EngineRequest) -> EngineResult:
        Feathered.seen.append(int(request.params["feather"]))
        return super().process(request)


def test_a_feather_is_off_in_the_evaluation_unless_asked_for(photos: Path):
    """The hole holds grey for the engines: a feather would fade the fill into it."""
    registry = register_all(EngineRegistry(), [Feathered])
    Feathered.seen = []
    evaluate_inpaint(["inpaint.feathered"], photos, registry=registry, buckets=BUCKETS[:1], limit=1)
    evaluate_inpaint(["inpaint.feathered"], photos, registry=registry, buckets=BUCKETS[:1], limit=1,
                     params={"inpaint.feathered": {"feather": 2}})
    assert Feathered.seen == [0, 2]
