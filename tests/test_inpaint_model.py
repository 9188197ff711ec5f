"""Learned inpainting models (ModelEngine) meet photos through the same strategy as the built-in fills:
around each painted area by default, or the whole photo reduced or at full size; only hole pixels change.
LaMa and MAT come from the store through spandrel's masked-image descriptor (seeded spandrel classes, made
small), with their size rules: LaMa a multiple of 8, MAT 512 x 512."""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from core.archs.spec import ArchSpec
from core.engines.model_engine import ModelEngine
from core.engines.request import EngineRequest
from core.models.descriptor import MaskInput, SizeRule
from core.photo import Photo
from core.store import ModelStore
from core.tensors import ZERO_ONE, from_model, to_model


class _GreyFill(nn.Module):
    """Fills holes (1 = fill) with mid-grey and records the input sizes it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.grey_fill = nn.Parameter(torch.full((1,), 0.5))
        self.sizes: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        self.sizes.append((int(x.shape[2]), int(x.shape[3])))
        return x * (1 - hole) + self.grey_fill * hole


def _engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: SizeRule) -> ModelEngine:
    def load(sd):
        net = _GreyFill()
        net.load_state_dict(sd)
        return spec.describe(net, size=size, mask=MaskInput("hole", False, "argument"),
                             forward=lambda m, x, hole: m(x, hole))

    spec = ArchSpec("GreyFill", "inpaint", "MIT", ZERO_ONE, ZERO_ONE, detect=lambda sd: "grey_fill" in sd, load=load)
    monkeypatch.setattr("core.archs.identify.own_architectures", lambda: [spec])
    torch.save(_GreyFill().state_dict(), tmp_path / "grey.pth")
    store = ModelStore()
    return ModelEngine(store.import_file(tmp_path / "grey.pth"), store, device="cpu")


@pytest.mark.parametrize("size", [SizeRule("whole", multiple_of=8), SizeRule("crop", fixed=64)],
                         ids=["natural size", "fixed 64"])
@pytest.mark.parametrize("strategy", ["crop", "resize", "original"])
def test_a_masked_model_changes_only_hole_pixels_in_every_strategy(size, strategy, tmp_path, monkeypatch, rng):
    engine = _engine(tmp_path, monkeypatch, size)
    assert [p.name for p in engine.params][:3] == ["strategy", "context", "working_size"]
    assert engine.param("strategy").default == "crop"
    photo = Photo(rgb=rng.random((150, 210, 3), dtype=np.float32), alpha=rng.random((150, 210), dtype=np.float32))
    mask = np.zeros((150, 210), np.uint8)
    mask[0:20, 0:30] = 255  # on the corner
    mask[90:120, 150:190] = 255
    params = {"strategy": strategy, "context": 16, "working_size": 96, "feather": 0}
    result = engine.run(EngineRequest(photo, mask, params=params))
    out, keep = result.photo.rgb, mask == 0
    assert np.array_equal(out[keep], photo.rgb[keep]) and np.array_equal(result.photo.alpha, photo.alpha)
    assert np.abs(out[~keep] - 0.5).max() < 1e-4  # the model's fill, not a blend with what was under the hole
    sizes = engine.descriptor().module.sizes
    if strategy == "crop":
        assert len(sizes) == 2 and all(h * w < 100 * 100 for h, w in sizes)  # two small pieces
    if size.fixed is not None:
        assert set(sizes) == {(64, 64)} and any("64 x 64" in n for n in result.notes)


def test_an_empty_mask_returns_the_photo_without_running_the_model(tmp_path, monkeypatch, rng):
    engine = _engine(tmp_path, monkeypatch, SizeRule("whole", multiple_of=8))
    photo = Photo(rgb=rng.random((30, 40, 3), dtype=np.float32))
    result = engine.run(EngineRequest(photo, np.zeros((30, 40), np.uint8)))
    assert result.photo is photo and result.notes == ["The mask is empty: nothing to fill."]
    assert engine._descriptor is None  # never loaded


def test_a_learned_fill_fades_in_over_the_feather_inside_the_mask(tmp_path, monkeypatch, rng):
    engine = _engine(tmp_path, monkeypatch, SizeRule("whole", multiple_of=8))
    assert engine.param("feather").default == 3  # a learned fill fades in over 3 px inside the mask
    photo = Photo(rgb=rng.random((64, 80, 3), dtype=np.float32))
    mask = np.zeros((64, 80), np.uint8)
    mask[20:44, 30:60] = 255
    out = engine.run(EngineRequest(photo, mask, params={"feather": 3})).photo.rgb
    keep = mask == 0
    assert np.array_equal(out[keep], photo.rgb[keep])
    assert np.abs(out[32, 45] - 0.5).max() < 1e-5  # deep inside: the network's fill
    np.testing.assert_allclose(out[20, 45], photo.rgb[20, 45] + 0.25 * (0.5 - photo.rgb[20, 45]), atol=1e-5)


# ----- LaMa and MAT through spandrel ------------------------------------------------------------------------

@pytest.fixture
def small_lama(monkeypatch: pytest.MonkeyPatch):
    """spandrel's own LaMa (its loader, wrapper and FFC generator) with a generator small enough for a test."""
    arch = importlib.import_module("spandrel.architectures.LaMa.__arch.LaMa")
    monkeypatch.setattr(arch, "FFCResNetGenerator", functools.partial(arch.FFCResNetGenerator, ngf=8, n_blocks=1))
    torch.manual_seed(0)
    return arch.LaMa(in_nc=4, out_nc=3).eval()


def _hooked(store: ModelStore, name: str) -> tuple[ModelEngine, list[tuple[int, int]]]:
    engine = ModelEngine(store.get(name), store, device="cpu")
    shapes: list[tuple[int, int]] = []
    engine.descriptor().module.register_forward_pre_hook(lambda _m, args: shapes.append(tuple(args[0].shape[2:])))
    return engine, shapes


def test_lama_is_identified_by_spandrel_and_fills_at_multiples_of_8(small_lama, tmp_path, rng):
    net = small_lama
    # the official big-lama checkpoint names its keys generator.model.*: spandrel's loader renames them
    torch.save({k.replace("model.model", "generator.model"): v for k, v in net.state_dict().items()},
               tmp_path / "big-lama.pth")
    store = ModelStore()
    entry = store.import_file(tmp_path / "big-lama.pth")
    facts = entry.facts
    assert (entry.architecture, facts.purpose) == ("LaMa", "inpaint")
    assert (facts.mask.polarity, facts.mask.passed_as, facts.mask.premultiplied) == ("hole", "argument", False)
    assert (facts.size.strategy, facts.size.multiple_of, facts.size.fixed) == ("crop", 8, None)
    engine, shapes = _hooked(store, entry.name)
    assert engine.param("strategy").default == "crop" and engine.requirements.needs_mask
    photo = Photo(rgb=rng.random((72, 100, 3), dtype=np.float32), alpha=rng.random((72, 100), dtype=np.float32))
    mask = np.zeros((72, 100), np.uint8)
    mask[0:11, 0:13] = 255  # on the corner: its piece is 11 + 4 by 13 + 4, padded to 16 x 24
    mask[40:61, 60:83] = 255
    result = engine.run(EngineRequest(photo, mask, params={"context": 4}))
    keep = mask == 0
    assert np.array_equal(result.photo.rgb[keep], photo.rgb[keep]) and np.array_equal(result.photo.alpha, photo.alpha)
    assert len(shapes) == 2 and all(h % 8 == 0 and w % 8 == 0 for h, w in shapes), shapes
    assert not np.array_equal(result.photo.rgb[~keep], photo.rgb[~keep])
    # the whole photo at a multiple of 8, no feather: exactly what the network gives for the photo
    whole = Photo(rgb=photo.rgb[:64, :96].copy())
    out = engine.run(EngineRequest(whole, mask[:64, :96], params={"strategy": "original", "feather": 0})).photo.rgb
    with torch.no_grad():
        hole = torch.from_numpy((mask[:64, :96] > 0).astype(np.float32))[None, None]
        expected = from_model(net(to_model(whole.rgb, ZERO_ONE), hole), ZERO_ONE)
    sel = mask[:64, :96] > 0
    np.testing.assert_allclose(out[sel], expected[sel], atol=1e-4)
    assert shapes[-1] == (64, 96)


class _TinyMAT(nn.Module):
    """Stands in for spandrel's MAT wrapper (its real generator takes a minute per image on a CPU): the keys of
    MAT's first layer, the latent z and label the wrapper keeps, and its call, (image, mask 1 = fill). Fills
    the hole with grey plus a trace of z, so the latent's device and value matter."""

    def __init__(self) -> None:
        super().__init__()
        conv = nn.Module()
        conv.weight = nn.Parameter(torch.zeros(1))
        conv.register_buffer("resample_filter", torch.ones(4, 4) / 16)
        first = nn.Module()
        first.conv = conv
        stage = nn.Module()
        stage.conv_first = first
        synthesis = nn.Module()
        synthesis.first_stage = stage
        self.model = nn.Module()
        self.model.synthesis = synthesis
        self.z = torch.from_numpy(np.random.randn(1, 8))
        self.label = torch.zeros([1, 0])

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        grey = 0.5 + self.model.synthesis.first_stage.conv_first.conv.weight + 1e-3 * self.z.to(image).mean()
        return image * (1 - mask) + grey * mask


def test_mat_is_identified_by_spandrel_and_fills_each_area_at_512_square(monkeypatch, tmp_path, rng):
    from core.archs.spandrel_adapter import MAT_SEED, install_extra_arches

    install_extra_arches()
    monkeypatch.setattr(importlib.import_module("spandrel_extra_arches.architectures.MAT"), "MAT", _TinyMAT)
    # the official checkpoint's keys start at synthesis.* (spandrel's loader puts them under model.)
    sd = {k.removeprefix("model."): v for k, v in _TinyMAT().state_dict().items()}
    torch.save(sd, tmp_path / "Places_512_FullData_G.pth")
    store = ModelStore()
    entry = store.import_file(tmp_path / "Places_512_FullData_G.pth")
    assert (entry.architecture, entry.facts.size.fixed, entry.facts.mask.polarity) == ("MAT", 512, "hole")
    engine, shapes = _hooked(store, entry.name)
    assert engine.requirements.square
    module = engine.descriptor().module
    z = dict(module.named_buffers())["z"]  # a buffer: it follows the network to the GPU
    np.testing.assert_array_equal(z.numpy(), np.random.RandomState(MAT_SEED).randn(1, 8))
    photo = Photo(rgb=rng.random((300, 700, 3), dtype=np.float32))  # smaller than 512 on one side
    mask = np.zeros((300, 700), np.uint8)
    mask[280:300, 10:60] = 255  # on the border
    mask[100:180, 400:600] = 255
    result = engine.run(EngineRequest(photo, mask, params={"feather": 0}))
    keep = mask == 0
    assert np.array_equal(result.photo.rgb[keep], photo.rgb[keep])
    assert shapes == [(512, 512), (512, 512)]  # each painted area on its own, at MAT's fixed size
    grey = 0.5 + 1e-3 * float(z.mean())
    assert np.abs(result.photo.rgb[~keep] - grey).max() < 2e-3
    assert any("512 x 512" in n for n in result.notes)
