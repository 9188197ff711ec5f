"""The inpainting strategy shared by every fill method: pieces around painted areas (border, merging, many
small holes, big masks), the crop / resize / original strategies (pixels outside the mask bit-identical in
each), threads, cancel, and memory on a 24-megapixel photo."""

from __future__ import annotations

import threading
import time
import tracemalloc

import numpy as np
import pytest

from core.engines.inpaint.classical import OpenCVInpaint
from core.engines.inpaint.pieces import (
    NoSourcePixelsError,
    budget_caps,
    component_boxes,
    crop_boxes,
    fill_reduced,
    merge_boxes,
    shrink_hole,
)
from core.engines.inpaint.strategy import Filler, fill_photo
from core.engines.request import EngineRequest
from core.errors import CancelledError
from core.jobs import CancelToken, no_progress
from core.photo import Photo


class Recorder(Filler):
    """Fills every hole pixel with a piece-specific value and records what it was given."""

    def __init__(self, parallel: bool = False) -> None:
        self.parallel = parallel
        self.shapes: list[tuple[int, ...]] = []
        self.planned: list[int] = []

    def plan(self, holes) -> None:
        self.planned = [int(np.count_nonzero(h)) for h in holes]

    def fill(self, index, rgb, hole, progress):
        assert rgb.dtype == np.float32 and rgb.flags.c_contiguous and hole.shape == rgb.shape[:2]
        self.shapes.append(rgb.shape)
        out = rgb.copy()
        out[hole > 0] = 0.25 + 0.05 * index
        return out


def _mask(h: int, w: int, *rects: tuple[int, int, int, int]) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    for x, y, bw, bh in rects:
        mask[y:y + bh, x:x + bw] = 255
    return mask


def test_crop_boxes_grow_by_the_context_clip_at_the_border_and_merge_overlaps():
    mask = _mask(100, 200, (0, 0, 10, 10), (190, 40, 10, 20), (100, 80, 5, 5), (110, 85, 5, 5))
    boxes = crop_boxes(mask, 8)
    assert (0, 0, 18, 18) in boxes  # touches the top-left corner: clipped, never negative
    assert (182, 32, 200, 68) in boxes  # touches the right border
    assert (92, 72, 123, 98) in boxes  # two nearby holes share one piece
    assert len(boxes) == 3
    share = crop_boxes(_mask(100, 200, (50, 40, 20, 10)), 4, context_share=0.5)
    assert share == [(40, 30, 80, 60)]  # half the longer side (20) beats the 4 px context


def test_merging_repeats_until_no_box_overlaps_another():
    boxes = np.array([[0, 0, 10, 10], [8, 8, 20, 20], [19, 0, 30, 5], [40, 40, 50, 50]])
    merged = merge_boxes(boxes)  # the first two merge, and their union then overlaps the third
    assert merged.tolist() == [[0, 0, 30, 20], [40, 40, 50, 50]]


def test_many_small_holes_near_each_other_become_few_pieces():
    mask = np.zeros((300, 300), np.uint8)
    mask[10:290:6, 10:290:6] = 255  # 2,209 one-pixel specks, 6 px apart
    mask[150, 5] = 255
    assert len(component_boxes(mask)) == 47 * 47 + 1
    assert crop_boxes(mask, 4) == [(1, 6, 291, 291)]  # margins overlap: one piece
    pieces = crop_boxes(mask, 2)  # margins 2 px around specks 6 px apart: no overlap, one piece each
    assert len(pieces) == 47 * 47 + 1


def test_boxes_of_a_big_mask_are_found_at_a_reduced_size_and_still_cover_every_hole_pixel():
    mask = np.zeros((3000, 4000), np.uint8)  # 12 megapixels: labelled at a third of the size
    mask[1001:1003, 2001:2050] = 255
    mask[2999, 3999] = 255
    boxes = component_boxes(mask)
    assert len(boxes) == 2
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= 4000 and 0 <= y0 < y1 <= 3000 and (x1 - x0) <= 60
    covered = np.zeros_like(mask)
    for x0, y0, x1, y1 in boxes:
        covered[y0:y1, x0:x1] = 255
    assert not (mask & ~covered).any()


@pytest.mark.parametrize("strategy", ["crop", "resize", "original"])
def test_every_strategy_changes_only_the_masked_pixels(strategy, rng):
    rgb = rng.random((120, 160, 3), dtype=np.float32)
    mask = _mask(120, 160, (0, 0, 12, 30), (150, 100, 10, 20), (60, 50, 30, 8))  # two touch the border
    filler = Recorder()
    out, notes = fill_photo(rgb, mask, filler, {"strategy": strategy, "context": 8, "working_size": 64},
                            no_progress, CancelToken())
    keep = mask == 0
    assert np.array_equal(out[keep], rgb[keep])
    assert np.all(out[~keep] != rgb[~keep])  # every hole pixel got the filler's value
    assert out.dtype == np.float32 and out.shape == rgb.shape
    if strategy == "crop":
        assert len(filler.shapes) == 3 and all(s[0] * s[1] < 60 * 60 for s in filler.shapes)
        assert notes[0] == "Filled 3 areas separately, each with its surroundings."
    elif strategy == "resize":
        assert filler.shapes == [(48, 64, 3)] and "48" in notes[0]  # reduced to the working size
        assert np.allclose(out[~keep], 0.25, atol=1e-6)  # the scaled-up fill, not a blend with the hole
    else:
        assert filler.shapes == [(120, 160, 3)]


@pytest.mark.parametrize("strategy", ["crop", "resize", "original"])
def test_a_feather_fades_the_fill_in_inside_the_mask_and_never_outside(strategy, rng):
    rgb = rng.random((120, 160, 3), dtype=np.float32)
    mask = _mask(120, 160, (0, 0, 30, 30), (80, 50, 40, 30))  # the first on the photo's corner
    params = {"strategy": strategy, "context": 8, "working_size": 64}
    hard, _ = fill_photo(rgb, mask, Recorder(), {**params, "feather": 0}, no_progress, CancelToken())
    soft, _ = fill_photo(rgb, mask, Recorder(), {**params, "feather": 4}, no_progress, CancelToken())
    keep = mask == 0
    assert np.array_equal(soft[keep], rgb[keep])
    # on the mask's edge a fifth of the fill, four fifths of what was painted over; a pixel in, two fifths
    np.testing.assert_allclose(soft[50, 100], rgb[50, 100] + 0.2 * (hard[50, 100] - rgb[50, 100]), atol=1e-6)
    np.testing.assert_allclose(soft[51, 100], rgb[51, 100] + 0.4 * (hard[51, 100] - rgb[51, 100]), atol=1e-6)
    assert np.array_equal(soft[65, 100], hard[65, 100])  # 16 px in: the fill itself
    assert np.array_equal(soft[0, 10], hard[0, 10])  # the photo's border is no seam: not faded


def test_resize_on_a_photo_within_the_working_size_is_the_whole_photo(rng):
    rgb = rng.random((40, 50, 3), dtype=np.float32)
    filler = Recorder()
    fill_photo(rgb, _mask(40, 50, (5, 5, 5, 5)), filler, {"strategy": "resize", "working_size": 64}, no_progress,
               CancelToken())
    assert filler.shapes == [(40, 50, 3)]


def test_classical_fill_in_crops_equals_the_whole_photo_fill(rng):
    """Telea reads `radius` pixels around the hole: crops with a context beyond that give the same pixels."""
    rgb = rng.random((90, 130, 3), dtype=np.float32)
    mask = _mask(90, 130, (0, 40, 9, 9), (60, 10, 20, 15), (110, 70, 20, 20))
    photo = Photo(rgb=rgb)
    results = [OpenCVInpaint().run(EngineRequest(photo, mask, params={"strategy": s, "context": 0, "radius": 7}))
               for s in ("crop", "original")]
    assert np.array_equal(results[0].photo.rgb, results[1].photo.rgb)


def test_parallel_pieces_are_pasted_and_cancel_stops_before_the_next(rng):
    rgb = rng.random((100, 400, 3), dtype=np.float32)
    mask = _mask(100, 400, *[(20 + 60 * i, 40, 10, 10) for i in range(6)])
    filler = Recorder(parallel=True)
    out, _ = fill_photo(rgb, mask, filler, {"strategy": "crop", "context": 4}, no_progress, CancelToken())
    assert len(filler.shapes) == 6
    for i in range(6):  # each piece's own value landed in its own hole
        assert np.allclose(out[45, 25 + 60 * i], 0.25 + 0.05 * i)
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        fill_photo(rgb, mask, Recorder(parallel=True), {"strategy": "crop"}, no_progress, token)


class Slow(Recorder):
    """A method whose fill is one long call that cannot be interrupted (as PatchMatch's C code)."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__(parallel=True)
        self.release = release

    def fill(self, index, rgb, hole, progress):
        self.release.wait(10)
        return super().fill(index, rgb, hole, progress)


def test_a_cancel_returns_at_once_while_pieces_are_inside_the_method(rng):
    rgb = rng.random((100, 400, 3), dtype=np.float32)
    mask = _mask(100, 400, *[(20 + 120 * i, 40, 10, 10) for i in range(3)])
    release, token = threading.Event(), CancelToken()
    messages: list[str] = []
    threading.Timer(0.2, token.cancel).start()
    start = time.perf_counter()
    try:
        with pytest.raises(CancelledError):
            fill_photo(rgb, mask, Slow(release), {"strategy": "crop", "context": 4},
                       lambda d, t, m="": messages.append(m), token)
        assert time.perf_counter() - start < 1.5  # not the 10 s the pieces would take
        assert messages[0] == "Filling 3 areas"  # what it is doing while no piece has finished
    finally:
        release.set()  # let the abandoned pieces end


def test_a_24_megapixel_photo_is_filled_piece_by_piece_without_full_size_copies():
    h, w = 4000, 6000
    rgb = np.zeros((h, w, 3), np.float32)
    mask = _mask(h, w, (1000, 1000, 400, 300), (4000, 2500, 300, 500), (5900, 3900, 100, 100))
    filler = Recorder(parallel=True)
    tracemalloc.start()
    try:
        out, _ = fill_photo(rgb, mask, filler, {"strategy": "crop", "context": 64}, no_progress, CancelToken())
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    full = rgb.nbytes  # 288 MB
    assert peak < full + 0.25 * full  # the result itself, plus pieces: never a second full-size array
    assert len(filler.shapes) == 3 and max(s[0] * s[1] for s in filler.shapes) < 0.02 * h * w
    assert out[1100, 1100, 0] == np.float32(0.25) and out[0, 0, 0] == 0.0


def test_fill_reduced_scales_the_fill_up_over_the_whole_hole(rng):
    rgb = rng.random((60, 80, 3), dtype=np.float32)
    hole = _mask(60, 80, (20, 20, 30, 20))
    seen = []

    def flat(small, small_hole):
        seen.append((small.shape, int(np.count_nonzero(small_hole))))
        out = small.copy()
        out[small_hole > 0] = 0.7
        return out

    up = fill_reduced(rgb, hole, flat, (40, 30))
    assert seen[0][0] == (30, 40, 3) and seen[0][1] > 15 * 10  # the hole grown at the small size
    assert up.shape == rgb.shape and np.allclose(up[hole > 0], 0.7, atol=1e-5)


def test_a_reduced_hole_keeps_some_known_pixels_or_says_why_not():
    hole = np.full((40, 40), 255, np.uint8)
    hole[0, 0] = 0
    with pytest.raises(NoSourcePixelsError, match="nothing remains to fill from"):
        shrink_hole(hole, (10, 10))
    hole[:8, :8] = 0
    assert not shrink_hole(hole, (10, 10)).all()  # grown less where growing would leave nothing


def test_the_budget_shrinks_the_biggest_holes_first():
    assert budget_caps([100, 200], 0) == [1.0, 1.0]
    assert budget_caps([100, 200], 1000) == [1.0, 1.0]
    small, big = budget_caps([1_000, 400_000], 101_000)
    assert small == 1.0 and big == pytest.approx(2.0)  # 400k cut to 100k: half the side
    caps = budget_caps([300_000] * 3, 120_000)  # 40k each
    assert caps == pytest.approx([7.5 ** 0.5] * 3)
