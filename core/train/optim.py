"""Optimizers, learning-rate schedules and EMA weights.

A schedule is a pure function of the step (linear warm-up, then cosine to a floor, steps, or constant):
the trainer sets each param group's lr from it every step, so resuming needs nothing but the step.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Iterable

import torch
from torch import nn


def adamw(params: Iterable[nn.Parameter], lr: float, betas: tuple[float, float] | list[float],
          weight_decay: float) -> torch.optim.AdamW:
    return torch.optim.AdamW([p for p in params if p.requires_grad], lr=lr, betas=(float(betas[0]), float(betas[1])),
                             weight_decay=weight_decay)


@dataclass(frozen=True)
class LRSchedule:
    kind: str  # cosine | step | constant
    base: float
    floor: float  # cosine ends here
    total_steps: int
    warmup_steps: int = 0
    step_size: int = 10000
    gamma: float = 0.5

    def lr(self, step: int) -> float:
        """The learning rate for optimizer step number `step` (0-based)."""
        if self.warmup_steps > 0 and step < self.warmup_steps:
            return self.base * (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return self.base
        if self.kind == "step":
            return self.base * self.gamma ** ((step - self.warmup_steps) // self.step_size)
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, max(0.0, (step - self.warmup_steps) / span))
        return self.floor + (self.base - self.floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


class EMA:
    """An exponential moving average of a module's weights (buffers are copied as they are)."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        self.decay = float(decay)
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        current = dict(module.named_parameters())
        for name, shadow in self.module.named_parameters():
            shadow.lerp_(current[name].detach().to(shadow.dtype), 1.0 - self.decay)
        current_buffers = dict(module.named_buffers())
        for name, shadow_buffer in self.module.named_buffers():
            shadow_buffer.copy_(current_buffers[name])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)
