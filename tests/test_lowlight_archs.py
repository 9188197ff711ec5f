"""Low-light architectures: official checkpoint layouts load strictly, the forward matches the official
maths, curves and gains stay in range, and the catalog recognises the checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.archs import identify as catalog
from core.archs.gain_unet import GainUNet, build_from_state_dict
from core.archs.gamma_net import (
    CONTRAST_RANGE,
    GAMMA_RANGE,
    GammaNet,
    apply_gamma_contrast,
    apply_gamma_contrast_numpy,
    random_params,
)
from core.archs.zero_dce import ZeroDCE, apply_curves, curve_step
from core.archs.zero_dce_pp import ZeroDCEPP
from core.models.checkpoints import read_state_dict

DATA = Path(__file__).parent / "data"


def layout(name: str) -> dict:
    return json.loads((DATA / f"{name}_layout.json").read_text())


def random_official_state_dict(name: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict shaped exactly like the released file, in its key order, with small random values."""
    gen = torch.Generator().manual_seed(seed)
    return {key: torch.randn(shape, generator=gen) * 0.1 for key, shape, _ in layout(name)["tensors"]}


@pytest.mark.parametrize("name, cls", [("zero_dce", ZeroDCE), ("zero_dce_pp", ZeroDCEPP)])
def test_official_layout_loads_strictly_from_pth(tmp_path, name, cls):
    sd = random_official_state_dict(name)
    path = tmp_path / "Epoch99.pth"
    torch.save(sd, path)
    loaded = read_state_dict(path)
    net = cls()
    net.load_state_dict(loaded, strict=True)
    assert list(net.state_dict()) == [k for k, _, _ in layout(name)["tensors"]]
    assert sum(p.numel() for p in net.parameters()) == layout(name)["params"]
    for key, value in net.state_dict().items():
        assert torch.equal(value, sd[key])


def test_catalog_identifies_each_official_checkpoint_and_nothing_else():
    specs = {s.name: s for s in catalog.own_architectures()}
    dce, dce_pp = random_official_state_dict("zero_dce"), random_official_state_dict("zero_dce_pp")
    assert specs["Zero-DCE"].detect(dce) and not specs["Zero-DCE"].detect(dce_pp)
    assert specs["Zero-DCE++"].detect(dce_pp) and not specs["Zero-DCE++"].detect(dce)
    wrong_shape = dict(dce, **{"e_conv7.weight": torch.zeros(24, 64, 1, 1)})
    extra_key = dict(dce, **{"e_conv8.weight": torch.zeros(1)})
    missing_key = {k: v for k, v in dce.items() if k != "e_conv7.bias"}
    for sd in (wrong_shape, extra_key, missing_key):
        assert not specs["Zero-DCE"].detect(sd)
    for name, sd in (("Zero-DCE", dce), ("Zero-DCE++", dce_pp)):
        desc = specs[name].load(sd)
        assert desc.facts.architecture == name and desc.facts.purpose == "lowlight"
        assert desc.facts.input_range == (0.0, 1.0) and desc.facts.output_range == (0.0, 1.0)
        with torch.no_grad():
            assert desc(torch.rand(1, 3, 24, 36)).shape == (1, 3, 24, 36)


def _official_zero_dce(sd: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The released forward written out step by step from the paper/official code, for comparison."""
    def conv(name: str, t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, sd[f"{name}.weight"], sd[f"{name}.bias"], padding=1)
    x1 = F.relu(conv("e_conv1", x))
    x2 = F.relu(conv("e_conv2", x1))
    x3 = F.relu(conv("e_conv3", x2))
    x4 = F.relu(conv("e_conv4", x3))
    x5 = F.relu(conv("e_conv5", torch.cat([x3, x4], 1)))
    x6 = F.relu(conv("e_conv6", torch.cat([x2, x5], 1)))
    r = torch.tanh(conv("e_conv7", torch.cat([x1, x6], 1)))
    for k in range(8):
        rk = r[:, 3 * k:3 * k + 3]
        x = x + rk * (torch.pow(x, 2) - x)
    return x


def _official_zero_dce_pp(sd: dict[str, torch.Tensor], x: torch.Tensor, scale: int) -> torch.Tensor:
    def block(name: str, t: torch.Tensor) -> torch.Tensor:
        c = t.shape[1]
        t = F.conv2d(t, sd[f"{name}.depth_conv.weight"], sd[f"{name}.depth_conv.bias"], padding=1, groups=c)
        return F.conv2d(t, sd[f"{name}.point_conv.weight"], sd[f"{name}.point_conv.bias"])
    down = x if scale == 1 else F.interpolate(x, scale_factor=1 / scale, mode="bilinear")
    x1 = F.relu(block("e_conv1", down))
    x2 = F.relu(block("e_conv2", x1))
    x3 = F.relu(block("e_conv3", x2))
    x4 = F.relu(block("e_conv4", x3))
    x5 = F.relu(block("e_conv5", torch.cat([x3, x4], 1)))
    x6 = F.relu(block("e_conv6", torch.cat([x2, x5], 1)))
    r = torch.tanh(block("e_conv7", torch.cat([x1, x6], 1)))
    if scale != 1:
        r = torch.nn.UpsamplingBilinear2d(scale_factor=scale)(r)
    for _ in range(8):
        x = x + r * (torch.pow(x, 2) - x)
    return x


def test_zero_dce_forward_matches_the_official_maths():
    sd = random_official_state_dict("zero_dce", seed=3)
    net = ZeroDCE()
    net.load_state_dict(sd)
    x = torch.rand(2, 3, 20, 28)
    with torch.no_grad():
        enhanced, curves = net(x)
        expected = _official_zero_dce(sd, x)
    assert curves.shape == (2, 24, 20, 28)
    torch.testing.assert_close(enhanced, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("scale", [1, 12])
def test_zero_dce_pp_forward_matches_the_official_maths(scale):
    sd = random_official_state_dict("zero_dce_pp", seed=4)
    net = ZeroDCEPP(scale_factor=scale)
    net.load_state_dict(sd)
    x = torch.rand(1, 3, 36, 48)  # multiples of 12, as the official test script crops
    with torch.no_grad():
        enhanced, curve = net(x)
        expected = _official_zero_dce_pp(sd, x, scale)
    assert curve.shape == (1, 3, 36, 48)
    torch.testing.assert_close(enhanced, expected, atol=1e-5, rtol=1e-5)


def test_zero_dce_pp_takes_any_size_with_a_scale_factor():
    net = ZeroDCEPP(scale_factor=12)
    with torch.no_grad():
        for h, w in ((37, 53), (5, 7), (1, 1)):
            enhanced, curve = net(torch.rand(1, 3, h, w))
            assert enhanced.shape == curve.shape == (1, 3, h, w)
            assert torch.isfinite(enhanced).all()


def test_curve_step_keeps_the_unit_interval_and_order():
    x = torch.linspace(0, 1, 101).view(1, 1, 1, -1).expand(1, 3, 21, 101)
    alpha = torch.linspace(-1, 1, 21).view(1, 1, -1, 1).expand(1, 3, 21, 101)
    y = curve_step(x, alpha)
    assert y.min() >= 0.0 and y.max() <= 1.0
    assert torch.all(y[..., 1:] >= y[..., :-1])  # monotone in x: no tone inversions
    assert torch.equal(curve_step(torch.zeros(3), torch.tensor([-1.0, 0.0, 1.0])), torch.zeros(3))
    assert torch.equal(curve_step(torch.ones(3), torch.tensor([-1.0, 0.0, 1.0])), torch.ones(3))
    # eight steps with the most extreme maps still stay inside [0, 1]
    curves = torch.cat([torch.full((1, 3, 21, 101), v) for v in (-1, 1, -1, 1, 1, 1, -1, -1)], dim=1)
    z = apply_curves(x, curves)
    assert z.min() >= 0.0 and z.max() <= 1.0
    # the official sign: a negative map brightens, a positive one darkens
    mid = torch.full((1,), 0.25)
    assert curve_step(mid, torch.tensor([-1.0])) > mid > curve_step(mid, torch.tensor([1.0]))


def test_zero_dce_outputs_stay_in_range_with_random_weights():
    torch.manual_seed(0)
    for net in (ZeroDCE(), ZeroDCEPP(scale_factor=4)):
        for p in net.parameters():
            p.data.mul_(20.0)  # drive tanh into saturation
        with torch.no_grad():
            out, maps = net(torch.rand(1, 3, 16, 24))
        assert out.min() >= 0.0 and out.max() <= 1.0
        assert maps.min() >= -1.0 - 1e-6 and maps.max() <= 1.0 + 1e-6  # bilinear upsampling rounds


def test_gain_unet_is_the_identity_at_init_and_bounded_always():
    torch.manual_seed(0)
    net = GainUNet(base=4)
    x = torch.rand(2, 3, 19, 29)
    with torch.no_grad():
        out, gain = net(x)
    assert gain.shape == (2, 1, 19, 29)
    torch.testing.assert_close(gain, torch.ones_like(gain), atol=1e-2, rtol=0)
    for sign in (1.0, -1.0):
        with torch.no_grad():
            net.head.bias.fill_(sign * 50.0)
            _, gain = net(x)
        assert gain.min() >= 0.5 and gain.max() <= 4.0
        assert abs(float(gain.mean()) - (4.0 if sign > 0 else 0.5)) < 1e-3
    wide = GainUNet(base=4, gain_min=0.25, gain_max=8.0, gain_channels=3)
    rebuilt = build_from_state_dict(wide.state_dict())
    assert (rebuilt.gain_min, rebuilt.gain_max) == (0.25, 8.0)
    with torch.no_grad():
        assert rebuilt(x)[1].shape == (2, 3, 19, 29)
    with pytest.raises(ValueError):
        GainUNet(gain_min=1.5)


def test_gain_unet_output_is_differentiable_and_unclamped():
    net = GainUNet(base=4)
    with torch.no_grad():
        net.head.bias.fill_(50.0)  # gain 4
    x = torch.full((1, 3, 8, 8), 0.5, requires_grad=True)
    out, _ = net(x)
    assert float(out.detach().max()) == pytest.approx(2.0, abs=1e-3)  # the engine clamps, not the network
    out.mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_gamma_net_bounds_identity_and_input_size():
    torch.manual_seed(0)
    net = GammaNet()
    with torch.no_grad():
        params = net(torch.rand(3, 3, 128, 128))
    torch.testing.assert_close(params, torch.ones_like(params), atol=1e-2, rtol=0)
    for bias in (60.0, -60.0):
        with torch.no_grad():
            net.head[-1].bias.fill_(bias)
            params = net(torch.rand(2, 3, 64, 64))
        assert GAMMA_RANGE[0] - 1e-5 <= float(params[:, 0].min()) <= float(params[:, 0].max()) <= GAMMA_RANGE[1] + 1e-5
        assert CONTRAST_RANGE[0] - 1e-5 <= float(params[:, 1].min()) <= CONTRAST_RANGE[1] + 1e-5
    assert int(GammaNet(input_size=64).state_dict()["input_size"]) == 64


def test_apply_gamma_contrast_torch_and_numpy_agree_and_stay_in_range(rng):
    image = rng.random((9, 11, 3)).astype(np.float32)
    image[0, 0] = 0.0
    image[0, 1] = 1.0
    for gamma, contrast in ((0.2, 2.0), (2.5, 0.5), (0.7, 1.3), (1.0, 1.0)):
        out_np = apply_gamma_contrast(image, (gamma, contrast))
        assert isinstance(out_np, np.ndarray) and out_np.dtype == np.float32
        tensor = torch.from_numpy(image).permute(2, 0, 1)[None]
        out_t = apply_gamma_contrast(tensor, torch.tensor([[gamma, contrast]]))
        np.testing.assert_allclose(out_t[0].permute(1, 2, 0).numpy(), out_np, atol=2e-5)
        assert out_np.min() >= 0.0 and out_np.max() <= 1.0
        assert out_np[0, 0].max() == 0.0 and out_np[0, 1].min() == pytest.approx(1.0)
    np.testing.assert_allclose(apply_gamma_contrast_numpy(image, (1.0, 1.0)), image, atol=1e-6)
    mid = np.array([[[0.3, 0.5, 0.7]]], np.float32)
    stronger = apply_gamma_contrast_numpy(mid, (1.0, 2.0))[0, 0]
    assert stronger[0] < 0.3 and stronger[1] == pytest.approx(0.5) and stronger[2] > 0.7


def test_apply_gamma_contrast_has_finite_gradients_at_black():
    x = torch.zeros(1, 3, 2, 2)
    x[0, 0, 0, 0] = 0.5
    params = torch.tensor([[0.3, 1.5]], requires_grad=True)
    out = apply_gamma_contrast(x, params)
    out.sum().backward()
    assert torch.isfinite(params.grad).all()
    assert random_params(5, torch.Generator().manual_seed(0)).shape == (5, 2)
