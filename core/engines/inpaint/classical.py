"""OpenCV's classical inpainting (Telea's fast marching, Navier-Stokes): fast, no weights, small holes."""

from __future__ import annotations

import cv2
import numpy as np

from core.engines.base import Engine, EngineRequest, EngineResult, Param, Requirements
from core.pixels import to_uint16


class OpenCVInpaint(Engine):
    id = "inpaint.telea"
    task = "inpaint"
    title = "Classical fill (Telea)"
    description = "Fills small holes and scratches from their border inwards. No model needed."
    params = (
        Param("radius", "int", 5, "How far around each hole pixel to look, in pixels.", min=1, max=50),
        Param("method", "choice", "telea", "Telea's fast marching or the Navier-Stokes method.",
              choices=("telea", "navier-stokes"), choice_titles=("Telea (fast marching)", "Navier-Stokes")),
    )
    requirements = Requirements(needs_mask=True)

    def process(self, request: EngineRequest) -> EngineResult:
        photo, mask, params = request.photo, request.mask, request.params
        progress, cancel = request.progress, request.cancel
        assert mask is not None
        flag = cv2.INPAINT_TELEA if params["method"] == "telea" else cv2.INPAINT_NS
        if not mask.any():
            return EngineResult(photo=photo.with_rgb(photo.rgb.copy()), notes=["The mask is empty: nothing to fill."])
        # OpenCV inpaints colour only at 8 bits and gives garbage for float32 input; one 16-bit channel at a
        # time keeps a 16-bit photo's precision.
        channels = []
        for c in range(3):
            cancel.raise_if_cancelled()
            filled = cv2.inpaint(to_uint16(photo.rgb[:, :, c]), mask, float(params["radius"]), flag)
            channels.append(filled.astype(np.float32) / 65535.0)
            progress(c + 1, 3, "Filling")
        out = np.dstack(channels)
        keep = mask == 0
        out[keep] = photo.rgb[keep]  # pixels outside the mask stay bit-identical
        return EngineResult(photo=photo.with_rgb(out))
