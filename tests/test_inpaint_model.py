"""Learned inpainting models (ModelEngine) meet photos through the same strategy as the built-in fills:
around each painted area by default, or the whole photo reduced or at full size; only hole pixels change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from core.archs.spec import ArchSpec
from core.engines.model_engine import ModelEngine
from core.engines.request import EngineRequest
from core.models.descriptor import MaskInput, SizeRule
from core.photo import Photo
from core.store import ModelStore
from core.tensors import ZERO_ONE


class _GreyFill(nn.Module):
    """Fills holes (1 = fill) with mid-grey and records the input sizes it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.grey_fill = nn.Parameter(torch.full((1,), 0.5))
        self.sizes: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        self.sizes.append((int(x.shape[2]), int(x.shape[3])))
        return x * (1 - hole) + self.grey_fill * hole


def _engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: SizeRule) -> ModelEngine:
    def load(sd):
        net = _GreyFill()
        net.load_state_dict(sd)
        return spec.describe(net, size=size, mask=MaskInput("hole", False, "argument"),
                             forward=lambda m, x, hole: m(x, hole))

    spec = ArchSpec("GreyFill", "inpaint", "MIT", ZERO_ONE, ZERO_ONE, detect=lambda sd: "grey_fill" in sd, load=load)
    monkeypatch.setattr("core.archs.identify.own_architectures", lambda: [spec])
    torch.save(_GreyFill().state_dict(), tmp_path / "grey.pth")
    store = ModelStore()
    return ModelEngine(store.import_file(tmp_path / "grey.pth"), store, device="cpu")


@pytest.mark.parametrize("size", [SizeRule("whole", multiple_of=8), SizeRule("crop", fixed=64)],
                         ids=["natural size", "fixed 64"])
@pytest.mark.parametrize("strategy", ["crop", "resize", "original"])
def test_a_masked_model_changes_only_hole_pixels_in_every_strategy(size, strategy, tmp_path, monkeypatch, rng):
    engine = _engine(tmp_path, monkeypatch, size)
    assert [p.name for p in engine.params][:3] == ["strategy", "context", "working_size"]
    assert engine.param("strategy").default == "crop"
    photo = Photo(rgb=rng.random((150, 210, 3), dtype=np.float32), alpha=rng.random((150, 210), dtype=np.float32))
    mask = np.zeros((150, 210), np.uint8)
    mask[0:20, 0:30] = 255  # on the corner
    mask[90:120, 150:190] = 255
    result = engine.run(EngineRequest(photo, mask, params={"strategy": strategy, "context": 16, "working_size": 96}))
    out, keep = result.photo.rgb, mask == 0
    assert np.array_equal(out[keep], photo.rgb[keep]) and np.array_equal(result.photo.alpha, photo.alpha)
    assert np.abs(out[~keep] - 0.5).max() < 1e-4  # the model's fill, not a blend with what was under the hole
    sizes = engine.descriptor().module.sizes
    if strategy == "crop":
        assert len(sizes) == 2 and all(h * w < 100 * 100 for h, w in sizes)  # two small pieces
    if size.fixed is not None:
        assert set(sizes) == {(64, 64)} and any("64 x 64" in n for n in result.notes)


def test_an_empty_mask_returns_the_photo_without_running_the_model(tmp_path, monkeypatch, rng):
    engine = _engine(tmp_path, monkeypatch, SizeRule("whole", multiple_of=8))
    photo = Photo(rgb=rng.random((30, 40, 3), dtype=np.float32))
    result = engine.run(EngineRequest(photo, np.zeros((30, 40), np.uint8)))
    assert result.photo is photo and result.notes == ["The mask is empty: nothing to fill."]
    assert engine._descriptor is None  # never loaded
