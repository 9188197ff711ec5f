"""Discriminators for inpainting: LBAM's two-column (global + local) critic.

The LBAM paper trains with a two-column discriminator under WGAN-GP: one column judges the image as a whole,
the other the filled region. Here (written for Restora; widths from the released code, models/discriminator.py,
base 64: 64, 128, 256, 512, 512, 512, 4 x 4 stride-2 convolutions with LeakyReLU 0.2):
- global column: the whole image (the released code shows it the known part, image * known);
- local column: the image inside the hole only, image * hole: the hole region at full resolution, so no crop
  box or resize depends on the mask's shape and every sample of a batch has the same size;
- fusion: the two feature maps concatenated, a 3 x 3 convolution to one channel and the spatial mean, one
  unbounded score per image (a WGAN critic: the released code's sigmoid and BatchNorm are left out, since a
  gradient penalty is per sample and BatchNorm mixes the samples of a batch; Gulrajani et al. 2017, 4).

The critic needs the batch's hole map, which a plain `discriminator(images)` call does not carry: the preset's
forward calls `condition(hole)` once per batch (N x 1 x H x W, 1 = hole), before the trainer calls the critic
on real images, fakes, both concatenated (2N: the map is repeated) or their interpolates. The map is plain
state, not a buffer: it is never saved, and DDP does not broadcast it.
"""

from __future__ import annotations

import torch
from torch import nn

DEFAULT_WIDTHS = (1, 2, 4, 8, 8, 8)  # times base, one 4 x 4 stride-2 convolution each


def _column(in_channels: int, widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    cin = in_channels
    for w in widths:
        layers += [nn.Conv2d(cin, w, 4, 2, 1), nn.LeakyReLU(0.2)]
        cin = w
    return nn.Sequential(*layers)


class TwoColumnDiscriminator(nn.Module):
    """forward(images N x C x H x W) -> N scores (higher = more real), after condition(hole)."""

    def __init__(self, in_channels: int = 3, base: int = 64, layers: int = len(DEFAULT_WIDTHS)) -> None:
        super().__init__()
        if not 1 <= layers <= len(DEFAULT_WIDTHS):
            raise ValueError(f"the discriminator has 1 to {len(DEFAULT_WIDTHS)} layers per column, got {layers}")
        widths = [base * m for m in DEFAULT_WIDTHS[:layers]]
        self.global_column = _column(in_channels, widths)
        self.local_column = _column(in_channels, widths)
        self.fusion = nn.Conv2d(2 * widths[-1], 1, 3, 1, 1)
        self._hole: torch.Tensor | None = None

    def condition(self, hole: torch.Tensor) -> None:
        """The hole map of the current batch (N x 1 x H x W, 1 = hole), used until the next call."""
        self._hole = hole.detach()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        hole = self._hole
        if hole is None:
            raise RuntimeError("TwoColumnDiscriminator.condition(hole) must be called before the critic is used")
        n, batch = images.shape[0], hole.shape[0]
        if n != batch:
            if n % batch:
                raise ValueError(f"the critic got {n} images for a hole map of {batch}")
            hole = hole.repeat(n // batch, 1, 1, 1)
        hole = hole.to(device=images.device, dtype=images.dtype)
        features = torch.cat([self.global_column(images), self.local_column(images * hole)], 1)
        return self.fusion(features).mean(dim=(1, 2, 3))
