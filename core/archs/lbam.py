"""LBAM, Learnable Bidirectional Attention Maps for inpainting (Xie et al., ICCV 2019), as an architecture the
model store identifies; its layers are in core.archs.lbam_layers.

Keys and shapes match the released generator (Vious/LBAM_Pytorch, `LBAMModel(4, 3)`, 79 tensors, 68.3 M
weights), which loads strictly. Seven stride-2 encoder layers with forward attention (ec1..ec7: 64, 128, 256,
512, 512, 512, 512 channels at base 64), six reverse mask layers (reverseConv1..6) and seven transposed-conv
decoder layers (dc1..dc6 with reverse attention, dc7 to RGB), output (tanh + 1) / 2 in [0, 1].

The call, as in the released test script: with `known` = 1 for a pixel to keep, the network takes
inputs = cat(image * known, known) (4 channels) and masks = known on 3 channels; its reverse branch is fed
1 - masks; the result is pasted back as out * (1 - known) + image * known. Sides must be multiples of 128
(2^7): the size rule pads to that and the engine crops around each hole. `base` scales every width (the
released weights are base 64; smaller bases exist for tests and experiments).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

import torch
from torch import nn

from core.archs.lbam_layers import ForwardAttention, ReverseAttention, ReverseMaskConv, deconv4x4
from core.archs.spec import ArchSpec, StateDict, check_options, layout_mismatch, layout_of
from core.models.descriptor import MaskInput, ModelDescriptor, SizeRule
from core.tensors import ZERO_ONE

ARCHITECTURE = "LBAM"
DEPTH = 7  # stride-2 encoder layers
MULTIPLE = 2**DEPTH
OFFICIAL_BASE = 64
# Restora's hole map becomes LBAM's known map at the boundary; the image's holes are zeroed first.
MASK = MaskInput(polarity="known", premultiplied=True, passed_as="argument")
# Keys only the LBAM family has: a checkpoint with them is LBAM's, and load says what else does not fit.
_SIGNATURE = ("ec1.conv.maskConv.weight", "reverseConv1.reverseMaskConv.weight")


def encoder_widths(base: int) -> list[int]:
    return [base * m for m in (1, 2, 4, 8, 8, 8, 8)]


class LBAM(nn.Module):
    """forward(inputs N x 4 x H x W, masks N x 3 x H x W with 1 = known) -> N x 3 x H x W in [0, 1]."""

    def __init__(self, in_channels: int = 4, out_channels: int = 3, base: int = OFFICIAL_BASE) -> None:
        super().__init__()
        if in_channels < 2 or out_channels < 1 or base < 1:
            raise ValueError(f"LBAM needs in_channels >= 2, out_channels >= 1, base >= 1; got "
                             f"{in_channels}, {out_channels}, {base}")
        self.in_channels, self.out_channels, self.base = in_channels, out_channels, base
        mask_channels = in_channels - 1  # the image's channels; the input carries one of them as its last
        w = encoder_widths(base)
        for i in range(DEPTH):
            setattr(self, f"ec{i + 1}", ForwardAttention(in_channels if i == 0 else w[i - 1], w[i],
                                                         mask_channels if i == 0 else w[i - 1]))
        for i in range(DEPTH - 1):
            setattr(self, f"reverseConv{i + 1}", ReverseMaskConv(mask_channels if i == 0 else w[i - 1], w[i]))
        # dc1 upsamples the bottleneck to the scale of ec6; each later one takes [skip, previous] (twice the width).
        for i in range(DEPTH - 1):
            level = DEPTH - 2 - i  # the encoder layer whose scale dc{i+1} reaches
            cin = w[DEPTH - 1] if i == 0 else 2 * w[level + 1]
            setattr(self, f"dc{i + 1}", ReverseAttention(cin, w[level]))
        self.dc7 = deconv4x4(2 * w[0], out_channels)

    def _layer(self, name: str) -> nn.Module:
        return cast(nn.Module, getattr(self, name))

    def forward(self, inputs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        h, w = inputs.shape[-2:]
        if h % MULTIPLE or w % MULTIPLE:
            raise ValueError(f"LBAM takes sides that are multiples of {MULTIPLE}, got {w} x {h} (pad first)")
        skips, forward_maps = [], []
        x, m = inputs, masks
        for i in range(DEPTH):
            x, m, skip, attention = self._layer(f"ec{i + 1}")(x, m)
            skips.append(skip)
            forward_maps.append(attention)
        reverse_maps = []
        r = 1 - masks
        for i in range(DEPTH - 1):
            attention, r = self._layer(f"reverseConv{i + 1}")(r)
            reverse_maps.append(attention)
        for i in range(DEPTH - 1):
            level = DEPTH - 2 - i
            maps = torch.cat([forward_maps[level], reverse_maps[level]], 1)
            x = self._layer(f"dc{i + 1}")(skips[level], x, maps)
        return (torch.tanh(self.dc7(x)) + 1) / 2


def network_inputs(image: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """LBAM's (inputs, masks) from the image with its holes zeroed (N x 3) and the known map (N x 1 or N x 3):
    inputs = cat(image, known[:, :1]), masks = known on 3 channels."""
    masks = known.expand(-1, image.shape[1], -1, -1) if known.shape[1] == 1 else known
    return torch.cat([image, masks[:, :1]], 1), masks


def composite(output: torch.Tensor, image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """The network's fill in the holes, the image elsewhere (the released test's paste-back)."""
    return output * (1 - known) + image * known


def lbam_forward(module: nn.Module, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """The descriptor's call: x in [0, 1] with its holes already zeroed, `known` N x 1 (1 = keep)."""
    inputs, masks = network_inputs(x, known)
    return composite(module(inputs, masks), x, masks)


@lru_cache(maxsize=8)
def expected_layout(in_channels: int = 4, out_channels: int = 3, base: int = OFFICIAL_BASE
                    ) -> dict[str, tuple[int, ...]]:
    """Key -> shape of an LBAM state dict (built on the meta device: no memory)."""
    with torch.device("meta"):
        return layout_of(LBAM(in_channels, out_channels, base))


def matches_state_dict(state_dict: StateDict) -> bool:
    """True for the LBAM family (its signature keys); load_descriptor says what else does not fit."""
    return all(k in state_dict for k in _SIGNATURE)


def _shape(state_dict: StateDict) -> dict[str, int]:
    first, last = state_dict.get("ec1.conv.conv.weight"), state_dict.get("dc7.weight")
    if first is None or first.ndim != 4:
        raise ValueError("not an LBAM generator: it has no 4-D ec1.conv.conv.weight")
    shape = {"in_channels": int(first.shape[1]), "base": int(first.shape[0]), "out_channels": 3}
    if last is not None and last.ndim == 4:
        shape["out_channels"] = int(last.shape[1])
    return shape


def load_descriptor(state_dict: StateDict, **options: Any) -> ModelDescriptor:
    """Build LBAM from a state dict (strict); raises ValueError naming the tensors that do not fit."""
    shape = _shape(state_dict)
    check_options(ARCHITECTURE, options, shape)
    expected = expected_layout(shape["in_channels"], shape["out_channels"], shape["base"])
    mismatch = layout_mismatch(state_dict, expected)
    if mismatch:
        raise ValueError(f"not a loadable LBAM generator (base {shape['base']}): {mismatch}")
    net = LBAM(**shape)
    net.load_state_dict(dict(state_dict), strict=True)
    return describe(net)


def describe(net: LBAM) -> ModelDescriptor:
    # The bottleneck sees the whole 128-multiple input, so no tiling: one run per crop around a hole.
    # No float16: the network has no normalisation, so activations are unbounded, and the mask branch feeds
    # exp(-s (x - mu)^2), which turns an overflow into a plausible-looking but wrong attention map instead of
    # a NaN the runner would catch; without the released weights to check their range we keep float32.
    return ARCH_SPEC.describe(net, size=SizeRule("crop", multiple_of=MULTIPLE), mask=MASK, forward=lbam_forward,
                              image_channels=net.in_channels - 1, output_channels=net.out_channels,
                              supports_half=False, supports_bfloat16=False)


LICENSE = "Official LBAM weights: research use (Vious/LBAM_Pytorch; check its README before other use)"
ARCH_SPEC = ArchSpec(name=ARCHITECTURE, task="inpaint", license=LICENSE, input_range=ZERO_ONE,
                     output_range=ZERO_ONE, detect=matches_state_dict, load=load_descriptor,
                     load_options=("in_channels", "out_channels", "base"))
