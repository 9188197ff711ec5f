"""`restora train`: presets list, preset runs without a config file, exit codes."""

from __future__ import annotations

import json

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
