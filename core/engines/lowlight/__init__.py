"""Low-light and brightness enhancement engines: the one-click automatic one, classical (gamma, CLAHE, MSRCR)
and learned (Zero-DCE, Zero-DCE++, gain-map U-Net, gamma predictor)."""

from __future__ import annotations

from core.engines.base import Engine


def lowlight_engines() -> list[type[Engine]]:
    """Every low-light engine class, in the order the GUI lists them: the first is the one-click default
    (the learned gamma with an exposure floor and denoising: the best on held-out synthetic pairs and
    within the exposure band on real dark photos, see resources/weights/EVALUATION.md), then the classical
    engines, then the other learned ones."""
    from core.engines.lowlight.auto import AutoLowLight
    from core.engines.lowlight.learned import GainUNetEngine, GammaNetEngine, ZeroDCEEngine, ZeroDCEPPEngine

    return [AutoLowLight, *classical_lowlight_engines(), ZeroDCEPPEngine, GammaNetEngine, GainUNetEngine,
            ZeroDCEEngine]


def classical_lowlight_engines() -> list[type[Engine]]:
    """The classical ones (no weights; their modules never load torch)."""
    from core.engines.lowlight.classical import AutoGamma, ClaheLightness, Msrcr

    return [AutoGamma, ClaheLightness, Msrcr]
