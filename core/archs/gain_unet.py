"""A light U-Net that predicts a per-pixel brightness gain (Restora's own supervised low-light model).

Input: RGB in [0, 1], N x 3 x H x W, any size (padded inside to a multiple of 8, cropped back).
Output: (enhanced, gain), where gain is N x C x H x W in [gain_min, gain_max] (sigmoid-scaled; C = 1
keeps hues, C = 3 may also correct a colour cast) and enhanced = x * gain, NOT clamped, so training
gradients stay alive where the product overshoots 1; the engine clamps to [0, 1]. A global branch pools
the bottleneck over the whole image and feeds that summary back to the decoder, so the gain depends on
the scene's overall brightness and not only on the local neighbourhood. At initialisation the gain is 1
everywhere (the identity), which makes early training stable.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from core.archs.spec import ArchSpec, StateDict, check_options, layout_of, matches_layout
from core.models.descriptor import ModelDescriptor, SizeRule
from core.tensors import ZERO_ONE

ARCHITECTURE = "Restora gain U-Net"
SIZE_MULTIPLE = 8  # three 2x downsamplings


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True),
                         nn.Conv2d(out_channels, out_channels, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True))


class GainUNet(nn.Module):
    """forward(x in [0, 1]) -> (x * gain unclamped, gain in [gain_min, gain_max])."""

    def __init__(self, base: int = 16, gain_min: float = 0.5, gain_max: float = 4.0,
                 gain_channels: int = 1) -> None:
        super().__init__()
        if not 0.0 < gain_min < 1.0 < gain_max:
            raise ValueError(f"need 0 < gain_min < 1 < gain_max, got {gain_min}, {gain_max}")
        if gain_channels not in (1, 3):
            raise ValueError(f"gain_channels must be 1 or 3, got {gain_channels}")
        self.gain_min, self.gain_max = float(gain_min), float(gain_max)
        # Stored in the state dict so a weight file says which range it was trained with.
        self.register_buffer("gain_range", torch.tensor([self.gain_min, self.gain_max]))
        b = base
        self.enc1 = _block(3, b)
        self.enc2 = _block(b, 2 * b)
        self.enc3 = _block(2 * b, 4 * b)
        self.bottleneck = _block(4 * b, 4 * b)
        self.global_branch = nn.Sequential(nn.Linear(4 * b, 4 * b), nn.LeakyReLU(0.1, inplace=True),
                                           nn.Linear(4 * b, 4 * b))
        self.dec3 = _block(8 * b, 2 * b)
        self.dec2 = _block(4 * b, b)
        self.dec1 = _block(2 * b, b)
        self.head = nn.Conv2d(b, gain_channels, 3, 1, 1)
        # Start as the identity: a small head and a bias that puts the gain at exactly 1.
        nn.init.normal_(self.head.weight, std=1e-3)
        share = (1.0 - self.gain_min) / (self.gain_max - self.gain_min)
        assert self.head.bias is not None  # Conv2d's default bias=True
        nn.init.constant_(self.head.bias, math.log(share / (1.0 - share)))

    def predict_gain(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad_h, pad_w = (-h) % SIZE_MULTIPLE, (-w) % SIZE_MULTIPLE
        if pad_h or pad_w:
            mode = "reflect" if min(h, w) > max(pad_h, pad_w) else "replicate"
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        e1 = self.enc1(x)
        e2 = self.enc2(F.avg_pool2d(e1, 2))
        e3 = self.enc3(F.avg_pool2d(e2, 2))
        mid = self.bottleneck(F.avg_pool2d(e3, 2))
        scene = self.global_branch(mid.mean(dim=(2, 3)))
        mid = mid + scene[:, :, None, None]
        d3 = self.dec3(torch.cat([_up(mid, e3), e3], 1))
        d2 = self.dec2(torch.cat([_up(d3, e2), e2], 1))
        d1 = self.dec1(torch.cat([_up(d2, e1), e1], 1))
        gain = self.gain_min + (self.gain_max - self.gain_min) * torch.sigmoid(self.head(d1))
        return gain[:, :, :h, :w]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gain = self.predict_gain(x)
        return x * gain, gain


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


def apply_gain(image: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
    """x * gain clamped to [0, 1] (what the engine shows)."""
    return (image * gain).clamp(0.0, 1.0)


def build_from_state_dict(state_dict: StateDict) -> GainUNet:
    """A GainUNet shaped like the checkpoint (width, gain channels, gain range), loaded strictly."""
    sd = dict(state_dict)
    base = int(sd["enc1.0.weight"].shape[0]) if "enc1.0.weight" in sd else 16
    channels = int(sd["head.weight"].shape[0]) if "head.weight" in sd else 1
    lo, hi = (float(v) for v in sd["gain_range"].tolist()) if "gain_range" in sd else (0.5, 4.0)
    net = GainUNet(base=base, gain_min=lo, gain_max=hi, gain_channels=channels)
    net.load_state_dict(sd, strict=True)
    return net


def load_descriptor(state_dict: StateDict, **options: float) -> ModelDescriptor:
    """Build the gain U-Net from our own weights (strict). Not tileable: the global branch sees the whole
    input, so tiles would each get their own idea of the scene's brightness. `options` (a training export's
    base, gain_min, gain_max) must agree with what the weights hold."""
    net = build_from_state_dict(state_dict)
    first = cast(nn.Conv2d, net.enc1[0])
    built = {"base": int(first.weight.shape[0]), "gain_min": net.gain_min, "gain_max": net.gain_max}
    check_options(ARCHITECTURE, options, built)
    net.eval()
    return ARCH_SPEC.describe(net, size=SizeRule("whole"), supports_half=True, supports_bfloat16=True)


@lru_cache(maxsize=16)
def _expected_shapes(base: int, gain_channels: int) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):  # the layout only, no memory
        net = GainUNet(base=base, gain_channels=gain_channels)
    return layout_of(net)


def matches_state_dict(state_dict: StateDict) -> bool:
    """True when the checkpoint has exactly the keys and shapes of a gain U-Net of its own width."""
    first, head = state_dict.get("enc1.0.weight"), state_dict.get("head.weight")
    if first is None or head is None or first.ndim != 4 or head.ndim != 4:
        return False
    base, channels = int(first.shape[0]), int(head.shape[0])
    if base < 1 or channels not in (1, 3):
        return False
    expected = _expected_shapes(base, channels)
    return matches_layout(state_dict, expected)


LICENSE = "Restora's own architecture (weights: whoever trained them)"
ARCH_SPEC = ArchSpec(name=ARCHITECTURE, task="lowlight", license=LICENSE, input_range=ZERO_ONE,
                     output_range=ZERO_ONE, detect=matches_state_dict, load=load_descriptor,
                     load_options=("base", "gain_min", "gain_max"))
