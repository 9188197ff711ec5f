"""Tiled execution: a tiled run equals the whole-image run, sizes, progress, cancel, memory, tile choice."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
from torch import nn

from core.errors import CancelledError, RestoraError
from core.jobs import CancelToken
from core.tensors import MINUS_ONE_ONE, ZERO_ONE, from_model, to_model
from core.tiling import NonFiniteOutputError, TilingError, axis_weights, choose_tile_size, plan_axis, run_tiled

RANGES = [ZERO_ONE, MINUS_ONE_ONE]
TOLERANCE = 1.0 / 255.0


def _squash(output_range):
    return nn.Sigmoid() if output_range == ZERO_ONE else nn.Tanh()


def conv_net(output_range, seed: int = 0) -> nn.Module:
    """Four stacked 3x3 convolutions: receptive radius 4 input pixels."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(8, 8, 3, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(8, 8, 3, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(8, 3, 3, padding=1), _squash(output_range),
    ).eval()


def upscale_net(output_range, seed: int = 1) -> nn.Module:
    """x2 with PixelShuffle: receptive radius 2 input pixels."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 12, 3, padding=1), nn.LeakyReLU(0.2), nn.PixelShuffle(2),
        nn.Conv2d(3, 3, 3, padding=1), _squash(output_range),
    ).eval()


class MultipleOf8Net(nn.Module):
    """Refuses sizes that are not multiples of 8 and mixes in 8x8 block means (phase-sensitive)."""

    def __init__(self, output_range):
        super().__init__()
        self.body = conv_net(output_range)
        self.calls: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        assert h % 8 == 0 and w % 8 == 0, f"{h} x {w} is not a multiple of 8"
        self.calls.append((h, w))
        blocks = nn.functional.interpolate(nn.functional.avg_pool2d(x, 8), scale_factor=8, mode="nearest")
        return self.body(x) * 0.8 + 0.2 * blocks.clamp(-1, 1)


def whole_image(net, image, vr, multiple: int = 1, scale: int = 1) -> np.ndarray:
    """The reference: the whole image, reflect-padded at the bottom/right to the multiple, cropped back."""
    h, w = image.shape[:2]
    ph, pw = -h % multiple, -w % multiple
    padded = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect")
    with torch.no_grad():
        out = from_model(net(to_model(padded, vr)), vr)
    return out[:h * scale, :w * scale]


def counted(net):
    calls = []

    def wrapped(x):
        calls.append(tuple(x.shape))
        with torch.no_grad():
            return net(x)

    return wrapped, calls


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("vr", RANGES)
@pytest.mark.parametrize("size", [(37, 53), (70, 45), (64, 96)])
@pytest.mark.parametrize("tile,overlap", [(32, 16), (48, 16), (44, 20), (36, 18)])
def test_tiled_equals_whole_image(vr, size, tile, overlap, rng):
    image = rng.random(size + (3,), dtype=np.float32)
    net = conv_net(vr)
    wrapped, calls = counted(net)
    tiled = run_tiled(wrapped, image, input_range=vr, output_range=vr, tile=tile, overlap=overlap)
    assert tiled.shape == image.shape and tiled.dtype == np.float32
    assert len(calls) > 1
    assert all(shape[2] <= tile and shape[3] <= tile for shape in calls)  # tiles lie inside the image
    assert np.abs(tiled - whole_image(net, image, vr)).max() <= TOLERANCE


@pytest.mark.parametrize("vr", RANGES)
@pytest.mark.parametrize("size,tile,overlap", [((37, 53), 24, 12), ((50, 31), 32, 16), ((17, 64), 40, 8)])
def test_tiled_upscale_by_two_equals_whole_image(vr, size, tile, overlap, rng):
    image = rng.random(size + (3,), dtype=np.float32)
    net = upscale_net(vr)
    wrapped, calls = counted(net)
    tiled = run_tiled(wrapped, image, input_range=vr, output_range=vr, scale=2, tile=tile, overlap=overlap)
    assert tiled.shape == (size[0] * 2, size[1] * 2, 3)
    assert len(calls) > 1
    assert np.abs(tiled - whole_image(net, image, vr, scale=2)).max() <= TOLERANCE


@pytest.mark.parametrize("vr", RANGES)
@pytest.mark.parametrize("size,tile,overlap", [((37, 53), 32, 16), ((61, 45), 40, 17), ((64, 80), 48, 16)])
def test_size_multiple_tiles_equal_padded_whole_image(vr, size, tile, overlap, rng):
    image = rng.random(size + (3,), dtype=np.float32)
    net = MultipleOf8Net(vr)
    tiled = run_tiled(net, image, input_range=vr, output_range=vr, size_multiple=8, tile=tile, overlap=overlap)
    assert tiled.shape == image.shape
    assert len(net.calls) > 1
    reference = whole_image(net, image, vr, multiple=8)
    assert np.abs(tiled - reference).max() <= TOLERANCE


def test_image_smaller_than_tile_is_one_tile(rng):
    image = rng.random((20, 30, 3), dtype=np.float32)
    net = conv_net(ZERO_ONE)
    wrapped, calls = counted(net)
    out = run_tiled(wrapped, image, input_range=ZERO_ONE, output_range=ZERO_ONE, tile=512)
    assert calls == [(1, 3, 20, 30)]
    assert np.abs(out - whole_image(net, image, ZERO_ONE)).max() <= 1e-6


@pytest.mark.parametrize("size", [(3, 5), (1, 1), (1, 9), (8, 2)])
def test_image_smaller_than_size_multiple(size, rng):
    image = rng.random(size + (3,), dtype=np.float32)
    net = MultipleOf8Net(ZERO_ONE)
    out = run_tiled(net, image, input_range=ZERO_ONE, output_range=ZERO_ONE, size_multiple=8, tile=64)
    assert out.shape == image.shape
    assert len(net.calls) == 1 and all(d % 8 == 0 for d in net.calls[0])
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_identity_through_tiles_returns_the_image_in_both_ranges(rng):
    """The normalization contract holds through tiling: identity in, identity out."""
    image = rng.random((45, 70, 3), dtype=np.float32)
    for vr in RANGES:
        out = run_tiled(lambda x: x, image, input_range=vr, output_range=vr, tile=32, overlap=8)
        assert np.abs(out - image).max() < 1e-6


def test_grayscale_two_dimensional_input(rng):
    image = rng.random((30, 41), dtype=np.float32)
    out = run_tiled(lambda x: x, image, input_range=ZERO_ONE, output_range=ZERO_ONE, tile=16, overlap=4)
    assert out.shape == (30, 41, 1) and np.abs(out[:, :, 0] - image).max() < 1e-6


AXIS_CASES = [(size, tile, overlap, multiple, scale)
              for size in list(range(1, 140, 7)) + [256, 257, 1000]
              for tile, overlap, multiple in [(32, 8, 1), (64, 32, 1), (48, 40, 1), (64, 16, 8), (33, 0, 1)]
              for scale in (1, 3)]


def test_axis_weights_form_a_partition_of_unity_and_skip_tile_edges():
    for size, tile, overlap, multiple, scale in AXIS_CASES:
        plan = plan_axis(size, tile, overlap, multiple)
        assert plan.padded >= size and plan.padded % multiple == 0
        assert plan.starts[0] == 0 and plan.starts[-1] + plan.length == plan.padded
        assert all(s % multiple == 0 for s in plan.starts)
        assert all(b - a <= plan.length - overlap for a, b in zip(plan.starts, plan.starts[1:]))
        weights = axis_weights(plan, scale)
        total = np.zeros(plan.padded * scale)
        for start, w in zip(plan.starts, weights):
            assert w.dtype == np.float32 and w.min() >= 0
            total[start * scale:(start + plan.length) * scale] += w
        assert np.allclose(total, 1.0, atol=1e-6), (size, tile, overlap, multiple, scale)
        margin = overlap * scale // 4
        for k, w in enumerate(weights):  # no weight where the tile's interior edges are within reach
            if k > 0 and margin:
                assert w[:margin].max() == 0
            if k + 1 < len(weights) and margin:
                assert w[-margin:].max() == 0


def test_progress_reports_every_tile(rng):
    image = rng.random((50, 70, 3), dtype=np.float32)
    seen = []
    run_tiled(lambda x: x, image, input_range=ZERO_ONE, output_range=ZERO_ONE, tile=32, overlap=8,
              progress=lambda done, total, message="": seen.append((done, total, message)))
    n = seen[0][1]
    assert n == len(plan_axis(50, 32, 8).starts) * len(plan_axis(70, 32, 8).starts) > 1
    assert [s[0] for s in seen] == list(range(1, n + 1))
    assert all(total == n for _, total, _ in seen)
    assert seen[0][2] == f"Tile 1 of {n}" and seen[-1][2] == f"Tile {n} of {n}"


def test_cancel_after_first_tile_stops_before_the_next(rng):
    image = rng.random((50, 70, 3), dtype=np.float32)
    token = CancelToken()
    calls = []

    def net(x):
        calls.append(x.shape)
        return x

    with pytest.raises(CancelledError):
        run_tiled(net, image, input_range=ZERO_ONE, output_range=ZERO_ONE, tile=32, overlap=8, cancel=token,
                  progress=lambda done, total, message="": token.cancel())
    assert len(calls) == 1


def test_cancelled_before_start_runs_nothing(rng):
    token = CancelToken()
    token.cancel()
    calls = []
    with pytest.raises(CancelledError):
        run_tiled(lambda x: calls.append(1) or x, rng.random((8, 8, 3), dtype=np.float32),
                  input_range=ZERO_ONE, output_range=ZERO_ONE, cancel=token)
    assert calls == []


def test_memory_holds_only_the_output_beyond_tile_temporaries(rng):
    """No full-size temporaries on the NumPy side: the peak is the output buffer plus tile-sized work."""
    image = rng.random((400, 600, 3), dtype=np.float32)
    output_bytes = image.nbytes
    tracemalloc.start()
    try:
        out = run_tiled(lambda x: x, image, input_range=MINUS_ONE_ONE, output_range=MINUS_ONE_ONE,
                        tile=64, overlap=16)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.abs(out - image).max() < 1e-6
    tile_work = 64 * 64 * 3 * 4 * 8  # a handful of tile-sized float32 temporaries
    assert peak < output_bytes + tile_work, f"peak {peak / 2**20:.1f} MiB"


def test_non_finite_output_is_reported(rng):
    with pytest.raises(NonFiniteOutputError):
        run_tiled(lambda x: x * float("nan"), rng.random((8, 8, 3), dtype=np.float32),
                  input_range=ZERO_ONE, output_range=ZERO_ONE)


def test_wrong_scale_is_a_clear_error(rng):
    with pytest.raises(TilingError, match="declared scale"):
        run_tiled(nn.Upsample(scale_factor=2), rng.random((8, 8, 3), dtype=np.float32),
                  input_range=ZERO_ONE, output_range=ZERO_ONE, scale=1)


@pytest.mark.parametrize("kwargs", [dict(tile=0), dict(overlap=-1), dict(scale=0), dict(size_multiple=0)])
def test_bad_arguments_are_typed_errors(kwargs, rng):
    with pytest.raises(TilingError) as info:
        run_tiled(lambda x: x, rng.random((8, 8, 3), dtype=np.float32), input_range=ZERO_ONE,
                  output_range=ZERO_ONE, **kwargs)
    assert isinstance(info.value, RestoraError)


def test_empty_image_is_a_typed_error():
    with pytest.raises(TilingError, match="empty"):
        run_tiled(lambda x: x, np.zeros((0, 5, 3), np.float32), input_range=ZERO_ONE, output_range=ZERO_ONE)


def test_overlap_as_large_as_the_tile_still_runs(rng):
    """The tile grows to twice the overlap instead of failing or crawling one pixel at a time."""
    calls = []
    image = rng.random((40, 40, 3), dtype=np.float32)
    out = run_tiled(lambda x: calls.append(x.shape) or x, image, input_range=ZERO_ONE, output_range=ZERO_ONE,
                    tile=16, overlap=16)
    assert tuple(calls[0][2:]) == (32, 32) and len(calls) == 4
    assert np.abs(out - image).max() < 1e-5


def test_choose_tile_size_follows_free_memory():
    gib = 2**30
    small = choose_tile_size("cpu", free_bytes=gib // 8)
    large = choose_tile_size("cpu", free_bytes=4 * gib)
    assert 128 <= small < large <= 2048
    assert small % 32 == 0 and large % 32 == 0
    assert choose_tile_size("cpu", free_bytes=4 * gib, scale=4) < large  # upscalers need more per pixel
    assert choose_tile_size("cpu", free_bytes=1024) == 128  # never below the minimum
    assert choose_tile_size("cpu", free_bytes=10**15) == 2048  # nor above the maximum
    # 1 GiB, a quarter usable, 1024 bytes per pixel -> sqrt(2**18) = 512
    assert choose_tile_size("cpu", free_bytes=gib, bytes_per_pixel=1024) == 512
    assert choose_tile_size("mps", minimum=64, maximum=300) == 300  # free memory unknown: the default, clamped
    assert 128 <= choose_tile_size("cpu") <= 2048  # real free memory
    with pytest.raises(TilingError):
        choose_tile_size("cpu", minimum=256, maximum=128)


def test_benchmark_child_reports_peak_rss():
    from core.benchmarks.tiling import measure_tiled_peak_rss

    row = measure_tiled_peak_rss(0.05, tile=128, overlap=16, channels=4)
    assert set(row) >= {"megapixels", "width", "height", "seconds", "peak_rss_mb", "input_output_mb"}
    assert abs(row["width"] * row["height"] - 50_000) < 500
    assert row["peak_rss_mb"] > row["input_output_mb"] > 0 and row["seconds"] > 0
