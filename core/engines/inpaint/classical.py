"""OpenCV's classical inpainting (Telea's fast marching, Navier-Stokes): fast, no weights, small holes."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from core.engines.base import Engine, EngineResult, Param, Requirements
from core.jobs import CancelToken, Progress
from core.photo import Photo


class OpenCVInpaint(Engine):
    id = "inpaint.telea"
    task = "inpaint"
    title = "Classical fill (Telea)"
    description = "Fills small holes and scratches from their border inwards. No model needed."
    params = (
        Param("radius", "int", 5, "How far around each hole pixel to look, in pixels.", min=1, max=50),
        Param("method", "choice", "telea", "Telea's fast marching or the Navier-Stokes method.",
              choices=("telea", "navier-stokes")),
    )
    requirements = Requirements(needs_mask=True)

    def process(self, photo: Photo, mask: np.ndarray | None, params: dict[str, Any], progress: Progress,
                cancel: CancelToken) -> EngineResult:
        assert mask is not None
        flag = cv2.INPAINT_TELEA if params["method"] == "telea" else cv2.INPAINT_NS
        if not mask.any():
            return EngineResult(photo=photo.with_rgb(photo.rgb.copy()), notes=["The mask is empty: nothing to fill."])
        # OpenCV inpaints 3 channels only at 8 bits; float32 one channel at a time keeps 16-bit precision.
        channels = []
        for c in range(3):
            cancel.raise_if_cancelled()
            channels.append(cv2.inpaint(np.ascontiguousarray(photo.rgb[:, :, c]), mask, float(params["radius"]), flag))
            progress(c + 1, 3, "Filling")
        out = np.clip(np.dstack(channels), 0.0, 1.0).astype(np.float32)
        keep = mask == 0
        out[keep] = photo.rgb[keep]  # pixels outside the mask stay bit-identical
        return EngineResult(photo=photo.with_rgb(out))
