"""Synthetic low-light (and over-exposed) versions of well-exposed photos, for training and evaluation.

The model, applied in approximately linear light (sRGB decoded with a 2.2 power):
1. exposure: multiply by 2**EV, EV uniform in `ev_range` (default -3 .. +1, so a batch mixes dark and
   a few bright inputs; the networks also learn to leave or tone down bright photos);
2. uneven light: a smooth random shadow mask (low-resolution noise, upsampled) darkens parts of the
   frame by up to SHADOW_DEPTH;
3. sensor noise, Poisson-Gaussian: variance = signal / photons + read**2, photons at full scale
   log-uniform in PHOTONS, read noise uniform in READ_NOISE;
4. back to display values with a slightly random tone curve (gamma around 1/2.2, GAMMA_JITTER).
Everything is drawn from the given generator, so the same seed gives the same pair.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

DISPLAY_GAMMA = 2.2
SHADOW_DEPTH = (0.0, 0.6)  # how far the deepest shadow of the mask goes (share of the light removed)
SHADOW_GRID = (2, 6)  # the mask's random control grid: coarse = broad shadows
PHOTONS = (60.0, 3000.0)  # photons per pixel at full scale (log-uniform): fewer = noisier
READ_NOISE = (0.0005, 0.004)  # read noise, standard deviation in linear units
GAMMA_JITTER = (0.85, 1.15)  # multiplies the display gamma


def make_lowlight_pair(image: np.ndarray, rng: np.random.Generator, *,
                       ev_range: tuple[float, float] = (-3.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """(low, high): `high` is the float32 H x W x 3 input itself (copied), `low` its degraded version in
    [0, 1]. Deterministic given `rng`."""
    high = _check_image(image)
    seed = int(rng.integers(0, 2**62))
    generator = torch.Generator().manual_seed(seed)
    batch = torch.from_numpy(np.ascontiguousarray(high.transpose(2, 0, 1)))[None]
    low = degrade_batch(batch, generator, ev_range=ev_range)[0]
    return np.ascontiguousarray(low.permute(1, 2, 0).numpy(), dtype=np.float32), high.copy()


def degrade_batch(batch: torch.Tensor, generator: torch.Generator, *,
                  ev_range: tuple[float, float] = (-3.0, 1.0)) -> torch.Tensor:
    """The low versions of a batch N x 3 x H x W in [0, 1] (same shape, float32, in [0, 1]); each image
    gets its own exposure, shadows, noise and tone curve. Runs on the batch's device; the random draws
    come from `generator` (a CPU generator), so results are reproducible."""
    if batch.dim() != 4 or batch.shape[1] != 3:
        raise ValueError(f"expected an N x 3 x H x W batch, got shape {tuple(batch.shape)}")
    n, _, h, w = batch.shape
    device = batch.device
    x = batch.detach().float().clamp(0.0, 1.0)
    linear = x.pow(DISPLAY_GAMMA)

    ev = _uniform(generator, n, *ev_range)
    linear = linear * torch.pow(2.0, ev).to(device).view(n, 1, 1, 1)
    linear = linear * shadow_masks(n, h, w, generator).to(device)

    photons = torch.exp(_uniform(generator, n, math.log(PHOTONS[0]), math.log(PHOTONS[1]))).to(device)
    read = _uniform(generator, n, *READ_NOISE).to(device)
    variance = linear.clamp_min(0.0) / photons.view(n, 1, 1, 1) + read.view(n, 1, 1, 1) ** 2
    noise = torch.randn(linear.shape, generator=generator).to(device)
    linear = (linear + noise * variance.sqrt()).clamp(0.0, 1.0)

    gamma = DISPLAY_GAMMA * _uniform(generator, n, *GAMMA_JITTER).to(device)
    return linear.pow(1.0 / gamma.view(n, 1, 1, 1)).clamp(0.0, 1.0)


def shadow_masks(n: int, h: int, w: int, generator: torch.Generator) -> torch.Tensor:
    """N x 1 x H x W multiplicative masks in [1 - depth, 1]: smooth, random, one per image."""
    masks = []
    for _ in range(n):
        grid = int(torch.randint(SHADOW_GRID[0], SHADOW_GRID[1] + 1, (1,), generator=generator))
        coarse = torch.rand(1, 1, grid, grid, generator=generator)
        smooth = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True).clamp(0.0, 1.0)
        depth = float(_uniform(generator, 1, *SHADOW_DEPTH))
        masks.append(1.0 - depth * smooth)
    return torch.cat(masks, dim=0)


def _uniform(generator: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=generator)


def _check_image(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 image, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    return np.clip(arr.astype(np.float32), 0.0, 1.0)
