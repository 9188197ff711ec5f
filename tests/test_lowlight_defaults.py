"""The shipped default weights: present, loadable offline, and the one-click default brightens a dark photo."""

from __future__ import annotations

import numpy as np
import pytest

from core import paths
from core.engines.lowlight import lowlight_engines
from core.engines.registry import default_registry
from core.engines.request import EngineRequest
from core.photo import Photo

LEARNED_DEFAULTS = ("lowlight.auto", "lowlight.zero_dce_pp", "lowlight.gain_unet", "lowlight.gamma_net")


def _dark_photo(rng: np.random.Generator) -> Photo:
    y, x = np.mgrid[0:96, 0:128].astype(np.float32)
    base = np.dstack([x / 128, y / 96, (x + y) / 224]) * 0.12
    return Photo(rgb=np.clip(base + rng.normal(0, 0.005, base.shape), 0, 1).astype(np.float32))


def test_default_engine_is_the_automatic_one_with_shipped_weights():
    registry = default_registry()
    assert lowlight_engines()[0].id == "lowlight.auto"
    assert registry.list("lowlight")[0].id == "lowlight.auto"
    default = registry.default("lowlight")
    assert default is not None and default.id == "lowlight.auto" and default.unavailable() is None


@pytest.mark.parametrize("engine_id", LEARNED_DEFAULTS)
def test_shipped_weights_have_model_cards_and_brighten(engine_id, rng):
    engine = default_registry().create(engine_id, device="cpu")
    weights = paths.resources_dir() / "weights" / engine.weights_file
    assert weights.is_file(), f"{weights} is missing"
    assert weights.with_suffix(".md").is_file(), f"{weights.name} has no model card"
    photo = _dark_photo(rng)
    result = engine.run(EngineRequest(photo)).photo
    assert result.rgb.shape == photo.rgb.shape and np.isfinite(result.rgb).all()
    assert result.rgb.mean() > photo.rgb.mean() + 0.03  # visibly brighter
    newly_clipped = (result.rgb.max(axis=2) >= 0.999) & (photo.rgb.max(axis=2) < 0.999)
    assert newly_clipped.mean() < 0.01
