"""Synthetic low-light pairs: darker for negative EV, reproducible from the seed, noisy, mixed per batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.synthesis.lowlight import degrade_batch, make_lowlight_pair
from tests.conftest import gradient_image


def photo() -> np.ndarray:
    return gradient_image(40, 56).astype(np.float32) / 255.0 * 0.8 + 0.1


def test_negative_ev_darkens_and_positive_ev_brightens():
    image = photo()
    for seed in range(5):
        low, high = make_lowlight_pair(image, np.random.default_rng(seed), ev_range=(-3.0, -1.0))
        assert low.mean() < 0.75 * high.mean()
        bright, _ = make_lowlight_pair(image, np.random.default_rng(seed), ev_range=(1.0, 1.0))
        assert bright.mean() > high.mean()
    np.testing.assert_array_equal(high, image)


def test_pairs_are_reproducible_from_the_seed():
    image = photo()
    a, _ = make_lowlight_pair(image, np.random.default_rng(7))
    b, _ = make_lowlight_pair(image, np.random.default_rng(7))
    c, _ = make_lowlight_pair(image, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32 and a.shape == image.shape
    assert a.min() >= 0.0 and a.max() <= 1.0


def test_low_image_is_noisy():
    flat = np.full((32, 32, 3), 0.5, np.float32)
    low, _ = make_lowlight_pair(flat, np.random.default_rng(0), ev_range=(-2.0, -2.0))
    residual = low - np.median(low)
    assert residual.std() > 1e-3


def test_batch_mixes_exposures_and_is_reproducible():
    batch = torch.from_numpy(photo()).permute(2, 0, 1)[None].repeat(16, 1, 1, 1)
    low = degrade_batch(batch, torch.Generator().manual_seed(3))
    again = degrade_batch(batch, torch.Generator().manual_seed(3))
    assert torch.equal(low, again)
    assert low.shape == batch.shape and low.dtype == torch.float32
    assert float(low.min()) >= 0.0 and float(low.max()) <= 1.0
    ratios = low.mean(dim=(1, 2, 3)) / batch.mean(dim=(1, 2, 3))
    assert float(ratios.min()) < 0.5 and float(ratios.max()) > 1.0  # dark and bright in one batch
    assert len(set(ratios.tolist())) == 16


def test_uint8_input_and_bad_shapes():
    image = gradient_image(16, 16)
    low, high = make_lowlight_pair(image, np.random.default_rng(0))
    assert high.dtype == np.float32 and high.max() <= 1.0
    with pytest.raises(ValueError):
        make_lowlight_pair(np.zeros((8, 8), np.float32), np.random.default_rng(0))
    with pytest.raises(ValueError):
        degrade_batch(torch.zeros(1, 1, 8, 8), torch.Generator())
