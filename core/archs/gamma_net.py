"""A tiny network that predicts one gamma and one contrast value for a whole photo from a small copy,
then applies them at full resolution with a pure function (Restora's fastest learned engine).

GammaNet: input RGB in [0, 1], N x 3 x h x w (a square thumbnail of side `input_size`, stored in the
state dict, is what it is trained and run on; any size works); output N x 2 = (gamma, contrast), gamma
in GAMMA_RANGE and contrast in CONTRAST_RANGE, bounded smoothly (sigmoid in log space). At
initialisation both are 1 (the identity).

apply_gamma_contrast(image, params): y = x ** gamma, then the symmetric S-curve
y**c / (y**c + (1 - y)**c) with c = contrast, which fixes 0, 1/2 and 1, raises contrast for c > 1 and
lowers it for c < 1, and maps [0, 1] onto [0, 1] without clipping. Works on torch (N x C x H x W with
N x 2 params; differentiable, also usable as a training augmentation) and NumPy (H x W x C, one pair).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence, cast, overload

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.archs.spec import ArchSpec, StateDict, check_options, layout_of, matches_layout
from core.models.descriptor import ModelDescriptor, SizeRule
from core.tensors import ZERO_ONE

ARCHITECTURE = "Restora gamma predictor"
INPUT_SIZE = 128
GAMMA_RANGE = (0.2, 2.5)
CONTRAST_RANGE = (0.5, 2.0)
_TINY = 1e-12


def _bounded(z: torch.Tensor, bounds: tuple[float, float]) -> torch.Tensor:
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    return torch.exp(lo + (hi - lo) * torch.sigmoid(z))


def _logit_of(value: float, bounds: tuple[float, float]) -> float:
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    share = (math.log(value) - lo) / (hi - lo)
    return math.log(share / (1.0 - share))


class GammaNet(nn.Module):
    """forward(x_small in [0, 1]) -> N x 2 (gamma, contrast)."""

    input_size: torch.Tensor  # a buffer (register_buffer below); declared so its type is known

    def __init__(self, features: int = 16, input_size: int = INPUT_SIZE) -> None:
        super().__init__()
        # The thumbnail side it is trained on, kept in the state dict so inference uses the same.
        self.register_buffer("input_size", torch.tensor(int(input_size)))
        f = features
        self.features = nn.Sequential(
            nn.Conv2d(3, f, 3, 2, 1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(f, 2 * f, 3, 2, 1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(2 * f, 4 * f, 3, 2, 1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(4 * f, 4 * f, 3, 2, 1), nn.LeakyReLU(0.1, inplace=True),
        )
        # Pooled features plus global luma statistics (mean, spread, dark share): brightness is the point.
        self.head = nn.Sequential(nn.Linear(4 * f + 3, 32), nn.LeakyReLU(0.1, inplace=True), nn.Linear(32, 2))
        out = cast(nn.Linear, self.head[-1])
        nn.init.normal_(out.weight, std=1e-3)
        with torch.no_grad():
            out.bias.copy_(torch.tensor([_logit_of(1.0, GAMMA_RANGE), _logit_of(1.0, CONTRAST_RANGE)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.features(x).mean(dim=(2, 3))
        luma = 0.2126 * x[:, 0] + 0.7152 * x[:, 1] + 0.0722 * x[:, 2]
        stats = torch.stack([luma.mean(dim=(1, 2)), luma.std(dim=(1, 2), unbiased=False),
                             (luma < 0.1).float().mean(dim=(1, 2))], dim=1)
        z = self.head(torch.cat([pooled, stats], dim=1))
        return torch.stack([_bounded(z[:, 0], GAMMA_RANGE), _bounded(z[:, 1], CONTRAST_RANGE)], dim=1)


def resize_for_prediction(x: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """The small copy GammaNet sees (area averaging: no aliasing from large photos)."""
    if tuple(x.shape[-2:]) == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="area") if min(x.shape[-2:]) >= size else \
        F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def _safe_pow(x: torch.Tensor, exponent: torch.Tensor) -> torch.Tensor:
    """x ** exponent for x in [0, 1] with 0 ** e = 0 and finite gradients everywhere."""
    return torch.where(x > 0, torch.exp(exponent * torch.log(x.clamp_min(_TINY))), torch.zeros_like(x))


@overload
def apply_gamma_contrast(image: torch.Tensor,
                         params: torch.Tensor | np.ndarray | Sequence[float]) -> torch.Tensor: ...


@overload
def apply_gamma_contrast(image: np.ndarray,
                         params: torch.Tensor | np.ndarray | Sequence[float]) -> np.ndarray: ...


def apply_gamma_contrast(image: torch.Tensor | np.ndarray,
                         params: torch.Tensor | np.ndarray | Sequence[float]) -> torch.Tensor | np.ndarray:
    """Gamma then S-curve contrast. torch: image N x C x H x W, params N x 2. NumPy: image H x W x C (or any
    shape), params (gamma, contrast). Values are clamped to [0, 1] first; the result stays in [0, 1]."""
    if isinstance(image, torch.Tensor):
        p = torch.as_tensor(params, dtype=image.dtype, device=image.device).reshape(-1, 2)
        gamma, contrast = p[:, 0].view(-1, 1, 1, 1), p[:, 1].view(-1, 1, 1, 1)
        y = _safe_pow(image.clamp(0.0, 1.0), gamma)
        a, b = _safe_pow(y, contrast), _safe_pow(1.0 - y, contrast)
        return a / (a + b)
    return apply_gamma_contrast_numpy(image, params)


def apply_gamma_contrast_numpy(image: np.ndarray,
                               params: torch.Tensor | np.ndarray | Sequence[float]) -> np.ndarray:
    """The NumPy version, float32, computed with as few full-size temporaries as possible."""
    gamma, contrast = (float(v) for v in np.asarray(params, dtype=np.float64).reshape(-1)[:2])
    y = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    if gamma != 1.0:
        y = np.power(y, np.float32(gamma), dtype=np.float32)
    if contrast == 1.0:
        return y
    a = np.power(y, np.float32(contrast), dtype=np.float32)
    np.subtract(np.float32(1.0), y, out=y)
    np.power(y, np.float32(contrast), out=y)
    y += a
    np.divide(a, y, out=y)
    return y


def random_params(count: int, generator: torch.Generator | None = None,
                  gamma_range: tuple[float, float] = (0.6, 1.8),
                  contrast_range: tuple[float, float] = (0.7, 1.4)) -> torch.Tensor:
    """Random (gamma, contrast) pairs, log-uniform, for using apply_gamma_contrast as an augmentation."""
    u = torch.rand(count, 2, generator=generator)
    lo = torch.tensor([math.log(gamma_range[0]), math.log(contrast_range[0])])
    hi = torch.tensor([math.log(gamma_range[1]), math.log(contrast_range[1])])
    return torch.exp(lo + (hi - lo) * u)


def build_from_state_dict(state_dict: StateDict) -> GammaNet:
    """A GammaNet as wide as the checkpoint, loaded strictly."""
    sd = dict(state_dict)
    features = int(sd["features.0.weight"].shape[0]) if "features.0.weight" in sd else 16
    size = int(sd["input_size"]) if "input_size" in sd else INPUT_SIZE
    net = GammaNet(features=features, input_size=size)
    net.load_state_dict(sd, strict=True)
    return net


def load_descriptor(state_dict: StateDict, **options: int) -> ModelDescriptor:
    """Build GammaNet from our own weights (strict). Its 'forward' here is the whole engine maths on a tensor:
    predict on a small copy, apply at the input's size. `options` (a training export's features and
    input_size) must agree with what the weights hold."""
    net = build_from_state_dict(state_dict)
    check_options(ARCHITECTURE, options, {"features": int(state_dict["features.0.weight"].shape[0]),
                                          "input_size": int(net.input_size)})
    net.eval()

    def enhance(module: GammaNet, x: torch.Tensor) -> torch.Tensor:
        small = resize_for_prediction(x, int(module.input_size))
        return apply_gamma_contrast(x, module(small))

    return ARCH_SPEC.describe(net, size=SizeRule("whole"), forward=enhance)


@lru_cache(maxsize=16)
def _expected_shapes(features: int) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):  # the layout only, no memory
        net = GammaNet(features=features)
    return layout_of(net)


def matches_state_dict(state_dict: StateDict) -> bool:
    """True when the checkpoint has exactly the keys and shapes of a GammaNet of its own width."""
    first = state_dict.get("features.0.weight")
    if first is None or first.ndim != 4 or int(first.shape[0]) < 1:
        return False
    expected = _expected_shapes(int(first.shape[0]))
    return matches_layout(state_dict, expected)


LICENSE = "Restora's own architecture (weights: whoever trained them)"
ARCH_SPEC = ArchSpec(name=ARCHITECTURE, task="lowlight", license=LICENSE, input_range=ZERO_ONE,
                     output_range=ZERO_ONE, detect=matches_state_dict, load=load_descriptor,
                     load_options=("features", "input_size"))
