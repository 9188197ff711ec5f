"""core.regions / core.warp: transforms, warping a crop out, feathered paste back, running a model per region."""

from __future__ import annotations

import math
import tracemalloc

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import CancelledError
from core.jobs import CancelToken
from core.regions import (
    Region,
    RegionError,
    apply,
    box_transform,
    compose,
    elliptical_weight,
    feather_weight,
    invert,
    paste_back,
    region_transform,
    run_in_regions,
    scaled,
    similarity_from_points,
    warp_in,
)


def smooth_photo(h: int = 60, w: int = 80) -> np.ndarray:
    """A smooth float32 RGB picture in [0, 1] with distinct channels."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([0.5 + 0.4 * np.sin(x / 7.0), 0.5 + 0.4 * np.cos(y / 9.0), (x + y) / (h + w)]).astype(np.float32)


def similarity(angle_deg: float, scale: float, photo_pt: tuple[float, float],
               crop_pt: tuple[float, float]) -> np.ndarray:
    """The similarity rotating by angle and scaling about photo_pt, which it maps to crop_pt."""
    t = math.radians(angle_deg)
    a = scale * np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return np.hstack([a, (np.asarray(crop_pt) - a @ np.asarray(photo_pt))[:, None]])


def outside_support(M: np.ndarray, crop_wh: tuple[int, int], hw: tuple[int, int]) -> np.ndarray:
    """Photo pixels whose crop sample is more than a pixel beyond the crop's edge pixels (weight exactly 0)."""
    y, x = np.mgrid[0:hw[0], 0:hw[1]]
    c = apply(M, np.stack([x, y], axis=-1).astype(np.float64))
    m = 1.0 + 1.0 / 32  # OpenCV rounds positions to 1/32 pixel
    return (c[..., 0] <= -m) | (c[..., 0] >= crop_wh[0] - 1 + m) | (c[..., 1] <= -m) | (c[..., 1] >= crop_wh[1] - 1 + m)


def test_identity_model_over_the_whole_photo_gives_the_photo_back(rng):
    img = rng.random((37, 53, 3), dtype=np.float32)
    M = box_transform((0, 0, 53, 37), (53, 37))
    assert np.array_equal(M, np.eye(2, 3))
    out, boxes = run_in_regions(img, [M], (53, 37), lambda c: c.copy(), feather=6)
    assert np.abs(out - img).max() <= 1 / 255
    assert boxes[0][2] <= 53 and boxes[0][3] <= 37
    alpha = rng.random((37, 53), dtype=np.float32)  # an alpha channel pastes the same way
    a_out, _ = paste_back(alpha, warp_in(alpha, M, (53, 37)), M, feather=6)
    assert a_out.shape == alpha.shape and np.abs(a_out - alpha).max() <= 1 / 255


def test_round_trip_similarity_maps_points_and_reproduces_content():
    img = smooth_photo()
    M = similarity(30, 1.7, (40, 30), (50, 50))
    pts = np.array([[40.0, 30.0], [20.5, 17.25], [61.0, 44.0]])
    assert np.abs(apply(invert(M), apply(M, pts)) - pts).max() < 1e-9
    # a blurred dot lands where apply says, within a pixel: the pixel-centre convention matches OpenCV
    dot = np.zeros((60, 80), np.float32)
    dot[33, 45] = 1.0
    crop = warp_in(cv2.GaussianBlur(dot, (0, 0), 1.0), M, 100)
    assert np.hypot(*(np.array(np.unravel_index(crop.argmax(), crop.shape)[::-1]) - apply(M, (45, 33)))) < 1.0
    back, _ = paste_back(img, warp_in(img, M, 100), M, feather=0)
    inner = ~outside_support(M, (100, 100), (60, 80))
    inner = cv2.erode(inner.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert inner.sum() > 500 and np.abs(back - img)[inner].max() < 0.01


def test_warp_in_area_averages_when_shrinking():
    y, x = np.mgrid[0:200, 0:200]
    checker = ((x + y) % 2).astype(np.float32)  # the finest pattern there is: aliases without a pre-filter
    M = similarity(17, 0.25, (100, 100), (24, 24))
    good = warp_in(checker, M, 48)
    bad = warp_in(checker, M, 48, antialias=False, interpolation="linear")
    assert abs(good.mean() - 0.5) < 0.02 and good.std() < 0.05
    assert bad.std() > 4 * good.std()


@pytest.mark.parametrize("border,mode", [("reflect", "reflect"), ("replicate", "edge"), ("constant", "constant")])
@pytest.mark.parametrize("dx,dy", [(-10, -5), (15, 12), (-45, 3), (70, -66)])
def test_warp_in_borders_match_numpy_padding(border, mode, dx, dy, rng):
    """Integer shifts across and far beyond the edges (several reflections) read what np.pad would."""
    img = rng.random((20, 30, 3), dtype=np.float32)
    crop = warp_in(img, np.array([[1.0, 0, -dx], [0, 1.0, -dy]]), (40, 25), border=border)
    p = 100
    padded = np.pad(img, ((p, p), (p, p), (0, 0)), mode=mode)
    assert np.array_equal(crop, padded[p + dy:p + dy + 25, p + dx:p + dx + 40])


@pytest.mark.parametrize("M", [similarity(20, 1.3, (30, 25), (32, 32)),    # inside
                               similarity(-35, 0.8, (2, 55), (32, 32)),    # crossing the bottom-left corner
                               similarity(10, 2.0, (140, -50), (32, 32))],  # entirely outside
                         ids=["inside", "crossing", "outside"])
def test_pixels_outside_the_pasted_area_are_bit_identical(M, rng):
    img = rng.random((60, 80, 3), dtype=np.float32)
    crop = rng.random((64, 64, 3), dtype=np.float32)
    out, (x, y, w, h) = paste_back(img, crop, M, feather=3)
    assert out is not img
    assert np.array_equal(out[outside_support(M, (64, 64), (60, 80))], img[outside_support(M, (64, 64), (60, 80))])
    changed = np.any(out != img, axis=2)
    keep = np.ones((60, 80), bool)
    keep[y:y + h, x:x + w] = False
    assert not changed[keep].any()
    if w == 0:
        assert np.array_equal(out, img)
    else:
        assert changed.any()


@settings(max_examples=40, deadline=None)
@given(x=st.floats(-40, 70), y=st.floats(-40, 50), side=st.floats(2, 60), angle=st.floats(-180, 180),
       size=st.integers(1, 24), feather=st.floats(0, 6), channels=st.sampled_from([None, 1, 3, 5]))
def test_random_regions_never_change_pixels_outside_their_support(x, y, side, angle, size, feather, channels):
    rng = np.random.default_rng(7)
    shape = (30, 40) if channels is None else (30, 40, channels)
    img = rng.random(shape, dtype=np.float32)
    M = compose(similarity(angle, 1.0, (size / 2 - 0.5, size / 2 - 0.5), (size / 2 - 0.5, size / 2 - 0.5)),
                box_transform((x, y, side, side), size))
    crop = rng.random((size, size) + shape[2:], dtype=np.float32)
    out, (bx, by, bw, bh) = paste_back(img, crop, M, feather=feather)
    diff = out != img
    changed = diff if channels is None else diff.any(axis=2)
    assert not changed[outside_support(M, (size, size), (30, 40))].any()
    rows, cols = np.nonzero(changed)
    if len(rows):
        assert bx <= cols.min() and cols.max() < bx + bw and by <= rows.min() and rows.max() < by + bh


def test_similarity_from_points_recovers_a_known_transform_and_resists_one_bad_landmark(rng):
    M = similarity(-23, 0.37, (300, 200), (256, 240))
    src = rng.uniform(100, 500, (5, 2))
    dst = apply(M, src)
    assert np.abs(similarity_from_points(src, dst) - M).max() < 1e-9
    assert np.abs(similarity_from_points(src[:2], dst[:2]) - M).max() < 1e-9  # two points fix a similarity
    bad = dst.copy()
    bad[3] += (40.0, -25.0)
    assert np.abs(similarity_from_points(src, bad) - M).max() < 1e-9
    assert np.abs(similarity_from_points(src, bad, robust=False) - M).max() > 0.5
    noisy = dst + rng.normal(0, 0.3, dst.shape)  # ordinary detector noise: nothing is dropped, still accurate
    noisy[1] += (30.0, 30.0)
    est = similarity_from_points(src, noisy)
    assert np.abs(apply(est, src) - dst).max() < 1.5
    mirrored = apply(M, src * (-1.0, 1.0))  # a mirror image is fitted by a rotation, never a reflection
    assert np.linalg.det(similarity_from_points(src, mirrored, robust=False)[:, :2]) > 0


@pytest.mark.parametrize("src,dst,match", [
    ([[1, 2], [1, 2], [1, 2]], [[0, 0], [1, 0], [0, 1]], "source points coincide"),
    ([[0, 0], [1, 0], [0, 1]], [[5, 5], [5, 5], [5, 5]], "destination points coincide"),
    ([[0, 0], [np.nan, 0], [0, 1]], [[0, 0], [1, 0], [0, 1]], "NaN"),
    ([[0, 0], [1, 0], [0, 1]], [[0, 0], [1, 0]], "same number"),
    ([[1, 0], [-1, 0], [0, 1], [0, -1]], [[1, 0], [-1, 0], [0, -1], [0, 1]], "do not fit"),
])
def test_similarity_from_points_rejects_degenerate_input(src, dst, match):
    with pytest.raises(RegionError, match=match):
        similarity_from_points(src, dst)


def test_box_transform_maps_box_edges_to_crop_edges_with_margin_and_square():
    M = box_transform((10, 20, 50, 50), 100)
    assert np.allclose(apply(M, [[9.5, 19.5], [59.5, 69.5]]), [[-0.5, -0.5], [99.5, 99.5]])
    M = box_transform((10, 20, 40, 20), 64, margin=0.25)  # grown to 60 x 30, then squared to 60 x 60
    assert np.allclose(apply(M, [[-0.5, -0.5], [59.5, 59.5]]), [[-0.5, -0.5], [63.5, 63.5]])
    M = box_transform((0, 0, 40, 20), (80, 20), square=False)  # stretched: independent x and y scale
    assert np.allclose(M, [[2, 0, 0.5], [0, 1, 0]])
    assert np.allclose(scaled(M, 2), compose(M, [[0.5, 0, -0.25], [0, 0.5, -0.25]]))
    with pytest.raises(RegionError):
        box_transform((0, 0, 0, 5), 10)
    with pytest.raises(RegionError, match="singular"):
        invert([[1, 2, 0], [2, 4, 0]])


def test_region_transform_uses_landmarks_on_a_template_else_the_box():
    template = np.array([[20.0, 24], [44, 24], [32, 36], [23, 46], [41, 46]])
    M = similarity(12, 2.5, (0, 0), (5, 7))
    marks = tuple(map(tuple, apply(invert(M), template)))
    r = Region(box=(0, 0, 30, 30), landmarks=marks)
    assert np.allclose(region_transform(r, 64, template=template), M)
    assert np.allclose(region_transform(Region(box=(0, 0, 32, 32)), 64), box_transform((0, 0, 32, 32), 64))


def test_feathering_leaves_no_seam_for_a_constant_offset_model():
    img = smooth_photo(80, 100) * 0.6
    M = similarity(25, 1.5, (50, 40), (32, 32))
    offset = lambda c: c + 0.3  # noqa: E731
    feather = 12.0
    soft, _ = run_in_regions(img, [M], 64, offset, feather=feather)
    hard, _ = run_in_regions(img, [M], 64, offset, feather=0)
    d_soft, d_hard = (soft - img)[..., 0], (hard - img)[..., 0]
    grad = lambda d: np.maximum(np.abs(np.diff(d, axis=0))[:, :-1], np.abs(np.diff(d, axis=1))[:-1])  # noqa: E731
    # smoothstep's steepest slope is 1.5 / feather per crop pixel, times 1.5 crop pixels per photo pixel
    assert grad(d_soft).max() < 0.3 * 1.5 * 1.5 / feather * 1.2
    assert grad(d_hard).max() > 0.25  # without feathering the edge is a visible step
    assert np.isclose(d_soft.max(), 0.3, atol=0.005)


def test_a_2x_upscaling_model_pastes_into_a_2x_background():
    img = smooth_photo(40, 50)
    big = cv2.resize(img, (100, 80), interpolation=cv2.INTER_LINEAR)
    up = lambda c: cv2.resize(c, (2 * c.shape[1], 2 * c.shape[0]), interpolation=cv2.INTER_LINEAR)  # noqa: E731
    M = similarity(15, 1.2, (25, 20), (16, 16))
    out, boxes = run_in_regions(img, [M], 32, up, feather=4, background=big)
    assert out.shape == big.shape
    direct, box = paste_back(big, up(warp_in(img, M, 32)), scaled(M, 2, crop=2), feather=8)
    assert np.array_equal(out, direct) and boxes == [box]
    assert not np.any(out != big, axis=2)[outside_support(scaled(M, 2, crop=2), (64, 64), (80, 100))].any()
    x, y, w, h = box
    assert w > 20 and h > 20 and np.abs(out - big)[y + 4:y + h - 4, x + 4:x + w - 4].max() < 0.03
    assert np.allclose(apply(scaled(M, 2), [[2 * 25 + 0.5, 2 * 20 + 0.5]]), apply(M, [[25.0, 20.0]]))


def test_cancel_between_regions_raises_and_progress_counts():
    img = smooth_photo(30, 40)
    token = CancelToken()
    calls: list[tuple[int, int, str]] = []
    seen: list[int] = []

    def progress(done: int, total: int, message: str = "") -> None:
        calls.append((done, total, message))
        token.cancel()

    mats = [box_transform((5, 5, 10, 10), 16), box_transform((20, 5, 10, 10), 16)]
    with pytest.raises(CancelledError):
        run_in_regions(img, mats, 16, lambda c: seen.append(1) or c, feather=2, progress=progress, cancel=token)
    assert seen == [1] and calls == [(1, 2, "Region 1 of 2")]


def test_weight_maps_limit_the_paste_hole_mask_and_ellipse(rng):
    img = rng.random((50, 60, 3), dtype=np.float32)
    mask = np.zeros((50, 60), np.uint8)
    cv2.circle(mask, (30, 25), 8, 255, -1)
    M = box_transform((14, 9, 32, 32), 32)  # scale 1, whole-pixel offset: the hole maps exactly
    hole = warp_in(mask, M, 32, interpolation="nearest").astype(np.float32) / 255
    out, _ = run_in_regions(img, [M], 32, lambda c: np.zeros_like(c), feather=0, weights=[hole])
    assert np.array_equal(out[mask == 0], img[mask == 0]) and not out[mask > 0].any()
    ell = elliptical_weight(32, radii=(0.3, 0.4), softness=0.2)
    assert ell[16, 16] == 1 and ell[0, 0] == 0 and ell[16, 2] == 0 and 0 <= ell.min() and ell.max() <= 1
    out, _ = run_in_regions(img, [M], 32, lambda c: np.zeros_like(c), feather=0, weights=ell)
    crop_out = warp_in(out, M, 32, interpolation="nearest")
    crop_in = warp_in(img, M, 32, interpolation="nearest")
    assert np.array_equal(crop_out[ell == 0], crop_in[ell == 0])


def test_feather_weight_is_zero_at_the_edge_one_inside_and_symmetric():
    w = feather_weight((20, 12), 4)
    assert w.shape == (12, 20) and w.dtype == np.float32
    assert not w[0].any() and not w[:, -1].any() and (w[4:-4, 4:-4] == 1).all()
    assert np.array_equal(w, w[::-1, ::-1]) and np.all(np.diff(w[6, :10]) >= 0)
    assert (feather_weight(5, 0) == 1).all() and feather_weight(1, 10)[0, 0] == 1


def test_many_channels_integer_images_and_bad_model_output(rng):
    img5 = rng.random((20, 24, 5), dtype=np.float32)
    M = similarity(40, 1.4, (12, 10), (8, 8))
    crop = warp_in(img5, M, 16)
    assert crop.shape == (16, 16, 5) and np.allclose(crop[..., 4], warp_in(img5[..., 4], M, 16), atol=1e-6)
    u8 = np.rint(smooth_photo(20, 24)[..., 0] * 255).astype(np.uint8)  # an 8-bit mask or gray image
    out, _ = paste_back(u8, warp_in(u8, M, 16), M, feather=2)
    assert out.dtype == np.uint8 and np.abs(out.astype(int) - u8).max() <= 8
    with pytest.raises(RegionError, match="integer multiple"):
        run_in_regions(img5, [M], 16, lambda c: c[:10], feather=2)
    with pytest.raises(RegionError, match="NaN"):
        run_in_regions(img5, [M], 16, lambda c: c * np.nan, feather=2)
    with pytest.raises(RegionError, match="channels"):
        paste_back(img5, crop[..., :3], M, feather=2)


def test_paste_back_memory_is_bounded_by_the_region():
    img = np.zeros((1500, 2000, 3), np.float32)  # 36 MB
    M = box_transform((900, 700, 120, 120), 256)
    crop = np.ones((256, 256, 3), np.float32)
    tracemalloc.start()
    try:
        paste_back(img, crop, M, feather=8, out=img)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 256 * 256 * 3 * 4 and img[760, 960].min() == 1.0
