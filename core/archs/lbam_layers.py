"""The layers of LBAM (Xie et al., "Image Inpainting with Learnable Bidirectional Attention Maps", ICCV 2019).

Facts from the paper and the layout of the released generator (Vious/LBAM_Pytorch, see
/work/shared/reference/checkpoint-layouts/lbam_generator.json); the module is written here.

- A learnable attention map is a convolution of the mask (`maskConv`, 4 x 4, stride 2, no bias) passed through
  the learnable asymmetric Gaussian g_A(x) = a exp(-s1 (x - mu)^2) for x < mu, 1 + (a - 1) exp(-s2 (x - mu)^2)
  otherwise. Its four 0-dim parameters are clamped in place at every call to a in [1.01, 6], mu in [0.1, 3],
  s1 and s2 in [0.5, 2], as the released code does, so the weights it was trained with behave the same here.
- The mask handed to the next layer is g_M(x) = ReLU(x)^0.8 of the same mask convolution (the paper's alpha).
- Forward attention (encoder): features = LeakyReLU_0.2(conv(x) * g_A(maskConv(m))); the raw conv(x) is the
  skip connection to the decoder and g_A(...) its forward attention map.
- Reverse attention (decoder): the reverse mask branch convolves 1 - mask the same way (its own g_A, started
  at a = 1.1, mu = 1, s = 0.5 against the encoder's a = 1.1, mu = 2, s = 1); a decoder layer upsamples with a
  4 x 4 stride-2 transposed convolution, concatenates the encoder skip ahead of it and multiplies by the
  concatenated [forward map, reverse map] of that scale, then LeakyReLU_0.2.
- No BatchNorm and no biases anywhere in the released generator; weights start from N(0, 0.02).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# The clamps the released code applies to each attention layer's scalars before every use.
GAUSS_CLAMPS: dict[str, tuple[float, float]] = {"a": (1.01, 6.0), "mu": (0.1, 3.0), "sigma1": (0.5, 2.0),
                                                "sigma2": (0.5, 2.0)}
FORWARD_GAUSS_INIT = (1.1, 2.0, 1.0, 1.0)  # a, mu, sigma1, sigma2 of the encoder's attention layers
REVERSE_GAUSS_INIT = (1.1, 1.0, 0.5, 0.5)  # and of the reverse (decoder-side) mask layers
MASK_UPDATE_EXPONENT = 0.8
LEAKY_SLOPE = 0.2
INIT_STD = 0.02


def update_mask(mask_features: torch.Tensor) -> torch.Tensor:
    """g_M: the next layer's (soft) mask from this layer's mask convolution."""
    return F.relu(mask_features).pow(MASK_UPDATE_EXPONENT)


def conv4x4(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 4, 2, 1, bias=False)
    nn.init.normal_(conv.weight, 0.0, INIT_STD)
    return conv


def deconv4x4(cin: int, cout: int) -> nn.ConvTranspose2d:
    conv = nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)
    nn.init.normal_(conv.weight, 0.0, INIT_STD)
    return conv


class AsymmetricGaussian(nn.Module):
    """g_A, the learnable asymmetric Gaussian that turns a mask convolution into an attention map.

    Peak `a` at `mu`; left of it falls to 0 (width sigma1), right of it settles at 1 (width sigma2)."""

    a: nn.Parameter
    mu: nn.Parameter
    sigma1: nn.Parameter
    sigma2: nn.Parameter

    def __init__(self, a: float, mu: float, sigma1: float, sigma2: float) -> None:
        super().__init__()
        for name, value in (("a", a), ("mu", mu), ("sigma1", sigma1), ("sigma2", sigma2)):
            self.register_parameter(name, nn.Parameter(torch.tensor(float(value))))

    @torch.no_grad()
    def clamp_(self) -> None:
        """Clamp the four scalars in place to the released code's ranges."""
        for name, (lo, hi) in GAUSS_CLAMPS.items():
            getattr(self, name).clamp_(lo, hi)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.clamp_()
        d2 = (x - self.mu) ** 2
        left = self.a * torch.exp(-self.sigma1 * d2)
        right = 1 + (self.a - 1) * torch.exp(-self.sigma2 * d2)
        return torch.where(x < self.mu, left, right)


class ForwardAttentionConv(nn.Module):
    """One encoder layer's convolutions: the feature conv, the mask conv and its attention activation."""

    def __init__(self, cin: int, cout: int, mask_channels: int) -> None:
        super().__init__()
        self.conv = conv4x4(cin, cout)
        self.maskConv = conv4x4(mask_channels, cout)
        self.activationFuncG_A = AsymmetricGaussian(*FORWARD_GAUSS_INIT)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(raw features, attention map, next mask)."""
        mask_features = self.maskConv(mask)
        return self.conv(x), self.activationFuncG_A(mask_features), update_mask(mask_features)


class ForwardAttention(nn.Module):
    """An encoder layer (ec1..ec7): stride-2 features re-weighted by the forward attention map."""

    def __init__(self, cin: int, cout: int, mask_channels: int) -> None:
        super().__init__()
        self.conv = ForwardAttentionConv(cin, cout, mask_channels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(features for the next layer, next mask, skip features, forward attention map)."""
        raw, attention, next_mask = self.conv(x, mask)
        return F.leaky_relu(raw * attention, LEAKY_SLOPE), next_mask, raw, attention


class ReverseMaskConv(nn.Module):
    """A layer of the reverse mask branch (reverseConv1..6): attention map and next mask from 1 - mask."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.reverseMaskConv = conv4x4(cin, cout)
        self.activationFuncG_A = AsymmetricGaussian(*REVERSE_GAUSS_INIT)

    def forward(self, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reverse attention map, next reverse mask)."""
        features = self.reverseMaskConv(mask)
        return self.activationFuncG_A(features), update_mask(features)


class ReverseAttention(nn.Module):
    """A decoder layer (dc1..dc6): upsample, put the encoder skip ahead, weight by [forward, reverse] maps."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = deconv4x4(cin, cout)

    def forward(self, skip: torch.Tensor, x: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(torch.cat([skip, self.conv(x)], 1) * attention, LEAKY_SLOPE)


def attention_layers(module: nn.Module) -> list[AsymmetricGaussian]:
    """Every attention activation of a network (13 in the released generator)."""
    return [m for m in module.modules() if isinstance(m, AsymmetricGaussian)]
