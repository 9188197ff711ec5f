"""The normalization contract, including the guard against the dark-validation-preview bug."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import ValueRangeError
from core.pixels import to_uint8
from core.tensors import MINUS_ONE_ONE, ZERO_ONE, RangeMismatchWarning, from_model, to_model, to_unit_tensor
from tests.conftest import gradient_image

RANGES = [ZERO_ONE, MINUS_ONE_ONE]


@pytest.mark.parametrize("vr", RANGES)
def test_uint8_round_trip_exact_single(vr):
    img = np.arange(256, dtype=np.uint8).reshape(16, 16)[:, :, None].repeat(3, axis=2)
    t = to_model(img, vr)
    assert t.shape == (1, 3, 16, 16) and t.dtype == torch.float32
    assert float(t.min()) == pytest.approx(vr[0]) and float(t.max()) == pytest.approx(vr[1])
    assert np.array_equal(to_uint8(from_model(t, vr)), img)


@pytest.mark.parametrize("vr", RANGES)
def test_uint8_round_trip_exact_batch(vr, rng):
    batch = rng.integers(0, 256, size=(4, 8, 9, 3), dtype=np.uint8)
    out = from_model(to_model(batch, vr), vr)
    assert out.shape == (4, 8, 9, 3)
    assert np.array_equal(to_uint8(out), batch)


@pytest.mark.parametrize("vr", RANGES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_reduced_precision_round_trip(vr, dtype, rng):
    img = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    t = to_model(img, vr, dtype=dtype)
    assert t.dtype == dtype
    back = to_uint8(from_model(t, vr))
    tolerance = 0 if dtype != torch.bfloat16 else 2  # bfloat16 keeps 8 bits of mantissa
    assert np.abs(back.astype(int) - img.astype(int)).max() <= tolerance


@pytest.mark.parametrize("vr", RANGES)
def test_identity_model_path_returns_the_image(vr):
    img = gradient_image()
    identity = torch.nn.Identity()
    out = from_model(identity(to_model(img, vr)), vr, strict=True)
    assert np.array_equal(to_uint8(out), img)


def test_torch_input_and_chw(rng):
    t = torch.from_numpy(rng.random((3, 5, 6), dtype=np.float32))
    m = to_model(t, MINUS_ONE_ONE)
    assert m.shape == (1, 3, 5, 6)
    assert torch.allclose(m[0], t * 2 - 1)
    assert from_model(m[0], MINUS_ONE_ONE).shape == (5, 6, 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_round_trip(rng):
    img = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    t = to_model(img, MINUS_ONE_ONE, device="cuda")
    assert t.is_cuda
    assert np.array_equal(to_uint8(from_model(t, MINUS_ONE_ONE)), img)


def test_decoding_minus_one_one_as_zero_one_is_caught():
    """The regression guard: a (-1, 1) output read as (0, 1) is dark and clipped, and the contract says so."""
    img = gradient_image()
    tensor = to_model(img, MINUS_ONE_ONE)  # what a network trained in [-1, 1] returns for this image
    with pytest.warns(RangeMismatchWarning, match="below 0"):
        wrong = from_model(tensor, ZERO_ONE)
    right = from_model(tensor, MINUS_ONE_ONE)
    assert wrong.mean() < right.mean() - 0.2  # visibly darker
    assert (wrong == 0).mean() > 0.3  # and a large share clipped to black
    with pytest.raises(ValueRangeError, match="declared range"):
        from_model(tensor, ZERO_ONE, strict=True)


def test_small_overshoot_is_not_flagged(recwarn):
    t = torch.full((1, 3, 8, 8), 0.5)
    t[0, 0, 0, 0] = -0.2  # one overshooting pixel of a real (0, 1) model
    from_model(t, ZERO_ONE, strict=True)
    assert not [w for w in recwarn if issubclass(w.category, RangeMismatchWarning)]


def test_unsupported_range_rejected():
    with pytest.raises(ValueError, match="value range"):
        to_model(np.zeros((2, 2, 3), np.uint8), (0, 255))


@pytest.mark.parametrize("vr", RANGES)
def test_to_unit_tensor_inverts_to_model_and_keeps_gradients(vr, rng):
    unit = torch.from_numpy(rng.random((2, 3, 5, 6), dtype=np.float32))
    model_space = to_model(unit, vr).requires_grad_(True)
    back = to_unit_tensor(model_space, vr)
    assert torch.allclose(back, unit, atol=1e-6)
    back.sum().backward()
    # d(unit)/d(model value) is 1 / (hi - lo): 1 for (0, 1), 0.5 for (-1, 1)
    assert torch.allclose(model_space.grad, torch.full_like(unit, 1.0 / (vr[1] - vr[0])))


def test_to_unit_tensor_does_not_clamp():
    overshoot = torch.tensor([-1.5, 1.5])
    assert torch.equal(to_unit_tensor(overshoot, MINUS_ONE_ONE), torch.tensor([-0.25, 1.25]))
    assert torch.equal(to_unit_tensor(overshoot, ZERO_ONE), overshoot)


def test_a_minus_one_one_output_overshooting_its_floor_is_no_range_mix_up():
    import warnings as _warnings

    from core.tensors import check_output_range

    overshoot = torch.linspace(-1.6, 1.0, 1000)  # an unbounded GPEN output early in training
    with _warnings.catch_warnings():
        _warnings.simplefilter("error")
        assert check_output_range(overshoot, MINUS_ONE_ONE) is None
    with pytest.warns(RangeMismatchWarning):  # the same values declared (0, 1) are the mix-up
        assert check_output_range(overshoot, ZERO_ONE) is not None


def test_the_fast_8_bit_conversion_of_big_images_equals_the_numpy_one(monkeypatch):
    """Big images go through OpenCV band by band; small ones through NumPy: the same bytes either way."""
    import core.pixels as pixels

    rng = np.random.default_rng(3)
    rgb = rng.random((700, 1600, 3), dtype=np.float32) * 1.2 - 0.1  # out-of-range values saturate
    rgb[0, :6, 0] = [np.inf, -np.inf, 1.0, 0.0, 0.5 / 255, 1.5 / 255]  # +-inf and exact halves
    alpha = rng.random((700, 1600), dtype=np.float32)
    assert rgb.size >= pixels.FAST_VALUES
    fast = [pixels.to_uint8(rgb), pixels.rgba8(rgb, None), pixels.rgba8(rgb, alpha), pixels.to_uint8(alpha)]
    monkeypatch.setattr(pixels, "FAST_VALUES", 10 ** 12)
    slow = [pixels.to_uint8(rgb), pixels.rgba8(rgb, None), pixels.rgba8(rgb, alpha), pixels.to_uint8(alpha)]
    for a, b in zip(fast, slow):
        assert a.dtype == np.uint8 and a.shape == b.shape and np.array_equal(a, b)
    assert list(fast[0][0, :6, 0]) == [255, 0, 255, 0, 0, 2]  # half to even, as np.rint
