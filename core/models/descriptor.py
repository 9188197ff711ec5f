"""The model descriptor: the one source of facts about a network (in the spirit of spandrel's).

Every network Restora runs (a shipped default, an imported checkpoint, a training export) becomes a
ModelDescriptor through the same code (core.archs.identify). Its ModelFacts say what callers need and
callers trust them: purpose, value ranges (required, never defaulted), scale, the size rule and how to meet
it, for masked models the mask polarity and premultiplication, precision support, and runtime parameters.
The facts are plain data (core.models.facts, torch-free): the model store's manifest keeps them as they are
(`to_json` / `from_json`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

# The facts live in core.models.facts (torch-free); they are re-exported here, where callers look for them.
from core.models.facts import (  # noqa: F401
    FACE_TEMPLATES,
    MASK_PASSING,
    POLARITIES,
    STRATEGIES,
    MaskInput,
    ModelFacts,
    SizeRule,
)

Forward = Callable[..., torch.Tensor]


def first_output(module: nn.Module, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """Call a network and keep its image: many return (image, extras...)."""
    out = module(x, *args, **kwargs)
    return out[0] if isinstance(out, (tuple, list)) else out


@dataclass
class ModelDescriptor:
    """A network with its facts and its call.

    `forward(module, x, [mask], **runtime_params)` takes x in facts.input_range (and, for a masked model, the
    mask already in the network's polarity when passed as an argument) and returns the image in
    facts.output_range. Call the descriptor itself, not `forward`: it converts the mask at the boundary."""

    module: nn.Module
    facts: ModelFacts
    forward: Forward = field(default=first_output)

    def __call__(self, x: torch.Tensor, hole: torch.Tensor | None = None, **params: Any) -> torch.Tensor:
        """Run on x (N x C x H x W in the input range); `hole` is N x 1 x H x W with 1 = fill (Restora's
        polarity) for masked models. Runtime parameters the facts do not declare are refused."""
        unknown = set(params) - {p.name for p in self.facts.runtime_params}
        if unknown:
            raise TypeError(f"{self.facts.architecture} takes no runtime parameter {', '.join(sorted(unknown))}")
        spec = self.facts.mask
        if spec is None:
            if hole is not None:
                raise TypeError(f"{self.facts.architecture} takes no mask")
            return self.forward(self.module, x, **params)
        if hole is None:
            raise TypeError(f"{self.facts.architecture} needs a mask")
        hole = hole.to(device=x.device, dtype=x.dtype)
        if spec.premultiplied:
            x = x * (1 - hole)
        net_mask = hole if spec.polarity == "hole" else 1 - hole
        if spec.passed_as == "channel":
            return self.forward(self.module, torch.cat([x, net_mask], 1), **params)
        return self.forward(self.module, x, net_mask, **params)

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> "ModelDescriptor":
        self.module.to(device=device, dtype=dtype)
        return self

    def runtime_defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.facts.runtime_params}
