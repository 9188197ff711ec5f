"""PatchMatch exemplar fill (Barnes et al., SIGGRAPH 2009) through the pypatchmatch library: the hole is
rebuilt from patches copied from the rest of the photo, so texture (grass, walls, fabric) continues instead of
being smeared. No model needed; the offline default for anything thicker than a scratch.

Time grows with the hole's area, so when the holes of one run add up to more than the full-detail limit the
biggest are filled at a reduced size and scaled up (small holes keep full detail; a hole that would shrink by
less than MIN_REDUCTION is not reduced at all, so up to 2.25 times the limit is filled at full detail).

Copied patches bring texture, but over a wide hole their average colour can drift from what surrounds it
(PSNR then falls below a smooth fill's). With a structure size S the fill keeps PatchMatch's detail finer
than S pixels and takes everything coarser from Telea's smooth continuation of the surroundings: structure
from a PDE fill, texture from exemplars, as in Bertalmio et al., "Simultaneous structure and texture image
inpainting" (2003).

Each filled pixel is PatchMatch's vote: the average of the (2 x patch + 1)^2 copied patches that cover it.
Where the copies disagree (wide holes, where the matches are least coherent) the average softens detail of
a pixel or two, so wide fills lose texture. A sharpening amount A restores it inside the hole: the fill plus
A times its detail finer than SHARPEN_SIGMA pixels (an unsharp mask that undoes the vote's softening). The
copies disagree more the farther a pixel lies from the hole's edge, so the amount grows with that distance:
A at the edge, DEEP_FACTOR x A from DEEP_PX pixels in (thin and small holes keep about A).
"""

from __future__ import annotations

from types import ModuleType
from typing import Sequence

import cv2
import numpy as np

from core.engines.base import EngineRequest, Param, RequirementError
from core.engines.inpaint.classical import classical_fill
from core.engines.inpaint.pieces import NoSourcePixelsError, budget_caps, fill_reduced, reduced_size
from core.engines.inpaint.strategy import FillEngine, Filler, strategy_params
from core.jobs import Progress
from core.pixels import to_uint8

SEED = 0  # the library's randomised search starts from this seed on every call: equal inputs, equal fills
CONTEXT_SHARE = 0.5  # around each hole the method sees half the hole's size again: enough patches to copy
# Resampling down and up by a small factor blurs away pixel-level texture for little time saved: a hole is
# reduced only when it would shrink by at least this much on each side, else it is filled at full detail.
MIN_REDUCTION = 1.5
STRUCTURE_TELEA_RADIUS = 5.0  # the smooth fill that gives wide fills their coarse colour
SHARPEN_SIGMA = 1.0  # px: the scale of detail the patch vote softens, restored by the sharpening amount
# The amount DEEP_PX pixels or more inside the hole, as a multiple of the amount at its edge (tuned with the
# automatic fill on SICE ids 1601-1800, as SHARPEN in auto.py).
DEEP_FACTOR = 2.0
DEEP_PX = 32


class PatchMatchUnavailableError(RequirementError):
    """The pypatchmatch library (or its native part) could not be loaded."""


def library() -> ModuleType | None:
    """The pypatchmatch module when its native library loads, else None."""
    try:
        import patchmatch
    except ImportError:
        return None
    return patchmatch if getattr(patchmatch, "patchmatch_available", False) else None


def patchmatch_fill(rgb: np.ndarray, hole: np.ndarray, patch: int) -> np.ndarray:
    """One PatchMatch run on a piece (float32 RGB, uint8 hole); the fill is 8-bit (only hole pixels are new)."""
    lib = library()
    if lib is None:
        raise PatchMatchUnavailableError("The PatchMatch library (pypatchmatch) is not installed: reinstall "
                                         "Restora's requirements, or use the classical fill.")
    if hole.all():
        raise NoSourcePixelsError("Nothing outside the hole is left to copy patches from: paint a smaller area.")
    lib.set_random_seed(SEED)
    filled = lib.inpaint(to_uint8(rgb), hole, patch_size=int(patch))
    return filled.astype(np.float32) / np.float32(255.0)


def with_smooth_structure(textured: np.ndarray, rgb: np.ndarray, hole: np.ndarray, size: float) -> np.ndarray:
    """`textured` (a fill of `hole` in rgb) with its detail finer than `size` pixels kept and everything coarser
    taken from Telea's continuation of the surroundings; size 0 returns it as it is."""
    if size <= 0:
        return textured
    smooth = classical_fill(rgb, hole, STRUCTURE_TELEA_RADIUS)

    def low(a: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.GaussianBlur(a, (0, 0), float(size), borderType=cv2.BORDER_REFLECT), np.float32)

    mixed = np.clip(textured - low(textured) + low(smooth), 0.0, 1.0)
    return np.where(hole[:, :, None] > 0, mixed, textured).astype(np.float32)


def sharpened(fill: np.ndarray, hole: np.ndarray, amount: float) -> np.ndarray:
    """`fill` with its detail finer than SHARPEN_SIGMA pixels raised inside `hole` by `amount` at the hole's
    edge, growing to DEEP_FACTOR x amount DEEP_PX pixels in (pixels outside are returned as they are);
    amount 0 returns it as it is."""
    if amount <= 0:
        return fill
    soft = cv2.GaussianBlur(fill, (0, 0), SHARPEN_SIGMA, borderType=cv2.BORDER_REFLECT)
    depth = cv2.distanceTransform((hole > 0).astype(np.uint8), cv2.DIST_L2, 3)
    ramp = np.clip(depth * np.float32(1.0 / DEEP_PX), 0.0, 1.0)
    gain = np.float32(amount) * (1.0 + np.float32(DEEP_FACTOR - 1.0) * ramp)
    sharp = np.clip(fill + gain[:, :, None] * (fill - soft), 0.0, 1.0)
    return np.where(hole[:, :, None] > 0, sharp, fill).astype(np.float32)


def sharpen_param(default: float) -> Param:
    """The sharpening amount parameter, with an engine's default."""
    return Param("sharpen", "float", default, "Restores the fine detail that averaging the copied patches "
                 f"softens: the fill's finest detail is raised by this much at the hole's edge, up to "
                 f"{DEEP_FACTOR:g} times as much deep inside (0 keeps PatchMatch's own fill).",
                 min=0.0, max=2.0, step=0.05, label="Sharpen")


def structure_param(default: int) -> Param:
    """The structure size parameter, with an engine's default."""
    return Param("structure", "int", default, "Wide fills keep PatchMatch's detail finer than this many pixels "
                 "and take coarser colour from a smooth fill of the surroundings, so their colour follows "
                 "what surrounds them. 0 keeps PatchMatch's own colour.", min=0, max=256, label="Structure size")


PATCH = Param("patch", "int", 3, "Radius of the compared patches, in pixels (3 compares 7 x 7 patches). Larger "
              "patches follow larger structures but are slower.", min=1, max=15, label="Patch radius")
DETAIL = Param("detail", "int", 120, "The total hole area, in thousands of pixels, filled at full detail. "
               "Bigger holes are filled at a reduced size and scaled up: much faster on big photos, a little "
               "softer. 0 never reduces.", min=0, max=100_000, step=10, label="Full-detail limit")


class PatchMatchFiller(Filler):
    parallel = True  # the native call releases the GIL
    context_share = CONTEXT_SHARE

    def __init__(self, patch: int, detail_kpx: int, structure: int = 0, sharpen: float = 0.0) -> None:
        self.patch = patch
        self.budget = int(detail_kpx) * 1000
        self.structure = structure
        self.sharpen = sharpen
        self.factors: list[float] = []

    def plan(self, holes: Sequence[np.ndarray]) -> None:
        caps = budget_caps([int(np.count_nonzero(h)) for h in holes], self.budget)
        self.factors = [f if f >= MIN_REDUCTION else 1.0 for f in caps]

    def fill(self, index: int, rgb: np.ndarray, hole: np.ndarray, progress: Progress) -> np.ndarray:
        factor = self.factors[index] if index < len(self.factors) else 1.0
        if factor > 1.0:  # at the reduced size the structure size counts reduced pixels: the same share of a hole
            size = reduced_size(hole.shape[1], hole.shape[0], factor)
            return fill_reduced(rgb, hole, self.fill_piece, size)
        return self.fill_piece(rgb, hole)

    def fill_piece(self, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """One PatchMatch run, its coarse colour from the smooth fill when a structure size is set and its
        finest detail restored when a sharpening amount is."""
        textured = sharpened(patchmatch_fill(rgb, hole, self.patch), hole, self.sharpen)
        return with_smooth_structure(textured, rgb, hole, self.structure)

    def notes(self) -> list[str]:
        most = max(self.factors, default=1.0)
        if most <= 1.0:
            return []
        return [f"The biggest holes were filled at down to 1/{most:.1f} of full size to keep it quick; raise "
                f"the full-detail limit for sharper fills."]


class PatchMatchInpaint(FillEngine):
    id = "inpaint.patchmatch"
    title = "Exemplar fill (PatchMatch)"
    description = ("Removes objects by rebuilding the area from patches of the rest of the photo, so texture "
                   "continues. No model needed.")
    params = (PATCH, DETAIL, structure_param(0), sharpen_param(0.0), *strategy_params(context=32))

    def unavailable(self) -> str | None:
        return None if library() is not None else "the PatchMatch library (pypatchmatch) is not installed."

    def make_filler(self, request: EngineRequest) -> Filler:
        p = request.params
        return PatchMatchFiller(int(p["patch"]), int(p["detail"]), int(p["structure"]), float(p["sharpen"]))
