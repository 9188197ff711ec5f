"""The facts about a network, torch-free: the size rule, the mask convention and ModelFacts (what the model
store's manifest keeps, and what core.models.descriptor's ModelDescriptor carries beside the module)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from core.kinds import TASKS
from core.params import Param
from core.value_ranges import ValueRange, check_range

STRATEGIES = ("tile", "whole", "crop")
POLARITIES = ("hole", "known")  # what a 1 in the network's mask means
MASK_PASSING = ("channel", "argument")
# "ffhq": the FFHQ 512 five-point template CodeFormer and GFPGAN align to; "gpen": GPEN's looser one.
FACE_TEMPLATES = ("ffhq", "gpen")


@dataclass(frozen=True)
class SizeRule:
    """Which input sizes the network takes and how an engine meets that on a photo of any size.

    strategy: "tile" (overlapping tiles, blended: fully convolutional, bounded receptive field), "whole" (one
    run on the whole image, padded to `multiple_of`), or "crop" (cut regions out at `fixed` x `fixed`, or at
    their own size padded to `multiple_of`, run each, paste back: aligned faces, inpainting holes)."""

    strategy: str
    multiple_of: int = 1
    minimum: int = 1
    fixed: int | None = None  # the network takes only fixed x fixed inputs

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"size strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.multiple_of < 1 or self.minimum < 1:
            raise ValueError("size multiple and minimum must be at least 1")
        if self.fixed is not None and (self.fixed < 1 or self.strategy == "tile"):
            raise ValueError("a fixed-size network is met by cropping (or a whole run of a crop), never by tiling")

    def padded(self, height: int, width: int) -> tuple[int, int]:
        m = self.multiple_of
        return -(-height // m) * m, -(-width // m) * m


@dataclass(frozen=True)
class MaskInput:
    """How a masked (inpainting) network takes its mask. Restora's mask is 1 = fill; conversion to the
    network's convention happens only at the model's boundary (ModelDescriptor.__call__).

    polarity: "hole" (1 marks a pixel to fill) or "known" (1 marks a pixel to keep, as in LBAM).
    premultiplied: the image's hole pixels are set to zero in the network's value range before the call.
    passed_as: "channel" (concatenated after the image channels) or "argument" (forward(module, x, mask))."""

    polarity: str
    premultiplied: bool
    passed_as: str

    def __post_init__(self) -> None:
        if self.polarity not in POLARITIES:
            raise ValueError(f"mask polarity must be one of {POLARITIES}, got {self.polarity!r}")
        if self.passed_as not in MASK_PASSING:
            raise ValueError(f"mask passing must be one of {MASK_PASSING}, got {self.passed_as!r}")


@dataclass(frozen=True)
class ModelFacts:
    """Everything about a network except its weights and its call."""

    architecture: str  # e.g. "Zero-DCE++", "ESRGAN", "GFPGAN"
    purpose: str  # one of core.kinds.TASKS
    input_range: ValueRange
    output_range: ValueRange
    size: SizeRule
    scale: int = 1
    image_channels: int = 3  # channels of the image input (a mask comes on top, see `mask`)
    output_channels: int = 3
    mask: MaskInput | None = None
    supports_half: bool = False
    supports_bfloat16: bool = False
    runtime_params: tuple[Param, ...] = ()  # keyword arguments of the forward, exposed as engine parameters
    parameters: int = 0  # number of weights
    face_template: str | None = None  # for aligned-face models: the alignment template they expect
    # A parsing network's class names, one per output channel: it scores classes per pixel (the argmax is the
    # label) instead of returning an image, and its output_range is not that of the scores.
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.purpose not in TASKS:
            raise ValueError(f"purpose must be one of {TASKS}, got {self.purpose!r}")
        object.__setattr__(self, "input_range", check_range(self.input_range))
        object.__setattr__(self, "output_range", check_range(self.output_range))
        if self.scale < 1:
            raise ValueError(f"scale must be at least 1, got {self.scale}")
        if self.labels and len(self.labels) != self.output_channels:
            raise ValueError(f"a parsing network names one label per output channel: {len(self.labels)} labels "
                             f"for {self.output_channels} channels")
        if self.face_template is not None and self.face_template not in FACE_TEMPLATES:
            raise ValueError(f"face template must be one of {FACE_TEMPLATES}, got {self.face_template!r}")

    @property
    def masked(self) -> bool:
        return self.mask is not None

    @property
    def parser(self) -> bool:
        """Whether the network labels pixels (a face-parsing network) rather than returning an image."""
        return bool(self.labels)

    def to_json(self) -> dict[str, Any]:
        return {
            "architecture": self.architecture, "purpose": self.purpose,
            "input_range": list(self.input_range), "output_range": list(self.output_range),
            "size": {"strategy": self.size.strategy, "multiple_of": self.size.multiple_of,
                     "minimum": self.size.minimum, "fixed": self.size.fixed},
            "scale": self.scale, "image_channels": self.image_channels, "output_channels": self.output_channels,
            "mask": None if self.mask is None else {"polarity": self.mask.polarity,
                                                    "premultiplied": self.mask.premultiplied,
                                                    "passed_as": self.mask.passed_as},
            "supports_half": self.supports_half, "supports_bfloat16": self.supports_bfloat16,
            "runtime_params": [p.to_json() for p in self.runtime_params], "parameters": self.parameters,
            "face_template": self.face_template, "labels": list(self.labels),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ModelFacts":
        """Facts as `to_json` wrote them; raises KeyError, TypeError or ValueError on anything malformed."""
        if not isinstance(data, Mapping):
            raise TypeError("facts must be an object")
        size = data["size"]
        mask = data.get("mask")
        return cls(
            architecture=str(data["architecture"]), purpose=str(data["purpose"]),
            input_range=_range(data["input_range"]), output_range=_range(data["output_range"]),
            size=SizeRule(str(size["strategy"]), int(size["multiple_of"]), int(size["minimum"]),
                          None if size.get("fixed") is None else int(size["fixed"])),
            scale=int(data["scale"]), image_channels=int(data["image_channels"]),
            output_channels=int(data["output_channels"]),
            mask=None if mask is None else MaskInput(str(mask["polarity"]), bool(mask["premultiplied"]),
                                                     str(mask["passed_as"])),
            supports_half=bool(data["supports_half"]), supports_bfloat16=bool(data["supports_bfloat16"]),
            runtime_params=tuple(Param.from_json(p) for p in data.get("runtime_params") or ()),
            parameters=int(data.get("parameters") or 0),
            face_template=None if data.get("face_template") is None else str(data["face_template"]),
            labels=tuple(str(label) for label in data.get("labels") or ()))


def _range(value: Any) -> ValueRange:
    lo, hi = value
    return float(lo), float(hi)
