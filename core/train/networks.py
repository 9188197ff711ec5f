"""Small trainable networks of the generic preset: an image-to-image U-Net and a PatchGAN discriminator."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True),
                         nn.Conv2d(cout, cout, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True))


class ImageUNet(nn.Module):
    """A plain U-Net: `depth` stride-2 downsamplings with skips; predicts a residual on the image channels.

    Inputs are padded to a multiple of 2**depth and the output cropped back, so any size works.
    in_channels may exceed out_channels (an inpainting mask channel); the residual uses the first
    out_channels input channels.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, base: int = 32, depth: int = 3) -> None:
        super().__init__()
        self.depth = depth
        self.out_channels = out_channels
        widths = [base * 2**i for i in range(depth + 1)]
        self.head = _block(in_channels, widths[0])
        self.down = nn.ModuleList(nn.Conv2d(widths[i], widths[i + 1], 4, 2, 1) for i in range(depth))
        self.enc = nn.ModuleList(_block(widths[i + 1], widths[i + 1]) for i in range(depth))
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 4, 2, 1) for i in reversed(range(depth)))
        self.dec = nn.ModuleList(_block(2 * widths[i], widths[i]) for i in reversed(range(depth)))
        self.tail = nn.Conv2d(widths[0], out_channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = 2**self.depth
        padded = F.pad(x, (0, (-w) % m, 0, (-h) % m), mode="replicate")
        feats = [self.head(padded)]
        for down, enc in zip(self.down, self.enc):
            feats.append(enc(F.leaky_relu(down(feats[-1]), 0.2)))
        y = feats.pop()
        for up, dec in zip(self.up, self.dec):
            y = dec(torch.cat([F.leaky_relu(up(y), 0.2), feats.pop()], 1))
        out = padded[:, :self.out_channels] + self.tail(y)
        return out[:, :, :h, :w]


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
