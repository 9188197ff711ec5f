"""How a training run behaves: exact resume, previews through the normalization contract, non-finite
losses, graceful stops (STOP file, SIGTERM), atomic checkpoints, early stopping, and the best-weights export.

Everything runs on the CPU with tiny generated pictures (32 x 32 crops) and a handful of steps.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from core.archs.identify import UnknownArchitectureError
from core.cli.train import main as train_main
from core.engines.model_engine import ModelEngine
from core.engines.request import EngineRequest
from core.errors import RestoraError
from core.imageio import load_photo
from core.metrics import psnr
from core.photo import Photo
from core.store import ModelStore
from core.tensors import MINUS_ONE_ONE, ZERO_ONE, RangeMismatchWarning, ValueRange, from_model, to_model
from core.train import degradations
from core.train import presets as preset_registry
from core.train.config import DataConfig, OptimConfig, RunConfig, dump_toml
from core.train.presets import Preset, get_preset
from core.train.presets.base import BuiltModel
from core.train.presets.supervised import supervised_losses
from core.train.runfolder import RunFolder
from core.train.trainer import Trainer
from tests.test_train_support import records, smooth_image, tiny_config, write_flat, write_pairs

REPO = Path(__file__).resolve().parents[1]


def quiet(line: str) -> None:
    pass


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def register_preset():
    """Register presets for one test; they are gone afterwards."""
    names: list[str] = []

    def add(preset: Preset) -> Preset:
        preset_registry.register(preset)
        names.append(preset.name)
        return preset

    yield add
    for name in names:
        preset_registry.unregister(name)


# ------------------------------------------------------------------------------------- test presets

class IdentityNet(nn.Module):
    """Returns its input unchanged: whatever range it is declared in, it returns that same range.
    One parameter, multiplied by zero, gives the optimiser something to hold."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.0 * self.unused


def identity_preset(name: str, value_range: ValueRange) -> Preset:
    def defaults() -> RunConfig:
        return RunConfig(preset=name, data=DataConfig(kind="paired"), loss={"l1": 1.0},
                         optim=OptimConfig(ema_decay=0.0, grad_clip=0.0))

    def build(cfg: RunConfig) -> BuiltModel:
        return BuiltModel(IdentityNet(), "TestIdentity", value_range, value_range, "general")

    return Preset(name=name, title="Identity (test)", description="Returns its input.", task="general",
                  defaults=defaults, build_model=build, generator_losses=supervised_losses)


def poisoned_preset(name: str, poison: float, from_step: int) -> Preset:
    """The gain U-Net preset whose L1 term is multiplied by `poison` from the 1-based step `from_step` on."""
    base = get_preset("lowlight_gain_unet")

    def defaults() -> RunConfig:
        cfg = base.defaults()
        cfg.preset = name
        return cfg

    def losses(ctx, batch, out):
        terms = base.generator_losses(ctx, batch, out)
        if ctx.step + 1 >= from_step:  # ctx.step counts the steps already taken
            terms["l1"] = terms["l1"] * poison
        return terms

    return Preset(name=name, title="Poisoned (test)", description="Loss turns non-finite.", task="lowlight",
                  defaults=defaults, build_model=base.build_model, generator_losses=losses)


# ------------------------------------------------------------------------------------------- resume

RESUME_CASES = {
    # EMA 0.999 and gradient clipping 1.0 are this preset's defaults; no warm-up, so the lr matters at once
    "supervised-stop_at": ("lowlight_gain_unet", {"model": {"base": 4}, "optim": {"warmup_steps": 0, "g_lr": 1e-3}}),
    # GPEN-style EMA by default; discriminator-only first epoch (2 steps), clipping, and a lazy WGAN-GP
    # penalty every 2 steps (its interpolation weights come from the global RNG, so the RNG state must resume)
    "gan-STOP_file": ("image_unet", {"model": {"base": 4, "depth": 2, "d_base": 4},
                                     "gan": {"enabled": True, "d_warmup_epochs": 1, "penalty": "wgan-gp",
                                             "penalty_every": 2},
                                     "optim": {"grad_clip": 0.5}}),
}


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_resume_gives_the_same_losses_as_an_uninterrupted_run(tmp_path, rng, case):
    preset, extra = RESUME_CASES[case]
    data = write_pairs(tmp_path / "d", rng, n=4)  # batch 2: two steps per epoch, so step 3 is mid-epoch
    cfg = tiny_config(preset, data, train={"max_steps": 6, "val_every": 2}, **extra)
    assert cfg.optim.ema_decay > 0 and cfg.optim.grad_clip > 0
    if cfg.gan.enabled:
        assert cfg.gan.d_warmup_epochs == 1

    full, part = tmp_path / "full", tmp_path / "part"
    assert Trainer(cfg, full, echo=quiet).run().state == "finished"

    folder = RunFolder(part)
    if case.endswith("stop_at"):
        first = Trainer(cfg, part, echo=quiet).run(stop_at=3)
    else:
        def echo(line: str) -> None:
            if line.startswith("step 3/"):  # written after step 3, before the trainer looks for STOP
                folder.request_stop()

        first = Trainer(cfg, part, echo=echo).run()
        assert not folder.stop_path.exists()  # the request was consumed
    assert (first.state, first.step) == ("stopped", 3)
    assert folder.read_status()["state"] == "stopped" and folder.read_status()["step"] == 3
    paused = folder.load_checkpoint()
    assert paused["step"] == 3 and paused["batch_in_epoch"] == 1

    second = Trainer(cfg, part, resume=True, echo=quiet).run()
    assert (second.state, second.step) == ("finished", 6)

    want, got = records(full, "train"), records(part, "train")
    assert sorted(got) == [1, 2, 3, 4, 5, 6]
    for step in (4, 5, 6):
        assert got[step]["losses"] == want[step]["losses"], f"step {step}"
    assert len({want[s]["losses"]["total"] for s in (4, 5, 6)}) == 3  # real, changing numbers
    if cfg.gan.enabled:
        assert "adversarial" in got[4]["losses"] and "d_gp" in got[5]["losses"]
    # validation runs on the EMA weights: equal metrics mean the EMA came back too
    want_val, got_val = records(full, "val"), records(part, "val")
    assert [got_val[s]["metrics"] for s in (4, 6)] == [want_val[s]["metrics"] for s in (4, 6)]
    end_want, end_got = RunFolder(full).load_checkpoint(), folder.load_checkpoint()
    for key in ("generator", "ema", "discriminator"):
        assert end_got[key].keys() == end_want[key].keys()
        assert all(torch.equal(end_got[key][k], end_want[key][k]) for k in end_want[key]), key

    # wall_time continues from the checkpoint instead of starting again at zero
    assert got[4]["wall_time"] >= paused["wall_time"] >= got[3]["wall_time"] - 1e-3
    walls = [got[s]["wall_time"] for s in range(1, 7)]
    assert walls == sorted(walls)


# ------------------------------------------------------------------------ previews and normalization

@pytest.mark.parametrize("value_range", [MINUS_ONE_ONE, ZERO_ONE], ids=["minus_one_one", "zero_one"])
def test_preview_of_an_identity_model_equals_its_input(tmp_path, rng, register_preset, value_range):
    name = f"test_identity_{'m11' if value_range == MINUS_ONE_ONE else '01'}"
    register_preset(identity_preset(name, value_range))
    data = write_pairs(tmp_path / "d", rng, n=2)
    cfg = tiny_config(name, data, train={"max_steps": 1})
    assert Trainer(cfg, tmp_path / "run", echo=quiet).run().state == "finished"

    previews = tmp_path / "run" / "previews" / "step_00000001"
    shown_input = load_photo(previews / "00_input.png").rgb
    shown_output = load_photo(previews / "00_output.png").rgb
    assert psnr(shown_output, shown_input) > 45
    # the input preview is the picture itself (the first validation image, centre-cropped)
    (source,) = degradations.center_crop([load_photo(data / "low" / "img0.png").rgb], 32)
    assert psnr(shown_input, source) > 45

    # The check can fail: the same output read with the other range is far from the input.
    wrong = ZERO_ONE if value_range == MINUS_ONE_ONE else MINUS_ONE_ONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RangeMismatchWarning)
        misread = from_model(to_model(shown_input, value_range), wrong)
    assert psnr(misread, shown_input) < 20


def test_reading_a_minus_one_one_output_as_zero_one_is_dark_and_clipped(rng):
    """What the preview test guards against, on a plain tensor: PSNR far below 20 dB."""
    image = smooth_image(rng, 32, 32)
    model_output = to_model(image, MINUS_ONE_ONE)  # an identity network trained in [-1, 1]
    with pytest.warns(RangeMismatchWarning):
        misread = from_model(model_output, ZERO_ONE)
    assert psnr(misread, image) < 20
    assert psnr(from_model(model_output, MINUS_ONE_ONE), image) > 45


# ------------------------------------------------------------------------------- non-finite losses

@pytest.mark.parametrize("poison", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_a_non_finite_loss_fails_the_run_and_keeps_the_last_good_checkpoint(tmp_path, rng, register_preset,
                                                                            capsys, poison):
    name = "test_poisoned"
    register_preset(poisoned_preset(name, poison, from_step=4))
    data = write_pairs(tmp_path / "d", rng, n=4)
    config = tmp_path / "poisoned.toml"
    config.write_text(dump_toml({
        "preset": name, "model": {"base": 4},
        "data": {"train": str(data), "crop": 32, "batch_size": 2, "val_batch_size": 2, "workers": 0,
                 "val_count": 2, "previews": 1},
        "train": {"max_steps": 6, "log_every": 1, "val_every": 100, "checkpoint_every": 1, "amp": False},
    }))
    run = tmp_path / "run"
    assert train_main([str(config), "--run-dir", str(run), "--device", "cpu"]) == 1

    folder = RunFolder(run)
    status = folder.read_status()
    assert status["state"] == "failed" and status["step"] == 3
    bad = "nan" if math.isnan(poison) else "inf"
    assert f"loss became {bad} at step 4" in status["message"]
    assert "keeps step 3" in status["message"]
    assert f"loss became {bad}" in capsys.readouterr().out
    checkpoint = folder.load_checkpoint("latest")
    assert checkpoint["step"] == 3  # the last finite step; the bad update was never applied or saved
    assert all(torch.isfinite(v).all() for v in checkpoint["generator"].values())
    assert all(torch.isfinite(v).all() for v in checkpoint["ema"].values())
    train = records(run, "train")
    assert sorted(train) == [1, 2, 3] and all(math.isfinite(r["losses"]["total"]) for r in train.values())


# ------------------------------------------------------------------------------------ stop requests

def _tiny_cli_config(path: Path, data: Path, max_steps: int) -> Path:
    path.write_text(dump_toml({
        "preset": "image_unet", "model": {"base": 4, "depth": 2},
        "data": {"train": str(data), "crop": 32, "batch_size": 1, "val_batch_size": 1, "workers": 0,
                 "val_count": 1, "previews": 1},
        "train": {"max_steps": max_steps, "log_every": 1, "val_every": max_steps, "checkpoint_every": max_steps,
                  "amp": False},
    }))
    return path


def test_a_stop_file_saves_and_stops(tmp_path, rng):
    data = write_pairs(tmp_path / "d", rng, n=2)
    cfg = tiny_config("image_unet", data, model={"base": 4, "depth": 2},
                      train={"max_steps": 50, "checkpoint_every": 50, "val_every": 50})
    folder = RunFolder(tmp_path / "run")

    def echo(line: str) -> None:
        if line.startswith("step 2/"):
            folder.request_stop()

    result = Trainer(cfg, folder.path, echo=echo).run()
    assert (result.state, result.step) == ("stopped", 2)
    status = folder.read_status()
    assert status["state"] == "stopped" and status["step"] == 2 and "resumes it" in status["message"]
    assert folder.load_checkpoint("latest")["step"] == 2
    assert not folder.stop_path.exists()


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or sys.platform == "win32", reason="POSIX signals")
def test_sigterm_saves_and_stops_a_cli_run(tmp_path, rng):
    data = write_pairs(tmp_path / "d", rng, n=2)
    config = _tiny_cli_config(tmp_path / "run.toml", data, max_steps=100000)
    run, log = tmp_path / "run", tmp_path / "train.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "core.cli.train", str(config), "--run-dir", str(run),
                                 "--device", "cpu"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not records(run, "train"):  # the signal handlers are in place once steps are logged
            assert proc.poll() is None, f"the run ended early:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no training step within 120 s:\n{log.read_text()}"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log.read_text()
    assert code == 0, output
    assert "signal 15 received" in output
    folder = RunFolder(run)
    status = folder.read_status()
    assert status["state"] == "stopped" and status["pid"] == proc.pid
    checkpoint = folder.load_checkpoint("latest")
    assert checkpoint["step"] == status["step"] == max(records(run, "train"))
    assert 1 <= checkpoint["step"] < 100000


# ---------------------------------------------------------------------------------- atomic checkpoints

def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_checkpoint_write_that_fails_midway_keeps_the_previous_checkpoint(tmp_path, rng, monkeypatch):
    data = write_pairs(tmp_path / "d", rng, n=2)
    cfg = tiny_config("image_unet", data, model={"base": 4, "depth": 2}, train={"max_steps": 2})
    run = tmp_path / "run"
    Trainer(cfg, run, echo=quiet).run()
    folder = RunFolder(run)
    before = folder.latest_checkpoint.read_bytes()
    assert _entries(folder.checkpoints) == ["best.pt", "best.safetensors", "latest.pt"]

    real_save = torch.save
    attempts: list[str] = []

    def torn_save(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        attempts.append(str(f))
        with open(f, "r+b") as fh:  # the disk fills up half-way through the file
            fh.truncate(os.path.getsize(f) // 2)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", torn_save)
    longer = tiny_config("image_unet", data, model={"base": 4, "depth": 2},
                         train={"max_steps": 4, "checkpoint_every": 1})
    with pytest.raises(OSError, match="No space left"):
        Trainer(longer, run, resume=True, echo=quiet).run()
    monkeypatch.undo()

    assert attempts and all(Path(a).parent == folder.checkpoints for a in attempts)
    assert _entries(folder.checkpoints) == ["best.pt", "best.safetensors", "latest.pt"]  # no temp files
    assert folder.latest_checkpoint.read_bytes() == before
    assert folder.load_checkpoint("latest")["step"] == 2
    status = folder.read_status()
    assert status["state"] == "failed" and "No space left" in status["message"]


def test_an_export_that_fails_midway_keeps_the_previous_export(tmp_path, monkeypatch):
    folder = RunFolder(tmp_path / "run").create()
    folder.export_weights({"w": torch.ones(3)}, {"architecture": "A"})

    def failing_fsync(fd: int) -> None:  # the bytes are in the temp file; making them durable fails
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="Input/output"):
        folder.export_weights({"w": torch.zeros(3)}, {"architecture": "B"})
    monkeypatch.undo()

    assert _entries(folder.checkpoints) == ["best.safetensors"]
    assert torch.equal(load_file(str(folder.best_export))["w"], torch.ones(3))
    with safe_open(str(folder.best_export), "pt") as f:
        assert f.metadata()["architecture"] == "A"


# ----------------------------------------------------------------------------------- early stopping

def test_early_stopping_when_validation_psnr_stays_flat(tmp_path, rng, register_preset):
    register_preset(identity_preset("test_identity_flat", ZERO_ONE))  # same PSNR at every validation
    data = write_pairs(tmp_path / "d", rng, n=2)
    cfg = tiny_config("test_identity_flat", data,
                      train={"max_steps": 20, "val_every": 1, "early_stop_patience": 2, "monitor": "psnr"})
    result = Trainer(cfg, tmp_path / "run", echo=quiet).run()
    assert (result.state, result.step) == ("early_stopped", 3)
    assert RunFolder(tmp_path / "run").read_status()["state"] == "early_stopped"
    assert sorted(records(tmp_path / "run", "val")) == [1, 2, 3]
    assert RunFolder(tmp_path / "run").load_checkpoint("best")["step"] == 1


@pytest.mark.parametrize("min_delta,expected", [(1.0, ("early_stopped", 4)), (0.0, ("finished", 6))])
def test_early_stopping_counts_only_gains_above_min_delta(tmp_path, rng, register_preset, monkeypatch,
                                                         min_delta, expected):
    """PSNR rises by 0.3 dB per validation: improvements for min_delta 0, not for min_delta 1."""
    register_preset(identity_preset("test_identity_rising", ZERO_ONE))
    data = write_pairs(tmp_path / "d", rng, n=2)
    scripted = iter(20.0 + 0.3 * k for k in range(100))
    monkeypatch.setattr(Trainer, "validate", lambda self: {"psnr": next(scripted), "ssim": None, "val_loss": None})
    cfg = tiny_config("test_identity_rising", data,
                      train={"max_steps": 6, "val_every": 1, "early_stop_patience": 3,
                             "early_stop_min_delta": min_delta})
    result = Trainer(cfg, tmp_path / "run", echo=quiet).run()
    assert (result.state, result.step) == expected
    folder = RunFolder(tmp_path / "run")
    assert folder.read_status()["state"] == expected[0]
    best_step = folder.load_checkpoint("best")["step"]
    assert best_step == (1 if min_delta else 6)
    if min_delta:
        assert "best 20.0000 at step 1" in result.message


# ------------------------------------------------------------------------------ best-weights export

EXPORT_CASES = [
    # (preset, data, extra, ranges, what the model store does with the export): every preset's export imports
    ("lowlight_gain_unet", "pairs", {"model": {"base": 4}}, [0.0, 1.0], "imported"),
    ("gamma_net", "flat", {"model": {"input_size": 16, "features": 4}}, [0.0, 1.0], "imported"),
    ("image_unet", "pairs", {"model": {"base": 4, "depth": 2}}, [-1.0, 1.0], "imported"),
    ("image_unet_inpaint", "flat", {"model": {"base": 4, "depth": 2}, "data": {"kind": "inpaint"}}, [-1.0, 1.0],
     "imported"),
    ("zero_dce_pp", "flat", {}, [0.0, 1.0], "imported"),
    ("zero_dce", "flat", {}, [0.0, 1.0], "imported"),
    ("test_unknown_arch", "pairs", {}, [0.0, 1.0], "unknown"),
]


@pytest.mark.parametrize("preset,data_kind,extra,value_range,outcome", EXPORT_CASES,
                         ids=[c[0] for c in EXPORT_CASES])
def test_best_export_has_metadata_and_meets_the_model_store(tmp_path, rng, register_preset, preset, data_kind, extra,
                                                             value_range, outcome):
    if preset == "test_unknown_arch":  # an architecture the store has no detector for
        register_preset(identity_preset(preset, ZERO_ONE))
    preset = "image_unet" if preset == "image_unet_inpaint" else preset
    inpaint = extra.get("data", {}).get("kind") == "inpaint"
    data = write_pairs(tmp_path / "d", rng, n=2) if data_kind == "pairs" else write_flat(tmp_path / "d", rng, n=2)
    cfg = tiny_config(preset, data, train={"max_steps": 2}, **extra)
    trainer = Trainer(cfg, tmp_path / "run", echo=quiet)
    assert trainer.run().state == "finished"
    export = RunFolder(tmp_path / "run").best_export

    with safe_open(str(export), "pt") as f:
        meta = f.metadata()
        keys = set(f.keys())
    assert meta["architecture"] == trainer.built.architecture and meta["preset"] == preset
    assert json.loads(meta["input_range"]) == value_range and json.loads(meta["output_range"]) == value_range
    assert meta["weights"] == ("ema" if cfg.optim.ema_decay > 0 else "raw")
    assert keys == set(trainer.built.generator.state_dict())  # the generator's weights, nothing else
    exported = load_file(str(export))
    best = RunFolder(tmp_path / "run").load_checkpoint("best")  # saved in the same moment as the export
    source = best["ema"] if cfg.optim.ema_decay > 0 else best["generator"]
    assert all(torch.equal(exported[k], source[k]) for k in source)
    if cfg.optim.ema_decay > 0:  # and the EMA is not the raw generator (else the check above proves nothing)
        assert any(not torch.equal(best["ema"][k], best["generator"][k]) for k in source)

    store = ModelStore()
    if outcome == "unknown":
        # The store has no detector for this architecture: a clear, typed error, and nothing half-imported.
        with pytest.raises(UnknownArchitectureError, match="Neither Restora nor spandrel knows") as caught:
            store.import_file(export)
        assert isinstance(caught.value, RestoraError)
        assert store.list() == []
        assert [p.name for p in store.root.iterdir() if p.name != "manifest.json"] == []
    else:
        entry = store.import_file(export, name="trained")
        assert entry.architecture == meta["architecture"] and entry.identified_by == "restora"
        assert list(entry.input_range) == value_range and list(entry.output_range) == value_range
        desc = store.load("trained")
        loaded = desc.module.state_dict()
        assert loaded.keys() == exported.keys()
        assert all(torch.equal(loaded[k], exported[k]) for k in exported)
        if preset == "zero_dce_pp":  # the trained scale factor (1) from the export's options, not the official 12
            assert json.loads(meta["options"]) == {"scale_factor": 1}
            assert desc.module.scale_factor == 1 and entry.tileable
        elif preset == "zero_dce":  # seven 3x3 convolutions: tiles give the whole-image result
            assert entry.tileable
        else:  # a global branch, one global prediction, or a deep U-Net: the whole image at once
            assert not entry.tileable
        assert entry.task == ("inpaint" if inpaint else trainer.built.task)
        # ... and it runs as an engine from the store, through the contract, on a tiny odd-sized photo.
        photo = Photo(rgb=smooth_image(rng, 20, 27) * 0.3)
        mask = None
        if inpaint:  # the model's mask convention (1 = hole, holes mid-grey) is met at its boundary
            mask = np.zeros((20, 27), np.uint8)
            mask[5:12, 8:20] = 255
        params = {"feather": 0} if inpaint else {}  # the network's own fill, no seam blend
        out = ModelEngine(entry, store, device="cpu").run(EngineRequest(photo, mask, params=params)).photo
        assert out.rgb.shape == photo.rgb.shape and out.rgb.dtype == np.float32
        assert np.isfinite(out.rgb).all() and 0.0 <= out.rgb.min() and out.rgb.max() <= 1.0
        with torch.no_grad():
            hole = None if mask is None else torch.from_numpy((mask > 0).astype(np.float32))[None, None]
            direct = from_model(desc(to_model(photo.rgb, desc.facts.input_range), hole), desc.facts.output_range)
        if mask is not None:  # only the hole changes; the model's fill is what the engine pastes there
            assert np.array_equal(out.rgb[mask == 0], photo.rgb[mask == 0])
            np.testing.assert_allclose(out.rgb[mask > 0], direct[mask > 0], atol=1e-5)
        else:
            np.testing.assert_allclose(out.rgb, direct, atol=1e-5)
