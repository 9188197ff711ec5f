"""Inpainting engines: the automatic fill (the default, listed first), PatchMatch and the classical methods.
Every one meets a photo of any size through core.engines.inpaint.strategy."""

from __future__ import annotations

from core.engines.base import Engine


def inpaint_engines() -> list[type[Engine]]:
    """The built-in inpainting engines, the one-click default first."""
    from core.engines.inpaint.auto import AutoInpaint
    from core.engines.inpaint.classical import OpenCVInpaint
    from core.engines.inpaint.patchmatch import PatchMatchInpaint

    return [AutoInpaint, PatchMatchInpaint, OpenCVInpaint]
