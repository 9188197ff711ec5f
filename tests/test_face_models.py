"""Each face-network family through the store and the face engine, in its true value range: a tiny
RestoreFormer end to end (and, on an aligned crop, equal to what the official scripts write), GFPGAN and
CodeFormer at their real size (zero weights; the call on a 512 x 512 crop is checked, not run: a forward
takes over ten seconds on a CPU), a small GPEN of Restora's own architecture on its own template; face
models become the face engine's choices."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from core.engines.face.engine import FaceRestoreEngine
from core.engines.registry import default_registry
from core.engines.request import EngineRequest
from core.photo import Photo
from core.regions import Region
from core.store import ModelStore
from core.tensors import to_uint8
from tests.test_face_support import IdentityFace, face_spec, install, photo_with_faces


def _tiny_restoreformer(path: Path) -> torch.nn.Module:
    from spandrel.architectures.RestoreFormer import RestoreFormer

    torch.manual_seed(0)
    # 32 channels (GroupNorm's minimum) at every level, five halvings: a 16 x 16 latent as in the real one
    net = RestoreFormer(n_embed=32, embed_dim=32, ch=32, ch_mult=(1,) * 6, num_res_blocks=1, z_channels=32).eval()
    torch.save({"params_ema": net.state_dict()}, path)
    return net


def _official(net: torch.nn.Module, bgr_u8: np.ndarray) -> np.ndarray:
    """What the official inference scripts write for an aligned crop: cv2.resize to 512 (INTER_LINEAR), /255,
    normalise to [-1, 1], net(x)[0], clamp to [-1, 1], back to 0..255 and round (basicsr's tensor2img)."""
    img = cv2.resize(bgr_u8, (512, 512), interpolation=cv2.INTER_LINEAR)
    x = torch.from_numpy(img[:, :, ::-1].astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    with torch.no_grad():
        out = net((x - 0.5) / 0.5)[0].clamp(-1, 1)
    rgb = ((out[0].permute(1, 2, 0).numpy() + 1) / 2 * 255.0).round()
    return rgb.astype(np.uint8)  # RGB


@pytest.fixture
def restoreformer(tmp_path: Path) -> tuple[ModelStore, str, torch.nn.Module]:
    net = _tiny_restoreformer(tmp_path / "RestoreFormer-tiny.pth")
    store = ModelStore()
    return store, store.import_file(tmp_path / "RestoreFormer-tiny.pth").name, net


@pytest.mark.slow
def test_a_tiny_restoreformer_restores_the_face_of_a_photo_and_an_aligned_crop_as_officially(restoreformer):
    store, name, net = restoreformer
    engine = FaceRestoreEngine(device="cpu", store=store)
    assert name in engine.param("model").choices
    image, _ = photo_with_faces(360, 280, [(90.0, 50.0, 170)], seed=1)
    result = engine.run(EngineRequest(Photo(rgb=image), params={"model": name, "fidelity": 0.0}))
    assert [(f.status, f.restorer) for f in result.faces] == [("restored", f"{name} (RestoreFormer)")]
    out = result.photo.rgb
    assert out.shape == image.shape and np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1
    assert np.abs(out - image).max() > 0.05  # the random network changed the face

    face = photo_with_faces(512, 512, [(50.0, 25.0, 410)], seed=2)[0]
    rgb_u8 = to_uint8(face)
    aligned = engine.run(EngineRequest(Photo.from_uint8(rgb_u8), params={"model": name, "aligned": True,
                                                                         "fidelity": 0.0}))
    ours = to_uint8(aligned.photo.rgb)
    official = _official(net, np.ascontiguousarray(rgb_u8[:, :, ::-1]))
    assert aligned.faces[0].detector == "aligned crop" and aligned.regions == []
    assert np.abs(ours.astype(int) - official.astype(int)).max() <= 1  # within 1/255


def test_an_aligned_crop_of_another_size_is_resized_as_the_official_scripts_do(monkeypatch, tmp_path: Path):
    store, (name,) = install(monkeypatch, tmp_path, (face_spec("IdentityFace", IdentityFace, "identity_face"),
                                                     IdentityFace))
    rgb_u8 = to_uint8(photo_with_faces(300, 300, [(30.0, 15.0, 240)], seed=2)[0])
    engine = FaceRestoreEngine(device="cpu", store=store)
    result = engine.run(EngineRequest(Photo.from_uint8(rgb_u8), params={"model": name, "aligned": True}))
    official = cv2.resize(rgb_u8, (512, 512), interpolation=cv2.INTER_LINEAR)  # then the network, here identity
    ours = to_uint8(result.photo.rgb)
    assert ours.shape == (512, 512, 3) and np.abs(ours.astype(int) - official.astype(int)).max() <= 1
    assert "resized from 300 x 300 to 512 x 512" in result.notes[1]


def _zeros_checkpoint(cls, path: Path) -> None:
    with torch.device("meta"):
        net = cls()
    torch.save({k: torch.zeros(v.shape, dtype=v.dtype) for k, v in net.state_dict().items()}, path)


class _Captured(Exception):
    pass


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["GFPGAN", "CodeFormer"])
def test_gfpgan_and_codeformer_load_through_the_store_and_get_a_512_crop_in_their_range(tmp_path: Path, arch: str):
    if arch == "GFPGAN":
        from spandrel.architectures.GFPGAN import GFPGAN as cls
    else:
        from spandrel_extra_arches.architectures.CodeFormer import CodeFormer as cls
    _zeros_checkpoint(cls, tmp_path / f"{arch}.pth")
    store = ModelStore()
    entry = store.import_file(tmp_path / f"{arch}.pth")
    (tmp_path / f"{arch}.pth").unlink()
    engine = FaceRestoreEngine(device="cpu", store=store)
    restorer = engine.restorer(entry.name)
    assert (restorer.template, restorer.side, restorer.own_fidelity) == ("ffhq", 512, arch == "CodeFormer")
    seen: dict = {}

    def hook(module, args, kwargs):
        seen["x"], seen["kwargs"] = args[0].detach().clone(), dict(kwargs)
        raise _Captured

    restorer.desc.module.register_forward_pre_hook(hook, with_kwargs=True)  # type: ignore[attr-defined]
    image, truth = photo_with_faces(360, 300, [(90.0, 60.0, 170)], seed=3)
    with pytest.raises(_Captured):
        engine.run(EngineRequest(Photo(rgb=image), regions=(Region(truth[0].box, truth[0].landmarks),),
                                 params={"model": entry.name, "fidelity": 0.7}))
    x = seen["x"]
    assert tuple(x.shape) == (1, 3, 512, 512) and x.min() < -0.5 and x.max() <= 1.0  # [-1, 1], not [0, 1]
    assert seen["kwargs"] == ({"return_rgb": False} if arch == "GFPGAN" else {"weight": 0.7})


def test_gpen_from_our_own_architecture_runs_on_its_own_template(tmp_path: Path):
    from core.archs.gpen import GPEN

    torch.manual_seed(0)
    net = GPEN(size=64, style_dim=32, n_mlp=2, channels={r: 8 for r in (4, 8, 16, 32, 64)})  # small, same layout
    torch.save(net.state_dict(), tmp_path / "gpen.pth")
    store = ModelStore()
    entry = store.import_file(tmp_path / "gpen.pth")
    assert (entry.architecture, entry.facts.face_template, entry.facts.size.fixed) == ("GPEN", "gpen", 64)
    engine = FaceRestoreEngine(device="cpu", store=store)
    restorer = engine.restorer(entry.name)
    assert (restorer.template, restorer.side, restorer.own_fidelity) == ("gpen", 64, False)
    image, truth = photo_with_faces(300, 240, [(70.0, 40.0, 150)], seed=5)
    result = engine.run(EngineRequest(Photo(rgb=image), regions=(Region(truth[0].box, truth[0].landmarks),),
                                      params={"model": entry.name, "fidelity": 0.0}))
    assert result.faces[0].status == "restored" and result.faces[0].restorer == f"{entry.name} (GPEN)"
    assert np.isfinite(result.photo.rgb).all() and np.abs(result.photo.rgb - image).max() > 0.01


def test_face_models_are_choices_of_the_face_engine_not_engines_of_their_own(restoreformer):
    store, name, _ = restoreformer
    registry = default_registry(store=store)
    assert "face.restore" in registry and f"model.{name}" not in registry
    assert name in registry.get("face.restore").param("model").choices
    assert registry.get("face.restore").unavailable() is None
