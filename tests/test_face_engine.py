"""The face engine: an identity restorer changes nothing (no seam, no shift), manual regions, the per-face
report, and bad input (no face, faces cut by the border, tiny faces, profiles, grey and sepia photos, alpha
and 16-bit photos, a model of the wrong family)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.engines.base import ParamError
from core.engines.face.engine import NO_FACE, FaceRestoreEngine
from core.engines.face.restorers import BuiltinRestorer, ModelRestorer, WrongRestorerError
from core.engines.face.synthetic import draw_face
from core.engines.request import EngineRequest
from core.photo import Photo, PhotoMeta
from core.regions import Region
from tests.test_face_support import IdentityFace, ShiftFace, face_spec, install, photo_with_faces, psnr

FACES = [(60.0, 50.0, 150), (300.0, 80.0, 130)]


def _identity_engine(monkeypatch, tmp_path) -> tuple[FaceRestoreEngine, str]:
    store, (name,) = install(monkeypatch, tmp_path, (face_spec("IdentityFace", IdentityFace, "identity_face"),
                                                     IdentityFace))
    return FaceRestoreEngine(device="cpu", store=store), name


def test_an_identity_restorer_gives_back_the_photo(monkeypatch, tmp_path: Path):
    image, truth = photo_with_faces(480, 320, FACES, seed=1)
    engine, name = _identity_engine(monkeypatch, tmp_path)
    result = engine.run(EngineRequest(Photo(rgb=image), params={"model": name, "fidelity": 0.0}))
    assert [r.status for r in result.faces] == ["restored", "restored"]
    out = result.photo.rgb
    assert psnr(out, image) > 40  # the whole photo: no seam, no shift where faces were pasted
    changed = np.any(out != image, axis=2)
    for face in result.faces:  # pasted around the faces only: far from them every pixel is bit-identical
        x, y, w, h = face.box
        changed[max(0, int(y - h)):int(y + 2 * h), max(0, int(x - w)):int(x + 2 * w)] = False
    assert not changed.any()


def test_the_report_names_every_face_and_the_notes_list_them(monkeypatch, tmp_path: Path):
    image, _ = photo_with_faces(480, 320, FACES, seed=1)
    engine, name = _identity_engine(monkeypatch, tmp_path)
    result = engine.run(EngineRequest(Photo(rgb=image), params={"model": name}))
    assert len(result.faces) == len(result.regions) == 2
    for face, region in zip(result.faces, result.regions):
        assert face.detector == "Haar" and face.status == "restored" and face.restorer == f"{name} (IdentityFace)"
        assert face.box == region.box and len(face.landmarks) == 5 and face.score is not None
    assert result.notes[0].startswith("Restored 2 of 2 face(s) found by Haar")
    assert result.notes[1].startswith("Faces:\n  face 1 at") and "\n  face 2 at" in result.notes[1]


def test_the_command_line_prints_the_face_report(tmp_path: Path, capsys):
    from PIL import Image

    import main
    from core.tensors import to_uint8

    image, _ = photo_with_faces(480, 320, FACES, seed=1)
    Image.fromarray(to_uint8(image)).save(tmp_path / "group.png")
    code = main.main(["restore", str(tmp_path / "group.png"), "--engine", "face.restore", "--param", "fidelity=0.3",
                      "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0 and (tmp_path / "out" / "group.png").is_file()
    text = captured.out + captured.err
    assert "Restored 2 of 2 face(s) found by Haar" in text and "\n  face 2 at" in text


def test_a_drawn_box_is_restored_when_detection_finds_nothing():
    rng = np.random.default_rng(0)
    image = rng.random((200, 260, 3), dtype=np.float32) * 0.2 + 0.4  # no face to find
    engine = FaceRestoreEngine(device="cpu")
    nothing = engine.run(EngineRequest(Photo(rgb=image)))
    assert nothing.notes[0] == NO_FACE and np.array_equal(nothing.photo.rgb, image) and not nothing.faces
    box = (80.0, 40.0, 100.0, 110.0)
    result = engine.run(EngineRequest(Photo(rgb=image), regions=(Region(box),), params={"fidelity": 0.0}))
    (face,) = result.faces
    assert (face.detector, face.status, face.box) == ("user", "restored", box)
    changed = np.any(np.abs(result.photo.rgb - image) > 1e-3, axis=2)
    ys, xs = np.nonzero(changed)
    assert changed[90, 130] and xs.min() > 20 and xs.max() < 240 and ys.min() >= 0  # around the box only


def test_faces_cut_by_the_border_tiny_faces_and_faces_outside(monkeypatch, tmp_path: Path):
    image, _ = photo_with_faces(400, 300, [(-50.0, 60.0, 160), (250.0, 150.0, 120)], seed=4)
    engine, name = _identity_engine(monkeypatch, tmp_path)
    regions = (Region((-30.0, 90.0, 120.0, 115.0)), Region((300.0, 40.0, 12.0, 12.0)),
               Region((900.0, 900.0, 50.0, 50.0)))
    result = engine.run(EngineRequest(Photo(rgb=image), regions=regions, params={"model": name, "min_face": 24}))
    cut, tiny, outside = result.faces
    assert cut.status == "restored" and "cut by the photo's edge" in cut.reason
    assert tiny.status == "skipped" and "smaller than 24 px" in tiny.reason
    assert outside.status == "skipped" and outside.reason == "outside the photo"
    assert psnr(result.photo.rgb, image) > 40 and result.photo.rgb.shape == image.shape
    assert "1 of 3" in result.notes[0] and "2 skipped" in result.notes[0]


def test_a_profile_face_is_restored_from_its_box_with_a_note():
    image, _ = photo_with_faces(300, 260, [], seed=6)
    rgb, alpha, _ = draw_face(160)
    half = rgb[:, 60:]  # a face turned away: one eye, half a mouth
    image[50:210, 80:180] = image[50:210, 80:180] * (1 - alpha[:, 60:, None]) + half * alpha[:, 60:, None]
    engine = FaceRestoreEngine(device="cpu")
    result = engine.run(EngineRequest(Photo(rgb=image), regions=(Region((80.0, 70.0, 100.0, 130.0)),)))
    (face,) = result.faces
    assert face.status == "restored" and result.photo.rgb.shape == image.shape
    assert np.isfinite(result.photo.rgb).all()


@pytest.mark.parametrize("tone", ["grey", "sepia"])
def test_grey_and_sepia_photos_keep_their_tone(monkeypatch, tmp_path: Path, tone: str):
    colour, _ = photo_with_faces(420, 300, FACES, seed=2)
    grey = colour @ np.array([0.299, 0.587, 0.114], np.float32)
    if tone == "grey":
        image = np.repeat(grey[..., None], 3, axis=2)
    else:
        image = np.clip(grey[..., None] * np.array([1.07, 0.95, 0.74], np.float32), 0, 1)
    # a restorer that invents colour: it must not show on a grey or toned photo
    store, (name,) = install(monkeypatch, tmp_path, (face_spec("ShiftFace", ShiftFace, "shift_face"), ShiftFace))
    engine = FaceRestoreEngine(device="cpu", store=store)
    regions = tuple(Region((x + 20, y + 30, s * 0.74, s * 0.71)) for x, y, s in FACES)
    result = engine.run(EngineRequest(Photo(rgb=image), regions=regions, params={"model": name, "fidelity": 0.0}))
    out = result.photo.rgb
    if tone == "grey":
        assert np.abs(out - out[..., :1]).max() < 1e-6 and "grey" in result.notes[0]
    else:
        ratio = out[..., 2] / np.maximum(out[..., 0], 1e-3)  # sepia: blue stays below red, as in the photo
        face = (slice(90, 170), slice(100, 180))
        assert abs(np.median(ratio[face]) - np.median((image[..., 2] / np.maximum(image[..., 0], 1e-3))[face])) < 0.05


def test_alpha_and_16_bit_precision_are_kept(monkeypatch, tmp_path: Path):
    image, _ = photo_with_faces(400, 300, FACES[:1], seed=8)
    image16 = np.round(image * 65535) / 65535  # as a 16-bit photo loads
    alpha = np.linspace(0, 1, 400, dtype=np.float32)[None, :].repeat(300, axis=0)
    engine = FaceRestoreEngine(device="cpu")
    photo = Photo(rgb=image16.astype(np.float32), alpha=alpha, meta=PhotoMeta(bit_depth=16))
    result = engine.run(EngineRequest(photo, regions=(Region((80.0, 80.0, 111.0, 106.0)),)))
    out = result.photo
    assert out.meta.bit_depth == 16 and out.alpha is alpha
    far = np.ones(image.shape[:2], bool)
    far[0:300, 0:300] = False
    assert np.array_equal(out.rgb[far], photo.rgb[far])  # untouched pixels keep every bit
    assert not np.array_equal(out.rgb[100:180, 100:180], photo.rgb[100:180, 100:180])


def test_a_model_of_the_wrong_family_is_refused_with_a_clear_message(monkeypatch, tmp_path: Path):
    store, (face_name, general_name) = install(
        monkeypatch, tmp_path, (face_spec("IdentityFace", IdentityFace, "identity_face"), IdentityFace),
        (face_spec("NotAFace", ShiftFace, "shift_face", purpose="general"), ShiftFace))
    engine = FaceRestoreEngine(device="cpu", store=store)
    assert engine.param("model").choices == ("builtin", face_name)  # only face models are offered
    photo = Photo(rgb=np.zeros((64, 64, 3), np.float32))
    with pytest.raises(ParamError, match="builtin"):
        engine.run(EngineRequest(photo, params={"model": general_name}))
    with pytest.raises(WrongRestorerError, match="NotAFace network for general work, not a face restorer"):
        ModelRestorer(store.load(general_name), general_name)


def test_fidelity_is_the_networks_own_where_it_has_one_and_a_blend_elsewhere(monkeypatch, tmp_path: Path):
    store, (own, blended) = install(
        monkeypatch, tmp_path, (face_spec("OwnFidelity", ShiftFace, "shift_face", fidelity=True), ShiftFace),
        (face_spec("Blended", IdentityFace, "identity_face"), IdentityFace))
    crop = np.full((512, 512, 3), 0.5, np.float32)
    r_own = ModelRestorer(store.load(own), own, device="cpu")
    assert r_own.own_fidelity and np.allclose(r_own.restore(crop, 1.0), 0.25, atol=1e-6)  # -0.5 w in [-1, 1]
    r_blend = ModelRestorer(store.load(blended), blended, device="cpu")
    assert not r_blend.own_fidelity
    builtin = BuiltinRestorer()
    noisy = np.clip(crop + np.random.default_rng(0).normal(0, 0.05, crop.shape).astype(np.float32), 0, 1)
    assert np.array_equal(builtin.restore(noisy, 1.0), noisy)  # fidelity 1: all the original
    assert np.abs(builtin.restore(noisy, 0.0) - crop).mean() < np.abs(noisy - crop).mean() * 0.7  # denoised


def test_a_gpen_template_model_gets_crops_at_its_size_on_its_template(monkeypatch, tmp_path: Path):
    seen = []

    class Recording(IdentityFace):
        def forward(self, x):
            seen.append(tuple(x.shape))
            return super().forward(x)

    store, (name,) = install(monkeypatch, tmp_path, (face_spec("GPENLike", Recording, "identity_face", side=256,
                                                               template="gpen"), Recording))
    engine = FaceRestoreEngine(device="cpu", store=store)
    restorer = engine.restorer(name)
    assert (restorer.template, restorer.side) == ("gpen", 256)
    image, truth = photo_with_faces(400, 300, FACES[:1], seed=1)
    result = engine.run(EngineRequest(Photo(rgb=image), regions=(Region(truth[0].box, truth[0].landmarks),),
                                      params={"model": name, "fidelity": 0.0}))
    assert seen == [(1, 3, 256, 256)] and psnr(result.photo.rgb, image) > 40


def test_the_background_can_be_upscaled_by_a_store_model_with_the_faces_pasted_in_at_the_new_size(
        monkeypatch, tmp_path: Path):
    import cv2

    from core.models.runner import run_model
    from tests.test_store import save_compact

    store, (name,) = install(monkeypatch, tmp_path, (face_spec("IdentityFace", IdentityFace, "identity_face"),
                                                     IdentityFace))
    sr = store.import_file(save_compact(tmp_path / "sr.pth", scale=2)).name
    engine = FaceRestoreEngine(device="cpu", store=store)
    assert engine.param("background").choices == ("none", sr)
    image, truth = photo_with_faces(200, 160, [(40.0, 20.0, 120)], seed=3)
    alpha = np.full((160, 200), 0.5, np.float32)
    region = Region(truth[0].box, truth[0].landmarks)
    result = engine.run(EngineRequest(Photo(rgb=image, alpha=alpha), regions=(region,),
                                      params={"model": name, "background": sr, "fidelity": 0.0}))
    out = result.photo
    assert out.rgb.shape == (320, 400, 3) and out.alpha is not None and out.alpha.shape == (320, 400)
    upscaled = run_model(store.load(sr), image, device="cpu").image
    assert np.array_equal(out.rgb[:, 330:], upscaled[:, 330:])  # far from the face: the upscaler's pixels
    face = (slice(150, 190), slice(170, 230))  # the face's middle: the (identity-restored) face, enlarged
    enlarged = cv2.resize(image, (400, 320), interpolation=cv2.INTER_LINEAR)
    assert np.abs(out.rgb[face] - enlarged[face]).mean() < np.abs(upscaled[face] - enlarged[face]).mean()
    (reg,) = result.regions
    assert np.allclose(reg.box, np.asarray(region.box) * 2)
