"""Zero-DCE++ (Li, Guo and Loy, TPAMI 2021): Zero-DCE with depthwise-separable convolutions and one
3-channel curve map shared by all 8 steps, estimated on a downscaled copy and applied at full size.

Keys and shapes match the official `enhance_net_nopool(scale_factor)` (Li-Chongyi/Zero-DCE_extension,
Epoch99.pth); `scale_factor` is not stored in the file. Unlike the official test script (which crops to
multiples of 12), any size works: the downscaled size is the input size divided by the factor, and the
curve is upsampled back to the exact input size. Input and output RGB in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.archs.spec import ArchSpec, StateDict, layout_of, matches_layout
from core.archs.zero_dce import curve_step, skip_body
from core.models.descriptor import ModelDescriptor, SizeRule
from core.tensors import ZERO_ONE

CURVE_ITERATIONS = 8
ARCHITECTURE = "Zero-DCE++"
OFFICIAL_TEST_SCALE = 12  # lowlight_test.py builds enhance_net_nopool(12)


class SeparableConv(nn.Module):
    """A 3x3 depthwise convolution followed by a 1x1 pointwise one (the official CSDN_Tem block)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.depth_conv = nn.Conv2d(in_channels, in_channels, 3, 1, 1, groups=in_channels)
        self.point_conv = nn.Conv2d(in_channels, out_channels, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point_conv(self.depth_conv(x))


def apply_shared_curve(x: torch.Tensor, curve: torch.Tensor, iterations: int = CURVE_ITERATIONS) -> torch.Tensor:
    """Apply one curve map `iterations` times (differentiable; the engine has a faster in-place version)."""
    for _ in range(iterations):
        x = curve_step(x, curve)
    return x


def downscaled_size(height: int, width: int, factor: float) -> tuple[int, int]:
    return max(1, int(round(height / factor))), max(1, int(round(width / factor)))


class ZeroDCEPP(nn.Module):
    """forward(x in [0, 1]) -> (enhanced, curve_map N x 3 x H x W in [-1, 1]). Not clamped (as officially)."""

    def __init__(self, scale_factor: int = 1, features: int = 32) -> None:
        super().__init__()
        if scale_factor < 1:
            raise ValueError(f"scale_factor must be at least 1, got {scale_factor}")
        self.scale_factor = scale_factor
        f = features
        self.e_conv1 = SeparableConv(3, f)
        self.e_conv2 = SeparableConv(f, f)
        self.e_conv3 = SeparableConv(f, f)
        self.e_conv4 = SeparableConv(f, f)
        self.e_conv5 = SeparableConv(2 * f, f)
        self.e_conv6 = SeparableConv(2 * f, f)
        self.e_conv7 = SeparableConv(2 * f, 3)

    def estimate_curve(self, x: torch.Tensor) -> torch.Tensor:
        """The curve map at the resolution of `x` (call it on a small copy, then `upsample_curve`)."""
        return skip_body(self, x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, w = x.shape[-2:]
        if self.scale_factor == 1:
            curve = self.estimate_curve(x)
        else:
            small = F.interpolate(x, size=downscaled_size(h, w, self.scale_factor), mode="bilinear",
                                  align_corners=False)
            curve = upsample_curve(self.estimate_curve(small), (h, w))
        return apply_shared_curve(x, curve), curve


def upsample_curve(curve: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The official upsampling: bilinear with align_corners=True, here to an exact size."""
    if tuple(curve.shape[-2:]) == tuple(size):
        return curve
    return F.interpolate(curve, size=size, mode="bilinear", align_corners=True)


def _expected_shapes() -> dict[str, tuple[int, ...]]:
    return layout_of(ZeroDCEPP())


def matches_state_dict(state_dict: StateDict) -> bool:
    """True when the checkpoint has exactly Zero-DCE++'s keys and shapes."""
    expected = _expected_shapes()
    return matches_layout(state_dict, expected)


def load_descriptor(state_dict: StateDict, scale_factor: int = OFFICIAL_TEST_SCALE) -> ModelDescriptor:
    """Build Zero-DCE++ from a state dict (strict) and describe it, by default with the official test
    script's scale factor (12). With a factor above 1 the descriptor is not tileable: the curve is estimated
    on the whole downscaled image. (Restora's Zero-DCE++ engine does not use this path: it estimates the
    curve on a copy with a ~512 px long side and applies it in place, which is faster on large photos.)"""
    scale_factor = int(scale_factor)
    net = ZeroDCEPP(scale_factor=scale_factor)
    net.load_state_dict(dict(state_dict), strict=True)
    net.eval()
    return ARCH_SPEC.describe(net, size=SizeRule("tile" if scale_factor == 1 else "whole"), supports_half=True,
                              supports_bfloat16=True)


LICENSE = "Official Zero-DCE++ weights: research use (Li-Chongyi/Zero-DCE_extension, non-commercial)"
# A training export records the scale factor it was trained with (the preset's default is 1).
ARCH_SPEC = ArchSpec(name=ARCHITECTURE, task="lowlight", license=LICENSE, input_range=ZERO_ONE,
                     output_range=ZERO_ONE, detect=matches_state_dict, load=load_descriptor,
                     load_options=("scale_factor",))
