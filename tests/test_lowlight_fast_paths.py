"""The shortcuts that keep the low-light default fast on large photos give what the plain ways give: the
denoiser written in place, the last pass of every engine, the sampled mean and the two-step thumbnail."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.engines.lowlight.bands import quick_small_copy, small_copy
from core.engines.lowlight.common import finish, luminance, mean_luminance
from core.engines.lowlight.denoise import denoise


def _noisy_photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.dstack([x / width, y / height, 0.5 + 0.3 * np.sin(x / 9.0)]) * 0.6 + 0.1
    return np.clip(base + rng.normal(0, 0.03, base.shape), 0, 1).astype(np.float32)


@pytest.mark.parametrize("size", [(300, 420), (1030, 777)])  # the second is tall enough to be sampled
def test_denoise_into_its_own_input_gives_the_same_photo(rng, size):
    photo = _noisy_photo(rng, *size)
    fresh = denoise(photo, 1.0)
    again = photo.copy()
    result = denoise(again, 1.0, out=again)
    assert result is again
    np.testing.assert_array_equal(result, fresh)
    assert float(np.abs(fresh - photo).mean()) > 1e-3  # it did denoise


def test_denoise_refuses_an_unfit_output_array(rng):
    photo = _noisy_photo(rng, 64, 80)
    with pytest.raises(ValueError, match="out"):
        denoise(photo, 1.0, out=np.empty((64, 80, 3), np.float64))
    with pytest.raises(ValueError, match="out"):
        denoise(photo, 1.0, out=np.empty((80, 64, 3), np.float32))


def test_finish_makes_every_value_finite_and_in_range_without_touching_the_input():
    before = np.full((40, 50, 3), 0.5, np.float32)
    before[0, 0] = (0.1, 0.2, 0.3)  # a colour photo
    after = np.full((40, 50, 3), 0.25, np.float32)
    after[1, 1] = (np.nan, np.inf, -np.inf)
    after[2, 2] = (1.5, -0.5, 0.75)
    out = finish(before, after)
    np.testing.assert_array_equal(out[1, 1], (0.0, 1.0, 0.0))
    np.testing.assert_array_equal(out[2, 2], (1.0, 0.0, 0.75))
    assert out.dtype == np.float32 and np.isfinite(out).all()
    # An engine that hands back its input (no change to make) gets a copy fixed, never the input itself.
    odd = before.copy()
    odd[3, 3] = np.nan
    kept = odd.copy()
    fixed = finish(odd, odd)
    assert not np.may_share_memory(fixed, odd) and np.array_equal(odd, kept, equal_nan=True)
    assert fixed[3, 3, 0] == 0.0


def test_the_sampled_mean_luminance_is_the_mean(rng):
    photo = _noisy_photo(rng, 1500, 1200)  # large enough to be sampled
    exact = float(luminance(photo).mean(dtype=np.float64))
    assert mean_luminance(photo) == pytest.approx(exact, abs=2e-3)
    small = photo[:100, :120]
    assert mean_luminance(small) == pytest.approx(float(luminance(small).mean(dtype=np.float64)), abs=1e-6)
    assert mean_luminance(photo[:, ::-1]) == pytest.approx(mean_luminance(photo), abs=2e-3)  # any layout


def test_the_two_step_thumbnail_matches_the_one_step_one(rng):
    photo = _noisy_photo(rng, 2001, 2999)  # noise and a fine pattern: the copies differ a little there
    quick, plain = quick_small_copy(photo, 256), small_copy(photo, 256)
    assert quick.shape == plain.shape == (171, 256, 3)
    assert float(np.abs(quick - plain).mean()) < 0.015  # where detail is finer than its pixels
    assert abs(float(quick.mean()) - float(plain.mean())) < 1e-3
    smooth = cv2.GaussianBlur(photo, (0, 0), 40)
    assert float(np.abs(quick_small_copy(smooth, 256) - small_copy(smooth, 256)).max()) < 5e-3
    tiny = photo[:200, :300]
    np.testing.assert_array_equal(quick_small_copy(tiny, 256), small_copy(tiny, 256))
