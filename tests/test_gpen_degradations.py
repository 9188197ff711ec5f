"""The on-the-fly face degradation GPEN trains on (core.train.degradations.degrade_face): blur, downsample,
noise and JPEG in a random order with random strengths (BSRGAN / Real-ESRGAN style), reproducible per seed."""

from __future__ import annotations

import cv2
import numpy as np

from core.metrics import psnr
from core.train.degradations import (
    FACE_STEPS,
    FaceDegradation,
    anisotropic_gaussian_kernel,
    apply_face_degradation,
    degrade_face,
    draw_face_degradation,
    gaussian_blur,
    jpeg,
)
from tests.test_train_support import smooth_image

RANGES = {"blur_sigma": (0.5, 3.0), "downscale": (2.0, 4.0), "noise_sigma": (1.0, 10.0), "jpeg_quality": (50, 90)}


def test_order_and_strengths_are_drawn_at_random_within_their_ranges():
    plans = [draw_face_degradation(np.random.default_rng(s), **RANGES) for s in range(300)]
    assert len({p.order for p in plans}) == 24  # every permutation of the four steps turns up
    assert all(sorted(p.order) == sorted(FACE_STEPS) for p in plans)
    assert all(0.5 <= p.blur_sigma <= 3.0 and 2.0 <= p.factor <= 4.0 and 50 <= p.jpeg_quality <= 90 for p in plans)
    assert all(1.0 / 255 <= p.noise_sigma <= 10.0 / 255 for p in plans)
    assert 0.3 < np.mean([p.blur_ratio < 1 for p in plans]) < 0.7  # isotropic and anisotropic kernels
    assert 0.2 < np.mean([p.gray_noise for p in plans]) < 0.6  # colour and grey noise
    assert len({p.resize_down for p in plans}) == 3 and len({p.resize_up for p in plans}) == 2
    fixed = draw_face_degradation(np.random.default_rng(0), shuffle=False, **RANGES)
    assert fixed.order == FACE_STEPS


def test_degradation_is_reproducible_in_range_and_differs_between_seeds(rng):
    face = smooth_image(rng, 48, 48)
    a = degrade_face(face, np.random.default_rng(11), **RANGES)
    b = degrade_face(face, np.random.default_rng(11), **RANGES)
    c = degrade_face(face, np.random.default_rng(12), **RANGES)
    assert np.array_equal(a, b) and a.shape == face.shape and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert not np.allclose(a, c) and not np.allclose(a, face)
    # tiny faces and strong settings stay well defined
    tiny = degrade_face(face[:8, :8], np.random.default_rng(1), blur_sigma=(10, 10), downscale=(8, 8))
    assert tiny.shape == (8, 8, 3) and np.isfinite(tiny).all()


def test_no_strength_leaves_the_face_nearly_as_it_was(rng):
    face = smooth_image(rng, 48, 48)
    out = degrade_face(face, np.random.default_rng(3), blur_sigma=(0.0, 0.0), downscale=(1.0, 1.0),
                       noise_sigma=(0.0, 0.0), jpeg_quality=(100, 100))
    assert psnr(out, face) > 40


def test_a_blur_after_the_downsampling_is_scaled_to_the_smaller_image(rng):
    face = smooth_image(rng, 64, 64)
    plan = FaceDegradation(order=("downsample", "blur", "noise", "jpeg"), blur_sigma=4.0, blur_ratio=1.0,
                           blur_angle=0.0, factor=4.0, noise_sigma=0.0, gray_noise=False, jpeg_quality=100,
                           resize_down=2, resize_up=1)  # cv2.INTER_CUBIC down, INTER_LINEAR up
    out = apply_face_degradation(face, plan, np.random.default_rng(0))
    small = np.clip(cv2.resize(face, (16, 16), interpolation=cv2.INTER_CUBIC), 0, 1)

    def finish(blurred: np.ndarray) -> np.ndarray:
        return np.clip(cv2.resize(jpeg(blurred, 100), (64, 64), interpolation=cv2.INTER_LINEAR), 0, 1)

    np.testing.assert_allclose(out, finish(gaussian_blur(small, 1.0)), atol=1e-5)  # sigma 4 / factor 4
    assert psnr(out, finish(gaussian_blur(small, 4.0))) < psnr(out, finish(gaussian_blur(small, 1.0))) - 10


def test_anisotropic_kernel_is_normalised_elongated_and_rotated():
    k = anisotropic_gaussian_kernel(3.0, 1.0, 0.0)
    assert abs(k.sum() - 1.0) < 1e-5 and k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
    c = k.shape[0] // 2
    assert k[c, c + 3] > k[c + 3, c]  # wider along x
    turned = anisotropic_gaussian_kernel(3.0, 1.0, np.pi / 2)
    np.testing.assert_allclose(turned, k.T, atol=1e-6)
