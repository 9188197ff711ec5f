"""Paste masks from a face-parsing network of the store (ParseNet): the restored face's own outline.

The parser labels every pixel of the restored crop (resized to its side, in its input range through its
descriptor). The labels that are the face (skin, brows, eyes, eyeglasses, ears, earrings, nose, mouth,
lips, hair, as facexlib's paste does) make a 0/1 map; a band along the crop's edge is cleared before a
Gaussian blur (sigma FEATHER_SIGMA of the 512 crop) softens the outline, wide enough that the weight has
faded to about 2% at the crop's border (a face cut by the crop's edge leaves no step there). Where the
parser finds too little face (a failed restore, a face it cannot read) the caller falls back to the
elliptical mask and says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from core.engines.base import RequirementError

if TYPE_CHECKING:
    from core.models.descriptor import ModelDescriptor

NOT_FACE = frozenset({"background", "hat", "necklace", "neck", "cloth"})
FEATHER_SIGMA = 15.5 / 512  # the outline's blur, as a share of the side (two sigma-11 blurs at 512)
EDGE_BAND = 2 * FEATHER_SIGMA  # cleared along the crop's edge before the blur, as a share of its side
MIN_FACE_SHARE = 0.05  # below this share of the crop labelled face, the parse is not trusted


class NotAParserError(RequirementError):
    """The model chosen for the face mask does not label pixels."""


class FaceParser:
    """A parsing network of the store, run on the device it was given."""

    def __init__(self, desc: ModelDescriptor, name: str, device: Any = None) -> None:
        facts = desc.facts
        if not facts.parser or facts.size.fixed is None:
            raise NotAParserError(f"{name} is a {facts.architecture} network, not a face-parsing one: choose a "
                                  f"parsing model (ParseNet) or the elliptical mask.")
        self.desc, self.name = desc, f"{name} ({facts.architecture})"
        self.side = int(facts.size.fixed)
        self.face_channels = [i for i, label in enumerate(facts.labels) if label not in NOT_FACE]
        import torch

        from core.devices import select_device

        self.device = torch.device(device) if device is not None else select_device()

    def labels(self, crop: np.ndarray) -> np.ndarray:
        """Per-pixel class index (int64, side x side) of an aligned face (float32 RGB in [0, 1], any size)."""
        import torch

        from core.tensors import to_model

        if crop.shape[:2] != (self.side, self.side):
            crop = cv2.resize(crop, (self.side, self.side), interpolation=cv2.INTER_LINEAR)
        self.desc.to(self.device, torch.float32)
        x = to_model(np.ascontiguousarray(crop, dtype=np.float32), self.desc.facts.input_range, device=self.device)
        with torch.inference_mode():
            scores = self.desc(x)
        return scores[0].argmax(dim=0).cpu().numpy()

    def face_weight(self, crop: np.ndarray, side: int) -> np.ndarray | None:
        """side x side float32 paste weight in [0, 1] following the face in `crop`, or None when the parser
        labels less than MIN_FACE_SHARE of the crop as face."""
        face = np.isin(self.labels(crop), self.face_channels).astype(np.float32)
        if float(face.mean()) < MIN_FACE_SHARE:
            return None
        return soften(face, side)


def soften(face: np.ndarray, side: int) -> np.ndarray:
    """A 0/1 face map (any square size) as a side x side weight: edge band cleared, outline blurred."""
    n = face.shape[0]
    band = max(1, round(EDGE_BAND * n))
    face = face.copy()
    face[:band], face[-band:], face[:, :band], face[:, -band:] = 0, 0, 0, 0
    weight = cv2.GaussianBlur(face, (0, 0), FEATHER_SIGMA * n, borderType=cv2.BORDER_CONSTANT)
    if n != side:
        weight = cv2.resize(weight, (side, side), interpolation=cv2.INTER_LINEAR)
    weight[:1], weight[-1:], weight[:, :1], weight[:, -1:] = 0, 0, 0, 0  # never the crop's own edge
    return np.clip(weight, 0.0, 1.0).astype(np.float32)
