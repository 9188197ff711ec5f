"""GPEN: the official GPEN-BFR-512 / -256 layouts match ours key for key (meta device, nothing allocated), the
layers compute the official maths, a small seeded GPEN imports into the model store and runs through its
descriptor deterministically, and other families' checkpoints are not claimed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.archs import gpen
from core.archs.gpen import GPEN, OFFICIAL, channel_table
from core.archs.gpen_layers import ModulatedConv2d, fused_leaky_relu, make_kernel, upfirdn2d
from core.archs.identify import identify, own_architectures
from core.archs.image_unet import ImageUNet
from core.archs.spec import layout_mismatch, layout_of
from core.archs.zero_dce import ZeroDCE
from core.store import ModelStore
from core.tensors import MINUS_ONE_ONE, from_model, to_model

DATA = Path(__file__).parent / "data"
SMALL = {"size": 64, "style_dim": 32, "n_mlp": 2, "channel_multiplier": 1, "narrow": 1 / 16}


def official_layout(size: int) -> dict:
    return json.loads((DATA / f"gpen_bfr_{size}_layout.json").read_text())


def meta_state_dict(rows: list) -> dict[str, torch.Tensor]:
    return {key: torch.empty(shape, device="meta") for key, shape, _ in rows}


def small_gpen(seed: int = 0, **changes) -> GPEN:
    torch.manual_seed(seed)
    net = GPEN(**{**SMALL, **changes})
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("noise.weight"):  # they start at 0 (officially): give the encoder's features a say
                p.fill_(0.1)
            elif "to_rgb" in name and name.endswith("conv.weight"):  # keep random outputs mostly in [-1, 1]
                p.mul_(0.25)
    return net.eval()


# ------------------------------------------------------------------------------------- official layouts

@pytest.mark.parametrize("size", [512, 256])
def test_official_layout_matches_key_for_key_in_file_order(size):
    layout = official_layout(size)
    with torch.device("meta"):
        net = GPEN(**OFFICIAL[size])
    ours = [(k, list(shape)) for k, shape in layout_of(net).items()]
    assert ours == [(k, shape) for k, shape, _ in layout["tensors"]]  # every key, shape and buffer, in order
    assert sum(p.numel() for p in net.parameters()) == layout["params"]
    assert sum(v.numel() for v in net.state_dict().values()) == layout["state_dict_numel"]
    assert len(ours) == layout["n_tensors"]


@pytest.mark.parametrize("size", [512, 256])
def test_official_layout_is_recognised_as_gpen_and_by_nothing_else(size):
    sd = meta_state_dict(official_layout(size)["tensors"])
    claims = [s.name for s in own_architectures() if s.detect(sd)]
    assert claims == ["GPEN"]
    shape = gpen._shape(sd)
    assert shape is not None and shape["size"] == size
    assert shape["channels"] == channel_table(size, OFFICIAL[size]["channel_multiplier"], OFFICIAL[size]["narrow"])
    assert (shape["style_dim"], shape["n_mlp"]) == (512, 8)


@pytest.mark.parametrize("changes", [{}, {"size": 128, "channel_multiplier": 2}, {"size": 32, "narrow": 1 / 32},
                                     {"size": 64, "style_dim": 16, "n_mlp": 3}])
def test_other_sizes_and_widths_are_read_off_the_shapes(changes):
    config = {**SMALL, **changes}
    with torch.device("meta"):
        sd = GPEN(**config).state_dict()
    assert gpen.matches_state_dict(sd)
    shape = gpen._shape(sd)
    assert shape is not None and shape["size"] == config["size"] and shape["style_dim"] == config["style_dim"]
    assert shape["channels"] == channel_table(config["size"], config["channel_multiplier"], config["narrow"])


def test_wrong_family_checkpoints_are_not_claimed():
    assert not gpen.matches_state_dict(ZeroDCE().state_dict())
    assert not gpen.matches_state_dict(ImageUNet(base=4, depth=2).state_dict())
    with torch.device("meta"):
        sd = GPEN(**SMALL).state_dict()
    missing = {k: v for k, v in sd.items() if k != "generator.convs.1.noise.weight"}
    assert not gpen.matches_state_dict(missing)
    extra = dict(sd, **{"generator.upsamples.0.kernel": torch.empty(4, 4, device="meta")})
    assert not gpen.matches_state_dict(extra)
    wrong = dict(sd, **{"generator.convs.0.activate.bias": torch.empty(7, device="meta")})
    assert not gpen.matches_state_dict(wrong)
    # the 5-D modulated weights are part of the layout: a 4-D one is a different network
    flat = dict(sd, **{"generator.conv1.conv.weight": sd["generator.conv1.conv.weight"][0]})
    assert not gpen.matches_state_dict(flat)


# ------------------------------------------------------------------------------------------- the maths

def _naive_upfirdn(x: torch.Tensor, k: torch.Tensor, up: int, down: int, pad: tuple[int, int]) -> torch.Tensor:
    """upfirdn2d written out: zero insertion, padding, a full 2-D convolution, subsampling."""
    n, c, h, w = x.shape
    z = torch.zeros(n, c, h * up, w * up)
    z[:, :, ::up, ::up] = x
    z = F.pad(z, (pad[0], pad[1], pad[0], pad[1]))
    kh, kw = k.shape
    out = torch.zeros(n, c, z.shape[2] - kh + 1, z.shape[3] - kw + 1)
    for i in range(kh):
        for j in range(kw):  # convolution: output (y, x) takes z[y + i, x + j] * k[kh - 1 - i, kw - 1 - j]
            out += z[:, :, i:i + out.shape[2], j:j + out.shape[3]] * k[kh - 1 - i, kw - 1 - j]
    return out[:, :, ::down, ::down]


@pytest.mark.parametrize("up, down, pad", [(1, 1, (1, 1)), (2, 1, (2, 1)), (1, 2, (2, 2)), (1, 2, (1, 1))])
def test_upfirdn2d_is_zero_insertion_padding_convolution_and_subsampling(up, down, pad):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 9, 8, generator=gen)
    k = torch.rand(4, 4, generator=gen)  # not symmetric, so the flip matters
    torch.testing.assert_close(upfirdn2d(x, k, up, down, pad), _naive_upfirdn(x, k, up, down, pad))
    assert torch.allclose(make_kernel((1, 3, 3, 1)).sum(), torch.tensor(1.0))


def test_fused_leaky_relu_is_bias_leaky_relu_and_sqrt2():
    x, b = torch.tensor([[-1.0, 2.0]]), torch.tensor([0.5, -0.5])
    expected = torch.tensor([[-0.5 * 0.2, 1.5]]) * math.sqrt(2)
    torch.testing.assert_close(fused_leaky_relu(x, b), expected)


@pytest.mark.parametrize("b", [1, 3])  # one face (style folded into the weight) and a batch (modulated input)
@pytest.mark.parametrize("upsample, demodulate, k", [(False, True, 3), (True, True, 3), (False, False, 1)])
def test_modulated_conv_equals_the_per_sample_weight_formulation(upsample, demodulate, k, b):
    """The official maths: one weight per sample, scale * w * style, demodulated, as a grouped convolution."""
    torch.manual_seed(0)
    conv = ModulatedConv2d(5, 4, k, 6, demodulate=demodulate, upsample=upsample)
    x, style = torch.randn(b, 5, 8, 8), torch.randn(b, 6)
    s = conv.modulation(style).view(b, 1, 5, 1, 1)
    weight = conv.scale * conv.weight[None] * s  # b x out x in x k x k
    if demodulate:
        weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8).view(b, 4, 1, 1, 1)
    if upsample:
        w_t = weight.transpose(1, 2).reshape(b * 5, 4, k, k)
        ref = F.conv_transpose2d(x.reshape(1, b * 5, 8, 8), w_t, stride=2, groups=b).view(b, 4, 17, 17)
        ref = conv.blur(ref)
    else:
        ref = F.conv2d(x.reshape(1, b * 5, 8, 8), weight.reshape(b * 4, 5, k, k), padding=k // 2,
                       groups=b).view(b, 4, 8, 8)
    out = conv(x, style)
    assert out.shape == ((b, 4, 16, 16) if upsample else (b, 4, 8, 8))
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


def test_forward_is_deterministic_returns_image_and_none_and_uses_the_encoder_features():
    net = small_gpen()
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        out, extra = net(x)
        again, _ = net(x)
        other, _ = net(x.flip(-1))
    assert extra is None and out.shape == (2, 3, 64, 64) and torch.equal(out, again)
    assert not torch.allclose(out, other)  # the image depends on the input (through style and noise maps)
    with pytest.raises(ValueError, match="64 x 64"):
        net(torch.zeros(1, 3, 32, 32))


def test_checkpoints_hold_the_official_five_dimensional_weights_and_load_back():
    net = small_gpen(seed=3)
    sd = net.state_dict()
    assert sd["generator.conv1.conv.weight"].shape == (1, 32, 32, 3, 3)
    again = GPEN(**SMALL)
    again.load_state_dict(sd, strict=True)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), sd.values()))
    assert again.generator.conv1.conv.weight.ndim == 4  # held 4-D (channels-last capable)
    again.to(memory_format=torch.channels_last)  # the trainer does this; a 5-D parameter would refuse


# ------------------------------------------------------------------------------------------ the store

def test_a_seeded_small_gpen_imports_into_the_store_and_runs_through_its_descriptor(tmp_path):
    net = small_gpen(seed=7)
    path = tmp_path / "GPEN-small-64.pth"
    torch.save(net.state_dict(), path)

    store = ModelStore()
    entry = store.import_file(path, name="gpen-small")
    assert entry.architecture == "GPEN" and entry.identified_by == "restora" and entry.task == "face"
    desc = store.load("gpen-small")
    facts = desc.facts
    assert facts.purpose == "face" and facts.input_range == MINUS_ONE_ONE and facts.output_range == MINUS_ONE_ONE
    assert facts.size.strategy == "crop" and facts.size.fixed == 64
    assert facts.face_template == "gpen" and facts.supports_half
    assert facts.parameters == sum(p.numel() for p in net.parameters())

    rng = np.random.default_rng(0)
    crop = rng.random((64, 64, 3)).astype(np.float32)
    with torch.no_grad():
        first = from_model(desc(to_model(crop, facts.input_range)), facts.output_range)
        second = from_model(desc(to_model(crop, facts.input_range)), facts.output_range)
        direct = net(to_model(crop, MINUS_ONE_ONE))[0]
    assert first.shape == (64, 64, 3) and first.dtype == np.float32 and np.array_equal(first, second)
    assert 0.0 <= first.min() and first.max() <= 1.0
    np.testing.assert_allclose(first, np.clip((direct[0].permute(1, 2, 0).numpy() + 1) / 2, 0, 1), atol=1e-6)


def test_identify_builds_the_official_shape_from_options_and_refuses_contradictions():
    net = small_gpen(seed=1)
    sd = net.state_dict()
    desc = identify(sd).descriptor
    assert desc.facts.architecture == "GPEN" and desc.module.size == 64
    good = gpen.load_descriptor(sd, size=64, style_dim=32, n_mlp=2, channel_multiplier=1, narrow=1 / 16)
    assert good.facts.size.fixed == 64
    with pytest.raises(ValueError, match="size"):
        gpen.load_descriptor(sd, size=128)
    with pytest.raises(ValueError, match="widths"):
        gpen.load_descriptor(sd, channel_multiplier=2, narrow=1 / 16)  # 64 px would have 32 channels, not 16
    assert layout_mismatch(sd, layout_of(net)) == ""
