"""ParseNet (PSFR-GAN, Chen et al., CVPR 2021): a face-parsing network, the one facexlib ships as
parsing_parsenet.pth (GFPGAN and CodeFormer paste faces back with it) and GPEN as ParseNet-latest.pth.

Keys and shapes follow the official layout (`ParseNet(512, 512, 32, 64, 19, norm_type='bn',
relu_type='LeakyReLU', ch_range=[32, 256])`), so those state dicts load strictly: a stem convolution, one
residual block per halving down to 32 x 32, ten residual blocks at 32 x 32 added back to their input, one
residual block per doubling back up, then two heads: 19 per-pixel class scores over CelebAMask-HQ's labels
(LABELS) and a reconstruction of the face. Every convolution is reflection-padded; the residual blocks use
batch norm and LeakyReLU(0.2), the shortcut and head convolutions neither. Input: an aligned face, RGB in
[-1, 1]; the descriptor's forward returns the class scores (the labels are their argmax).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.archs.spec import ArchSpec, StateDict, built_layout, check_options, layout_mismatch
from core.models.descriptor import ModelDescriptor, SizeRule
from core.tensors import MINUS_ONE_ONE

ARCHITECTURE = "ParseNet"
# CelebAMask-HQ's classes, in the order the released ParseNet weights score them.
LABELS = ("background", "skin", "nose", "eyeglasses", "left eye", "right eye", "left brow", "right brow",
          "left ear", "right ear", "mouth", "upper lip", "lower lip", "hair", "hat", "earring", "necklace",
          "neck", "cloth")
FEATURE_SIDE = 32  # the body works at this size
BASE_CHANNELS = 64
MIN_CHANNELS, MAX_CHANNELS = 32, 256
BODY_BLOCKS = 10
OFFICIAL_SIDE = 512


def _clip(c: int) -> int:
    return max(MIN_CHANNELS, min(c, MAX_CHANNELS))


class Conv(nn.Module):
    """Reflection-padded 3 x 3 convolution, optionally after a 2x nearest upsampling or with stride 2, then an
    optional batch norm and LeakyReLU. Its parameters sit at `conv2d` and `norm.norm` (the official names)."""

    def __init__(self, cin: int, cout: int, *, resample: str = "none", norm: bool = False,
                 act: bool = False) -> None:
        super().__init__()
        self.resample = resample
        self.conv2d = nn.Conv2d(cin, cout, 3, stride=2 if resample == "down" else 1, bias=not norm)
        self.norm = _BatchNorm(cout) if norm else None
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.resample == "up":
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"))
        if self.norm is not None:
            x = self.norm.norm(x)
        return F.leaky_relu(x, 0.2) if self.act else x


class _BatchNorm(nn.Module):
    """Holds the batch norm one level down, where the official checkpoint keeps it (`norm.norm`)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels)


class Residual(nn.Module):
    """conv-bn-act, conv-bn, plus a shortcut: the identity, or a plain convolution where the size or the
    width changes (downsampling in the second convolution, upsampling in the first)."""

    def __init__(self, cin: int, cout: int, resample: str = "none") -> None:
        super().__init__()
        self.shortcut_func = (Conv(cin, cout, resample=resample) if resample != "none" or cin != cout
                              else None)
        self.conv1 = Conv(cin, cout, resample="up" if resample == "up" else "none", norm=True, act=True)
        self.conv2 = Conv(cout, cout, resample="down" if resample == "down" else "none", norm=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.shortcut_func is None else self.shortcut_func(x)
        return skip + self.conv2(self.conv1(x))


class ParseNet(nn.Module):
    def __init__(self, side: int = OFFICIAL_SIDE, classes: int = len(LABELS), out_side: int | None = None) -> None:
        super().__init__()
        out_side = out_side or side
        if side < FEATURE_SIDE or side & (side - 1) or out_side < FEATURE_SIDE or out_side & (out_side - 1):
            raise ValueError(f"ParseNet's sides are powers of two of at least {FEATURE_SIDE}, got {side}, {out_side}")
        self.side, self.classes = side, classes
        width = BASE_CHANNELS
        encoder: list[nn.Module] = [Conv(3, width)]
        for _ in range(int(math.log2(side // FEATURE_SIDE))):
            encoder.append(Residual(_clip(width), _clip(width * 2), "down"))
            width *= 2
        self.encoder = nn.Sequential(*encoder)
        self.body = nn.Sequential(*(Residual(_clip(width), _clip(width)) for _ in range(BODY_BLOCKS)))
        decoder = []
        for _ in range(int(math.log2(out_side // FEATURE_SIDE))):
            decoder.append(Residual(_clip(width), _clip(width // 2), "up"))
            width //= 2
        self.decoder = nn.Sequential(*decoder)
        self.out_img_conv = Conv(_clip(width), 3)
        self.out_mask_conv = Conv(_clip(width), classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(class scores N x classes x H x W, reconstructed face N x 3 x H x W in [-1, 1])."""
        feat = self.encoder(x)
        y = self.decoder(feat + self.body(feat))
        return self.out_mask_conv(y), self.out_img_conv(y)


def _shape(state_dict: StateDict) -> dict[str, int] | None:
    """side, out_side and classes read from a state dict's keys and shapes; None when it is not ParseNet's."""
    head = state_dict.get("out_mask_conv.conv2d.weight")
    stem = state_dict.get("encoder.0.conv2d.weight")
    if head is None or stem is None or head.ndim != 4 or tuple(stem.shape) != (BASE_CHANNELS, 3, 3, 3):
        return None
    down = sum(1 for k in state_dict if k.startswith("encoder.") and k.endswith(".conv1.conv2d.weight"))
    up = sum(1 for k in state_dict if k.startswith("decoder.") and k.endswith(".conv1.conv2d.weight"))
    return {"side": FEATURE_SIDE << down, "out_side": FEATURE_SIDE << up, "classes": int(head.shape[0])}


def _with_counters(state_dict: StateDict) -> dict[str, torch.Tensor]:
    """The state dict with the batch norms' step counters it may lack (files saved before PyTorch kept
    them): the counters play no part in inference."""
    full = dict(state_dict)
    for key in [k for k in state_dict if k.endswith(".norm.norm.running_mean")]:
        full.setdefault(key.replace("running_mean", "num_batches_tracked"), torch.tensor(0))
    return full


def matches_state_dict(state_dict: StateDict) -> bool:
    shape = _shape(state_dict)
    expected = None if shape is None else built_layout(lambda: ParseNet(**shape))
    return expected is not None and not layout_mismatch(_with_counters(state_dict), expected)


def load_descriptor(state_dict: StateDict, **options: Any) -> ModelDescriptor:
    """Build ParseNet from a state dict (strict)."""
    shape = _shape(state_dict)
    if shape is None:
        raise ValueError("not a ParseNet state dict")
    check_options(ARCHITECTURE, options, shape)
    net = ParseNet(**shape)
    net.load_state_dict(_with_counters(state_dict), strict=True)
    return describe(net)


def _scores(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return module(x)[0]


def describe(net: ParseNet) -> ModelDescriptor:
    """An aligned face (FFHQ template, as facexlib parses) of exactly net.side in; class scores out."""
    labels = LABELS if net.classes == len(LABELS) else tuple(f"class {i}" for i in range(net.classes))
    return ARCH_SPEC.describe(net, size=SizeRule("crop", fixed=net.side), forward=_scores, supports_half=True,
                              face_template="ffhq", output_channels=net.classes, labels=labels)


LICENSE = ("Released ParseNet weights: their publishers' terms (chaofengc/PSFRGAN, xinntao/facexlib, "
           "yangxy/GPEN)")
# The output range describes the reconstruction head; the class scores are unbounded logits (facts.labels).
ARCH_SPEC = ArchSpec(name=ARCHITECTURE, task="face", license=LICENSE, input_range=MINUS_ONE_ONE,
                     output_range=MINUS_ONE_ONE, detect=matches_state_dict, load=load_descriptor,
                     load_options=("side", "out_side", "classes"))
