import numpy as np
import torch

from core.metrics import psnr, ssim, ssim_tensor


def test_identical_images(rng):
    img = rng.random((32, 32, 3), dtype=np.float32)
    assert psnr(img, img) == 100.0
    assert abs(ssim(img, img) - 1.0) < 1e-5


def test_known_psnr():
    a = np.zeros((16, 16, 3), np.float32)
    b = np.full((16, 16, 3), 0.1, np.float32)
    assert abs(psnr(a, b) - 20.0) < 1e-4


def test_ssim_drops_with_noise_and_is_differentiable(rng):
    img = torch.from_numpy(rng.random((1, 3, 32, 32), dtype=np.float32))
    noisy = (img + 0.3 * torch.randn_like(img)).clamp(0, 1).requires_grad_(True)
    value = ssim_tensor(noisy, img)
    assert value.item() < 0.9
    value.backward()
    assert noisy.grad is not None and torch.isfinite(noisy.grad).all()
