"""What the engine benchmarks run: engines (learned ones without shipped weights get seeded random weights:
their timing does not depend on what the weights are), the masks and face regions their requests need, and
the engines the machine has to measure (built-in ones and one per imported checkpoint family)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

# weights file -> (module, class): networks that can be built with seeded random weights
RANDOM_NETWORKS = {"zero_dce.safetensors": ("core.archs.zero_dce", "ZeroDCE"),
                   "zero_dce_pp.safetensors": ("core.archs.zero_dce_pp", "ZeroDCEPP")}


def random_weights(engine: Any, folder: Path) -> Path | None:
    """Seeded random weights for a learned engine whose file is missing; None when it needs none."""
    if not hasattr(engine, "has_weights") or engine.has_weights():
        return None
    known = RANDOM_NETWORKS.get(getattr(engine, "weights_file", ""))
    if known is None:
        return None
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    net = getattr(importlib.import_module(known[0]), known[1])()
    path = folder / engine.weights_file
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


def make_engine(engine_id: str, device: str | None, folder: Path) -> tuple[Any, bool]:
    """The engine to measure, and whether it got random weights (written into `folder`)."""
    from core.engines.registry import registry_for

    # Any: a learned engine (the only kind random_weights gives weights for) also takes `weights=`.
    engine: Any = registry_for(engine_id).create(engine_id, device=device)
    weights = random_weights(engine, folder)
    if weights is None:
        return engine, False
    return type(engine)(device=device, weights=weights), True


def grainy_photo(megapixels: float, *, dark: bool) -> Any:
    """The synthetic test photo (core.benchmarks.engine) with fine-grained noise, as a Photo: a photo's
    demosaiced sensor noise is what makes PNG encoding and decoding slow; the smooth picture alone would
    compress unrealistically well."""
    import cv2

    from core.benchmarks.engine import synthetic_photo_pixels
    from core.photo import Photo

    rgb = synthetic_photo_pixels(megapixels, dark=dark)
    h, w = rgb.shape[:2]
    grain = np.random.default_rng(1).normal(0, 0.004 if dark else 0.01, ((h + 1) // 2, (w + 1) // 2, 3))
    rgb += cv2.resize(grain.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    np.clip(rgb, 0, 1, out=rgb)
    return Photo(rgb=rgb)


def centre_regions(height: int, width: int) -> tuple[Any, ...]:
    """One face-sized box in the middle (a third of the shorter side), for engines that work in regions."""
    from core.regions import Region

    side = max(8, min(height, width) // 3)
    return (Region(((width - side) / 2, (height - side) / 2, side, side)),)


def measurable_engines() -> list[dict[str, Any]]:
    """Every engine to measure: the built-in ones, and one store engine per checkpoint family (architecture)
    present. Each item: id, task, family (None for built-in engines), precisions (the engine's "precision"
    choices less "auto": only store engines have them, the others pick their own), skip (why it cannot run,
    or None). Families a built-in engine serves (its weight or restorer choices) are measured through that
    engine, and say so in `served_by`."""
    from core.engines.registry import default_registry

    registry = default_registry()
    rows: list[dict[str, Any]] = []
    families: set[str] = set()
    for engine in registry.list():
        entry = getattr(engine, "entry", None)
        family = getattr(entry, "architecture", None)
        if family is not None:
            if family in families:
                continue  # one model per family
            families.add(family)
        param = engine.param("precision") if hasattr(engine, "param") else None
        precisions = [c for c in (param.choices if param is not None else ()) if c != "auto"]
        rows.append({"id": engine.id, "task": engine.task, "family": family, "precisions": precisions,
                     "skip": _skip_reason(engine)})
    try:
        from core.store import ModelStore

        stored = {e.architecture for e in ModelStore().list()}
    except Exception:  # noqa: BLE001  a damaged store hides no built-in engine; registry.notes says why
        stored = set()
    for family in sorted(stored - families):
        rows.append({"id": None, "task": None, "family": family, "precisions": [], "skip": None,
                     "served_by": "a built-in engine's weight or restorer choices"})
    return rows


def _skip_reason(engine: Any) -> str | None:
    why = engine.unavailable()
    if why is None:
        return None
    if getattr(engine, "weights_file", "") in RANDOM_NETWORKS:
        return None  # measured with random weights
    return str(why)
