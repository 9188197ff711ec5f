"""What a preset is: one small module per architecture gives the trainer everything it needs.

A preset defines
  defaults()           -> RunConfig with every field filled (data kind, crop, batch, optimiser, loss weights)
  build_model(config)  -> BuiltModel: the network, its value ranges (BuiltModel.of takes them from the
                          architecture's spec, where they are declared once), and optionally a discriminator
                          for an adversarial stage
  forward(model, batch, built) -> ModelOutput: the image in the declared output range, plus extras
  generator_losses(ctx, batch, output) -> {name: weighted loss tensor}; the trainer sums them into "total"
The trainer converts every batch into the model's declared ranges before calling the preset
(batch["input"] in input_range, batch["target"] in output_range, batch["mask"] 0/1 with 1 = hole) and
converts outputs back through core.tensors for metrics and previews. A preset never converts pixels itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from core.archs.spec import ArchSpec
from core.tensors import ValueRange
from core.train.config import RunConfig
from core.train.losses import PerceptualLoss

Batch = dict[str, torch.Tensor]


@dataclass
class BuiltModel:
    generator: nn.Module
    architecture: str
    input_range: ValueRange
    output_range: ValueRange
    task: str  # lowlight | inpaint | face | general
    discriminator: nn.Module | None = None
    options: dict[str, Any] = field(default_factory=dict)  # what rebuilds the network (export metadata)

    @classmethod
    def of(cls, spec: ArchSpec, generator: nn.Module, *, task: str | None = None,
           discriminator: nn.Module | None = None, options: dict[str, Any] | None = None) -> "BuiltModel":
        """A preset's network of one of our architectures: its name and value ranges come from the spec (the
        one place they are declared), so what the trainer exports is what the store identifies."""
        return cls(generator, spec.name, spec.input_range, spec.output_range, task or spec.task, discriminator,
                   dict(options or {}))


@dataclass
class ModelOutput:
    image: torch.Tensor  # in the model's declared output range
    extras: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class StepContext:
    config: RunConfig
    model: BuiltModel
    perceptual: PerceptualLoss | None
    step: int
    epoch: int
    device: torch.device


def default_forward(model: nn.Module, batch: Batch, built: BuiltModel) -> ModelOutput:
    out = model(batch["input"])
    return ModelOutput(out[0] if isinstance(out, (tuple, list)) else out)


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    task: str
    defaults: Callable[[], RunConfig]
    build_model: Callable[[RunConfig], BuiltModel]
    generator_losses: Callable[[StepContext, Batch, ModelOutput], dict[str, torch.Tensor]]
    forward: Callable[[nn.Module, Batch, BuiltModel], ModelOutput] = default_forward
    zero_reference: bool = False  # trains without targets
    steps_hint: str = ""  # what the step count defaults to when the preset derives it (shown by the panel)
