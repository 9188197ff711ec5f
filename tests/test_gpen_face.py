"""GPEN as a face restorer: a seeded GPEN of the official layout imported through a temporary store restores
the face of a photo on GPEN's own template (not FFHQ's), at 512 and at 256 px, and on an aligned crop the
face engine's output is the restorer's own output and what the official face_gan.py writes (within 1/255)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.archs.gpen import GPEN
from core.engines.face.align import alignment, template
from core.engines.face.engine import FaceRestoreEngine
from core.engines.request import EngineRequest
from core.photo import Photo
from core.pixels import to_uint8
from core.regions import Region, warp_in
from core.store import ModelStore
from core.tensors import MINUS_ONE_ONE
from tests.test_face_support import photo_with_faces

# The official layout (every key of GPEN-BFR-512 / -256), narrowed so a CPU forward takes a fraction of a second.
NARROW = {"style_dim": 32, "n_mlp": 2, "channel_multiplier": 1, "narrow": 1 / 16}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def seeded_gpen(size: int, seed: int = 0) -> GPEN:
    torch.manual_seed(seed)
    net = GPEN(size, **NARROW)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("noise.weight"):  # officially 0 at init: give the encoder's features a say
                p.fill_(0.2)
            elif "to_rgb" in name and name.endswith("conv.weight"):  # random outputs mostly inside [-1, 1]
                p.mul_(0.25)
    return net.eval()


def imported(tmp_path: Path, size: int) -> tuple[ModelStore, str, GPEN]:
    net = seeded_gpen(size)
    path = tmp_path / f"GPEN-BFR-{size}-seeded.pth"
    torch.save(net.state_dict(), path)
    store = ModelStore()
    entry = store.import_file(path)
    path.unlink()  # the store keeps its own copy
    return store, entry.name, net


def official_face_gan(net: GPEN, bgr_u8: np.ndarray) -> np.ndarray:
    """What yangxy/GPEN face_model/face_gan.py writes for a face (RGB uint8 returned, for comparison): cv2
    resize to the model size, /255, (x - 0.5) / 0.5, BGR -> RGB as NCHW, net(x)[0], x * 0.5 + 0.5, RGB -> BGR,
    clip to [0, 1], * 255 and truncate to uint8."""
    assert bgr_u8.shape[:2] == (net.size, net.size)
    x = torch.from_numpy(bgr_u8.astype(np.float32) / 255.0)
    x = ((x - 0.5) / 0.5).permute(2, 0, 1).flip(0)[None]  # BGR -> RGB
    with torch.no_grad():
        out = net(x)[0][0] * 0.5 + 0.5
    bgr = out.flip(0).permute(1, 2, 0).clamp(0, 1).numpy() * 255.0
    return bgr.astype(np.uint8)[:, :, ::-1]


@pytest.mark.parametrize("size", [512, 256])
def test_an_imported_gpen_restores_a_face_of_a_photo_on_its_own_template(tmp_path: Path, size: int):
    store, name, net = imported(tmp_path, size)
    entry = store.get(name)
    assert (entry.architecture, entry.identified_by, entry.task) == ("GPEN", "restora", "face")
    facts = entry.facts
    assert (facts.input_range, facts.output_range) == (MINUS_ONE_ONE, MINUS_ONE_ONE)
    assert (facts.face_template, facts.size.strategy, facts.size.fixed) == ("gpen", "crop", size)

    engine = FaceRestoreEngine(device="cpu", store=store)
    assert name in engine.param("model").choices
    restorer = engine.restorer(name)
    assert (restorer.template, restorer.side, restorer.own_fidelity) == ("gpen", size, False)
    seen: list[torch.Tensor] = []
    restorer.desc.module.register_forward_pre_hook(  # type: ignore[attr-defined]
        lambda _module, args: seen.append(args[0].detach().clone()))

    image, truth = photo_with_faces(420, 340, [(110.0, 70.0, 180)], seed=4)
    region = Region(truth[0].box, truth[0].landmarks)
    result = engine.run(EngineRequest(Photo(rgb=image), regions=(region,), params={"model": name, "fidelity": 0.0}))
    assert [(f.status, f.restorer) for f in result.faces] == [("restored", f"{name} (GPEN)")]
    out = result.photo.rgb
    assert out.shape == image.shape and np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1
    assert np.abs(out - image).max() > 0.05  # the random network changed the face ...
    corner = (slice(0, 40), slice(0, 40))
    np.testing.assert_array_equal(out[corner], image[corner])  # ... and nothing far from it

    # The network saw the face warped onto GPEN's template at its size, in [-1, 1].
    (x,) = seen
    assert tuple(x.shape) == (1, 3, size, size) and x.min() < -0.5
    crop = x[0].permute(1, 2, 0).numpy() * 0.5 + 0.5
    M_gpen, how = alignment(region, "gpen", size)
    M_ffhq, _ = alignment(region, "ffhq", size)
    assert how == "landmarks"
    landed = np.asarray(truth[0].landmarks) @ M_gpen[:, :2].T + M_gpen[:, 2]
    # The least-squares fit puts the landmarks' centre on the template's centre and their spread at its
    # spread: GPEN's (its face is about 15 % smaller in the crop than FFHQ's).
    for name_, close in (("gpen", True), ("ffhq", False)):
        points = template(name_, size)
        spread = np.linalg.norm(points - points.mean(0), axis=1).mean()
        landed_spread = np.linalg.norm(landed - landed.mean(0), axis=1).mean()
        assert (abs(landed_spread / spread - 1) < 0.01) == close, name_
    assert np.abs(landed.mean(0) - template("gpen", size).mean(0)).max() < 0.01 * size
    on_gpen = warp_in(image, M_gpen, size, border="reflect", interpolation="linear")
    on_ffhq = warp_in(image, M_ffhq, size, border="reflect", interpolation="linear")
    assert np.abs(crop - on_gpen).max() < 1e-5
    assert np.abs(crop - on_ffhq).max() > 0.1  # the FFHQ template would be another crop


@pytest.mark.parametrize("size", [512, 256])
def test_an_aligned_crop_gives_the_restorers_own_output_as_the_official_code_writes(tmp_path: Path, size: int):
    store, name, net = imported(tmp_path, size)
    engine = FaceRestoreEngine(device="cpu", store=store)
    face, _ = photo_with_faces(size, size, [(size * 0.1, size * 0.05, int(size * 0.8))], seed=6)
    rgb_u8 = to_uint8(face)
    photo = Photo.from_uint8(rgb_u8)
    result = engine.run(EngineRequest(photo, params={"model": name, "aligned": True, "fidelity": 0.7}))
    assert result.faces[0].detector == "aligned crop" and result.regions == []
    out = result.photo.rgb
    assert out.shape == (size, size, 3)

    own = engine.restorer(name).run(photo.rgb, 0.7)  # the restorer's own output, no blend, no colour match
    np.testing.assert_array_equal(out, own)
    official = official_face_gan(net, np.ascontiguousarray(rgb_u8[:, :, ::-1]))
    diff = np.abs(to_uint8(out).astype(int) - official.astype(int))
    assert diff.max() <= 1  # within 1/255 (the official code truncates, Restora rounds)
    assert np.abs(official.astype(int) - rgb_u8.astype(int)).max() > 20  # the network did change the face
