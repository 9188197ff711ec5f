"""Face restorers: the built-in one and any aligned-face model in the store, behind one small interface.

A store model is called only through its descriptor (core.models.runner.run_model: its declared input and
output ranges, its fixed size, its device and precision handling); its facts say which template it was
trained on (facts.face_template, "ffhq" when a face model does not say) and its side (facts.size.fixed).
Fidelity: a model that declares a "fidelity" runtime parameter (CodeFormer's w) gets it; any other restorer
is blended with the aligned input, `fidelity` being the input's share (GFPGAN's own weight argument does
nothing, so the blend is what makes the slider mean something there).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from core.engines.base import RequirementError
from core.engines.face.builtin import restore_builtin
from core.models.facts import FACE_TEMPLATES

if TYPE_CHECKING:
    from core.models.descriptor import ModelDescriptor

BUILTIN = "builtin"
BUILTIN_SIDE = 512
FIDELITY_PARAM = "fidelity"


class WrongRestorerError(RequirementError):
    """The model chosen to restore faces is not an aligned-face restorer."""


class FaceRestorer(ABC):
    name: str  # what reports call it
    template: str  # "ffhq" | "gpen"
    side: int  # the crop it takes (it may return k times that)
    own_fidelity: bool = False  # the network takes the fidelity itself (else it is a blend)

    @abstractmethod
    def run(self, crop: np.ndarray, fidelity: float) -> np.ndarray:
        """The restorer's own output for an aligned side x side crop (float32 RGB in [0, 1])."""

    def restore(self, crop: np.ndarray, fidelity: float) -> np.ndarray:
        """The restored crop with the fidelity applied (a blend with the input where the network has no
        fidelity of its own)."""
        out = self.run(crop, fidelity)
        if self.own_fidelity or fidelity <= 0:
            return out
        src = crop if crop.shape == out.shape else cv2.resize(crop, out.shape[1::-1], interpolation=cv2.INTER_CUBIC)
        return np.clip((1 - fidelity) * out + fidelity * src, 0, 1).astype(np.float32)


class BuiltinRestorer(FaceRestorer):
    name = "Built-in (classical)"
    template = "ffhq"
    side = BUILTIN_SIDE

    def run(self, crop: np.ndarray, fidelity: float) -> np.ndarray:
        return restore_builtin(crop)


def check_face_model(desc: ModelDescriptor, name: str) -> None:
    """Raise WrongRestorerError unless the descriptor is an aligned-face restorer Restora can drive."""
    facts = desc.facts
    what = f"{name} is a {facts.architecture} network"
    if facts.purpose != "face":
        raise WrongRestorerError(f"{what} for {facts.purpose} work, not a face restorer: choose a face model "
                                 f"(GFPGAN, CodeFormer, RestoreFormer, GPEN) or the built-in restorer.")
    if facts.parser:
        raise WrongRestorerError(f"{what} that finds the parts of a face, it does not restore one: choose it as "
                                 f"the face mask, and a face model (GFPGAN, CodeFormer, RestoreFormer, GPEN) or "
                                 f"the built-in restorer as the restorer.")
    if facts.size.fixed is None or facts.mask is not None or facts.image_channels != 3:
        raise WrongRestorerError(f"{what} that does not take aligned square face crops; it cannot restore "
                                 f"faces here.")
    if facts.face_template is not None and facts.face_template not in FACE_TEMPLATES:
        raise WrongRestorerError(f"{what} aligned to an unknown template {facts.face_template!r}.")


class ModelRestorer(FaceRestorer):
    """A face network of the store, run on its device through its descriptor."""

    def __init__(self, desc: ModelDescriptor, name: str, device: Any = None, precision: str = "auto") -> None:
        check_face_model(desc, name)
        facts = desc.facts
        self.desc = desc
        self.name = f"{name} ({facts.architecture})"
        self.template = facts.face_template or "ffhq"
        self.side = int(facts.size.fixed or 0)
        self.own_fidelity = any(p.name == FIDELITY_PARAM for p in facts.runtime_params)
        self.device = device
        self.precision = precision
        self.notes: list[str] = []

    def run(self, crop: np.ndarray, fidelity: float) -> np.ndarray:
        from core.models.runner import run_model

        params = {FIDELITY_PARAM: float(fidelity)} if self.own_fidelity else {}
        result = run_model(self.desc, np.ascontiguousarray(crop, dtype=np.float32), params=params,
                           device=self.device, precision=self.precision)
        for note in result.notes:
            if note not in self.notes:
                self.notes.append(note)
        return result.image[:, :, :3]
