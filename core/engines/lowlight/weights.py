"""Where the learned low-light engines' shipped weights live, and what goes wrong with weight files."""

from __future__ import annotations

from pathlib import Path

from core import paths
from core.errors import RestoraError


class MissingWeightsError(RestoraError, FileNotFoundError):
    """An engine's weight file is not where it should be."""


class WeightsError(RestoraError):
    """A weight file exists but does not fit the engine's network."""


def default_weights_dir() -> Path:
    return paths.resources_dir() / "weights"
