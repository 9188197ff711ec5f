"""Time and peak memory of tiled inference by image size and by tile size, each in a fresh process.

The child process builds a small seeded conv net, generates a float32 RGB image of the requested size,
runs it through core.tiling.run_tiled and reports its own peak resident set size (core.benchmarks.child).
`bench_tiling` varies the image size at one tile size; `bench_tile_sizes` varies the tile size on one image
(the tile-size scaling: small tiles waste time on their overlaps, big ones need more memory).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

from core.benchmarks import child
from core.benchmarks.child import ROOT as PROJECT_ROOT
from core.benchmarks.child import peak_rss_mb, reset_peak

_MIB = 2**20


def measure_tiled_peak_rss(megapixels: float, *, tile: int = 512, overlap: int = 32, channels: int = 32,
                           timeout: float = 1800.0) -> dict:
    """Run one tiled pass over a `megapixels` image in a fresh subprocess and return its figures:
    megapixels, width, height, seconds, peak_rss_mb, input_output_mb, baseline_rss_mb (peak before the
    image existed: interpreter, torch and the net) and growth_mb (peak minus baseline). MB are MiB."""
    command = ["-m", "core.benchmarks.tiling", "--child", "--megapixels", str(megapixels),
               "--tile", str(tile), "--overlap", str(overlap), "--channels", str(channels)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    done = child.run_python(command, timeout=timeout, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"tiling benchmark child failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_tiling(sizes: tuple[float, ...] = (1, 4, 12, 24), **options) -> list[dict]:
    """measure_tiled_peak_rss for each size in megapixels (options pass through)."""
    return [measure_tiled_peak_rss(mp, **options) for mp in sizes]


def bench_tile_sizes(megapixels: float, tiles: tuple[int, ...] = (256, 512, 1024), **options) -> list[dict]:
    """measure_tiled_peak_rss of one `megapixels` image at each tile size (overlap and channels pass through)."""
    return [measure_tiled_peak_rss(megapixels, tile=tile, **options) for tile in tiles]


def format_table(rows: list[dict]) -> str:
    header = f"{'MP':>6} {'size':>12} {'seconds':>8} {'peak MiB':>9} {'base MiB':>9} {'growth':>8} {'in+out':>8}"
    lines = [header]
    for r in rows:
        lines.append(f"{r['megapixels']:>6g} {r['width']:>5} x {r['height']:<5}{r['seconds']:>8.1f} "
                     f"{r['peak_rss_mb']:>9.0f} {r['baseline_rss_mb']:>9.0f} {r['growth_mb']:>8.0f} "
                     f"{r['input_output_mb']:>8.0f}")
    return "\n".join(lines)


def image_size(megapixels: float) -> tuple[int, int]:
    """Width and height of a 3:2 picture of about `megapixels`."""
    width = max(1, round(math.sqrt(megapixels * 1e6 * 1.5)))
    return width, max(1, round(megapixels * 1e6 / width))


def _child(megapixels: float, tile: int, overlap: int, channels: int) -> dict:
    import numpy as np
    import torch
    from torch import nn

    from core.tensors import ZERO_ONE
    from core.tiling import run_tiled

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(channels, 3, 3, padding=1), nn.Sigmoid()).eval()
    with torch.inference_mode():  # warm up kernels so their one-off allocations count in the baseline
        net(torch.zeros(1, 3, tile, tile))
    reset_peak()
    baseline = peak_rss_mb()
    width, height = image_size(megapixels)
    image = np.empty((height, width, 3), dtype=np.float32)
    np.random.default_rng(0).random(out=image, dtype=np.float32)
    start = time.perf_counter()
    with torch.inference_mode():
        output = run_tiled(net, image, input_range=ZERO_ONE, output_range=ZERO_ONE, tile=tile, overlap=overlap)
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    return {"megapixels": megapixels, "width": width, "height": height, "seconds": round(seconds, 3),
            "peak_rss_mb": round(peak, 1), "input_output_mb": round((image.nbytes + output.nbytes) / _MIB, 1),
            "baseline_rss_mb": round(baseline, 1), "growth_mb": round(peak - baseline, 1),
            "tile": tile, "overlap": overlap, "channels": channels, "threads": torch.get_num_threads()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help="measure one size in this process")
    parser.add_argument("--megapixels", type=float, nargs="*", default=[1, 4, 12, 24])
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--channels", type=int, default=32)
    args = parser.parse_args(argv)
    options = dict(tile=args.tile, overlap=args.overlap, channels=args.channels)
    if args.child:
        print(json.dumps(_child(args.megapixels[0], **options)))
        return 0
    rows = bench_tiling(tuple(args.megapixels), **options)
    print(format_table(rows))
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
