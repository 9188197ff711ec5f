"""The gpen training preset: the recipe's numbers, model.size picking batch, crop and epochs, the official
configuration for --init, the perceptual loss off without VGG weights, the discriminator (warm-up, penalty,
no unused parameters, two-process DDP), exact resume, and validation previews that go through the
normalization contract: the logged PSNR is the PSNR of the saved preview PNGs.

Tiny networks (32 px, 16 channels) on tiny generated faces, on the CPU."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from core.archs.gpen import GPEN, OFFICIAL
from core.archs.spec import layout_mismatch, layout_of
from core.imageio import load_photo
from core.metrics import psnr
from core.store import ModelStore
from core.tensors import MINUS_ONE_ONE, ZERO_ONE, RangeMismatchWarning, from_model, to_model
from core.train.config import ConfigError, dump_toml, merge
from core.train.datasets import build_datasets
from core.train.gpen_discriminator import GPENDiscriminator
from core.train.losses import d_loss, g_adversarial_loss, r1_penalty
from core.train.presets import all_presets
from core.train.presets.gpen import (
    apply_recipe,
    build_model,
    defaults,
    generator_options,
    steps_per_epoch,
)
from core.train.runfolder import RunFolder
from core.train.trainer import Trainer
from tests.test_train_support import cli_rank, records, run_two_ranks, tiny_config, write_flat

TINY = {"narrow": 1 / 32, "channel_multiplier": 1, "style_dim": 16, "n_mlp": 2}


def quiet(line: str) -> None:
    pass


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_gpen(folder, **sections):
    sections.setdefault("model", {})
    sections["model"] = {**TINY, **sections["model"]}
    return tiny_config("gpen", folder, **sections)


# ---------------------------------------------------------------------------------------- the recipe

def test_defaults_are_the_recipe():
    cfg = defaults()
    assert "gpen" in all_presets() and cfg.preset == "gpen" and cfg.data.kind == "face"
    o, g, t = cfg.optim, cfg.gan, cfg.train
    assert (o.g_lr, o.d_lr, o.betas, o.scheduler, o.g_lr_min, o.d_lr_min) == (2e-4, 1e-4, [0.9, 0.99], "cosine",
                                                                              1e-6, 5e-7)
    assert g.enabled and g.loss == "nonsaturating" and g.penalty == "r1" and g.penalty_weight == 10.0
    assert 10 <= g.d_warmup_epochs <= 20
    assert (t.monitor, t.early_stop_patience, t.early_stop_min_delta) == ("psnr", 8, 0.002)
    assert cfg.loss["l1"] > 0 and cfg.loss["perceptual"] > 0
    assert (cfg.model["size"], cfg.data.crop, cfg.data.batch_size) == (512, 512, 8)


@pytest.mark.parametrize("size, batch, epochs", [(256, 16, 100), (512, 8, 150), (1024, 4, 80), (64, 16, 100)])
def test_model_size_picks_crop_batch_and_epochs(tmp_path, rng, size, batch, epochs):
    folder = write_flat(tmp_path / "faces", rng, n=40, h=16, w=16)
    cfg = merge(defaults(), {"data": {"train": str(folder)}, "model": {"size": size}})
    notes = apply_recipe(cfg)
    per_epoch = steps_per_epoch(40, batch)
    assert per_epoch == 40 // batch
    assert (cfg.data.crop, cfg.data.batch_size) == (size, batch)
    assert cfg.train.max_steps == epochs * per_epoch
    assert cfg.train.val_every == cfg.train.checkpoint_every == per_epoch  # patience 8 = 8 epochs
    assert any(f"{epochs} epochs of {per_epoch} steps" in n for n in notes)
    assert generator_options(cfg)["size"] == size


def test_values_set_by_the_user_are_kept_and_processes_share_an_epoch(tmp_path, rng, monkeypatch):
    folder = write_flat(tmp_path / "faces", rng, n=40, h=16, w=16)
    cfg = merge(defaults(), {"data": {"train": str(folder), "batch_size": 2}, "model": {"size": 256},
                             "train": {"max_steps": 7, "val_every": 3}})
    apply_recipe(cfg)
    assert (cfg.data.batch_size, cfg.train.max_steps, cfg.train.val_every) == (2, 7, 3)
    assert cfg.train.checkpoint_every == 20  # still the placeholder: one epoch of 40 / 2

    monkeypatch.setenv("WORLD_SIZE", "2")  # torchrun: each process gets half an epoch
    cfg = merge(defaults(), {"data": {"train": str(folder)}, "model": {"size": 256, "epochs": 3}})
    apply_recipe(cfg)
    assert cfg.train.max_steps == 3 * steps_per_epoch(40, 16, 2) == 3
    assert steps_per_epoch(3, 16) == 1  # fewer images than a batch: one (short) step per epoch

    only_crop = merge(defaults(), {"data": {"crop": 64}, "train": {"max_steps": 5, "val_every": 5,
                                                                   "checkpoint_every": 5}})
    apply_recipe(only_crop)
    assert only_crop.model["size"] == 64 and only_crop.data.batch_size == 16
    with pytest.raises(ConfigError, match="exactly its size"):
        apply_recipe(merge(defaults(), {"data": {"crop": 128}, "model": {"size": 256}}))
    with pytest.raises(ConfigError, match="power of two"):
        apply_recipe(merge(defaults(), {"model": {"size": 300}}))


@pytest.mark.parametrize("size", [512, 256])
def test_the_preset_builds_the_official_network_for_init(size):
    cfg = merge(defaults(), {"model": {"size": size}, "train": {"max_steps": 10, "val_every": 5,
                                                                 "checkpoint_every": 5}})
    with torch.device("meta"):
        built = build_model(cfg)
    layout = json.loads((Path(__file__).parent / "data" / f"gpen_bfr_{size}_layout.json").read_text())
    official = {k: torch.empty(shape, device="meta") for k, shape, _ in layout["tensors"]}
    # exactly what the trainer's --init checks before its strict load
    assert layout_mismatch(official, layout_of(built.generator)) == ""
    assert built.options == OFFICIAL[size] and built.architecture == "GPEN" and built.task == "face"
    assert built.input_range == built.output_range == MINUS_ONE_ONE
    assert isinstance(built.discriminator, GPENDiscriminator) and built.discriminator.size == size


def test_without_vgg_weights_the_perceptual_loss_is_off_and_the_run_says_so(tmp_path, rng, capsys):
    folder = write_flat(tmp_path / "faces", rng, n=2, h=32, w=32)
    cfg = tiny_gpen(folder)
    assert cfg.loss["perceptual"] > 0 and not cfg.vgg16_weights
    build_model(cfg)
    assert cfg.loss["perceptual"] == 0.0
    assert "perceptual loss is OFF" in capsys.readouterr().out


def test_init_loads_a_gpen_checkpoint_strictly(tmp_path, rng):
    folder = write_flat(tmp_path / "faces", rng, n=2, h=32, w=32)
    torch.manual_seed(5)
    source = GPEN(32, 16, 2, 1, 1 / 32)
    weights = tmp_path / "gpen32.pth"
    torch.save(source.state_dict(), weights)
    cfg = tiny_gpen(folder)
    cfg.init_weights = str(weights)
    trainer = Trainer(cfg, tmp_path / "run", echo=quiet)
    for key, value in source.state_dict().items():
        assert torch.equal(trainer.generator.state_dict()[key], value), key
    cfg = tiny_gpen(folder, model={"style_dim": 32})
    cfg.init_weights = str(weights)
    with pytest.raises(ConfigError, match="does not fit"):
        Trainer(cfg, tmp_path / "run2", echo=quiet)


# ------------------------------------------------------------------------------------ discriminator

def test_discriminator_layout_groups_and_gradients():
    torch.manual_seed(0)
    d = GPENDiscriminator(32, channel_multiplier=1, narrow=1 / 32)
    keys = list(d.state_dict())
    assert keys[:2] == ["convs.0.0.weight", "convs.0.1.bias"] and "convs.1.skip.1.weight" in keys
    assert keys[-4:] == ["final_linear.0.weight", "final_linear.0.bias", "final_linear.1.weight",
                         "final_linear.1.bias"]
    real, fake = torch.rand(6, 3, 32, 32) * 2 - 1, torch.rand(6, 3, 32, 32) * 2 - 1
    assert d(torch.cat([real, fake])).shape == (12, 1)
    # standard-deviation groups never mix the real half with the fake half (the trainer scores them together)
    for b in (1, 2, 3, 4, 6):
        with_fake = d(torch.cat([real[:b], fake[:b]]))
        with_other_fake = d(torch.cat([real[:b], -fake[:b].flip(-1)]))
        torch.testing.assert_close(with_fake[:b], with_other_fake[:b])
        assert not torch.allclose(with_fake[b:], with_other_fake[b:])
    assert d(torch.rand(3, 3, 32, 32)).shape == (3, 1)  # any batch size

    # every parameter of both networks gets a gradient: DDP needs no find_unused_parameters
    g = GPEN(32, 16, 2, 1, 1 / 32)
    real = real[:4]
    out, _ = g(real)
    g_loss = (out - real).abs().mean() + g_adversarial_loss(d(out), "nonsaturating")
    g_loss.backward()
    assert all(p.grad is not None for p in g.parameters())
    d.zero_grad()
    total = d_loss(d(real), d(out.detach()), "nonsaturating") + 5.0 * r1_penalty(d, real)
    total.backward()
    assert torch.isfinite(total) and all(p.grad is not None for p in d.parameters())


# -------------------------------------------------------------------------- runs, resume, previews

def test_warm_up_trains_the_discriminator_alone_and_resume_is_exact(tmp_path, rng):
    folder = write_flat(tmp_path / "faces", rng, n=4, h=32, w=32)
    sections = {"gan": {"d_warmup_epochs": 1, "penalty_every": 2}, "train": {"max_steps": 4}}

    straight = Trainer(tiny_gpen(folder, **sections), tmp_path / "a", echo=quiet)
    assert straight.run().state == "finished"

    paused = Trainer(tiny_gpen(folder, **sections), tmp_path / "b", echo=quiet)
    g0 = {k: v.clone() for k, v in paused.generator.state_dict().items()}
    d0 = {k: v.clone() for k, v in paused.discriminator.state_dict().items()}
    assert paused.run(stop_at=2).state == "stopped"  # one epoch of 2 steps: the warm-up
    ck = RunFolder(tmp_path / "b").load_checkpoint("latest")
    assert all(torch.equal(ck["generator"][k], g0[k]) for k in g0)  # the generator was frozen
    assert any(not torch.equal(ck["discriminator"][k], d0[k]) for k in d0)
    resumed = Trainer(tiny_gpen(folder, **sections), tmp_path / "b", resume=True, echo=quiet)
    assert resumed.run().state == "finished"
    ck = RunFolder(tmp_path / "b").load_checkpoint("latest")
    assert any(not torch.equal(ck["generator"][k], g0[k]) for k in g0)

    a, b = records(tmp_path / "a", "train"), records(tmp_path / "b", "train")
    assert set(a[1]["losses"]) == {"d_gan", "d_r1", "d_total", "total"}  # warm-up: D only, with R1
    assert {"l1", "adversarial"} <= set(a[3]["losses"]) and "perceptual" not in a[3]["losses"]
    for step in (1, 2, 3, 4):
        assert b[step]["losses"] == pytest.approx(a[step]["losses"], rel=1e-6, abs=1e-7), step


def test_logged_validation_psnr_is_the_psnr_of_the_preview_pngs(tmp_path, rng):
    folder = write_flat(tmp_path / "faces", rng, n=4, h=32, w=32)
    cfg = tiny_gpen(folder, data={"val_count": 4, "previews": 4, "val_batch_size": 2},
                    gan={"d_warmup_epochs": 0, "penalty_every": 2}, train={"max_steps": 2})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RangeMismatchWarning)  # a 2-step GPEN's output may overshoot [-1, 1]
        assert Trainer(cfg, tmp_path / "run", echo=quiet).run().state == "finished"
    (val,) = records(tmp_path / "run", "val").values()
    previews = tmp_path / "run" / val["previews"]
    outputs = [load_photo(previews / f"{i:02d}_output.png").rgb for i in range(4)]
    targets = [load_photo(previews / f"{i:02d}_target.png").rgb for i in range(4)]
    from_pngs = float(np.mean([psnr(o, t) for o, t in zip(outputs, targets)]))
    assert from_pngs == pytest.approx(val["metrics"]["psnr"], abs=0.01)  # 8-bit rounding only

    # the output preview is the validation model's output decoded with GPEN's declared (-1, 1) range
    net = GPEN(32, 16, 2, 1, 1 / 32)
    net.load_state_dict(RunFolder(tmp_path / "run").load_checkpoint("latest")["ema"])
    _, val_set = build_datasets(cfg.data, cfg.train.seed)
    sample = val_set[0]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RangeMismatchWarning)
        raw = net.eval()(to_model(sample["input"], MINUS_ONE_ONE))[0]
        decoded = from_model(raw, MINUS_ONE_ONE)
        misread = from_model(raw, ZERO_ONE)
    assert np.abs(decoded - outputs[0]).max() <= 1 / 255 + 1e-6
    assert psnr(misread, outputs[0]) < psnr(decoded, outputs[0]) - 10  # the dark-preview bug would show

    # the best export is a GPEN the store identifies, of its trained size
    entry = ModelStore().import_file(RunFolder(tmp_path / "run").best_export, name="trained-gpen")
    assert entry.architecture == "GPEN" and entry.task == "face" and entry.identified_by == "restora"
    desc = ModelStore().load("trained-gpen")
    assert desc.facts.size.fixed == 32 and desc.facts.face_template == "gpen"


def test_the_training_panel_lists_gpen_and_its_command_fine_tunes_from_init(tmp_path, rng):
    from core.cli.train import main
    from core.train.runs.commands import list_presets, train_command

    info = {p.name: p for p in list_presets()}["gpen"]
    assert info.task == "face" and info.defaults["crop"] == 512 and info.defaults["batch_size"] == 8
    assert info.defaults["lr"] == 2e-4

    folder = write_flat(tmp_path / "faces", rng, n=4, h=32, w=32)
    torch.manual_seed(9)
    source = GPEN(32, 16, 2, 1, 1 / 32)
    weights = tmp_path / "GPEN-32.pth"
    torch.save(source.state_dict(), weights)
    overrides = {"data.crop": 32, "data.batch_size": 2, "data.workers": 0, "data.val_count": 2,
                 "data.previews": 1, "model.narrow": 1 / 32, "model.channel_multiplier": 1, "model.style_dim": 16,
                 "model.n_mlp": 2, "gan.d_warmup_epochs": 1, "gan.penalty_every": 2, "train.max_steps": 2,
                 "train.val_every": 2, "train.checkpoint_every": 2, "train.log_every": 1, "train.device": "cpu"}
    args = train_command("gpen", folder, out=tmp_path / "runs", overrides=overrides, init=weights)
    assert args[:3] == ["train", "--preset", "gpen"]
    assert main(args[1:]) == 0
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    ck = RunFolder(run_dir).load_checkpoint("latest")
    # one epoch of 2 steps is the discriminator's warm-up: the generator is still exactly the --init weights
    for key, value in source.state_dict().items():
        assert torch.equal(ck["generator"][key], value), key
    assert set(records(run_dir, "train")[1]["losses"]) == {"d_gan", "d_r1", "d_total", "total"}  # D only, R1


# ------------------------------------------------------------------------------------------------ DDP

@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks the worker processes")
def test_two_process_ddp_run_with_the_discriminator_and_r1(tmp_path, rng):
    folder = write_flat(tmp_path / "faces", rng, n=4, h=32, w=32)
    config = tmp_path / "gpen.toml"
    config.write_text(dump_toml({
        "preset": "gpen", "model": dict(TINY),
        "data": {"train": str(folder), "crop": 32, "batch_size": 1, "val_batch_size": 2, "workers": 0,
                 "val_count": 2, "previews": 1},
        "gan": {"d_warmup_epochs": 0, "penalty_every": 1},
        "train": {"max_steps": 3, "log_every": 1, "val_every": 100, "checkpoint_every": 100, "device": "cpu"},
    }))
    got, _procs = run_two_ranks(cli_rank, str(config), str(tmp_path / "run"))
    codes = dict(got)
    assert codes == {0: 0, 1: 0}
    train = records(tmp_path / "run", "train")
    assert sorted(train) == [1, 2, 3] and {"l1", "adversarial", "d_r1"} <= set(train[3]["losses"])
