"""Our own architectures, tried before spandrel when a checkpoint is imported. Add new specs here."""

from __future__ import annotations

from core.archs.spec import ArchSpec


def own_architectures() -> list[ArchSpec]:
    from core.archs import gain_unet, gamma_net, zero_dce, zero_dce_pp

    return [zero_dce.ARCH_SPEC, zero_dce_pp.ARCH_SPEC, gain_unet.ARCH_SPEC, gamma_net.ARCH_SPEC]
