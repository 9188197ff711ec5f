"""`restora bench`: speed and memory figures, printed as a table and written as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure speed and memory (prints a table, writes JSON)")
    p.add_argument("what", choices=("startup", "engine", "tiling", "cancel"), help="what to measure")
    p.add_argument("--engine", action="append", default=[], help="engine id(s), for `bench engine`")
    p.add_argument("--megapixels", type=float, action="append", default=[], help="photo sizes (default 12)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--device", help="cpu, cuda, mps (default: auto)")
    p.add_argument("--runs", type=int, default=5, help="repetitions, for `bench startup`")
    p.add_argument("--after", type=float, action="append", default=[],
                   help="seconds into the run to cancel, for `bench cancel` (default 1)")
    p.add_argument("--gaps", action="store_true", help="`bench cancel`: also time one full run's longest "
                   "stretch without a cancel check")
    p.add_argument("--json", dest="json_path", help="where to write the JSON (default: bench-results/WHAT.json)")
    p.set_defaults(run=run)


def print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = [k for k in rows[0] if not isinstance(rows[0][k], (list, dict))]
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(str(r.get(k, "")).ljust(widths[k]) for k in keys))
        if "error" in r:
            print(f"  error: {r['error']}")


def run(args: argparse.Namespace) -> int:
    from core.params import parse_params

    sizes = args.megapixels or [12.0]
    rows: list[dict[str, Any]]
    if args.what == "startup":
        from core.benchmarks.startup import measure_startup

        rows = [measure_startup(args.runs)]
    elif args.what == "tiling":
        from core.benchmarks.tiling import bench_tiling

        rows = bench_tiling(tuple(args.megapixels or (1, 4, 12, 24)))
    elif args.what == "cancel":
        from core.benchmarks.cancel import measure as measure_cancel

        if not args.engine:
            print("restora: bench cancel needs --engine ID")
            return 2
        params = parse_params(args.param)
        rows = [row for e in args.engine for mp in (args.megapixels or [24.0])
                for row in measure_cancel(e, mp, afters=args.after, gaps=args.gaps, device=args.device,
                                          params=params)]
    else:
        from core.benchmarks.engine import measure

        if not args.engine:
            print("restora: bench engine needs --engine ID")
            return 2
        params = parse_params(args.param)
        rows = [measure(e, mp, device=args.device, params=params) for e in args.engine for mp in sizes]
    print_table(rows)
    target = Path(args.json_path or Path("bench-results") / f"{args.what}.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    print(f"\nwritten to {target}")
    return 1 if any("error" in r for r in rows) else 0
