"""The lbam training preset: its recipe reaches the optimisers and losses, a run trains, validates on the
composite (PSNR = the PSNR of the saved preview PNGs), exports a checkpoint the store identifies as LBAM,
fine-tunes from --init, resumes exactly, and runs without VGG16 weights only with a message."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.models.vgg import make_layers

from core.archs.lbam import LBAM
from core.imageio import load_photo
from core.metrics import psnr_per_image
from core.store import ModelStore
from core.train.config import ConfigError
from core.train.discriminators import TwoColumnDiscriminator
from core.train.runfolder import RunFolder
from core.train.trainer import Trainer
from tests.test_train_support import records, tiny_config, write_flat

TINY = {"model": {"base": 2, "d_base": 2, "d_layers": 3}}


def quiet(line: str) -> None:
    pass


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory) -> Path:
    """Seeded VGG16 layers 0..16 (conv1_1 .. pool3) in torchvision's key names: stands in for the user's file."""
    torch.manual_seed(0)
    features = make_layers([64, 64, "M", 128, 128, "M", 256, 256, 256, "M"])
    path = tmp_path_factory.mktemp("vgg") / "vgg16-features.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    return path


def lbam_config(folder: Path, vgg: Path | str = "", **sections):
    cfg = tiny_config("lbam", folder, **{**TINY, **sections})
    cfg.vgg16_weights = str(vgg)
    return cfg


def test_the_recipe_reaches_the_optimisers(tmp_path, rng):
    cfg = lbam_config(write_flat(tmp_path / "d", rng, n=2))
    assert (cfg.data.kind, cfg.data.mask_kind, cfg.data.mask_max_fraction) == ("inpaint", "irregular", 0.6)
    assert cfg.loss == {"hole": 6.0, "valid": 1.0, "pool_perceptual": 0.01, "style": 120.0}
    assert (cfg.gan.enabled, cfg.gan.loss, cfg.gan.weight, cfg.gan.penalty, cfg.gan.penalty_weight) == (
        True, "wgan", 0.1, "wgan-gp", 10.0)
    trainer = Trainer(cfg, tmp_path / "run", echo=quiet)
    assert isinstance(trainer.generator, LBAM) and isinstance(trainer.discriminator, TwoColumnDiscriminator)
    g, d = trainer.g_opt.param_groups[0], trainer.d_opt.param_groups[0]
    assert (g["lr"], tuple(g["betas"]), g["weight_decay"]) == (1e-4, (0.5, 0.9), 0.0)
    assert (d["lr"], tuple(d["betas"]), d["weight_decay"]) == (1e-5, (0.0, 0.9), 0.0)


def test_a_run_trains_validates_on_the_composite_and_exports_lbam(tmp_path, rng, vgg_file):
    cfg = lbam_config(write_flat(tmp_path / "d", rng, n=4), vgg_file)
    result = Trainer(cfg, tmp_path / "run", echo=quiet).run()
    assert result.state == "finished"
    losses = records(tmp_path / "run", "train")[3]["losses"]
    for name in ("hole", "valid", "pool_perceptual", "style", "adversarial", "d_gan", "d_gp", "total"):
        assert np.isfinite(losses[name]), name
    val = records(tmp_path / "run", "val")[3]
    folder = RunFolder(tmp_path / "run")
    step_dir = folder.path / val["previews"]
    names = sorted(p.name for p in step_dir.iterdir())
    assert names == [f"{i:02d}_{role}.png" for i in (0, 1) for role in ("composite", "input", "output", "target")]
    # What is measured is what is shown: the PSNR of the saved composite PNGs against the saved targets.
    shown = [torch.from_numpy(load_photo(step_dir / f"{i:02d}_composite.png").rgb).permute(2, 0, 1)
             for i in (0, 1)]
    target = [torch.from_numpy(load_photo(step_dir / f"{i:02d}_target.png").rgb).permute(2, 0, 1) for i in (0, 1)]
    from_files = psnr_per_image(torch.stack(shown), torch.stack(target)).mean().item()
    assert val["metrics"]["psnr"] == pytest.approx(from_files, abs=1e-4)
    output = [torch.from_numpy(load_photo(step_dir / f"{i:02d}_output.png").rgb).permute(2, 0, 1) for i in (0, 1)]
    assert psnr_per_image(torch.stack(output), torch.stack(target)).mean().item() != pytest.approx(from_files)
    entry = ModelStore().import_file(folder.best_export)
    assert (entry.architecture, entry.task, entry.identified_by) == ("LBAM", "inpaint", "restora")


def test_without_vgg16_weights_the_feature_terms_are_off_and_said(tmp_path, rng):
    lines: list[str] = []
    cfg = lbam_config(write_flat(tmp_path / "d", rng, n=2), train={"max_steps": 1})
    result = Trainer(cfg, tmp_path / "run", echo=lines.append).run()
    assert result.state == "finished"
    said = [line for line in lines if "No VGG16 weights" in line]
    assert len(said) == 1 and "pool_perceptual and style" in said[0]
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert "No VGG16 weights" in status["message"]
    losses = records(tmp_path / "run", "train")[1]["losses"]
    assert "pool_perceptual" not in losses and "style" not in losses and "hole" in losses
    assert "pool_perceptual = 0.0" in (tmp_path / "run" / "config.toml").read_text()  # the frozen config says so


def test_a_vgg16_file_that_is_given_but_missing_fails_at_the_start(tmp_path, rng):
    cfg = lbam_config(write_flat(tmp_path / "d", rng, n=2), tmp_path / "nope.pth")
    with pytest.raises(Exception, match="VGG16 weights"):
        Trainer(cfg, tmp_path / "run", echo=quiet)


def test_fine_tuning_starts_from_the_given_generator(tmp_path, rng):
    torch.manual_seed(7)
    start = LBAM(base=2).state_dict()
    torch.save(start, tmp_path / "lbam.pth")
    cfg = lbam_config(write_flat(tmp_path / "d", rng, n=2))
    cfg.init_weights = str(tmp_path / "lbam.pth")
    trainer = Trainer(cfg, tmp_path / "run", echo=quiet)
    assert all(torch.equal(v, start[k]) for k, v in trainer.generator.state_dict().items())
    torch.save(LBAM(base=4).state_dict(), tmp_path / "wide.pth")
    cfg.init_weights = str(tmp_path / "wide.pth")
    with pytest.raises(ConfigError, match=r"shapes differ for dc1\.conv\.weight \(32, 32, 4, 4\) vs \(16, 16, 4, 4\)"):
        Trainer(cfg, tmp_path / "run2", echo=quiet)


def test_a_checkpoint_of_another_family_is_refused_as_lbam_weights(tmp_path, rng):
    from core.archs.zero_dce import ZeroDCE

    cfg = lbam_config(write_flat(tmp_path / "d", rng, n=2))
    torch.save(ZeroDCE().state_dict(), tmp_path / "zero_dce.pth")
    cfg.init_weights = str(tmp_path / "zero_dce.pth")
    with pytest.raises(ConfigError, match=r"zero_dce\.pth is not a LBAM checkpoint \(it holds a Zero-DCE network\)"):
        Trainer(cfg, tmp_path / "run", echo=quiet)
    torch.save({"model.0.weight": torch.zeros(8, 4, 3, 3)}, tmp_path / "other.pth")  # no family Restora knows
    cfg.init_weights = str(tmp_path / "other.pth")
    with pytest.raises(ConfigError, match=r"other\.pth is not a LBAM checkpoint \(it holds none of its tensors\)"):
        Trainer(cfg, tmp_path / "run2", echo=quiet)


def test_fine_tuning_starts_from_a_restora_export(tmp_path, rng):
    data = write_flat(tmp_path / "d", rng, n=2)
    first = lbam_config(data, train={"max_steps": 1, "val_every": 1})
    assert Trainer(first, tmp_path / "first", echo=quiet).run().state == "finished"
    export = RunFolder(tmp_path / "first").best_export
    second = lbam_config(data)
    second.init_weights = str(export)
    trainer = Trainer(second, tmp_path / "second", echo=quiet)
    want = RunFolder(tmp_path / "first").load_checkpoint("best")["generator"]
    assert all(torch.equal(v, want[k]) for k, v in trainer.generator.state_dict().items())


def test_restora_train_preset_lbam_fine_tunes_from_the_command_line(tmp_path, rng, vgg_file, capsys):
    from core.cli.train import main
    from core.train.runs.commands import list_presets

    assert "lbam" in {p.name for p in list_presets()}  # what the training panel offers
    torch.manual_seed(3)
    official = LBAM(base=2).state_dict()
    torch.save(official, tmp_path / "LBAM_500.pth")  # the released file is a bare state dict
    data = write_flat(tmp_path / "d", rng, n=2)
    args = ["--preset", "lbam", "--data", str(data), "--device", "cpu", "--run-dir", str(tmp_path / "run"),
            "--init", str(tmp_path / "LBAM_500.pth"), "--set", f"vgg16_weights={vgg_file}",
            "--set", "data.crop=32", "--set", "data.batch_size=2", "--set", "data.workers=0",
            "--set", "model.base=2", "--set", "model.d_base=2", "--set", "model.d_layers=3",
            "--set", "train.log_every=1", "--max-steps", "1"]
    assert main(args) == 0
    assert "No VGG16 weights" not in capsys.readouterr().out
    losses = records(tmp_path / "run", "train")[1]["losses"]
    assert {"hole", "valid", "pool_perceptual", "style", "adversarial", "d_gp"} <= set(losses)
    moved = RunFolder(tmp_path / "run").load_checkpoint()["generator"]
    # One Adam step (lr 1e-4) away from the given weights, not from a fresh initialisation (std 0.02).
    assert any(not torch.equal(v, official[k]) for k, v in moved.items())
    assert max(float((v - official[k]).abs().max()) for k, v in moved.items()) < 1e-3


def test_resume_gives_the_same_losses_as_an_uninterrupted_run(tmp_path, rng, vgg_file):
    data = write_flat(tmp_path / "d", rng, n=4)  # batch 2: two steps per epoch, step 3 is mid-epoch
    cfg = lbam_config(data, vgg_file, train={"max_steps": 5, "val_every": 2})
    assert Trainer(cfg, tmp_path / "full", echo=quiet).run().state == "finished"
    assert Trainer(cfg, tmp_path / "part", echo=quiet).run(stop_at=3).state == "stopped"
    assert Trainer(cfg, tmp_path / "part", resume=True, echo=quiet).run().state == "finished"
    want, got = records(tmp_path / "full", "train"), records(tmp_path / "part", "train")
    for step in (4, 5):
        assert got[step]["losses"] == want[step]["losses"], step
    assert want[4]["losses"]["d_gp"] != want[5]["losses"]["d_gp"]  # real, changing numbers
    end_want, end_got = RunFolder(tmp_path / "full").load_checkpoint(), RunFolder(tmp_path / "part").load_checkpoint()
    for key in ("generator", "discriminator"):
        assert all(torch.equal(end_got[key][k], v) for k, v in end_want[key].items()), key
