"""Finding and reading the weight files of the learned low-light engines."""

from __future__ import annotations

from pathlib import Path

import torch

from core import paths
from core.errors import RestoraError


class MissingWeightsError(RestoraError, FileNotFoundError):
    """An engine's weight file is not where it should be."""


class WeightsError(RestoraError):
    """A weight file exists but does not fit the engine's network."""


def default_weights_dir() -> Path:
    return paths.resources_dir() / "weights"


def read_weights(path: Path, engine_title: str) -> dict[str, torch.Tensor]:
    """The state dict in `path` (.safetensors, or a .pth/.pt read without running pickled code)."""
    from core.checkpoints import CheckpointError, read_state_dict

    if not path.is_file():
        raise MissingWeightsError(
            f"{engine_title} needs its weights at {path}, and there is no file there. Train them with "
            f"`restora train` (the run's best.safetensors) or choose another weight file.")
    try:
        return read_state_dict(path)
    except CheckpointError as e:
        raise WeightsError(f"{engine_title}: {e}") from None
