"""`face.restore`: find the faces (or take the ones drawn), align each to its restorer's template, restore it
(the built-in restorer or any face model in the store) and paste it back, reporting every face.

The engine gets the model store at creation: its "model" parameter lists the built-in restorer and every
aligned-face model installed; "background" (shown when the store has an upscaling model) upscales the rest
of the photo with it while the faces are pasted in at the new size. With "aligned" the photo is taken to be
one aligned face crop (the official tools' --aligned / --has_aligned): no detection, no paste-back, no colour
matching: the output is the restorer's own output at its size.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.engines.base import Engine, EngineRequest, EngineResult, Param, RequirementError
from core.engines.face.detect import DETECTOR_TITLES, DETECTORS, find_faces
from core.engines.face.parsing import FaceParser
from core.engines.face.paste import photo_tone
from core.engines.face.pipeline import FaceOptions, as_detected, restore_faces
from core.engines.face.restorers import BUILTIN, BuiltinRestorer, FaceRestorer, ModelRestorer
from core.engines.request import FaceReport
from core.jobs import ScaledProgress
from core.photo import Photo
from core.regions import Region

NO_BACKGROUND = "none"
ELLIPSE = "ellipse"
NO_FACE = ("No face was found, so the photo is unchanged. Draw a box around each face (Face box tool, F), or "
           "try the other detector or a smaller minimum face size.")
FIDELITY = Param("fidelity", "float", 0.5, "0 favours quality, 1 fidelity to the photo. CodeFormer takes it as "
                 "its own weight w; for the other restorers it is the share of the original face blended back.",
                 min=0.0, max=1.0, step=0.05, label="Fidelity")
DETECTOR = Param("detector", "choice", "auto", "Which face detector finds the faces when none are drawn.",
                 choices=DETECTORS, choice_titles=DETECTOR_TITLES)
PROFILES = Param("profiles", "bool", False, "Also look for faces seen from the side (Haar; slower).",
                 label="Find profile faces")
MIN_FACE = Param("min_face", "int", 32, "Faces smaller than this (the box's longer side, in photo pixels) are "
                 "left as they are: there is too little to restore.", min=4, max=4096, step=4,
                 label="Smallest face (px)")
COLOUR_MATCH = Param("colour_match", "bool", True, "Match the restored faces' colour and brightness to the "
                     "photo's.", label="Match colours")
ALIGNED = Param("aligned", "bool", False, "The photo is one face already aligned and cropped (as FFHQ or the "
                "official tools' --aligned): restore it whole, no detection or pasting.", label="Aligned face crop")


def serves(entry: Any) -> bool:
    """Whether a store entry is an aligned-face restorer (a choice of this engine, not an engine of its own)."""
    facts = entry.facts
    return facts.purpose == "face" and facts.size.fixed is not None and facts.mask is None and not facts.parser


def parses(entry: Any) -> bool:
    """Whether a store entry is a face-parsing network (this engine's paste-mask choice)."""
    facts = entry.facts
    return facts.purpose == "face" and facts.parser and facts.size.fixed is not None


def _upscaler(facts: Any) -> bool:
    return facts.purpose == "general" and facts.scale > 1 and facts.mask is None and facts.size.strategy != "crop"


class FaceRestoreEngine(Engine):
    id = "face.restore"
    task = "face"
    title = "Restore faces"
    description = ("Finds the faces (or restores the boxes you drew), aligns each one, restores it with the chosen "
                   "model and blends it back with a soft mask. Works offline with the built-in restorer; face "
                   "models from the store (GFPGAN, CodeFormer, RestoreFormer, GPEN) do much more.")

    def __init__(self, device: Any = None, store: Any = None) -> None:
        super().__init__(device)
        self.store = store
        self._restorers: dict[str, FaceRestorer] = {}
        self._parsers: dict[str, FaceParser] = {}
        faces, upscalers, parsers = self._store_choices()
        model = Param("model", "choice", BUILTIN, "The face restorer: the built-in one (no download) or a face "
                      "model from the store.", choices=(BUILTIN, *(e.name for e in faces)),
                      choice_titles=(BuiltinRestorer.name, *(f"{e.name} ({e.architecture})" for e in faces)),
                      label="Restorer")
        params = [model, FIDELITY, DETECTOR, PROFILES, MIN_FACE, COLOUR_MATCH, ALIGNED]
        # The parsed outline where a parsing model is installed (the first one by default), else the ellipse.
        params.append(Param("face_mask", "choice", parsers[0].name if parsers else ELLIPSE, "How each restored "
                            "face is blended in: along the face's own outline found by a face-parsing model of "
                            "the store, or with a soft ellipse over the face.",
                            choices=(*(e.name for e in parsers), ELLIPSE),
                            choice_titles=(*(f"{e.name} ({e.architecture})" for e in parsers), "Soft ellipse"),
                            label="Face mask"))
        if upscalers:
            params.append(Param("background", "choice", NO_BACKGROUND, "Upscale the rest of the photo with this "
                                "model; the faces are pasted in at the new size.",
                                choices=(NO_BACKGROUND, *(e.name for e in upscalers)),
                                choice_titles=("Keep the size", *(f"{e.name} ({e.scale}x)" for e in upscalers)),
                                label="Upscale background"))
        self.params = tuple(params)

    def _store_choices(self) -> tuple[list[Any], list[Any], list[Any]]:
        if self.store is None:
            return [], [], []
        try:
            entries = self.store.list()
        except Exception:  # noqa: BLE001  (a damaged store never hides the engine: the built-in still works)
            return [], [], []
        return ([e for e in entries if serves(e)], [e for e in entries if _upscaler(e.facts)],
                [e for e in entries if parses(e)])

    def store_root(self) -> Path | None:
        root = getattr(self.store, "root", None)
        return Path(root) if root is not None else None

    def restorer(self, choice: str) -> FaceRestorer:
        """The restorer for a "model" choice, loaded once per engine instance."""
        if choice not in self._restorers:
            if choice == BUILTIN:
                self._restorers[choice] = BuiltinRestorer()
            else:
                if self.store is None:
                    raise RequirementError(f"{self.title}: no model store to load {choice!r} from.")
                self._restorers[choice] = ModelRestorer(self.store.load(choice), choice, device=self.device)
        return self._restorers[choice]

    def parser(self, choice: str) -> FaceParser | None:
        """The face-parsing model for a "face_mask" choice (None: the ellipse), loaded once per engine."""
        if choice == ELLIPSE:
            return None
        if choice not in self._parsers:
            if self.store is None:
                raise RequirementError(f"{self.title}: no model store to load {choice!r} from.")
            self._parsers[choice] = FaceParser(self.store.load(choice), choice, device=self.device)
        return self._parsers[choice]

    # ----- running --------------------------------------------------------------------------------------

    def process(self, request: EngineRequest) -> EngineResult:
        p = request.params
        restorer = self.restorer(str(p["model"]))
        photo = request.photo
        if p["aligned"]:
            return self._aligned(photo, restorer, float(p["fidelity"]))
        notes: list[str] = []
        if request.regions:
            faces = [as_detected(r) for r in request.regions]
            found_by = "given"
        else:
            request.progress(0, 1, "Finding faces")
            detection = find_faces(photo.rgb, detector=str(p["detector"]), store_root=self.store_root(),
                                   min_face=max(8, int(p["min_face"]) // 2), profiles=bool(p["profiles"]),
                                   cancel=request.cancel)
            faces, found_by = detection.faces, detection.detector
            notes += detection.notes
        if not faces:
            return EngineResult(photo=photo.with_rgb(photo.rgb.copy()), notes=[NO_FACE, *notes])
        request.cancel.raise_if_cancelled()
        background = self._background(photo, str(p.get("background", NO_BACKGROUND)), request)
        tone = photo_tone(photo.rgb, photo.meta.grayscale)
        parser = self.parser(str(p.get("face_mask", ELLIPSE)))
        options = FaceOptions(fidelity=float(p["fidelity"]), min_face=int(p["min_face"]),
                              colour_match=bool(p["colour_match"]), tone=tone, parser=parser)
        result = restore_faces(photo.rgb, faces, restorer, options, background=background,
                               progress=request.progress, cancel=request.cancel)
        notes.insert(0, _summary(result.reports, found_by, tone))
        if parser is not None:
            notes.append(f"Faces blended along their outlines found by {parser.name}.")
        notes.append("Faces:" + "".join(f"\n  {r.describe()}" for r in result.reports))
        notes += getattr(restorer, "notes", [])
        rgb = np.ascontiguousarray(result.rgb, dtype=np.float32)
        out = Photo(rgb=rgb, alpha=_resized_alpha(photo.alpha, rgb.shape[:2]), meta=photo.meta)
        regions = result.regions if background is None else [_scaled_region(r, rgb.shape[1] / photo.width)
                                                              for r in result.regions]
        return EngineResult(photo=out, regions=regions, notes=notes, faces=result.reports)

    def _aligned(self, photo: Photo, restorer: FaceRestorer, fidelity: float) -> EngineResult:
        side = restorer.side
        rgb = photo.rgb
        notes = []
        if rgb.shape[:2] != (side, side):
            rgb = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_LINEAR)
            notes.append(f"The crop was resized from {photo.width} x {photo.height} to {side} x {side}.")
        out = np.ascontiguousarray(restorer.run(rgb, fidelity), dtype=np.float32)
        if fidelity > 0 and not restorer.own_fidelity:
            notes.append("Aligned crops get the restorer's own output: the fidelity blend is not applied.")
        report = FaceReport(1, (0.0, 0.0, float(photo.width), float(photo.height)), detector="aligned crop",
                            restorer=restorer.name)
        notes.insert(0, f"Restored the aligned face crop with {restorer.name}.")
        notes += getattr(restorer, "notes", [])
        return EngineResult(photo=Photo(rgb=out, alpha=_resized_alpha(photo.alpha, out.shape[:2]), meta=photo.meta),
                            notes=notes, faces=[report])

    def _background(self, photo: Photo, choice: str, request: EngineRequest) -> np.ndarray | None:
        if choice == NO_BACKGROUND:
            return None
        from core.models.runner import run_model

        desc = self.store.load(choice)
        if not _upscaler(desc.facts):
            raise RequirementError(f"{choice} is a {desc.facts.architecture} network, not an upscaler.")
        result = run_model(desc, photo.rgb, device=self.device,
                           progress=ScaledProgress(request.progress, 0, 1, 2), cancel=request.cancel)
        return result.image[:, :, :3]


def _summary(reports: list[FaceReport], found_by: str, tone: str) -> str:
    restored = sum(r.status == "restored" for r in reports)
    skipped = len(reports) - restored
    where = (f"{len(reports)} face(s) given" if found_by == "given"
             else f"{len(reports)} face(s) found by {found_by}")
    tail = {"grey": " The photo is grey: so are the restored faces.",
            "toned": " The photo is toned: the faces keep its tone."}.get(tone, "")
    return (f"Restored {restored} of {where}" + (f"; {skipped} skipped" if skipped else "") + "." + tail)


def _scaled_region(region: Region, k: float) -> Region:
    """A region of the photo in a k times larger copy of it (pixel centres at integers in both)."""
    x, y, w, h = region.box
    points = tuple(((px + 0.5) * k - 0.5, (py + 0.5) * k - 0.5) for px, py in region.landmarks)
    return dataclasses.replace(region, box=(x * k, y * k, w * k, h * k), landmarks=points)


def _resized_alpha(alpha: np.ndarray | None, size_hw: tuple[int, int]) -> np.ndarray | None:
    if alpha is None or alpha.shape == tuple(size_hw):
        return alpha
    h, w = size_hw
    return np.clip(cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR), 0, 1).astype(np.float32)
