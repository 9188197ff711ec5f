"""Engines for checkpoints in the model store: one engine class per imported model, id `model.<name>`.

The network is loaded on first use and kept on the engine instance; core.inference.run_model does the
device, precision and tiling work. An upscaling model returns the larger photo as it is (alpha is resized
to match); an inpainting model gets the mask as a fourth channel and only the masked pixels change.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import cv2
import numpy as np

from core.archs.spec import ModelDescriptor
from core.engines.base import Engine, EngineRequest, EngineResult, Param, Requirements
from core.errors import RestoraError
from core.photo import Photo
from core.store import ModelEntry, ModelStore

ENGINE_PREFIX = "model."


class FaceModelNeedsFaceEngineError(RestoraError):
    """A face network that takes aligned fixed-size crops was asked to process a whole photo."""


def engine_id(entry: ModelEntry) -> str:
    return f"{ENGINE_PREFIX}{entry.name}"


def _precision_choices(entry: ModelEntry) -> tuple[str, ...]:
    choices = ["auto", "float32"]
    if entry.supports_half:
        choices.append("float16")
    if entry.supports_bfloat16:
        choices.append("bfloat16")
    return tuple(choices)


def _describe(entry: ModelEntry) -> str:
    scale = f"{entry.scale}x upscaling, " if entry.scale != 1 else ""
    licence = f" Licence: {entry.license}." if entry.license else ""
    return (f"Imported {entry.architecture} model ({scale}{entry.parameters / 1e6:.1f} M parameters, "
            f"{entry.size_mb:.0f} MB).{licence}")


def imported_engine(entry: ModelEntry, store: ModelStore) -> Callable[..., "ImportedModelEngine"]:
    """A factory (device=...) of engines that run the store's model `entry`."""
    return functools.partial(ImportedModelEngine, entry, store)


class ImportedModelEngine(Engine):
    """Runs one model of the store; its parameters come from the model's manifest entry."""

    def __init__(self, entry: ModelEntry, store: ModelStore, device: Any = None) -> None:
        super().__init__(device)
        self.entry = entry
        self.store = store
        tileable = entry.tileable and entry.fixed_size is None
        params: list[Param] = []
        if tileable:
            params += [
                Param("tile", "int", 0, "Tile size in pixels; 0 chooses one from the free memory.", min=0, max=8192,
                      step=32, label="Tile size"),
                Param("overlap", "int", 32, "Overlap between tiles, in pixels.", min=0, max=512, step=8),
            ]
        params.append(Param("precision", "choice", "auto", "Number format on the GPU (the CPU always uses "
                            "float32).", choices=_precision_choices(entry)))
        self.id = engine_id(entry)
        self.task = entry.task
        self.title = f"{entry.name} ({entry.architecture})"
        self.description = _describe(entry)
        self.params = tuple(params)
        self.requirements = Requirements(needs_mask=entry.task == "inpaint", size_multiple=max(1, entry.size_multiple),
                                         square=entry.fixed_size is not None, min_size=max(1, entry.min_size))
        self._descriptor: ModelDescriptor | None = None

    def descriptor(self) -> ModelDescriptor:
        """The network, loaded once per engine instance (run_model moves it to the device it runs on)."""
        if self._descriptor is None:
            self._descriptor = self.store.load(self.entry.name, device="cpu")
        return self._descriptor

    def process(self, request: EngineRequest) -> EngineResult:
        from core.inference import run_model

        photo, mask, params = request.photo, request.mask, request.params
        progress, cancel = request.progress, request.cancel
        entry = self.entry
        if entry.fixed_size is not None:
            raise FaceModelNeedsFaceEngineError(
                f"{entry.name} ({entry.architecture}) restores aligned {entry.fixed_size} x {entry.fixed_size} face "
                f"crops; it cannot run over a whole photo. Use the face-restoration engine with this model.")
        desc = self.descriptor()
        image = photo.rgb
        if entry.task == "inpaint":
            assert mask is not None  # Engine.check enforces needs_mask
            image = np.dstack([photo.rgb, (mask > 0).astype(np.float32)])
        tile = int(params.get("tile", 0)) or None
        result = run_model(desc, image, device=self.device, precision=str(params.get("precision", "auto")),
                           tile=tile, overlap=int(params.get("overlap", 32)), progress=progress, cancel=cancel)
        cancel.raise_if_cancelled()
        out = np.ascontiguousarray(result.image[:, :, :3], dtype=np.float32)
        if entry.task == "inpaint" and mask is not None and out.shape[:2] == photo.rgb.shape[:2]:
            keep = mask == 0
            out[keep] = photo.rgb[keep]  # only the masked pixels change
        notes = list(result.notes)
        notes.append(f"Ran {entry.architecture} on {result.device} in {result.precision}"
                     + (f" with {result.tile} px tiles." if result.tile else " on the whole image."))
        return EngineResult(photo=Photo(rgb=out, alpha=_resize_alpha(photo.alpha, out.shape[:2]), meta=photo.meta),
                            notes=notes)


def _resize_alpha(alpha: np.ndarray | None, size_hw: tuple[int, int]) -> np.ndarray | None:
    if alpha is None or alpha.shape == tuple(size_hw):
        return alpha
    h, w = size_hw
    resized = cv2.resize(alpha.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(resized, 0.0, 1.0).astype(np.float32)


def store_engines(store: ModelStore | None = None) -> list[Callable[..., Engine]]:
    """One engine class per model in the store (ModelStore() when none is given)."""
    store = store or ModelStore()
    return [imported_engine(entry, store) for entry in store.list()]
