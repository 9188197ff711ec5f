"""Identification: which network a weight file holds, built into a ModelDescriptor. The one path every
network takes (shipped defaults in resources/weights, imported checkpoints, training exports): Restora's
own architectures first, then spandrel's. Nothing is unpickled with code (core.models.checkpoints).

A training export's metadata (architecture, options, value ranges, task) is checked against the spec of
the architecture its weights belong to: options go only to the architecture the export names, and must
agree with what the weights hold; value ranges must be the architecture's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch

from core.archs.spandrel_adapter import SpandrelUnknownError, load_with_spandrel, wrap_spandrel
from core.archs.spec import ArchSpec
from core.kinds import TASKS
from core.models.checkpoints import CheckpointError, ExportInfo, read_export_info, read_state_dict, tensor_summary
from core.models.descriptor import ModelDescriptor


class UnknownArchitectureError(CheckpointError):
    """A readable checkpoint of a network neither Restora nor spandrel knows."""


class ExportMismatchError(CheckpointError):
    """A training export's metadata contradicts its weights or its architecture's spec."""


@dataclass
class Identification:
    descriptor: ModelDescriptor
    identified_by: str  # "restora" (our own architecture) | "spandrel"
    notes: list[str] = field(default_factory=list)  # what the user should know about the file


def own_architectures() -> list[ArchSpec]:
    """Our own architectures, tried before spandrel. Add new specs here."""
    from core.archs import gain_unet, gamma_net, gpen, image_unet, lbam, parsenet, zero_dce, zero_dce_pp

    return [zero_dce.ARCH_SPEC, zero_dce_pp.ARCH_SPEC, gain_unet.ARCH_SPEC, gamma_net.ARCH_SPEC,
            image_unet.ARCH_SPEC, lbam.ARCH_SPEC, gpen.ARCH_SPEC, parsenet.ARCH_SPEC]


def own_spec(name: str) -> ArchSpec | None:
    return next((s for s in own_architectures() if s.name == name), None)


def identify_file(path: str | Path, prefer: str | None = None) -> Identification:
    """Identify a weight file's network, honouring (and checking) a Restora training export's metadata."""
    path = Path(path)
    state_dict = read_state_dict(path)
    return identify(state_dict, prefer=prefer, export=read_export_info(path), source=path.name)


def identify(state_dict: Mapping[str, torch.Tensor], prefer: str | None = None, export: ExportInfo | None = None,
             source: str = "The checkpoint") -> Identification:
    """Build the network a state dict belongs to: our own architectures first, then spandrel's. `prefer`
    names the architecture tried first; `export` is a training export's metadata."""
    if not state_dict:
        raise CheckpointError(f"{source} holds no tensors.")
    own_failure: str | None = None
    specs = own_architectures()
    prefer = prefer or (export.architecture if export else None)
    if prefer:
        specs = sorted(specs, key=lambda s: s.name != prefer)
    for spec in specs:
        try:
            matches = spec.detect(state_dict)
        except Exception:  # noqa: BLE001  (a detector must never block the others)
            matches = False
        if not matches:
            continue
        notes: list[str] = []
        options = _export_options(spec, export, source, notes)
        try:
            desc = spec.load(state_dict, **options)
        except Exception as e:  # noqa: BLE001
            if export is not None and export.architecture == spec.name and options:
                raise ExportMismatchError(f"{source} is a training export of {spec.name} whose metadata does not "
                                          f"fit its weights: {_short(e)}.") from None
            own_failure = f"it looks like {spec.name} but does not load ({_short(e)})"
            continue
        desc = _check_export(desc, spec, export, source)
        return Identification(desc, "restora", notes)
    try:
        desc = wrap_spandrel(load_with_spandrel(state_dict))
    except SpandrelUnknownError:
        if own_failure:
            raise UnknownArchitectureError(f"{source} is not usable: {own_failure}.") from None
        raise UnknownArchitectureError(
            f"Neither Restora nor spandrel knows this network ({len(state_dict)} tensors: "
            f"{tensor_summary(state_dict)}). Supported architectures are listed at "
            f"https://github.com/chaiNNer-org/spandrel.") from None
    except Exception as e:  # noqa: BLE001  (a detected architecture whose weights do not fit)
        raise UnknownArchitectureError(f"{source} looks like a known architecture but its weights do not fit it "
                                       f"({_short(e)}).") from None
    notes = []
    if export is not None:
        notes.append(f"The file says it is a Restora export of {export.architecture}, but its weights are "
                     f"{desc.facts.architecture}; its metadata was ignored.")
    return Identification(desc, "spandrel", notes)


def _export_options(spec: ArchSpec, export: ExportInfo | None, source: str, notes: list[str]) -> dict[str, Any]:
    """The export's options for this spec: only when the export names it, and only options it knows."""
    if export is None:
        return {}
    if export.architecture != spec.name:
        notes.append(f"The file says it is a Restora export of {export.architecture!r}, but its weights are "
                     f"{spec.name}; its options were ignored.")
        return {}
    unknown = sorted(set(export.options) - set(spec.load_options))
    if unknown:
        raise ExportMismatchError(f"{source} is a training export of {spec.name} with options it does not take "
                                  f"({', '.join(unknown)}); export it again with this version of Restora.")
    return dict(export.options)


def _check_export(desc: ModelDescriptor, spec: ArchSpec, export: ExportInfo | None,
                  source: str) -> ModelDescriptor:
    """The export's declared value ranges must be the spec's; a generic architecture takes its task."""
    if export is None or export.architecture != spec.name:
        return desc
    for name, declared, actual in (("input", export.input_range, spec.input_range),
                                   ("output", export.output_range, spec.output_range)):
        if declared is not None and tuple(declared) != tuple(actual):
            raise ExportMismatchError(
                f"{source} declares the {name} range {tuple(declared)}, but {spec.name} works in "
                f"{tuple(actual)}; it was exported by a broken or different program. Export it again.")
    if export.task and export.task != desc.facts.purpose:
        if export.task not in TASKS:
            raise ExportMismatchError(f"{source} declares an unknown task {export.task!r}.")
        if spec.task == "general" and desc.facts.mask is None and export.task in ("general", "face"):
            desc.facts = dataclasses.replace(desc.facts, purpose=export.task)
        else:
            raise ExportMismatchError(f"{source} declares the task {export.task!r}, but its weights are a "
                                      f"{desc.facts.purpose} network.")
    return desc


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:240] if text else type(e).__name__
