"""The PatchGAN discriminator of the generic preset (its generator is core.archs.image_unet.ImageUNet)."""

from __future__ import annotations

import torch
from torch import nn


class PatchDiscriminator(nn.Module):
    """A PatchGAN discriminator: a map of real/fake logits, one per overlapping patch."""

    def __init__(self, in_channels: int = 3, base: int = 32, layers: int = 3) -> None:
        super().__init__()
        mods: list[nn.Module] = [nn.Conv2d(in_channels, base, 4, 2, 1), nn.LeakyReLU(0.2)]
        width = base
        for i in range(1, layers):
            nxt = min(base * 2**i, 8 * base)
            mods += [nn.Conv2d(width, nxt, 4, 2 if i < layers - 1 else 1, 1), nn.LeakyReLU(0.2)]
            width = nxt
        mods.append(nn.Conv2d(width, 1, 3, 1, 1))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
