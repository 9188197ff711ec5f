"""The engine for a model in the store: one ModelEngine per entry, id `model.<name>`.

Everything it does comes from the model's facts (core.models.descriptor): its task is the model's purpose,
its parameters are the tile controls (only for a tileable model), the precision choices the model supports
and the model's runtime parameters (CodeFormer's fidelity, for example); masked models get the mask, faces
the regions the user drew. The network is loaded on first use and kept on the engine instance;
core.models.runner does the device, precision and tiling work. An upscaling model returns the larger photo
(alpha is resized to match); an inpainting model changes only the masked pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from core.engines.base import Engine, EngineRequest, EngineResult, Param, RequirementError, Requirements
from core.engines.inpaint.strategy import NOTHING_TO_FILL, fill_photo, strategy_params
from core.engines.model_regions import ModelFiller, run_in_crops
from core.masks import check_mask
from core.photo import Photo
from core.store import ModelEntry, ModelStore

if TYPE_CHECKING:  # torch loads with the first model run, not with the engine list
    from core.models.descriptor import ModelDescriptor

ENGINE_PREFIX = "model."
TILE = Param("tile", "int", 0, "Tile size in pixels; 0 chooses one from the free memory.", min=0, max=8192,
             step=32, label="Tile size")
OVERLAP = Param("overlap", "int", 32, "Overlap between tiles, in pixels.", min=0, max=512, step=8)
# px inside the mask over which a network's fill fades in: a network re-renders colours and can drift a little
# from the surroundings, so a thin seam inside the mask (never outside it) hides that; 0 pastes the fill
# outright, as LaMa's own composite does.
MODEL_FEATHER = 3


class FaceModelNeedsFaceEngineError(RequirementError):
    """A face network that takes aligned fixed-size crops was asked to process a whole photo."""


PRECISION_TITLES = {"auto": "Automatic", "float32": "32-bit float", "float16": "16-bit float (half)",
                    "bfloat16": "bfloat16"}


def engine_id(entry: ModelEntry) -> str:
    return f"{ENGINE_PREFIX}{entry.name}"


def precision_choices(entry: ModelEntry) -> tuple[str, ...]:
    choices = ["auto", "float32"]
    if entry.facts.supports_half:
        choices.append("float16")
    if entry.facts.supports_bfloat16:
        choices.append("bfloat16")
    return tuple(choices)


def describe_entry(entry: ModelEntry) -> str:
    scale = f"{entry.scale}x upscaling, " if entry.scale != 1 else ""
    licence = f" Licence: {entry.license}." if entry.license else ""
    origin = {"downloaded": "Downloaded", "trained": "Trained"}.get(entry.source, "Imported")
    return (f"{origin} {entry.architecture} model ({scale}{_count(entry.parameters)} parameters, "
            f"{_size(entry.file_size)}).{licence}")


def _count(n: int) -> str:
    return f"{n / 1e6:.1f} M" if n >= 100_000 else f"{n:,}"


def _size(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


class ModelEngine(Engine):
    """Runs one model of the store; its id, task, parameters and requirements come from the entry's facts."""

    def __init__(self, entry: ModelEntry, store: ModelStore, device: Any = None) -> None:
        super().__init__(device)
        self.entry = entry
        self.store = store
        facts = entry.facts
        params: list[Param] = []
        if facts.size.strategy == "tile":
            params += [TILE, OVERLAP]
        if facts.masked:  # around each painted area by default (core.engines.inpaint.strategy)
            params += list(strategy_params(context=64, feather=MODEL_FEATHER))
        params += list(facts.runtime_params)
        choices = precision_choices(entry)
        params.append(Param("precision", "choice", "auto", "Number format on the GPU (the CPU always uses "
                            "float32).", choices=choices, choice_titles=tuple(PRECISION_TITLES[c] for c in choices)))
        self.id = engine_id(entry)
        self.task = facts.purpose
        self.title = f"{entry.name} ({entry.architecture})"
        self.description = describe_entry(entry)
        self.params = tuple(params)
        self.requirements = Requirements(needs_mask=facts.masked, size_multiple=facts.size.multiple_of,
                                         square=facts.size.fixed is not None, min_size=entry.min_size,
                                         needs_regions=facts.purpose == "face")
        self._descriptor: ModelDescriptor | None = None

    def descriptor(self) -> ModelDescriptor:
        """The network, loaded once per engine instance (run_model moves it to the device it runs on)."""
        if self._descriptor is None:
            self._descriptor = self.store.load(self.entry.name, device="cpu")
        return self._descriptor

    def check(self, photo: Photo, mask: np.ndarray | None) -> np.ndarray | None:
        if self.entry.facts.size.strategy != "crop":
            return super().check(photo, mask)
        # A crop-strategy model takes photos of any size: its crops meet the size rule, not the photo.
        if mask is None:
            if self.requirements.needs_mask:
                raise RequirementError(f"{self.title} needs a mask: paint the area to fill, or pass --mask.")
            return None
        return check_mask(mask, (photo.height, photo.width))

    def process(self, request: EngineRequest) -> EngineResult:
        facts = self.entry.facts
        photo = request.photo
        runtime = {p.name: request.params[p.name] for p in facts.runtime_params}
        options = {"precision": str(request.params.get("precision", "auto"))}
        if facts.purpose == "face" and facts.mask is None:
            if not request.regions:
                raise FaceModelNeedsFaceEngineError(
                    f"{self.entry.name} ({self.entry.architecture}) restores faces one by one; it cannot run over "
                    f"a whole photo. Draw a box around each face (Face box tool, F) or use the face-restoration "
                    f"engine with this model.")
            boxes = [r.box for r in request.regions]
            rgb, notes = run_in_crops(self, photo.rgb, boxes, runtime, options, request, margin=0.25)
        elif facts.masked and request.mask is not None:
            return self.fill(request, runtime, options)
        else:
            rgb, notes = self.run_whole(photo.rgb, request.mask, runtime, options, request)
        out = np.ascontiguousarray(rgb[:, :, :3], dtype=np.float32)
        if facts.masked and request.mask is not None and out.shape[:2] == photo.rgb.shape[:2]:
            keep = request.mask == 0
            out[keep] = photo.rgb[keep]  # only the masked pixels change
        return EngineResult(photo=Photo(rgb=out, alpha=_resize_alpha(photo.alpha, out.shape[:2]), meta=photo.meta),
                            regions=list(request.regions or ()), notes=notes)

    def fill(self, request: EngineRequest, runtime: dict[str, Any], options: dict[str, Any]) -> EngineResult:
        """An inpainting model through the shared strategy: only the masked pixels change, and no full-size
        temporary is made beyond the result itself."""
        photo, mask = request.photo, request.mask
        assert mask is not None
        if not mask.any():
            return EngineResult(photo=photo, notes=[NOTHING_TO_FILL])
        rgb, notes = fill_photo(photo.rgb, mask, ModelFiller(self, runtime, options, request), request.params,
                                request.progress, request.cancel)
        return EngineResult(photo=photo.with_rgb(rgb), regions=list(request.regions or ()), notes=notes)

    def run_whole(self, rgb: np.ndarray, mask: np.ndarray | None, runtime: dict[str, Any], options: dict[str, Any],
                  request: EngineRequest) -> tuple[np.ndarray, list[str]]:
        """Run the model over the whole image (tiled when its facts allow, else one padded piece)."""
        from core.models.runner import run_model

        params = request.params
        tile = int(params.get("tile", 0)) or None
        result = run_model(self.descriptor(), rgb, mask=mask, params=runtime, device=self.device,
                           precision=options["precision"], tile=tile, overlap=int(params.get("overlap", 32)),
                           progress=request.progress, cancel=request.cancel)
        request.cancel.raise_if_cancelled()
        notes = list(result.notes)
        notes.append(f"Ran {self.entry.architecture} on {result.device} in {result.precision}"
                     + (f" with {result.tile} px tiles." if result.tile else " on the whole image."))
        return result.image, notes


def _resize_alpha(alpha: np.ndarray | None, size_hw: tuple[int, int]) -> np.ndarray | None:
    if alpha is None or alpha.shape == tuple(size_hw):
        return alpha
    h, w = size_hw
    resized = cv2.resize(alpha.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(resized, 0.0, 1.0).astype(np.float32)


def store_engines(store: ModelStore | None = None, skip_architectures: frozenset[str] = frozenset()) -> list[Any]:
    """One engine factory per model in the store (ModelStore() when none is given), except models whose
    architecture a dedicated engine serves (their weights are a choice of that engine instead)."""
    import functools

    store = store or ModelStore()
    return [functools.partial(ModelEngine, entry, store) for entry in store.list()
            if entry.architecture not in skip_architectures]
