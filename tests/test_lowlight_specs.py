"""Our own low-light architectures in the model store: the gain U-Net and GammaNet specs recognise their
own weights (any width) and nothing else, and a training export's options (Zero-DCE++'s scale factor)
are honoured while a bare official-style file keeps the official defaults."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from core.archs import gain_unet, gamma_net
from core.archs import identify as catalog
from core.archs.gain_unet import GainUNet
from core.archs.gamma_net import GammaNet
from core.archs.identify import UnknownArchitectureError, identify
from core.archs.image_unet import ImageUNet
from core.archs.zero_dce import ZeroDCE
from core.archs.zero_dce_pp import OFFICIAL_TEST_SCALE, ZeroDCEPP
from core.engines.model_engine import ModelEngine
from core.engines.request import EngineRequest
from core.models.checkpoints import EXPORT_FORMAT, CheckpointError, read_export_info
from core.photo import Photo
from core.store import ModelStore
from core.tensors import from_model, to_model
from tests.test_store import compact

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def seeded(net: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """The network's state dict with every parameter drawn at random (buffers kept), so outputs differ
    from the identity the networks start as."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
    return {k: v.clone() for k, v in net.state_dict().items()}


def claimed_by(state_dict: dict[str, torch.Tensor]) -> list[str]:
    return [s.name for s in catalog.own_architectures() if s.detect(state_dict)]


def save_export(path: Path, state_dict: dict[str, torch.Tensor], architecture: str, options: dict | str) -> Path:
    """A file shaped like a training run's best.safetensors."""
    save_file(state_dict, str(path), metadata={
        "format": EXPORT_FORMAT, "architecture": architecture, "preset": "test", "task": "lowlight",
        "input_range": "[0.0, 1.0]", "output_range": "[0.0, 1.0]",
        "options": options if isinstance(options, str) else json.dumps(options), "step": "1"})
    return path


# ----- detection ------------------------------------------------------------------------------------------

GAIN = gain_unet.ARCHITECTURE
GAMMA = gamma_net.ARCHITECTURE


@pytest.mark.parametrize("state_dict, owner", [
    (GainUNet(base=4).state_dict(), GAIN),
    (GainUNet(base=8, gain_min=0.25, gain_max=6.0, gain_channels=3).state_dict(), GAIN),
    (GammaNet(features=4, input_size=16).state_dict(), GAMMA),
    (GammaNet().state_dict(), GAMMA),
    (ZeroDCE().state_dict(), "Zero-DCE"),
    (ZeroDCEPP().state_dict(), "Zero-DCE++"),
    (ImageUNet(base=4, depth=2).state_dict(), "RestoraImageUNet"),  # its exports import into the store now
    (compact().state_dict(), None),
], ids=["gain-4", "gain-8-rgb", "gamma-4", "gamma-16", "zero-dce", "zero-dce-pp", "image-unet", "compact"])
def test_each_state_dict_is_claimed_by_its_own_spec_only(state_dict, owner):
    assert claimed_by(state_dict) == ([owner] if owner else [])


@pytest.mark.parametrize("make", [lambda: GainUNet(base=4).state_dict(),
                                  lambda: GammaNet(features=4).state_dict()], ids=["gain", "gamma"])
def test_a_changed_layout_is_not_claimed(make):
    sd = make()
    last = list(sd)[-1]
    extra_key = dict(sd, **{"extra.weight": torch.zeros(1)})
    missing_key = {k: v for k, v in sd.items() if k != last}
    wrong_shape = dict(sd, **{last: torch.zeros(*sd[last].shape[:-1], sd[last].shape[-1] + 1)})
    for changed in (extra_key, missing_key, wrong_shape):
        assert claimed_by(changed) == []


def test_a_gain_unet_with_an_impossible_gain_range_says_it_does_not_load():
    sd = GainUNet(base=4).state_dict()
    sd["gain_range"] = torch.tensor([2.0, 1.0])
    with pytest.raises(UnknownArchitectureError, match="looks like Restora gain U-Net but does not load"):
        identify(sd)


# ----- loading and running --------------------------------------------------------------------------------

def test_gain_unet_descriptor_is_the_network_run_whole():
    net = GainUNet(base=4, gain_min=0.4, gain_max=3.0)
    sd = seeded(net, 1)
    ident = identify(sd)
    desc = ident.descriptor
    assert (ident.identified_by, desc.facts.architecture, desc.facts.purpose) == ("restora", GAIN, "lowlight")
    assert desc.facts.input_range == (0.0, 1.0) == desc.facts.output_range and desc.facts.size.strategy != "tile"
    assert desc.module.gain_min == pytest.approx(0.4) and desc.module.gain_max == pytest.approx(3.0)
    x = torch.rand(1, 3, 19, 26)
    with torch.no_grad():
        assert torch.equal(desc(x), net.eval()(x)[0])


def test_gamma_net_descriptor_predicts_small_and_applies_at_full_size():
    net = GammaNet(features=4, input_size=16)
    sd = seeded(net, 2)
    desc = identify(sd).descriptor
    assert desc.facts.architecture == GAMMA and desc.facts.size.strategy != "tile" and int(desc.module.input_size) == 16
    x = torch.rand(1, 3, 40, 30) * 0.3
    with torch.no_grad():
        params = net.eval()(gamma_net.resize_for_prediction(x, 16))
        expected = gamma_net.apply_gamma_contrast(x, params)
        assert not torch.allclose(params, torch.ones_like(params))  # the check below is not the identity
        torch.testing.assert_close(desc(x), expected)


@pytest.mark.parametrize("make, arch", [(lambda: GainUNet(base=4), GAIN),
                                        (lambda: GammaNet(features=4, input_size=16), GAMMA)], ids=["gain", "gamma"])
def test_store_runs_an_export_whole_as_an_engine(tmp_path: Path, rng: np.random.Generator, make, arch):
    sd = seeded(make(), 3)
    options = {"base": 4, "gain_min": 0.5, "gain_max": 4.0} if arch == GAIN else {"features": 4, "input_size": 16}
    store = ModelStore()
    entry = store.import_file(save_export(tmp_path / "best.safetensors", sd, arch, options), name="mine")
    assert (entry.architecture, entry.identified_by, entry.task) == (arch, "restora", "lowlight")
    assert not entry.tileable
    engine_cls = ModelEngine(entry, store, device="cpu")
    assert [p.name for p in engine_cls.params] == ["precision"]  # no tile controls: it runs whole
    photo = Photo(rgb=rng.random((21, 34, 3), dtype=np.float32) * 0.4)
    out = engine_cls.run(EngineRequest(photo)).photo.rgb
    desc = store.load("mine")
    with torch.no_grad():
        expected = from_model(desc(to_model(photo.rgb, desc.facts.input_range)), desc.facts.output_range)
    assert out.shape == photo.rgb.shape and not np.allclose(out, photo.rgb, atol=1e-3)
    np.testing.assert_allclose(out, expected, atol=1e-5)


# ----- a training export's options --------------------------------------------------------------------------

def test_zero_dce_pp_export_keeps_its_scale_factor_and_a_bare_file_gets_the_official_one(tmp_path: Path):
    sd = seeded(ZeroDCEPP(), 4)
    store = ModelStore()
    cases = {
        "export-1": (save_export(tmp_path / "a.safetensors", sd, "Zero-DCE++", {"scale_factor": 1}), 1),
        "export-3": (save_export(tmp_path / "b.safetensors", sd, "Zero-DCE++", {"scale_factor": 3}), 3),
        "bare-pth": (tmp_path / "Epoch99.pth", OFFICIAL_TEST_SCALE),
        "bare-safetensors": (tmp_path / "plain.safetensors", OFFICIAL_TEST_SCALE),
    }
    torch.save(sd, cases["bare-pth"][0])
    save_file(sd, str(cases["bare-safetensors"][0]))
    for name, (path, scale) in cases.items():
        entry = store.import_file(path, name=name)
        assert entry.architecture == "Zero-DCE++" and entry.tileable == (scale == 1), name
        assert store.load(name).module.scale_factor == scale, name  # load honours it too, not only import
    assert read_export_info(cases["bare-pth"][0]) is None and read_export_info(cases["bare-safetensors"][0]) is None


def test_options_go_only_to_the_architecture_the_export_names(tmp_path: Path):
    """An export that names another architecture cannot set Zero-DCE++'s options."""
    sd = seeded(ZeroDCEPP(), 5)
    entry = ModelStore().import_file(save_export(tmp_path / "x.safetensors", sd, "Something else",
                                                 {"scale_factor": 1}))
    assert entry.architecture == "Zero-DCE++" and not entry.tileable  # the official factor, 12


@pytest.mark.parametrize("options", ["{not json", "[1, 2]"])
def test_damaged_export_metadata_is_a_clear_error_and_imports_nothing(tmp_path: Path, options: str):
    path = save_export(tmp_path / "bad.safetensors", seeded(ZeroDCEPP(), 6), "Zero-DCE++", options)
    store = ModelStore()
    with pytest.raises(CheckpointError, match="damaged metadata"):
        store.import_file(path)
    assert store.list() == [] and [p.name for p in store.root.iterdir() if p.name != "manifest.json"] == []


def test_layout_mismatch_names_missing_unexpected_and_reshaped_tensors():
    from core.archs.spec import layout_mismatch, layout_of, matches_layout

    expected = layout_of(ZeroDCEPP(scale_factor=1))
    state = dict(ZeroDCEPP(scale_factor=1).state_dict())
    assert layout_mismatch(state, expected) == "" and matches_layout(state, expected)
    first, second = sorted(expected)[:2]
    del state[first]
    state["extra.weight"] = torch.zeros(1)
    state[second] = torch.zeros(7, 7)
    text = layout_mismatch(state, expected)
    assert f"1 tensors missing (e.g. {first})" in text
    assert "1 unexpected (e.g. extra.weight)" in text
    assert f"shapes differ for {second} (7, 7) vs {expected[second]}" in text
    assert not matches_layout(state, expected)
