"""OpenCV's classical inpainting (Telea's fast marching, Navier-Stokes): fast, no weights, thin scratches."""

from __future__ import annotations

import cv2
import numpy as np

from core.engines.base import EngineRequest, Param
from core.engines.inpaint.strategy import FillEngine, Filler, strategy_params
from core.jobs import Progress
from core.pixels import to_uint16

METHODS = ("telea", "navier-stokes")


def classical_fill(rgb: np.ndarray, hole: np.ndarray, radius: float, method: str = "telea") -> np.ndarray:
    """Fill hole (uint8, 255 = fill) from its border inwards. OpenCV inpaints colour only at 8 bits and gives
    garbage for float32 input: one 16-bit channel at a time keeps a 16-bit photo's precision."""
    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    channels = [cv2.inpaint(to_uint16(rgb[:, :, c]), hole, float(radius), flag) for c in range(3)]
    return np.dstack(channels).astype(np.float32) / np.float32(65535.0)


class ClassicalFiller(Filler):
    parallel = True  # cv2.inpaint releases the GIL

    def __init__(self, radius: float, method: str) -> None:
        self.radius, self.method = radius, method
        self.min_context = int(np.ceil(radius)) + 2

    def fill(self, index: int, rgb: np.ndarray, hole: np.ndarray, progress: Progress) -> np.ndarray:
        return classical_fill(rgb, hole, self.radius, self.method)


class OpenCVInpaint(FillEngine):
    id = "inpaint.telea"
    title = "Classical fill (Telea)"
    description = ("Fills thin scratches and small holes from their border inwards (a smooth blur over larger "
                   "areas). No model needed.")
    params = (
        Param("radius", "int", 5, "How far around each hole pixel to look, in pixels.", min=1, max=50),
        Param("method", "choice", "telea", "Telea's fast marching or the Navier-Stokes method.",
              choices=METHODS, choice_titles=("Telea (fast marching)", "Navier-Stokes")),
        # the method reads only `radius` pixels around the hole: a small context gives the whole-photo result
        *strategy_params(context=16),
    )

    def make_filler(self, request: EngineRequest) -> Filler:
        return ClassicalFiller(float(request.params["radius"]), str(request.params["method"]))
