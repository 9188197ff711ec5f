"""Zero-DCE (Guo et al., CVPR 2020): a 7-layer CNN that predicts 8 per-pixel, per-channel brightening
curves and applies them to the input; trained without reference images.

Keys and shapes match the official `enhance_net_nopool` (Li-Chongyi/Zero-DCE, Epoch99.pth), so the
released checkpoint loads strictly. Input and output are RGB in [0, 1], N x 3 x H x W, any size.

Curve sign: the official code applies `x + r * (x**2 - x)`, which is the paper's LE(x) = x + a*x*(1-x)
with a = -r. We keep the code's sign so the released weights give the released results; the curve maps
returned by forward are the network's r. For |r| <= 1 (tanh) every step maps [0, 1] onto [0, 1].
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from core.archs.spec import ArchSpec, StateDict, layout_of, matches_layout
from core.models.descriptor import ModelDescriptor, SizeRule
from core.tensors import ZERO_ONE

CURVE_ITERATIONS = 8
ARCHITECTURE = "Zero-DCE"


def curve_step(x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """One light-enhancement curve step in the official sign convention: x + r * (x^2 - x)."""
    return x + r * (x * x - x)


def apply_curves(x: torch.Tensor, curves: torch.Tensor) -> torch.Tensor:
    """Apply the curve maps (N x 3k x H x W, k steps of 3 channels each) in order."""
    for r in torch.split(curves, 3, dim=1):
        x = curve_step(x, r)
    return x


def skip_body(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The seven-layer body shared by Zero-DCE and Zero-DCE++ (layers e_conv1..e_conv7), tanh at the end."""
    # nn.Module's attribute lookup is typed Tensor | Module; these are layers.
    conv1, conv2, conv3, conv4, conv5, conv6, conv7 = (cast(nn.Module, getattr(net, f"e_conv{i}"))
                                                       for i in range(1, 8))
    x1 = F.relu(conv1(x))
    x2 = F.relu(conv2(x1))
    x3 = F.relu(conv3(x2))
    x4 = F.relu(conv4(x3))
    # The symmetric skips of the paper: 3+4, 2+5, 1+6.
    x5 = F.relu(conv5(torch.cat([x3, x4], 1)))
    x6 = F.relu(conv6(torch.cat([x2, x5], 1)))
    return torch.tanh(conv7(torch.cat([x1, x6], 1)))


class ZeroDCE(nn.Module):
    """forward(x in [0, 1]) -> (enhanced, curves N x 24 x H x W). The image is not clamped (as officially)."""

    def __init__(self, features: int = 32) -> None:
        super().__init__()
        f = features
        self.e_conv1 = nn.Conv2d(3, f, 3, 1, 1)
        self.e_conv2 = nn.Conv2d(f, f, 3, 1, 1)
        self.e_conv3 = nn.Conv2d(f, f, 3, 1, 1)
        self.e_conv4 = nn.Conv2d(f, f, 3, 1, 1)
        self.e_conv5 = nn.Conv2d(2 * f, f, 3, 1, 1)
        self.e_conv6 = nn.Conv2d(2 * f, f, 3, 1, 1)
        self.e_conv7 = nn.Conv2d(2 * f, 3 * CURVE_ITERATIONS, 3, 1, 1)

    def estimate_curves(self, x: torch.Tensor) -> torch.Tensor:
        """The 24 curve maps in [-1, 1] (tanh), at the input's resolution."""
        return skip_body(self, x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        curves = self.estimate_curves(x)
        return apply_curves(x, curves), curves


def _expected_shapes() -> dict[str, tuple[int, ...]]:
    return layout_of(ZeroDCE())


def matches_state_dict(state_dict: StateDict) -> bool:
    """True when the checkpoint has exactly Zero-DCE's keys and shapes."""
    expected = _expected_shapes()
    return matches_layout(state_dict, expected)


def load_descriptor(state_dict: StateDict) -> ModelDescriptor:
    """Build Zero-DCE from a state dict (strict) and describe it."""
    net = ZeroDCE()
    net.load_state_dict(dict(state_dict), strict=True)
    return describe(net.eval())


def describe(net: ZeroDCE) -> ModelDescriptor:
    """The descriptor of a built Zero-DCE network (its forward yields the unclamped image first)."""
    # Receptive field is 15 px (seven 3x3 convs), so tiles with a small overlap give the same result.
    return ARCH_SPEC.describe(net, size=SizeRule("tile"), supports_half=True, supports_bfloat16=True)


LICENSE = "Official Zero-DCE weights: research use (Li-Chongyi/Zero-DCE, CC BY-NC 4.0 per its users' notices)"
ARCH_SPEC = ArchSpec(name=ARCHITECTURE, task="lowlight", license=LICENSE, input_range=ZERO_ONE,
                     output_range=ZERO_ONE, detect=matches_state_dict, load=load_descriptor)
