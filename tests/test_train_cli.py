"""`restora train`: presets list, preset runs without a config file, exit codes."""

from __future__ import annotations

import json

import torch

from core.cli.train import main
from core.paths import runs_dir
from tests.test_train_support import write_pairs


def test_presets_are_listed(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in ("zero_dce", "zero_dce_pp", "lowlight_gain_unet", "gamma_net", "image_unet"):
        assert name in out


def test_preset_run_without_config_lands_in_runs_dir(tmp_path, rng, capsys):
    data = write_pairs(tmp_path / "d", rng, n=2)
    code = main(["--preset", "lowlight_gain_unet", "--data", str(data), "--device", "cpu",
                 "--set", "data.crop=16", "--set", "data.batch_size=2", "--set", "data.workers=0",
                 "--set", "model.base=4", "--set", "train.log_every=1", "--max-steps", "2"])
    assert code == 0
    runs = list(runs_dir().iterdir())
    assert len(runs) == 1 and runs[0].name.endswith("_lowlight_gain_unet")
    assert json.loads((runs[0] / "status.json").read_text())["state"] == "finished"
    assert "step 2/2" in capsys.readouterr().out
    # resuming a finished run with more steps continues it
    assert main(["--resume", str(runs[0]), "--max-steps", "3"]) == 0
    assert json.loads((runs[0] / "status.json").read_text())["step"] == 3


def test_bad_configs_exit_with_2(tmp_path, rng, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('preset = "zero_dce"\n[optim]\nlearning_rate = 1\n')
    assert main([str(bad)]) == 2
    assert "learning_rate" in capsys.readouterr().err
    assert main(["--preset", "no_such_preset", "--data", str(tmp_path)]) == 2
    assert main(["--preset", "zero_dce", "--data", str(tmp_path / "missing")]) == 2
    broken = tmp_path / "broken.toml"
    broken.write_text("preset = \n")
    assert main([str(broken)]) == 2
    assert main(["--preset", "zero_dce"]) == 2  # no data


def _tiny_gain_unet_args(data, run_dir, *extra: str) -> list[str]:
    return ["--preset", "lowlight_gain_unet", "--data", str(data), "--device", "cpu", "--run-dir", str(run_dir),
            "--set", "data.crop=16", "--set", "data.batch_size=2", "--set", "data.workers=0",
            "--set", "model.base=4", "--set", "train.log_every=1", "--set", "train.val_every=1", *extra]


def test_init_starts_a_run_from_existing_weights(tmp_path, rng):
    from safetensors.torch import load_file

    data = write_pairs(tmp_path / "d", rng, n=2)
    assert main(_tiny_gain_unet_args(data, tmp_path / "first", "--max-steps", "2")) == 0
    source = tmp_path / "first" / "checkpoints" / "best.safetensors"
    # learning rate 0: the fine-tuned run must export exactly the weights it started from
    assert main(_tiny_gain_unet_args(data, tmp_path / "tuned", "--init", str(source), "--max-steps", "1",
                                     "--set", "optim.g_lr=0", "--set", "optim.g_lr_min=0")) == 0
    before, after = load_file(source), load_file(tmp_path / "tuned" / "checkpoints" / "best.safetensors")
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # a fresh run from the preset's own initialisation differs
    assert main(_tiny_gain_unet_args(data, tmp_path / "fresh", "--max-steps", "1", "--set", "optim.g_lr=0",
                                     "--set", "optim.g_lr_min=0", "--set", "train.seed=7")) == 0
    fresh = load_file(tmp_path / "fresh" / "checkpoints" / "best.safetensors")
    assert not all(torch.equal(before[k], fresh[k]) for k in before)
    # resuming does not need the init file any more: the run holds its own weights
    source.unlink()
    assert main(["--resume", str(tmp_path / "tuned"), "--max-steps", "2"]) == 0


def test_init_with_weights_that_do_not_fit_exits_with_2(tmp_path, rng, capsys):
    data = write_pairs(tmp_path / "d", rng, n=2)
    assert main(_tiny_gain_unet_args(data, tmp_path / "small", "--max-steps", "1")) == 0
    small = tmp_path / "small" / "checkpoints" / "best.safetensors"
    assert main(_tiny_gain_unet_args(data, tmp_path / "wide", "--init", str(small), "--set", "model.base=8",
                                     "--max-steps", "1")) == 2
    err = capsys.readouterr().err
    assert "does not fit" in err and "shapes differ" in err
    assert main(_tiny_gain_unet_args(data, tmp_path / "gone", "--init", str(tmp_path / "nope.pth"),
                                     "--max-steps", "1")) == 2
    assert "no such file" in capsys.readouterr().err
    garbage = tmp_path / "notes.pth"
    garbage.write_text("not a checkpoint")
    assert main(_tiny_gain_unet_args(data, tmp_path / "junk", "--init", str(garbage), "--max-steps", "1")) == 2
    assert "init_weights" in capsys.readouterr().err
