"""The fill engines: PatchMatch rebuilds texture, the automatic fill picks Telea or PatchMatch by the width of
each painted area (and is the one-click default), and every fill engine handles bad input the same way."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import main
from core.engines.inpaint.auto import SHARPEN, STRUCTURE, AutoInpaint, split_by_width
from core.engines.inpaint.classical import OpenCVInpaint
from core.engines.inpaint.patchmatch import PatchMatchFiller, PatchMatchInpaint, sharpened, with_smooth_structure
from core.engines.inpaint.pieces import NoSourcePixelsError
from core.engines.registry import default_registry
from core.engines.request import EngineRequest
from core.evaluation.inpaint import texture_ratio
from core.imageio import load_photo, save_photo
from core.masks import MaskError, write_mask_levels
from core.photo import Photo, PhotoMeta

FILLS = [AutoInpaint, PatchMatchInpaint, OpenCVInpaint]


def _stripes(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A texture a blur cannot fake: diagonal stripes with a little noise."""
    y, x = np.mgrid[0:h, 0:w]
    stripes = 0.5 + 0.35 * np.sign(np.sin((x + y) * 2 * np.pi / 10))
    rgb = np.repeat(stripes[:, :, None], 3, axis=2) * np.array([1.0, 0.8, 0.6])
    return np.clip(rgb + rng.normal(0, 0.02, rgb.shape), 0, 1).astype(np.float32)


def _hole(h: int, w: int, x: int, y: int, bw: int, bh: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[y:y + bh, x:x + bw] = 255
    return mask


def test_the_automatic_fill_is_the_first_inpaint_engine_and_listed_first(capsys):
    ids = [e.id for e in default_registry(include_store=False).list("inpaint")]
    assert ids[:3] == ["inpaint.auto", "inpaint.patchmatch", "inpaint.telea"]
    assert main.main(["engines", "--task", "inpaint"]) == 0
    out = capsys.readouterr().out
    assert out.index("inpaint.auto") < out.index("inpaint.patchmatch") < out.index("inpaint.telea")
    assert "--param strategy='crop' (choice, crop|resize|original)" in out


def test_patchmatch_rebuilds_texture_where_telea_smears_it(rng):
    truth = _stripes(96, 128, rng)
    mask = _hole(96, 128, 44, 30, 40, 36)
    hidden = truth.copy()
    hidden[mask > 0] = 0.5
    photo = Photo(rgb=hidden)
    pm = PatchMatchInpaint().run(EngineRequest(photo, mask)).photo.rgb
    telea = OpenCVInpaint().run(EngineRequest(photo, mask)).photo.rgb
    keep = mask == 0
    assert np.array_equal(pm[keep], hidden[keep])
    assert texture_ratio(pm, truth, mask) > 0.8 > 0.5 > texture_ratio(telea, truth, mask)
    again = PatchMatchInpaint().run(EngineRequest(photo, mask)).photo.rgb
    assert np.array_equal(pm, again)  # seeded: the same photo and mask give the same fill


def test_a_structure_size_keeps_fine_texture_and_takes_coarse_colour_from_the_smooth_fill(rng):
    h, w = 96, 128
    textured = _stripes(h, w, rng)
    hole = _hole(h, w, 30, 20, 60, 50)
    # a fill with the right texture but a colour far too dark: the structure size pulls its colour back
    dark = textured.copy()
    dark[hole > 0] *= 0.5
    hidden = textured.copy()
    hidden[hole > 0] = 0.5
    mixed = with_smooth_structure(dark, hidden, hole, 16)
    keep, sel = hole == 0, hole > 0
    assert np.array_equal(mixed[keep], dark[keep]) and with_smooth_structure(dark, hidden, hole, 0) is dark
    assert abs(float(mixed[sel].mean()) - float(textured[sel].mean())) < 0.5 * abs(
        float(dark[sel].mean()) - float(textured[sel].mean()))
    assert texture_ratio(mixed, textured, hole) > 0.8 * texture_ratio(dark, textured, hole)


def test_sharpening_restores_detail_a_softened_fill_lost_inside_the_hole_only(rng):
    h, w = 96, 128
    truth = _stripes(h, w, rng)
    hole = _hole(h, w, 30, 20, 60, 50)
    soft = truth.copy()  # a fill softened as averaging overlapping patches softens it
    soft[hole > 0] = cv2.blur(truth, (3, 3))[hole > 0]
    out = sharpened(soft, hole, SHARPEN)
    assert np.array_equal(out[hole == 0], soft[hole == 0]) and sharpened(soft, hole, 0.0) is soft
    assert texture_ratio(soft, truth, hole) < texture_ratio(out, truth, hole) <= 1.05
    assert np.abs(out - truth)[hole > 0].mean() < np.abs(soft - truth)[hole > 0].mean()


def test_sharpening_grows_from_the_holes_edge_inwards():
    from core.engines.inpaint.patchmatch import DEEP_FACTOR, DEEP_PX

    h, w = 160, 160
    fill = np.zeros((h, w, 3), np.float32)
    fill[:, ::2] = 0.6  # fine stripes: their contrast grows with the amount
    fill[:, 1::2] = 0.4
    hole = _hole(h, w, 10, 10, 140, 140)
    out = sharpened(fill, hole, 0.2)

    def gain(y: int, x: int) -> float:  # the amount applied at (y, x): out = fill + amount * (fill - blurred)
        blurred = cv2.GaussianBlur(fill, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)
        return float((out[y, x, 0] - fill[y, x, 0]) / (fill[y, x, 0] - blurred[y, x, 0]))

    assert gain(10, 80) == pytest.approx(0.2 * (1 + (DEEP_FACTOR - 1) / DEEP_PX), rel=0.05)  # at the edge
    assert gain(80, 80) == pytest.approx(0.2 * DEEP_FACTOR, rel=1e-3)  # deep inside
    assert gain(10, 80) < gain(20, 80) < gain(30, 80) <= gain(80, 80)


def test_big_holes_are_reduced_to_the_full_detail_limit_but_never_by_a_little():
    def factors(*areas: int) -> list[float]:
        filler = PatchMatchFiller(3, 100)  # 100,000 pixels at full detail
        filler.plan([np.full((1, a), 255, np.uint8) for a in areas])
        return filler.factors

    assert factors(50_000, 40_000) == [1.0, 1.0]
    assert factors(130_000) == [1.0]  # 1.14 x on each side would blur the texture for little time saved
    assert factors(2_000, 400_000) == pytest.approx([1.0, (400 / 98) ** 0.5])
    filled = PatchMatchInpaint().run(EngineRequest(Photo(rgb=_stripes(200, 200, np.random.default_rng(0))),
                                                   _hole(200, 200, 40, 40, 120, 120), params={"detail": 2}))
    assert "filled at down to 1/" in " ".join(filled.notes)


def test_width_decides_thin_strokes_from_wide_areas():
    mask = np.zeros((80, 120), np.uint8)
    mask[10, 5:100] = 255  # a 1 px scratch
    mask[30:36, 5:100] = 255  # 6 px
    mask[50:70, 20:60] = 255  # 20 px: wide
    mask[0:8, 104:120] = 255  # 8 px tall on the border: as wide as if the hole went on beyond it (16 px)
    thin, wide, n_thin, n_wide = split_by_width(mask, 12)
    assert (n_thin, n_wide) == (2, 2)
    assert thin[10, 50] == thin[33, 50] == 255 and wide[60, 40] == wide[2, 115] == 255 and thin[2, 115] == 0
    assert not (thin & wide).any() and np.array_equal(thin | wide, mask)


def test_the_automatic_fill_uses_telea_for_scratches_and_patchmatch_for_objects(rng):
    truth = _stripes(100, 140, rng)
    scratch = np.zeros((100, 140), np.uint8)
    scratch[80:83, 10:130] = 255
    obj = _hole(100, 140, 50, 15, 30, 30)
    photo = Photo(rgb=truth)
    only_scratch = AutoInpaint().run(EngineRequest(photo, scratch))
    telea = OpenCVInpaint().run(EngineRequest(photo, scratch))
    assert np.array_equal(only_scratch.photo.rgb, telea.photo.rgb)
    assert "1 thin stroke with Telea's method" in " ".join(only_scratch.notes)
    only_obj = AutoInpaint().run(EngineRequest(photo, obj))
    pm = PatchMatchInpaint().run(EngineRequest(photo, obj, params={"structure": STRUCTURE, "sharpen": SHARPEN}))
    assert np.array_equal(only_obj.photo.rgb, pm.photo.rgb)
    both = AutoInpaint().run(EngineRequest(photo, scratch | obj))
    assert "1 thin stroke with Telea's method and 1 wider area with PatchMatch" in " ".join(both.notes)
    assert np.array_equal(both.photo.rgb[(scratch | obj) == 0], truth[(scratch | obj) == 0])


# ----- bad input, the same for every fill engine ----------------------------------------------------------

@pytest.mark.parametrize("engine", FILLS)
def test_a_mask_of_another_size_names_both_sizes(engine, rng):
    photo = Photo(rgb=rng.random((40, 60, 3), dtype=np.float32))
    with pytest.raises(MaskError, match="The mask is 30 x 20 but the photo is 60 x 40"):
        engine().run(EngineRequest(photo, np.zeros((20, 30), np.uint8)))


@pytest.mark.parametrize("engine", FILLS)
def test_rgb_and_16_bit_masks_are_converted(engine, rng):
    photo = Photo(rgb=rng.random((40, 60, 3), dtype=np.float32))
    mask = _hole(40, 60, 20, 10, 12, 12)
    expected = engine().run(EngineRequest(photo, mask)).photo.rgb
    as_rgb = np.repeat(mask[:, :, None], 3, axis=2)  # a mask saved as an RGB picture
    as_16_bit = mask.astype(np.uint16) * 257  # white in a 16-bit PNG is 65535
    for variant in (as_rgb, as_16_bit):
        assert np.array_equal(engine().run(EngineRequest(photo, variant)).photo.rgb, expected)


@pytest.mark.parametrize("engine", FILLS)
def test_an_empty_mask_returns_the_input_at_once(engine, rng):
    photo = Photo(rgb=rng.random((40, 60, 3), dtype=np.float32))
    result = engine().run(EngineRequest(photo, np.zeros((40, 60), np.uint8)))
    assert result.photo is photo and result.notes == ["The mask is empty: nothing to fill."]


@pytest.mark.parametrize("engine", FILLS)
def test_a_full_mask_says_there_is_nothing_to_fill_from(engine, rng):
    photo = Photo(rgb=rng.random((40, 60, 3), dtype=np.float32))
    with pytest.raises(NoSourcePixelsError, match="covers the whole photo") as caught:
        engine().run(EngineRequest(photo, np.full((40, 60), 255, np.uint8)))
    assert engine.title in str(caught.value) and "leave part of the photo unpainted" in str(caught.value)


@pytest.mark.parametrize("engine", FILLS)
@pytest.mark.parametrize("strategy", ["crop", "resize", "original"])
def test_holes_on_the_border_alpha_and_16_bit_precision_are_kept(engine, strategy, rng):
    h, w = 48, 80  # with a working size of 64, "resize" works on a smaller copy
    rgb = (rng.integers(0, 65536, (h, w, 3)) / 65535.0).astype(np.float32)  # 16-bit levels
    alpha = rng.random((h, w), dtype=np.float32)
    photo = Photo(rgb=rgb, alpha=alpha, meta=PhotoMeta(bit_depth=16))
    mask = _hole(h, w, 0, 0, 14, 10) | _hole(h, w, 66, 30, 14, 18)  # two corners of the photo
    result = engine().run(EngineRequest(photo, mask, params={"strategy": strategy, "working_size": 64}))
    out = result.photo
    keep = mask == 0
    assert np.array_equal(out.rgb[keep], rgb[keep])  # bit-identical: 16-bit values survive
    assert out.alpha is not None and np.array_equal(out.alpha, alpha) and out.meta.bit_depth == 16
    assert np.isfinite(out.rgb).all() and 0 <= out.rgb.min() and out.rgb.max() <= 1
    assert not np.array_equal(out.rgb[~keep], rgb[~keep])


def test_restore_with_a_mask_fills_a_16_bit_photo_with_alpha_from_the_command_line(tmp_path, rng, capsys):
    h, w = 60, 90
    alpha = np.linspace(0.2, 1.0, h * w, dtype=np.float32).reshape(h, w)
    save_photo(Photo(rgb=_stripes(h, w, rng), alpha=alpha, meta=PhotoMeta(bit_depth=16)), tmp_path / "photo.png",
               bit_depth=16)
    source = load_photo(tmp_path / "photo.png")
    truth = source.rgb
    assert len(np.unique(truth)) > 256  # really 16-bit levels
    mask = _hole(h, w, 0, 20, 30, 25)  # an object on the left border
    mask[5:8, 40:85] = 255  # and a scratch
    write_mask_levels(tmp_path / "photo_mask.png", mask)
    out = tmp_path / "out"
    assert main.main(["restore", str(tmp_path / "photo.png"), "--engine", "inpaint.auto", "--mask",
                      str(tmp_path / "photo_mask.png"), "--out", str(out)]) == 0
    result = load_photo(out / "photo.png")
    keep = mask == 0
    assert result.meta.bit_depth == 16 and result.alpha is not None
    assert np.array_equal(result.rgb[keep], truth[keep]) and np.array_equal(result.alpha, source.alpha)
    assert texture_ratio(result.rgb, truth, mask) > 0.7
    write_mask_levels(tmp_path / "small_mask.png", mask[:30, :45])
    assert main.main(["restore", str(tmp_path / "photo.png"), "--engine", "inpaint.auto", "--mask",
                      str(tmp_path / "small_mask.png"), "--out", str(tmp_path / "again")]) == 1
    assert "The mask is 45 x 30 but the photo is 90 x 60" in capsys.readouterr().err
