"""The model tier's contracts: the descriptor's facts (required ranges, JSON round trip), the range guard in
both directions, masks converted only at the model's boundary, runtime parameters as engine parameters,
the crop strategy for fixed-size face and inpainting models, training exports checked against their spec,
and store models serving the built-in engines as weight choices."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from core.archs.identify import ExportMismatchError
from core.archs.spandrel_adapter import FACE_QUIRKS
from core.archs.spec import ArchSpec
from core.archs.zero_dce_pp import ZeroDCEPP
from core.engines.lowlight.learned import DEFAULT_CHOICE, ZeroDCEEngine, ZeroDCEPPEngine
from core.engines.model_engine import FaceModelNeedsFaceEngineError, ModelEngine
from core.engines.registry import default_registry
from core.engines.request import EngineRequest
from core.errors import ValueRangeError
from core.models.checkpoints import EXPORT_FORMAT
from core.models.descriptor import MaskInput, ModelDescriptor, ModelFacts, SizeRule
from core.models.runner import run_model
from core.params import Param
from core.photo import Photo
from core.regions import Region
from core.store import ModelStore
from core.tensors import MINUS_ONE_ONE, ZERO_ONE, RangeMismatchWarning, check_output_range, from_model, to_model


def _facts(**kw) -> ModelFacts:
    values = dict(architecture="T", purpose="general", input_range=ZERO_ONE, output_range=ZERO_ONE,
                  size=SizeRule("tile"))
    values.update(kw)
    return ModelFacts(**values)


# ----- facts and the normalization contract ---------------------------------------------------------------

def test_facts_need_their_value_ranges_and_survive_the_manifest():
    with pytest.raises(TypeError):
        ModelFacts(architecture="T", purpose="general", size=SizeRule("tile"))  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        _facts(input_range=(0.0, 255.0))
    facts = _facts(purpose="inpaint", input_range=MINUS_ONE_ONE, output_range=MINUS_ONE_ONE,
                   size=SizeRule("crop", multiple_of=8, minimum=16, fixed=None),
                   mask=MaskInput("known", True, "argument"), supports_bfloat16=True,
                   runtime_params=(Param("w", "float", 0.5, "weight", min=0.0, max=1.0),), parameters=42)
    assert ModelFacts.from_json(json.loads(json.dumps(facts.to_json()))) == facts


def test_conversions_take_the_range_explicitly(rng):
    image = rng.random((4, 5, 3), dtype=np.float32)
    with pytest.raises(TypeError):
        to_model(image)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        from_model(torch.zeros(1, 3, 4, 5))  # type: ignore[call-arg]


def test_the_guard_catches_both_wrong_directions(rng):
    dark = torch.from_numpy(rng.random((1, 3, 32, 32), dtype=np.float32) * 0.4)  # a darkish picture in [0, 1]
    as_minus_one_one = dark * 2 - 1
    with pytest.raises(ValueRangeError, match="returns \\(-1, 1\\)"):  # (-1, 1) read as (0, 1)
        check_output_range(as_minus_one_one, ZERO_ONE, strict=True)
    with pytest.raises(ValueRangeError, match="returns \\(0, 1\\)"):  # (0, 1) read as (-1, 1)
        check_output_range(dark, MINUS_ONE_ONE, strict=True, reference=as_minus_one_one)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RangeMismatchWarning)
        assert check_output_range(as_minus_one_one, MINUS_ONE_ONE, reference=as_minus_one_one) is None
        bright = torch.full((1, 3, 32, 32), 0.6)  # a bright (-1, 1) picture of a bright input is fine
        assert check_output_range(bright, MINUS_ONE_ONE, reference=bright) is None
        assert check_output_range(dark, MINUS_ONE_ONE) is None  # without a reference values cannot tell


def test_the_runner_warns_when_a_zero_one_model_is_declared_minus_one_one(rng):
    desc = ModelDescriptor(nn.Identity(), _facts(input_range=ZERO_ONE, output_range=ZERO_ONE),
                           lambda m, x: torch.sigmoid(3 * x))  # a network whose output is (0, 1) ...
    desc.facts = _facts(input_range=MINUS_ONE_ONE, output_range=MINUS_ONE_ONE)  # ... declared (-1, 1)
    with pytest.warns(RangeMismatchWarning, match="washed-out"):
        run_model(desc, rng.random((24, 24, 3), dtype=np.float32) * 0.3, device="cpu", tile=32)


# ----- masks at the model's boundary ----------------------------------------------------------------------

class _Recorder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[torch.Tensor, ...]] = []

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        self.seen.append(tuple(t.clone() for t in inputs))
        return inputs[0][:, :3]


@pytest.mark.parametrize("passed_as", ["channel", "argument"])
def test_a_minus_one_one_masked_model_gets_a_zero_one_mask_in_its_own_polarity(passed_as, rng):
    net = _Recorder()
    facts = _facts(purpose="inpaint", input_range=MINUS_ONE_ONE, output_range=MINUS_ONE_ONE,
                   size=SizeRule("whole", multiple_of=4), mask=MaskInput("known", True, passed_as))
    desc = ModelDescriptor(net, facts, lambda m, x, *rest: m(x, *rest))
    image = rng.random((8, 12, 3), dtype=np.float32)
    mask = np.zeros((8, 12), np.uint8)
    mask[2:5, 3:9] = 255  # Restora's mask: 255 = fill
    run_model(desc, image, mask=mask, device="cpu")
    inputs = net.seen[0]
    x, known = (inputs[0][:, :3], inputs[0][:, 3:]) if passed_as == "channel" else inputs
    hole = torch.from_numpy(mask > 0)[None, None]
    assert set(torch.unique(known).tolist()) == {0.0, 1.0}  # never -1/+1: the mask is not an image
    assert torch.equal(known, (~hole).float())  # the network's polarity: 1 = known
    assert torch.all(x[:, :, hole[0, 0]] == 0)  # premultiplied: holes are zero in the network's range
    assert torch.allclose(x[:, :, ~hole[0, 0]], (to_model(image, MINUS_ONE_ONE) * (~hole))[:, :, ~hole[0, 0]])


# ----- runtime parameters, and the crop strategy ----------------------------------------------------------

class _FaceNet(nn.Module):
    """A stand-in fixed-size face restorer: brightens by `amount`, its runtime parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.face_scale = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor, amount: float = 0.1) -> torch.Tensor:
        return (x * self.face_scale + amount).clamp(-1, 1)


AMOUNT = Param("amount", "float", 0.1, "How much to brighten.", min=0.0, max=1.0)


def _face_spec() -> ArchSpec:
    def load(sd):
        net = _FaceNet()
        net.load_state_dict(sd)
        return spec.describe(net, size=SizeRule("crop", fixed=64), runtime_params=(AMOUNT,),
                             forward=lambda m, x, amount=0.1: m(x, amount))

    spec = ArchSpec("TinyFace", "face", "MIT", MINUS_ONE_ONE, MINUS_ONE_ONE,
                    detect=lambda sd: "face_scale" in sd, load=load)
    return spec


def test_runtime_parameters_are_engine_parameters_and_faces_are_cropped_and_pasted(
        tmp_path: Path, rng, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("core.archs.identify.own_architectures", lambda: [_face_spec()])
    torch.save(_FaceNet().state_dict(), tmp_path / "face.pth")
    store = ModelStore()
    entry = store.import_file(tmp_path / "face.pth")
    engine = ModelEngine(entry, store, device="cpu")
    assert engine.task == "face" and [p.name for p in engine.params] == ["amount", "precision"]
    photo = Photo(rgb=rng.random((120, 160, 3), dtype=np.float32) * 0.5)
    with pytest.raises(FaceModelNeedsFaceEngineError, match="Draw a box"):
        engine.run(EngineRequest(photo))
    box = (60.0, 30.0, 40.0, 40.0)
    out = engine.run(EngineRequest(photo, regions=(Region(box),), params={"amount": 0.4})).photo.rgb
    weak = engine.run(EngineRequest(photo, regions=(Region(box),), params={"amount": 0.05})).photo.rgb
    changed = np.any(out != photo.rgb, axis=2)
    ys, xs = np.nonzero(changed)
    # the box and the context margin around it (a quarter of its size on each side), nothing else
    assert changed.any() and xs.min() >= 48 and xs.max() <= 112 and ys.min() >= 18 and ys.max() <= 82
    assert out[50, 80].mean() > weak[50, 80].mean() + 0.1  # the parameter reached the network
    gain = (out - photo.rgb).mean(axis=2)
    centre, edge = gain[45:55, 75:85].mean(), gain[20:22, 60:100].mean()  # edge: the crop's first rows
    assert centre > 0.15 and abs(edge) < 0.3 * centre  # feathered towards the crop's edge: no hard rectangle


def test_codeformer_fidelity_is_a_runtime_parameter():
    quirk = FACE_QUIRKS["CodeFormer"]
    assert [p.name for p in quirk.runtime_params] == ["fidelity"]
    calls: list[dict] = []

    class Fake(nn.Module):
        def forward(self, x, **kwargs):
            calls.append(kwargs)
            return x, None, None

    quirk.forward(Fake(), torch.zeros(1, 3, 4, 4), fidelity=0.8)
    assert calls == [{"weight": 0.8}]


class _MaskedNet(nn.Module):
    """A stand-in MAT: 64 x 64 only, fills holes (1 = fill, passed separately) with mid-grey."""

    def __init__(self) -> None:
        super().__init__()
        self.masked_gain = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        return x * (1 - hole) + 0.5 * hole * self.masked_gain


def test_a_fixed_size_inpainting_model_fills_only_the_holes_of_a_large_photo(
        tmp_path: Path, rng, monkeypatch: pytest.MonkeyPatch):
    def load(sd):
        net = _MaskedNet()
        net.load_state_dict(sd)
        return spec.describe(net, size=SizeRule("crop", fixed=64), mask=MaskInput("hole", False, "argument"),
                             forward=lambda m, x, hole: m(x, hole))

    spec = ArchSpec("TinyMAT", "inpaint", "MIT", ZERO_ONE, ZERO_ONE, detect=lambda sd: "masked_gain" in sd, load=load)
    monkeypatch.setattr("core.archs.identify.own_architectures", lambda: [spec])
    torch.save(_MaskedNet().state_dict(), tmp_path / "mat.pth")
    store = ModelStore()
    engine = ModelEngine(store.import_file(tmp_path / "mat.pth"), store, device="cpu")
    photo = Photo(rgb=rng.random((300, 420, 3), dtype=np.float32))
    mask = np.zeros((300, 420), np.uint8)
    mask[40:70, 50:90] = 255
    mask[200:260, 300:380] = 255
    result = engine.run(EngineRequest(photo, mask, params={"context": 16}))
    out = result.photo.rgb
    keep = mask == 0
    assert np.array_equal(out[keep], photo.rgb[keep])  # bit-identical outside the holes
    assert np.abs(out[~keep] - 0.5).mean() < 0.05  # the holes got the model's fill
    assert any("64 x 64" in n for n in result.notes)


# ----- training exports checked against their spec --------------------------------------------------------

def _export(path: Path, architecture: str, options: dict, value_range: str = "[0.0, 1.0]") -> Path:
    sd = {k: v.clone() for k, v in ZeroDCEPP().state_dict().items()}
    save_file(sd, str(path), metadata={"format": EXPORT_FORMAT, "architecture": architecture, "preset": "t",
                                       "task": "lowlight", "input_range": value_range, "output_range": value_range,
                                       "options": json.dumps(options)})
    return path


def test_an_export_whose_metadata_contradicts_its_spec_is_refused(tmp_path: Path):
    store = ModelStore()
    with pytest.raises(ExportMismatchError, match="options it does not take"):
        store.import_file(_export(tmp_path / "a.safetensors", "Zero-DCE++", {"depth": 3}))
    with pytest.raises(ExportMismatchError, match="works in"):
        store.import_file(_export(tmp_path / "b.safetensors", "Zero-DCE++", {}, "[-1.0, 1.0]"))
    assert store.list() == []
    entry = store.import_file(_export(tmp_path / "c.safetensors", "Something", {"scale_factor": 1}))
    assert entry.architecture == "Zero-DCE++" and any("options were ignored" in n for n in entry.notes)


# ----- store models serve the built-in engines ------------------------------------------------------------

def test_store_models_become_weight_choices_of_the_built_in_engine(tmp_path: Path, rng):
    store = ModelStore()
    torch.manual_seed(3)
    net = ZeroDCEPP()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    torch.save(net.state_dict(), tmp_path / "Epoch99.pth")
    entry = store.import_file(tmp_path / "Epoch99.pth", name="official-pp")
    engine = ZeroDCEPPEngine(device="cpu", store=store)
    weights = engine.param("weights")
    assert weights is not None and weights.choices == (DEFAULT_CHOICE, "official-pp")
    photo = Photo(rgb=rng.random((24, 32, 3), dtype=np.float32) * 0.2)
    shipped = engine.run(EngineRequest(photo)).photo.rgb
    imported = engine.run(EngineRequest(photo, params={"weights": "official-pp"})).photo.rgb
    assert not np.allclose(shipped, imported, atol=1e-3)  # another network ran
    registry = default_registry(store=store)
    assert f"model.{entry.name}" not in registry  # no second, lesser engine for the same model
    assert "official-pp" in registry.get("lowlight.zero_dce_pp").param("weights").choices


def test_zero_dce_is_offered_once_its_official_weights_are_imported(tmp_path: Path, monkeypatch, rng):
    from core.archs.zero_dce import ZeroDCE
    from core.engines.lowlight import learned

    monkeypatch.setattr(learned, "default_weights_dir", lambda: tmp_path / "no-weights")  # none ship
    store = ModelStore()
    assert ZeroDCEEngine(store=store).unavailable() is not None
    assert "lowlight.zero_dce" not in [e.id for e in default_registry(store=store).available()]
    torch.save(ZeroDCE().state_dict(), tmp_path / "Epoch99.pth")
    store.import_file(tmp_path / "Epoch99.pth", name="zero-dce")
    registry = default_registry(store=store)
    engine = registry.create("lowlight.zero_dce", device="cpu")
    assert engine.unavailable() is None and "lowlight.zero_dce" in [e.id for e in registry.available()]
    assert {"strength", "max_brightness", "white_balance"} <= {p.name for p in engine.params}
    out = engine.run(EngineRequest(Photo(rgb=rng.random((16, 20, 3), dtype=np.float32) * 0.2)))
    assert out.photo.rgb.shape == (16, 20, 3)
