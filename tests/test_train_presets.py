"""Every preset trains a few steps on tiny generated data and writes a complete run folder."""

from __future__ import annotations

import json

import pytest
import torch

from core.train.presets import all_presets
from core.train.runfolder import RunFolder
from core.train.trainer import Trainer
from tests.test_train_support import tiny_config, write_flat, write_pairs

CASES = [
    ("zero_dce", "flat", {}),
    ("zero_dce_pp", "flat", {}),
    ("lowlight_gain_unet", "pairs", {"model": {"base": 4}}),
    ("lowlight_gain_unet", "flat", {"model": {"base": 4}}),  # synthetic pairs via degrade_batch
    ("gamma_net", "flat", {"model": {"input_size": 16, "features": 4}}),
    ("image_unet", "pairs", {"model": {"base": 4, "depth": 2}}),
    ("image_unet", "flat", {"model": {"base": 4, "depth": 2, "d_base": 4}, "data": {"kind": "inpaint"},
                            "gan": {"enabled": True, "d_warmup_epochs": 1, "penalty_every": 1}}),
    ("image_unet", "flat", {"model": {"base": 4, "depth": 2, "d_base": 4}, "data": {"kind": "face"},
                            "gan": {"enabled": True, "loss": "hinge", "penalty": "wgan-gp", "d_warmup_epochs": 0}}),
    ("lbam", "flat", {"model": {"base": 2, "d_base": 2, "d_layers": 3}}),  # no VGG16 file: those terms off
    # GPEN at 32 px, 1 / 32 of the official widths: D warm-up for the first epoch (2 steps) with R1, then G;
    # and WGAN-GP without warm-up
    ("gpen", "flat", {"model": {"narrow": 1 / 32, "channel_multiplier": 1, "style_dim": 16, "n_mlp": 2},
                      "gan": {"d_warmup_epochs": 1, "penalty_every": 1}}),
    ("gpen", "flat", {"model": {"narrow": 1 / 32, "channel_multiplier": 1, "style_dim": 16, "n_mlp": 2},
                      "gan": {"penalty": "wgan-gp", "d_warmup_epochs": 0}}),
]


def test_every_builtin_preset_is_covered():
    assert {c[0] for c in CASES} == set(all_presets())


@pytest.mark.parametrize("preset,data,extra", CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_preset_trains_a_few_steps(tmp_path, rng, preset, data, extra):
    torch.set_num_threads(1)
    folder = write_pairs(tmp_path / "d", rng) if data == "pairs" else write_flat(tmp_path / "d", rng)
    cfg = tiny_config(preset, folder, **extra)
    result = Trainer(cfg, tmp_path / "run", echo=lambda s: None).run()
    assert result.state == "finished" and result.step == 3
    run = RunFolder(tmp_path / "run")
    records = list(run.read_metrics())
    train = [r for r in records if r["kind"] == "train"]
    assert [r["step"] for r in train] == [1, 2, 3]
    assert all(torch.isfinite(torch.tensor(r["losses"]["total"])) for r in train)
    val = [r for r in records if r["kind"] == "val"]
    assert len(val) == 1 and val[0]["step"] == 3
    previews = tmp_path / "run" / val[0]["previews"]
    assert (previews / "00_input.png").is_file() and (previews / "00_output.png").is_file()
    zero_reference = all_presets()[preset].zero_reference
    assert (previews / "00_target.png").is_file() != zero_reference
    if not zero_reference:
        assert 0 < val[0]["metrics"]["psnr"] <= 100 and -1 <= val[0]["metrics"]["ssim"] <= 1
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["state"] == "finished" and status["step"] == 3 and status["total_steps"] == 3
    assert run.latest_checkpoint.is_file() and run.best_checkpoint.is_file() and run.best_export.is_file()
