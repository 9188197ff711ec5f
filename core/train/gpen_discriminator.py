"""The StyleGAN2 discriminator GPEN trains against (official `Discriminator`, yangxy/GPEN
face_model/gpen_model.py): a 1x1 conv, residual blocks halving the resolution down to 4 x 4, a minibatch
standard-deviation feature, a 3x3 conv and two linear layers to one logit per image.

Keys and shapes follow the official class (so its released discriminator weights would fit). One deliberate
difference: the trainer scores real and fake images in one concatenated batch (reals first), and the
standard-deviation groups must not mix the two halves, or the feature would tell real from fake only through
their mixture. So the groups are runs of consecutive samples (the official groups take every (N/4)-th
sample), of the largest size up to 4 that divides half an even batch (an odd batch: the batch itself).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from core.archs.gpen import channel_table
from core.archs.gpen_layers import ConvLayer, EqualLinear


class ResBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(in_channels, in_channels, 3)
        self.conv2 = ConvLayer(in_channels, out_channels, 3, downsample=True)
        self.skip = ConvLayer(in_channels, out_channels, 1, downsample=True, activate=False, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2.0)


def _group_size(batch: int, largest: int) -> int:
    """The largest group size up to `largest` whose consecutive groups stay inside each half of the batch."""
    half = batch // 2 if batch % 2 == 0 else batch
    return max(g for g in range(1, min(half, largest) + 1) if half % g == 0)


class GPENDiscriminator(nn.Module):
    """forward(x in [-1, 1], N x 3 x size x size) -> N x 1 logits."""

    def __init__(self, size: int = 512, channel_multiplier: int = 2, narrow: float = 1.0,
                 stddev_group: int = 4) -> None:
        super().__init__()
        channels = channel_table(size, channel_multiplier, narrow)
        if size < 8 or size & (size - 1) or min(channels.values()) < 1:
            raise ValueError(f"the GPEN discriminator needs a power-of-two size of at least 8 and at least one "
                             f"channel everywhere, got size {size} with widths {channels}")
        self.size = size
        self.stddev_group = stddev_group
        convs: list[nn.Module] = [ConvLayer(3, channels[size], 1)]
        in_ch = channels[size]
        for i in range(int(math.log2(size)), 2, -1):
            out_ch = channels[2 ** (i - 1)]
            convs.append(ResBlock(in_ch, out_ch))
            in_ch = out_ch
        self.convs = nn.Sequential(*convs)
        self.final_conv = ConvLayer(in_ch + 1, channels[4], 3)
        self.final_linear = nn.Sequential(EqualLinear(channels[4] * 4 * 4, channels[4], activation=True),
                                          EqualLinear(channels[4], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.convs(x)
        n, c, h, w = out.shape
        g = _group_size(n, self.stddev_group)
        grouped = out.reshape(n // g, g, c, h, w)
        std = torch.sqrt(grouped.var(1, unbiased=False) + 1e-8).mean((1, 2, 3))  # one figure per group
        feature = std.repeat_interleave(g).reshape(n, 1, 1, 1).expand(n, 1, h, w)
        out = self.final_conv(torch.cat([out, feature.to(out.dtype)], 1))
        return self.final_linear(out.reshape(n, -1))
