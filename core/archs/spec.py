"""What callers need to know about a network (like spandrel's descriptor), and how an architecture is
recognised from a state dict. Every network Restora runs, ours or spandrel's, is wrapped in a
ModelDescriptor, so no caller guesses a value range, a scale or a size requirement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import torch
from torch import nn

from core.tensors import ZERO_ONE, ValueRange

StateDict = Mapping[str, torch.Tensor]


def layout_of(module: nn.Module) -> dict[str, tuple[int, ...]]:
    """Key -> shape of a module's state dict: the layout a checkpoint must match exactly."""
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def matches_layout(state_dict: StateDict, expected: Mapping[str, tuple[int, ...]]) -> bool:
    """True when the state dict has exactly these keys, each with this shape."""
    if set(state_dict) != set(expected):
        return False
    return all(tuple(state_dict[k].shape) == shape for k, shape in expected.items())


def layout_mismatch(state_dict: StateDict, expected: Mapping[str, tuple[int, ...]], limit: int = 3) -> str:
    """How the state dict departs from the layout, in words (up to `limit` examples each); "" if it matches."""
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state_dict) if tuple(state_dict[k].shape) != expected[k])
    parts = []
    if missing:
        parts.append(f"{len(missing)} tensors missing (e.g. {', '.join(missing[:limit])})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:limit])})")
    if wrong:
        parts.append("shapes differ for " + ", ".join(f"{k} {tuple(state_dict[k].shape)} vs {expected[k]}"
                                                      for k in wrong[:limit]))
    return "; ".join(parts)


def first_output(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Call a network and keep its image: many return (image, extras...)."""
    out = module(x)
    return out[0] if isinstance(out, (tuple, list)) else out


@dataclass
class ModelDescriptor:
    module: nn.Module
    architecture: str  # e.g. "Zero-DCE++", "ESRGAN", "GFPGAN"
    task: str  # lowlight | inpaint | face | general
    scale: int = 1
    input_range: ValueRange = ZERO_ONE
    output_range: ValueRange = ZERO_ONE
    size_multiple: int = 1  # inputs are padded to a multiple of this
    fixed_size: int | None = None  # the network only takes N x N inputs (aligned faces: 512)
    tileable: bool = True  # fully convolutional with a bounded receptive field
    supports_half: bool = False
    supports_bfloat16: bool = False
    input_channels: int = 3
    output_channels: int = 3
    forward: Callable[[nn.Module, torch.Tensor], torch.Tensor] = first_output

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Run the network on a tensor already in input_range; returns its image in output_range."""
        return self.forward(self.module, x)

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> "ModelDescriptor":
        self.module.to(device=device, dtype=dtype)
        return self

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.module.parameters())


@dataclass(frozen=True)
class ArchSpec:
    """One of our own architectures: how to recognise its checkpoint and build it (strict load).

    `load(state_dict, **options)`: `load_options` names the keyword arguments of `load` that a Restora
    training export's `options` metadata may set (what a state dict does not record, like Zero-DCE++'s
    scale factor); without them `load` builds the official configuration."""

    name: str
    task: str
    license: str
    detect: Callable[[StateDict], bool]
    load: Callable[..., ModelDescriptor]
    load_options: tuple[str, ...] = ()
