"""LBAM (core.archs.lbam): the released generator's layout, the call at its boundary (mask polarity, the
reverse branch, paste-back), the clamped attention scalars, identification and an inpaint engine run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core.archs.identify import UnknownArchitectureError, identify
from core.archs.lbam import ARCH_SPEC, LBAM, MULTIPLE, expected_layout, lbam_forward, load_descriptor
from core.archs.lbam_layers import GAUSS_CLAMPS, AsymmetricGaussian, attention_layers
from core.engines.model_engine import ModelEngine
from core.engines.request import EngineRequest
from core.photo import Photo
from core.store import ModelStore

LAYOUT = Path(__file__).parent / "data" / "lbam_generator_layout.json"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(seed: int = 0) -> LBAM:
    torch.manual_seed(seed)
    return LBAM(base=4).eval()


def test_layout_is_the_released_generator_key_for_key():
    data = json.loads(LAYOUT.read_text())
    official = {key: tuple(shape) for key, shape, _dtype in data["tensors"]}
    ours = expected_layout()  # LBAM(4, 3) on the meta device
    assert list(ours) == list(official)
    assert ours == official
    with torch.device("meta"):
        params = sum(p.numel() for p in LBAM().parameters())
    assert params == data["params"] == 68_304_948
    assert len(attention_layers(LBAM(base=1))) == 13  # 7 forward + 6 reverse


def test_descriptor_facts():
    desc = load_descriptor(tiny().state_dict())
    f = desc.facts
    assert (f.architecture, f.purpose, f.input_range, f.output_range) == ("LBAM", "inpaint", (0.0, 1.0), (0.0, 1.0))
    assert (f.mask.polarity, f.mask.premultiplied, f.mask.passed_as) == ("known", True, "argument")
    assert (f.size.strategy, f.size.multiple_of, f.image_channels) == ("crop", MULTIPLE, 3)
    assert not f.supports_half
    assert MULTIPLE == 128  # seven stride-2 encoder layers


def test_the_network_gets_the_released_inputs_and_the_known_pixels_stay(rng: np.random.Generator):
    """Restora's hole map (1 = fill) becomes LBAM's known map at the boundary: the first layer sees
    cat(image * known, known[:1]), the mask layers see known on 3 channels, the reverse branch 1 - known."""
    desc = load_descriptor(tiny().state_dict())
    seen: dict[str, torch.Tensor] = {}

    def grab(name: str):
        def hook(module: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            seen[name] = args[0].detach().clone()
        return hook

    net = desc.module
    net.get_submodule("ec1.conv.conv").register_forward_pre_hook(grab("image"))
    net.get_submodule("ec1.conv.maskConv").register_forward_pre_hook(grab("mask"))
    net.get_submodule("reverseConv1.reverseMaskConv").register_forward_pre_hook(grab("reverse"))
    image = torch.rand(1, 3, 128, 256, generator=torch.Generator().manual_seed(3))
    hole = torch.zeros(1, 1, 128, 256)
    hole[:, :, 30:90, 40:200] = 1
    with torch.no_grad():
        out = desc(image, hole)
    known = 1 - hole
    assert torch.equal(seen["image"], torch.cat([image * known, known], 1))
    assert torch.equal(seen["mask"], known.expand(-1, 3, -1, -1))
    assert torch.equal(seen["reverse"], (1 - known).expand(-1, 3, -1, -1))
    keep = known.expand(-1, 3, -1, -1) > 0
    assert torch.equal(out[keep], image[keep])  # pasted back: known pixels are the input's
    assert not torch.allclose(out[~keep], image[~keep])
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_the_attention_scalars_are_clamped_in_the_forward():
    net = tiny()
    outside = {"a": (0.2, 9.0), "mu": (-1.0, 5.0), "sigma1": (0.01, 7.0), "sigma2": (0.1, 3.0)}
    layers = attention_layers(net)
    with torch.no_grad():
        for i, layer in enumerate(layers):
            for name, (low, high) in outside.items():
                getattr(layer, name).fill_(low if i % 2 else high)
    x = torch.rand(1, 4, 128, 128)
    m = torch.ones(1, 3, 128, 128)
    with torch.no_grad():
        clamped_out = net(x, m)
    for i, layer in enumerate(layers):
        for name, (lo, hi) in GAUSS_CLAMPS.items():
            assert getattr(layer, name).item() == pytest.approx(lo if i % 2 else hi)
    # The forward used the clamped values: a second call (nothing left to clamp) gives the same image.
    with torch.no_grad():
        assert torch.equal(net(x, m), clamped_out)


def test_asymmetric_gaussian_shape():
    g = AsymmetricGaussian(2.5, 1.0, 1.0, 0.5)
    x = torch.tensor([-50.0, 0.0, 1.0, 2.0, 50.0])
    with torch.no_grad():
        y = g(x).tolist()
    assert y[2] == pytest.approx(2.5)  # the peak a at mu
    assert y[0] == pytest.approx(0.0, abs=1e-6)  # left of mu it falls to 0
    assert y[4] == pytest.approx(1.0, abs=1e-6)  # right of mu it settles at 1
    assert y[1] == pytest.approx(2.5 * np.exp(-1.0))
    assert y[3] == pytest.approx(1 + 1.5 * np.exp(-0.5))


def test_sides_must_be_multiples_of_128():
    with pytest.raises(ValueError, match="multiples of 128"):
        tiny()(torch.rand(1, 4, 128, 100), torch.ones(1, 3, 128, 100))


def test_identified_first_and_wrong_checkpoints_refused_with_reasons(tmp_path: Path):
    sd = tiny().state_dict()
    ident = identify(sd)
    assert (ident.descriptor.facts.architecture, ident.identified_by) == ("LBAM", "restora")
    from core.archs.zero_dce import ZeroDCE

    with pytest.raises(ValueError, match="not an LBAM generator"):
        ARCH_SPEC.load(ZeroDCE().state_dict())  # another family, loaded as LBAM
    assert identify(ZeroDCE().state_dict()).descriptor.facts.architecture == "Zero-DCE"
    bad = dict(sd)
    bad["ec3.conv.conv.weight"] = torch.zeros(16, 9, 4, 4)
    with pytest.raises(UnknownArchitectureError, match=r"LBAM.*ec3\.conv\.conv\.weight \(16, 9, 4, 4\) vs "
                                                       r"\(16, 8, 4, 4\)"):
        identify(bad)
    partial = {k: v for k, v in sd.items() if not k.startswith("dc7")}
    with pytest.raises(UnknownArchitectureError, match=r"LBAM.*missing \(e\.g\. dc7\.weight\)"):
        identify(partial)
    torch.save(bad, tmp_path / "bad.pth")  # the store refuses it with the same reason and keeps nothing
    with pytest.raises(UnknownArchitectureError, match=r"bad\.pth is not usable: it looks like LBAM .*ec3"):
        ModelStore().import_file(tmp_path / "bad.pth")
    assert ModelStore().list() == []


def test_checkpoint_imports_into_the_store_and_fills_only_the_hole(tmp_path: Path, rng: np.random.Generator):
    net = tiny(seed=5)
    torch.save(net.state_dict(), tmp_path / "lbam.pth")
    store = ModelStore()
    entry = store.import_file(tmp_path / "lbam.pth")
    assert (entry.architecture, entry.task, entry.identified_by) == ("LBAM", "inpaint", "restora")
    engine = ModelEngine(entry, store, device="cpu")
    assert engine.requirements.needs_mask
    h, w = 75, 93  # odd sizes: the crop is padded to 128 x 128 and cropped back
    rgb = rng.random((h, w, 3), dtype=np.float32)
    mask = np.zeros((h, w), np.uint8)
    mask[20:50, 30:70] = 255
    out = engine.run(EngineRequest(Photo(rgb=rgb), mask, params={"feather": 0})).photo.rgb
    keep = mask == 0
    assert out.shape == rgb.shape
    assert np.array_equal(out[keep], rgb[keep])
    assert not np.allclose(out[~keep], rgb[~keep], atol=1e-3)
    # The default context (64 px) takes the whole photo as the crop; padding reflects it to 128 x 128.
    padded = np.pad(rgb, ((0, 128 - h), (0, 128 - w), (0, 0)), mode="reflect")
    hole = np.pad((mask > 0).astype(np.float32), ((0, 128 - h), (0, 128 - w)), mode="reflect")
    x = torch.from_numpy(padded.transpose(2, 0, 1).copy())[None]
    known = 1 - torch.from_numpy(hole)[None, None]
    with torch.no_grad():
        expected = lbam_forward(net, x * known, known)[0, :, :h, :w].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out[~keep], expected[~keep], atol=1e-5)


def test_an_imported_lbam_runs_as_an_inpaint_engine_through_the_registry(tmp_path: Path, rng: np.random.Generator):
    from core.engines.model_engine import engine_id
    from core.engines.registry import default_registry

    torch.save(tiny(seed=2).state_dict(), tmp_path / "places.pth")
    store = ModelStore()
    entry = store.import_file(tmp_path / "places.pth")
    registry = default_registry(store=store)
    listed = {e.id: e for e in registry.list("inpaint")}
    assert engine_id(entry) in listed and listed[engine_id(entry)].requirements.needs_mask
    engine = registry.create(engine_id(entry), device="cpu")
    rgb = rng.random((140, 200, 3), dtype=np.float32)  # neither side a multiple of 128
    mask = np.zeros((140, 200), np.uint8)
    mask[0:30, 150:200] = 255  # touching the border
    out = engine.run(EngineRequest(Photo(rgb=rgb), mask)).photo.rgb
    assert out.shape == rgb.shape and np.array_equal(out[mask == 0], rgb[mask == 0])
    assert not np.allclose(out[mask > 0], rgb[mask > 0], atol=1e-3)
