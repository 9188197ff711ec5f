"""Community architectures through spandrel (and spandrel-extra-arches): a spandrel descriptor becomes
Restora's ModelDescriptor, with what spandrel's wrapper hides made explicit.

spandrel wraps GFPGAN, CodeFormer and RestoreFormer for [0, 1] input, but the networks were trained on
[-1, 1]; Restora calls the raw network in its true range (declared here, converted by core.tensors) and
exposes CodeFormer's fidelity weight as a runtime parameter. Masked models (LaMa, MAT) take the mask as a
separate argument with 1 = fill.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch

from core.models.descriptor import Forward, MaskInput, ModelDescriptor, ModelFacts, SizeRule, first_output
from core.params import Param
from core.tensors import MINUS_ONE_ONE, ZERO_ONE, ValueRange

FACE_SIZE = 512  # these face networks take aligned 512 x 512 faces
# spandrel.Purpose -> Restora task
PURPOSE_TASK = {"SR": "general", "Restoration": "general", "FaceSR": "face", "Inpainting": "inpaint"}
SPANDREL_MASK = MaskInput(polarity="hole", premultiplied=False, passed_as="argument")
MAT_SEED = 240  # MAT's official generate_image.py seeds numpy with 240 before it draws the latent z

FIDELITY = Param("fidelity", "float", 0.5, "CodeFormer's fidelity weight w: 0 favours quality (the face its "
                 "codebook knows), 1 favours fidelity to the photo.", min=0.0, max=1.0, step=0.05,
                 label="Fidelity")


@dataclass(frozen=True)
class FaceQuirk:
    """How one face network is really called."""

    forward: Forward
    value_range: ValueRange = MINUS_ONE_ONE
    runtime_params: tuple[Param, ...] = ()


def _codeformer(module: torch.nn.Module, x: torch.Tensor, fidelity: float = 0.5) -> torch.Tensor:
    # The official script calls net(x, w=fidelity, adain=True) and keeps out of (out, logits, lq_feat);
    # spandrel's port fixes adain=True and calls the fidelity weight `weight`.
    return module(x, weight=float(fidelity))[0]


FACE_QUIRKS: dict[str, FaceQuirk] = {
    # GFPGANer calls net(x, return_rgb=False, weight=0.5)[0]; noise is drawn at random as in the official code.
    "GFPGAN": FaceQuirk(lambda m, x: m(x, return_rgb=False)[0]),
    "CodeFormer": FaceQuirk(_codeformer, runtime_params=(FIDELITY,)),
    "RestoreFormer": FaceQuirk(lambda m, x: m(x)[0]),
}

_lock = threading.Lock()
_extra_arches_installed = False


def install_extra_arches() -> None:
    """Add spandrel-extra-arches (CodeFormer, MAT, ...) to spandrel's registry, once per process."""
    global _extra_arches_installed
    with _lock:
        if _extra_arches_installed:
            return
        _extra_arches_installed = True
        try:
            import spandrel_extra_arches

            spandrel_extra_arches.install()
        except ImportError:
            pass  # optional: CodeFormer and a few others are then unknown
        except Exception:  # noqa: BLE001  (already installed by someone else in this process)
            pass


class SpandrelUnknownError(ValueError):
    """spandrel does not know the network."""


def load_with_spandrel(state_dict: Mapping[str, torch.Tensor]) -> Any:
    """spandrel's descriptor for a state dict; SpandrelUnknownError when no architecture claims it."""
    import spandrel

    install_extra_arches()
    try:
        return spandrel.ModelLoader("cpu").load_from_state_dict(dict(state_dict))
    except spandrel.UnsupportedModelError:
        raise SpandrelUnknownError from None


def wrap_spandrel(loaded: Any) -> ModelDescriptor:
    """A spandrel descriptor as Restora's ModelDescriptor: purpose, scale, ranges, size rule and forward."""
    import spandrel

    arch = str(loaded.architecture.id)
    purpose = PURPOSE_TASK.get(str(loaded.purpose), "general")
    req = loaded.size_requirements
    multiple = max(1, int(req.multiple_of or 1))
    minimum = max(1, int(req.minimum or 1))
    masked = isinstance(loaded, spandrel.MaskedImageModelDescriptor)
    value_range: ValueRange = ZERO_ONE
    runtime: tuple[Param, ...] = ()
    mask: MaskInput | None = None
    template: str | None = None
    quirk = FACE_QUIRKS.get(arch)
    if quirk is not None:
        forward, value_range, runtime = quirk.forward, quirk.value_range, quirk.runtime_params
        size = SizeRule("crop", fixed=FACE_SIZE)
        template = "ffhq"
    elif masked:
        mask = SPANDREL_MASK
        call_masked = getattr(loaded, "_call_fn", None) or (lambda m, image, hole: m(image, hole))

        def forward(m: torch.nn.Module, x: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
            return call_masked(m, x, hole)

        fixed = max(minimum, multiple) if req.square else None
        size = SizeRule("crop", multiple_of=1 if fixed else multiple, minimum=minimum, fixed=fixed)
    else:
        call = getattr(loaded, "_call_fn", None)
        forward = call if callable(call) else first_output
        fixed = max(minimum, multiple) if (purpose == "face" and req.square) else None
        tiling = getattr(getattr(loaded, "tiling", None), "name", "SUPPORTED")
        if fixed is not None:
            size = SizeRule("crop", fixed=fixed)
        else:
            size = SizeRule("tile" if tiling == "SUPPORTED" else "whole", multiple_of=multiple, minimum=minimum)
    module: torch.nn.Module = loaded.model
    module.eval()
    if arch == "MAT":
        _settle_mat_latent(module)
    facts = ModelFacts(
        architecture=arch, purpose=purpose, input_range=value_range, output_range=value_range, size=size,
        scale=int(loaded.scale), image_channels=int(loaded.input_channels),
        output_channels=int(loaded.output_channels), mask=mask, supports_half=bool(loaded.supports_half),
        supports_bfloat16=bool(loaded.supports_bfloat16), runtime_params=runtime,
        parameters=sum(p.numel() for p in module.parameters()), face_template=template)
    return ModelDescriptor(module, facts, forward)


def _settle_mat_latent(module: torch.nn.Module) -> None:
    """spandrel's MAT wrapper draws its latent z from numpy's global generator when it is built and keeps z and
    the label as plain tensors, which .to(device) leaves on the CPU: draw z as the official script does (seed
    240, so every load fills alike) and keep both as buffers that follow the network to its device."""
    for name in ("z", "label"):
        value = getattr(module, name, None)
        if not isinstance(value, torch.Tensor) or name in dict(module.named_buffers(recurse=False)):
            continue
        if name == "z":
            value = torch.from_numpy(np.random.RandomState(MAT_SEED).randn(*value.shape))
        delattr(module, name)
        module.register_buffer(name, value, persistent=False)
