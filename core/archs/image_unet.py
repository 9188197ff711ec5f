"""Restora's generic image-to-image U-Net (the image_unet training preset), as an architecture the model
store identifies: a 3-channel restoration network, or a 4-channel inpainting one (RGB with its holes set to
mid-grey, plus the hole mask as a last channel). Input and output RGB in [-1, 1].
"""

from __future__ import annotations

import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.archs.spec import ArchSpec, StateDict, built_layout, check_options, matches_layout
from core.models.descriptor import MaskInput, ModelDescriptor, SizeRule
from core.tensors import MINUS_ONE_ONE

ARCHITECTURE = "RestoraImageUNet"
# The inpainting variant's input: holes mid-grey (0 in [-1, 1], i.e. premultiplied) and the mask, 1 = hole.
INPAINT_MASK = MaskInput(polarity="hole", premultiplied=True, passed_as="channel")


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


def _shape(state_dict: StateDict) -> dict[str, int] | None:
    head, tail = state_dict.get("head.0.weight"), state_dict.get("tail.weight")
    if head is None or tail is None or head.ndim != 4 or tail.ndim != 4:
        return None
    depth = len({m.group(1) for k in state_dict if (m := re.match(r"down\.(\d+)\.weight$", k))})
    if depth < 1:
        return None
    return {"in_channels": int(head.shape[1]), "out_channels": int(tail.shape[0]), "base": int(head.shape[0]),
            "depth": depth}


def matches_state_dict(state_dict: StateDict) -> bool:
    """True when the checkpoint has exactly the keys and shapes of an ImageUNet of its own shape."""
    shape = _shape(state_dict)
    if shape is None or shape["in_channels"] not in (3, 4) or shape["out_channels"] != 3:
        return False
    expected = built_layout(lambda: ImageUNet(**shape))
    return expected is not None and matches_layout(state_dict, expected)


def load_descriptor(state_dict: StateDict, **options: Any) -> ModelDescriptor:
    """Build the U-Net from a state dict (strict); `options` (a training export's) must agree with it."""
    shape = _shape(state_dict)
    if shape is None:
        raise ValueError("not an ImageUNet state dict")
    check_options(ARCHITECTURE, options, shape)
    net = ImageUNet(**shape)
    net.load_state_dict(dict(state_dict), strict=True)
    inpaint = shape["in_channels"] == 4
    # Not tileable in general: the bottleneck of a deep U-Net sees far; a whole run pads to 2**depth.
    size = SizeRule("crop" if inpaint else "whole", multiple_of=1)
    return ARCH_SPEC.describe(net, size=size, purpose="inpaint" if inpaint else "general",
                              mask=INPAINT_MASK if inpaint else None, supports_half=True, supports_bfloat16=True)


LICENSE = "Restora's own architecture (weights: whoever trained them)"
ARCH_SPEC = ArchSpec(name=ARCHITECTURE, task="general", license=LICENSE, input_range=MINUS_ONE_ONE,
                     output_range=MINUS_ONE_ONE, detect=matches_state_dict, load=load_descriptor,
                     load_options=("in_channels", "out_channels", "base", "depth"))
