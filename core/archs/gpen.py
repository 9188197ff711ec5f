"""GPEN (Yang et al., CVPR 2021, "GAN Prior Embedded Network for Blind Face Restoration"): a U-Net encoder
whose deepest features become the style of a StyleGAN2 decoder and whose feature maps at every resolution
are that decoder's "noise" inputs, concatenated to its activations.

Keys and shapes match the official FullGenerator (yangxy/GPEN, face_model/gpen_model.py), so the released
GPEN-BFR-512 (`FullGenerator(512, 512, 8, channel_multiplier=2, narrow=1)`) and GPEN-BFR-256
(`FullGenerator(256, 512, 8, channel_multiplier=1, narrow=0.5)`) state dicts load strictly, blur-kernel
buffers included. Input: an aligned face, RGB in [-1, 1], N x 3 x size x size (GPEN's own, looser alignment
template). forward returns (image, None); the image is nominally in [-1, 1] but unbounded (nothing follows the
ToRGB sum). There is no random draw: the result is a deterministic function of the input.
Other sizes (8 to 1024, powers of two) and channel widths are recognised from a state dict's shapes, for
Restora's own training exports.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch
from torch import nn

from core.archs.gpen_layers import ConstantInput, ConvLayer, EqualLinear, PixelNorm, StyledConv, ToRGB
from core.archs.spec import ArchSpec, StateDict, built_layout, check_options, layout_mismatch
from core.models.descriptor import ModelDescriptor, SizeRule
from core.tensors import MINUS_ONE_ONE

ARCHITECTURE = "GPEN"
SIZES = tuple(2 ** i for i in range(3, 11))  # 8 .. 1024
LR_MLP = 0.01  # the mapping network's learning-rate multiplier (official default; not stored in a checkpoint)
OFFICIAL = {  # the released BFR models' constructor arguments (face_gan.py:18,28)
    512: {"size": 512, "style_dim": 512, "n_mlp": 8, "channel_multiplier": 2, "narrow": 1.0},
    256: {"size": 256, "style_dim": 512, "n_mlp": 8, "channel_multiplier": 1, "narrow": 0.5},
}
Channels = dict[int, int]


def channel_table(size: int, channel_multiplier: int = 2, narrow: float = 1.0) -> Channels:
    """Feature channels per resolution, 4 .. size, as the official constructor computes them."""
    base = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * channel_multiplier, 128: 128 * channel_multiplier,
            256: 64 * channel_multiplier, 512: 32 * channel_multiplier, 1024: 16 * channel_multiplier}
    return {r: int(c * narrow) for r, c in base.items() if r <= size}


def _check_shape(size: int, channels: Mapping[int, int]) -> None:
    if size not in SIZES:
        raise ValueError(f"GPEN's size must be a power of two from {SIZES[0]} to {SIZES[-1]}, got {size}")
    wanted = [2 ** i for i in range(2, int(math.log2(size)) + 1)]
    if sorted(channels) != wanted or any(int(c) < 1 for c in channels.values()):
        raise ValueError(f"GPEN needs at least one channel at each resolution 4 .. {size}, got {dict(channels)}")


class StyleDecoder(nn.Module):
    """The StyleGAN2 generator (official `Generator` with isconcat=True): a mapping network, a learned 4 x 4
    constant, two styled convolutions per resolution and a ToRGB skip sum."""

    def __init__(self, size: int, style_dim: int, n_mlp: int, channels: Mapping[int, int]) -> None:
        super().__init__()
        self.size = size
        self.style = nn.Sequential(PixelNorm(), *(EqualLinear(style_dim, style_dim, lr_mul=LR_MLP, activation=True)
                                                  for _ in range(n_mlp)))
        self.input = ConstantInput(channels[4])
        self.conv1 = StyledConv(channels[4], channels[4], 3, style_dim)
        self.to_rgb1 = ToRGB(channels[4] * 2, style_dim, upsample=False)
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        in_ch = channels[4]
        for i in range(3, int(math.log2(size)) + 1):
            out_ch = channels[2 ** i]
            self.convs.append(StyledConv(in_ch * 2, out_ch, 3, style_dim, upsample=True))
            self.convs.append(StyledConv(out_ch * 2, out_ch, 3, style_dim))
            self.to_rgbs.append(ToRGB(out_ch * 2, style_dim))
            in_ch = out_ch

    def forward(self, style: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        """`style` is the encoder's code (batch x style_dim); `noise` one map per styled conv, 4 x 4 first."""
        w = self.style(style)  # the same latent for every layer (one style, no truncation, no mixing)
        out = self.conv1(self.input(style.shape[0]), w, noise[0])
        skip = self.to_rgb1(out, w)
        for i, to_rgb in enumerate(self.to_rgbs):
            out = self.convs[2 * i](out, w, noise[1 + 2 * i])
            out = self.convs[2 * i + 1](out, w, noise[2 + 2 * i])
            skip = to_rgb(out, w, skip)
        return skip


class GPEN(nn.Module):
    """The official FullGenerator: encoder ecd0 .. ecd{log2(size)-2} (a 1x1 conv, then stride-2 convs down to
    4 x 4), a linear layer from the 4 x 4 features to the style, and the StyleGAN2 decoder.

    forward(x in [-1, 1], N x 3 x size x size) -> (image, None)."""

    def __init__(self, size: int = 512, style_dim: int = 512, n_mlp: int = 8, channel_multiplier: int = 2,
                 narrow: float = 1.0, *, channels: Mapping[int, int] | None = None) -> None:
        super().__init__()
        table = dict(channels) if channels is not None else channel_table(size, channel_multiplier, narrow)
        _check_shape(size, table)
        self.size = size
        self.log_size = int(math.log2(size))
        self.channels = table
        self.generator = StyleDecoder(size, style_dim, n_mlp, table)
        self.ecd0 = nn.Sequential(ConvLayer(3, table[size], 1))
        in_ch = table[size]
        for i in range(self.log_size, 2, -1):
            out_ch = table[2 ** (i - 1)]
            self.add_module(f"ecd{self.log_size - i + 1}", nn.Sequential(ConvLayer(in_ch, out_ch, 3, downsample=True)))
            in_ch = out_ch
        self.final_linear = nn.Sequential(EqualLinear(table[4] * 4 * 4, style_dim, activation=True))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        if tuple(x.shape[-2:]) != (self.size, self.size):
            raise ValueError(f"GPEN-{self.size} takes {self.size} x {self.size} faces, got "
                             f"{x.shape[-1]} x {x.shape[-2]}")
        feats = []
        for i in range(self.log_size - 1):
            x = getattr(self, f"ecd{i}")(x)
            feats.append(x)
        style = self.final_linear(x.reshape(x.shape[0], -1))
        # The decoder's noise inputs: the 4 x 4 features for its first conv, then each resolution's features
        # for both convs of that resolution.
        noise = [feats[-1]] + [f for f in reversed(feats[:-1]) for _ in (0, 1)]
        return self.generator(style, noise), None


# --------------------------------------------------------------------------------------- identification

def _shape(state_dict: StateDict) -> dict[str, Any] | None:
    """Size, style width, mapping depth and channel table read off a state dict's shapes; None if not GPEN."""
    first = state_dict.get("ecd0.0.0.weight")
    style1 = state_dict.get("generator.style.1.weight")
    const = state_dict.get("generator.input.input")
    if first is None or style1 is None or const is None or first.ndim != 4 or style1.ndim != 2 or const.ndim != 4:
        return None
    n_rgbs = sum(1 for k in state_dict if k.startswith("generator.to_rgbs.") and k.endswith(".conv.weight"))
    size = 2 ** (n_rgbs + 2)
    if size not in SIZES:
        return None
    n_mlp = sum(1 for k in state_dict if k.startswith("generator.style.") and k.endswith(".weight"))
    channels = {size: int(first.shape[0])}
    for i in range(1, int(math.log2(size)) - 1):
        w = state_dict.get(f"ecd{i}.0.1.weight")
        if w is None or w.ndim != 4:
            return None
        channels[size >> i] = int(w.shape[0])
    return {"size": size, "style_dim": int(style1.shape[1]), "n_mlp": n_mlp, "channels": channels}


def _build(shape: Mapping[str, Any]) -> GPEN:
    return GPEN(shape["size"], shape["style_dim"], shape["n_mlp"], channels=shape["channels"])


def matches_state_dict(state_dict: StateDict) -> bool:
    """True when the checkpoint has exactly the keys and shapes of a GPEN of its own size and widths."""
    shape = _shape(state_dict)
    expected = None if shape is None else built_layout(lambda: _build(shape))
    return expected is not None and not layout_mismatch(state_dict, expected)


def load_descriptor(state_dict: StateDict, **options: Any) -> ModelDescriptor:
    """Build GPEN from a state dict (strict). A training export's options (size, style_dim, n_mlp,
    channel_multiplier, narrow) must agree with the weights."""
    shape = _shape(state_dict)
    if shape is None:
        raise ValueError("not a GPEN state dict")
    check_options(ARCHITECTURE, options, shape)
    if "channel_multiplier" in options or "narrow" in options:
        declared = channel_table(shape["size"], int(options.get("channel_multiplier", 2)),
                                 float(options.get("narrow", 1.0)))
        if declared != shape["channels"]:
            raise ValueError(f"the export's channel_multiplier and narrow give the widths {declared}, but its "
                             f"weights have {shape['channels']}")
    net = _build(shape)
    net.load_state_dict(dict(state_dict), strict=True)
    return describe(net)


def describe(net: GPEN) -> ModelDescriptor:
    """The descriptor of a built GPEN: an aligned face crop of exactly its size, in GPEN's own template."""
    return ARCH_SPEC.describe(net, size=SizeRule("crop", fixed=net.size), supports_half=True,
                              face_template="gpen")


LICENSE = ("Official GPEN-BFR weights: yangxy/GPEN's terms (research and non-commercial use; see that "
           "repository); Restora's own GPEN exports: whoever trained them")
ARCH_SPEC = ArchSpec(name=ARCHITECTURE, task="face", license=LICENSE, input_range=MINUS_ONE_ONE,
                     output_range=MINUS_ONE_ONE, detect=matches_state_dict, load=load_descriptor,
                     load_options=("size", "style_dim", "n_mlp", "channel_multiplier", "narrow"))
