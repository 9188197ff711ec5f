"""How one of our own architectures is recognised from a state dict and built into a ModelDescriptor
(core.models.descriptor), and the layout checks every spec shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch
from torch import nn

from core.models.descriptor import Forward, ModelDescriptor, ModelFacts, SizeRule, first_output
from core.tensors import ValueRange

StateDict = Mapping[str, torch.Tensor]


def layout_of(module: nn.Module) -> dict[str, tuple[int, ...]]:
    """Key -> shape of a module's state dict: the layout a checkpoint must match exactly."""
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def built_layout(build: Callable[[], nn.Module]) -> dict[str, tuple[int, ...]] | None:
    """The layout of the network `build()` makes, built on the meta device (no memory); None when its
    constructor refuses the shape (ValueError), as for a shape read from a stranger's state dict."""
    try:
        with torch.device("meta"):
            return layout_of(build())
    except ValueError:
        return None


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


def check_options(architecture: str, options: Mapping[str, Any], built: Mapping[str, Any]) -> None:
    """Raise ValueError when a training export's options disagree with what its weights hold."""
    for key, value in options.items():
        if key in built and not _same(value, built[key]):
            raise ValueError(f"the export says {key}={value!r} but its weights are {architecture} with "
                             f"{key}={built[key]!r}")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b)))
    return bool(a == b)


@dataclass(frozen=True)
class ArchSpec:
    """One of our own architectures: how to recognise its checkpoint and build it (strict load).

    The spec holds the architecture's value ranges, once: `describe` gives every descriptor built from it
    those ranges, and the training presets read them from here. `load(state_dict, **options)` builds the
    descriptor; `load_options` names the keyword arguments a Restora training export's `options` metadata
    may set (what a state dict does not record, like Zero-DCE++'s scale factor); without them `load` builds
    the official configuration."""

    name: str
    task: str
    license: str
    input_range: ValueRange
    output_range: ValueRange
    detect: Callable[[StateDict], bool]
    load: Callable[..., ModelDescriptor]
    load_options: tuple[str, ...] = ()

    def describe(self, module: nn.Module, *, size: SizeRule, forward: Forward = first_output,
                 purpose: str | None = None, **facts: Any) -> ModelDescriptor:
        """A descriptor of a built network of this architecture, with the spec's name and value ranges."""
        module.eval()
        return ModelDescriptor(module, ModelFacts(
            architecture=self.name, purpose=purpose or self.task, input_range=self.input_range,
            output_range=self.output_range, size=size, parameters=sum(p.numel() for p in module.parameters()),
            **facts), forward)
