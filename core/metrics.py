"""Image quality metrics on [0, 1] images: PSNR and SSIM (differentiable torch versions, NumPy wrappers)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def _as_nchw(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        if t.dim() == 2:
            t = t[:, :, None]
        t = t.permute(2, 0, 1)[None] if t.dim() == 3 else t.permute(0, 3, 1, 2)
        return t
    t = x.float()
    return t[None] if t.dim() == 3 else t


def psnr(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray, *, max_value: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB over the whole batch (infinite for identical images, capped at 100)."""
    ta, tb = _as_nchw(a), _as_nchw(b)
    mse = F.mse_loss(ta, tb.to(ta.device)).item()
    return 100.0 if mse <= 1e-10 else 10.0 * math.log10(max_value**2 / mse)


def psnr_per_image(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    mse = ((a.float() - b.float()) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return 10.0 * torch.log10(1.0 / mse)


def _gaussian_window(size: int, sigma: float, channels: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    coords = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] @ g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim_map(a: torch.Tensor, b: torch.Tensor, *, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Per-pixel SSIM (Wang et al. 2004, Gaussian window 11 / 1.5, K1 0.01, K2 0.03); differentiable."""
    c = a.shape[1]
    win = _gaussian_window(min(window, a.shape[-1], a.shape[-2]) | 1, sigma, c, a.device, a.dtype)
    pad = win.shape[-1] // 2
    mu_a = F.conv2d(a, win, padding=pad, groups=c)
    mu_b = F.conv2d(b, win, padding=pad, groups=c)
    sa = F.conv2d(a * a, win, padding=pad, groups=c) - mu_a**2
    sb = F.conv2d(b * b, win, padding=pad, groups=c) - mu_b**2
    sab = F.conv2d(a * b, win, padding=pad, groups=c) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    return ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (sa + sb + c2))


def ssim_tensor(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM as a tensor (use 1 - ssim_tensor as a loss)."""
    return ssim_map(a.float(), b.float().to(a.device)).mean()


def ssim(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    with torch.no_grad():
        return float(ssim_tensor(_as_nchw(a), _as_nchw(b)))
