"""The building blocks of GPEN's generator (a StyleGAN2 decoder behind a U-Net encoder), in plain PyTorch.

Facts carried over from the official code (yangxy/GPEN, face_model/gpen_model.py and face_model/op/): the
equalised-learning-rate layers (weights stored as N(0, 1) and scaled by 1/sqrt(fan_in) at run time), the
fused leaky ReLU (bias, leaky ReLU 0.2, times sqrt 2), upfirdn2d with the [1, 3, 3, 1] blur kernel stored as
a buffer (so it is part of every checkpoint), modulated convolutions with demodulation, noise injection by
concatenation, and the attribute names, which are the checkpoint's key names. The code is ours: upfirdn2d is
a depthwise convolution (channels-last friendly), and a modulated convolution over a batch modulates its input
and demodulates its output instead of building one weight per sample (the same maths with one ordinary
batched convolution); for a single face it folds the style into the weight, which is cheaper there.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

BLUR_KERNEL = (1, 3, 3, 1)
SQRT2 = math.sqrt(2.0)


def make_kernel(taps: Sequence[float]) -> torch.Tensor:
    """The separable 2-D FIR kernel of 1-D taps, normalised to sum to 1."""
    k = torch.tensor(list(taps), dtype=torch.float32)
    k2 = k[None, :] * k[:, None]
    return k2 / k2.sum()


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1,
              pad: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """Upsample by zero insertion, pad (pad[0] before, pad[1] after, on both axes), convolve each channel with
    `kernel` (a true convolution: the kernel is flipped) and keep every `down`-th sample."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, (0, up - 1, 0, 0, 0, up - 1))
        x = x.reshape(n, c, h * up, w * up)
    p0, p1 = pad
    padding = 0
    if p0 == p1 >= 0:
        padding = p0  # the convolution pads (no padded copy)
    else:
        x = F.pad(x, (max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)))
        if p0 < 0 or p1 < 0:
            x = x[:, :, max(-p0, 0):x.shape[2] - max(-p1, 0), max(-p0, 0):x.shape[3] - max(-p1, 0)]
    kh, kw = kernel.shape
    weight = torch.flip(kernel, (0, 1)).to(dtype=x.dtype).reshape(1, 1, kh, kw).expand(c, 1, kh, kw)
    return F.conv2d(x, weight, stride=down, padding=padding, groups=c)


def fused_leaky_relu(x: torch.Tensor, bias: torch.Tensor, negative_slope: float = 0.2,
                     scale: float = SQRT2) -> torch.Tensor:
    """Add a per-channel bias, leaky ReLU, and scale by sqrt 2 (what GPEN's fused CUDA op computes)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return F.leaky_relu(x + bias.reshape(shape), negative_slope) * scale


class FusedLeakyReLU(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias)


class ScaledLeakyReLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, 0.2) * SQRT2


class PixelNorm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class Blur(nn.Module):
    """A FIR filter; after an upsampling by `upsample_factor` the kernel is scaled by its square (its gain)."""

    kernel: torch.Tensor

    def __init__(self, pad: tuple[int, int], upsample_factor: int = 1, taps: Sequence[float] = BLUR_KERNEL) -> None:
        super().__init__()
        self.register_buffer("kernel", make_kernel(taps) * (upsample_factor ** 2))
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    """2x FIR upsampling (the skip path between ToRGB layers)."""

    kernel: torch.Tensor

    def __init__(self, factor: int = 2, taps: Sequence[float] = BLUR_KERNEL) -> None:
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", make_kernel(taps) * (factor ** 2))
        p = len(taps) - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class EqualConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size ** 2)
        self.stride = stride
        self.padding = padding
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding)


class EqualLinear(nn.Module):
    """A linear layer with an equalised learning rate (`lr_mul` slows the mapping network down)."""

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activation: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.activation = activation
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.activation:
            return fused_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class ConvLayer(nn.Sequential):
    """[Blur] + equalised conv (stride 2 when downsampling) + [fused leaky ReLU | scaled leaky ReLU]."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, downsample: bool = False,
                 bias: bool = True, activate: bool = True) -> None:
        layers: list[nn.Module] = []
        if downsample:
            p = (len(BLUR_KERNEL) - 2) + (kernel_size - 1)
            layers.append(Blur(pad=((p + 1) // 2, p // 2)))
            stride, padding = 2, 0
        else:
            stride, padding = 1, kernel_size // 2
        layers.append(EqualConv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                                  bias=bias and not activate))
        if activate:
            layers.append(FusedLeakyReLU(out_channels) if bias else ScaledLeakyReLU())
        super().__init__(*layers)


class ModulatedConv2d(nn.Module):
    """A convolution whose input channels are scaled by a style (modulation) and whose output channels are
    normalised to unit expected variance (demodulation); optionally a 2x transposed convolution plus blur."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int,
                 demodulate: bool = True, upsample: bool = False) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.upsample = upsample
        self.demodulate = demodulate
        if upsample:
            factor = 2
            p = (len(BLUR_KERNEL) - factor) - (kernel_size - 1)
            self.blur = Blur(pad=((p + 1) // 2 + factor - 1, p // 2 + 1), upsample_factor=factor)
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size ** 2)
        self.padding = kernel_size // 2
        # Held as out x in x k x k (a 4-D tensor can be channels-last); checkpoints store 1 x out x in x k x k.
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_channels, bias_init=1.0)

    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "weight"] = destination[prefix + "weight"].unsqueeze(0)

    def _load_from_state_dict(self, state_dict: Any, prefix: str, local_metadata: Any, strict: bool,
                              missing_keys: list[str], unexpected_keys: list[str], error_msgs: list[str]) -> None:
        weight = state_dict.get(prefix + "weight")
        if isinstance(weight, torch.Tensor) and weight.ndim == 5 and weight.shape[0] == 1:
            state_dict[prefix + "weight"] = weight[0]  # load_state_dict passes its own copy of the dict
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        s = self.modulation(style)  # batch x in
        weight = self.weight * self.scale  # out x in x k x k
        if batch == 1:  # one face (inference): fold style and demodulation into the weight, as officially
            weight = weight * s.reshape(1, self.in_channels, 1, 1)
            if self.demodulate:
                weight = weight * torch.rsqrt(weight.pow(2).sum((1, 2, 3), keepdim=True) + 1e-8)
            return self._conv(x, weight)
        # A batch: the same maths with one shared weight, modulating the input and demodulating the output.
        out = self._conv(x * s.reshape(batch, self.in_channels, 1, 1), weight)
        if self.demodulate:  # 1 / ||w * s|| per sample and output channel
            energy = torch.einsum("oi,bi->bo", weight.pow(2).sum((2, 3)), s.pow(2))
            out = out * torch.rsqrt(energy + 1e-8).reshape(batch, self.out_channels, 1, 1)
        return out

    def _conv(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        if self.upsample:  # a 2x transposed convolution, then the blur that makes it an FIR upsampling
            return self.blur(F.conv_transpose2d(x, weight.transpose(0, 1), stride=2))
        return F.conv2d(x, weight, padding=self.padding)


class NoiseInjection(nn.Module):
    """Concatenates weight * noise to the image (GPEN's isconcat=True: the noise is the encoder's features)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, image: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return torch.cat((image, self.weight * noise), 1)


class ConstantInput(nn.Module):
    def __init__(self, channels: int, size: int = 4) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.input.expand(batch, -1, -1, -1)


class StyledConv(nn.Module):
    """Modulated conv, then the noise concatenated (doubling the channels), then the fused leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int,
                 upsample: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, kernel_size, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channels * 2)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.activate(self.noise(self.conv(x, style), noise))


class ToRGB(nn.Module):
    """A 1x1 modulated conv (no demodulation) to RGB, plus the upsampled RGB of the previous resolution."""

    def __init__(self, in_channels: int, style_dim: int, upsample: bool = True) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))
        if upsample:
            self.upsample = Upsample()
        self.conv = ModulatedConv2d(in_channels, 3, 1, style_dim, demodulate=False)

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, style) + self.bias
        return out if skip is None else out + self.upsample(skip)
