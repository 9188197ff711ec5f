"""Helpers the face tests share (no tests here): synthetic photos with known faces, and stand-in face
networks registered as Restora architectures so they go through the store like any checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from core.archs.spec import ArchSpec
from core.engines.face.synthetic import TrueFace, background, place_face
from core.models.descriptor import SizeRule
from core.params import Param
from core.store import ModelStore
from core.tensors import MINUS_ONE_ONE, ZERO_ONE

FIDELITY = Param("fidelity", "float", 0.5, "fidelity", min=0.0, max=1.0)


def photo_with_faces(width: int, height: int, faces: list[tuple[float, float, int]], seed: int = 0,
                     clutter: int = 10, angle: float = 0.0) -> tuple[np.ndarray, list[TrueFace]]:
    """A float32 RGB photo with faces whose top-left corner and side are (x, y, side)."""
    rng = np.random.default_rng(seed)
    image = background(height, width, rng, clutter)
    truth = [place_face(image, x, y, side, angle=angle) for x, y, side in faces]
    return np.clip(image, 0, 1).astype(np.float32), truth


class IdentityFace(nn.Module):
    """Returns its input: the restorer that must leave a photo exactly as it was."""

    def __init__(self) -> None:
        super().__init__()
        self.identity_face = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.identity_face


class ShiftFace(nn.Module):
    """Adds `amount` (default 0.4) in its [-1, 1] range, or its runtime `fidelity` times -0.5 when declared."""

    def __init__(self) -> None:
        super().__init__()
        self.shift_face = nn.Parameter(torch.full((1,), 0.4))

    def forward(self, x: torch.Tensor, fidelity: float | None = None) -> torch.Tensor:
        shift = self.shift_face if fidelity is None else torch.full((1,), -0.5 * fidelity)
        return (x + shift.view(1, 1, 1, 1)).clamp(-1, 1)


def face_spec(name: str, module: type[nn.Module], key: str, *, side: int = 512, template: str | None = "ffhq",
              value_range=MINUS_ONE_ONE, fidelity: bool = False, purpose: str = "face") -> ArchSpec:
    def load(sd):
        net = module()
        net.load_state_dict(sd)
        extra = {}
        if fidelity:
            extra = {"runtime_params": (FIDELITY,), "forward": lambda m, x, fidelity=0.5: m(x, fidelity)}
        return spec.describe(net, size=SizeRule("crop", fixed=side), face_template=template, **extra)

    spec = ArchSpec(name, purpose, "MIT", value_range, value_range, detect=lambda sd: key in sd, load=load)
    return spec


def install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *specs_and_modules) -> tuple[ModelStore, list[str]]:
    """Register the specs as our own architectures and import one seeded network of each into a store."""
    specs = [s for s, _ in specs_and_modules]
    monkeypatch.setattr("core.archs.identify.own_architectures", lambda: specs)
    store = ModelStore()
    names = []
    for spec, module in specs_and_modules:
        torch.manual_seed(0)
        path = tmp_path / f"{spec.name}.pth"
        torch.save(module().state_dict(), path)
        names.append(store.import_file(path).name)
    return store, names


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


__all__ = ["FIDELITY", "IdentityFace", "ShiftFace", "ZERO_ONE", "face_spec", "install", "photo_with_faces", "psnr"]
