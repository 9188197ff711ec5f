"""Face parsing for the paste-back: our ParseNet loads the official layout, a parser in the store becomes the
face engine's face-mask choice (not an engine, not a restorer), the paste follows the parsed face, and a
parse with no face falls back to the ellipse with a note."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.archs import parsenet
from core.archs.identify import identify
from core.archs.parsenet import LABELS, ParseNet
from core.archs.spec import layout_of
from core.engines.base import ParamError
from core.engines.face.engine import ELLIPSE, FaceRestoreEngine
from core.engines.face.parsing import FaceParser, NotAParserError, soften
from core.engines.face.restorers import ModelRestorer, WrongRestorerError
from core.engines.request import EngineRequest
from core.photo import Photo
from core.regions import Region
from tests.test_face_support import IdentityFace, ShiftFace, face_spec, install, photo_with_faces, psnr

pytestmark = pytest.mark.usefixtures("one_torch_thread")
FACES = [(60.0, 50.0, 150), (300.0, 80.0, 130)]


def test_parsenet_has_the_official_layout_and_is_identified_from_it():
    with torch.device("meta"):
        layout = layout_of(ParseNet())  # ParseNet(512, 512, 32, 64, 19, 'bn', 'LeakyReLU', [32, 256])
    assert len(layout) == 238
    assert layout["encoder.0.conv2d.weight"] == (64, 3, 3, 3) and layout["encoder.0.conv2d.bias"] == (64,)
    assert layout["encoder.1.shortcut_func.conv2d.weight"] == (128, 64, 3, 3)
    assert layout["encoder.1.conv1.norm.norm.running_var"] == (128,)
    assert "encoder.1.conv1.conv2d.bias" not in layout  # batch-normed convolutions have no bias
    assert layout["encoder.4.conv2.conv2d.weight"] == (256, 256, 3, 3)  # widths clipped to 256
    assert "body.0.shortcut_func.conv2d.weight" not in layout and layout["body.9.conv2.norm.norm.bias"] == (256,)
    assert layout["decoder.0.shortcut_func.conv2d.weight"] == (256, 256, 3, 3)
    assert layout["decoder.3.conv1.conv2d.weight"] == (64, 128, 3, 3)
    assert layout["out_mask_conv.conv2d.weight"] == (19, 64, 3, 3) and layout["out_img_conv.conv2d.bias"] == (3,)

    torch.manual_seed(0)
    small = ParseNet(side=64)
    state = {k: v for k, v in small.state_dict().items() if not k.endswith("num_batches_tracked")}
    found = identify(state)  # files saved without the batch-norm counters load too
    facts = found.descriptor.facts
    assert (found.identified_by, facts.architecture, facts.purpose) == ("restora", "ParseNet", "face")
    assert facts.parser and facts.labels == LABELS and facts.output_channels == 19
    assert facts.size.fixed == 64 and facts.input_range == (-1.0, 1.0) and facts.face_template == "ffhq"
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.inference_mode():
        assert torch.equal(found.descriptor(x), small.eval()(x)[0])


def _parser(label: str):
    """A small seeded ParseNet that gives every pixel `label`."""
    def make() -> ParseNet:
        net = ParseNet(side=64)
        with torch.no_grad():
            net.out_mask_conv.conv2d.weight.zero_()
            net.out_mask_conv.conv2d.bias.fill_(-10.0)
            net.out_mask_conv.conv2d.bias[LABELS.index(label)] = 10.0
        return net
    return make


def _engine(monkeypatch, tmp_path: Path, label: str):
    """A store with an identity restorer, a shifting one and a parser that gives every pixel `label`."""
    store, (same, shift, parser) = install(
        monkeypatch, tmp_path, (face_spec("Same", IdentityFace, "identity_face"), IdentityFace),
        (face_spec("Shift", ShiftFace, "shift_face"), ShiftFace), (parsenet.ARCH_SPEC, _parser(label)))
    return store, FaceRestoreEngine(device="cpu", store=store), (same, shift), parser


def test_a_parser_in_the_store_is_the_default_face_mask_and_neither_an_engine_nor_a_restorer(monkeypatch, tmp_path):
    from core.engines.registry import default_registry

    store, engine, (face, _), parser = _engine(monkeypatch, tmp_path, "skin")
    mask = engine.param("face_mask")
    assert mask.default == parser and mask.choices == (parser, ELLIPSE)
    assert parser not in engine.param("model").choices
    ids = default_registry(store=store).ids()
    assert "face.restore" in ids and not any(parser in i for i in ids)
    with pytest.raises(ParamError):
        engine.run(EngineRequest(Photo(rgb=np.zeros((64, 64, 3), np.float32)), params={"model": parser}))
    with pytest.raises(WrongRestorerError, match="finds the parts of a face"):
        ModelRestorer(store.load(parser), parser)
    with pytest.raises(NotAParserError, match="not a face-parsing one"):
        FaceParser(store.load(face), face)
    assert FaceRestoreEngine(device="cpu", store=None).param("face_mask").default == ELLIPSE


def _run(engine, image, truth, face, mask):
    regions = tuple(Region(t.box, t.landmarks) for t in truth)
    return engine.run(EngineRequest(Photo(rgb=image), regions=regions,
                                    params={"model": face, "fidelity": 0.0, "face_mask": mask,
                                            "colour_match": False}))


def test_the_paste_follows_the_parsed_face_and_adds_no_seam(monkeypatch, tmp_path: Path):
    image, truth = photo_with_faces(480, 320, FACES, seed=1)
    _, engine, (same, shift), parser = _engine(monkeypatch, tmp_path, "skin")
    result = _run(engine, image, truth, same, parser)
    assert psnr(result.photo.rgb, image) > 40 and any("outlines found by" in n for n in result.notes)

    parsed = _run(engine, image, truth, shift, parser).photo.rgb
    ellipse = _run(engine, image, truth, shift, ELLIPSE).photo.rgb
    changed_parsed = np.abs(parsed - image).max(axis=2) > 1e-3
    changed_ellipse = np.abs(ellipse - image).max(axis=2) > 1e-3
    # the parser called the whole crop face: the paste reaches further than the ellipse, yet fades out
    assert changed_parsed.sum() > 1.3 * changed_ellipse.sum()
    assert np.abs(parsed - image).max() > 0.15


def test_a_parse_that_finds_no_face_falls_back_to_the_ellipse_with_a_note(monkeypatch, tmp_path: Path):
    image, truth = photo_with_faces(480, 320, FACES, seed=1)
    _, engine, (_, face), parser = _engine(monkeypatch, tmp_path, "background")
    result = _run(engine, image, truth, face, parser)
    assert all("found no face in the restored crop: pasted with the elliptical mask" in r.reason
               for r in result.faces)
    assert np.array_equal(result.photo.rgb, _run(engine, image, truth, face, ELLIPSE).photo.rgb)


def test_the_parsed_weight_is_soft_and_fades_before_the_crops_edge():
    full = np.ones((512, 512), np.float32)  # a face that fills the crop
    weight = soften(full, 256)
    assert weight.shape == (256, 256) and weight[128, 128] > 0.99
    assert weight[0].max() == 0 and weight[:, -1].max() == 0 and weight[2].max() < 0.05
    disk = np.zeros((512, 512), np.float32)
    yy, xx = np.mgrid[:512, :512]
    disk[(yy - 256) ** 2 + (xx - 256) ** 2 < 150 ** 2] = 1
    w = soften(disk, 512)
    row = w[256, 256:]
    assert row[0] > 0.99 and row[220] < 0.01 and 0.3 < row[150] < 0.7  # the outline, blurred
    assert np.all(np.diff(row) <= 1e-6)  # it only falls away from the face: no ring, no step
