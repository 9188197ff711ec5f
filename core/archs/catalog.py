"""Our own architectures, tried before spandrel when a checkpoint is imported. Add new specs here."""

from __future__ import annotations

from core.archs.spec import ArchSpec


def own_architectures() -> list[ArchSpec]:
    return []
