"""`restora bench`: speed and memory figures, printed as a table and written as JSON.

`restora bench [--quick]` measures the whole machine (core.benchmarks.suite); `restora bench startup|engine|
tiling|cancel` measures one thing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure speed and memory (prints a table, writes JSON)",
                       description="With no sub-command: the whole machine (start-up, opening a photo, every "
                                   "engine by size, device and precision, the restore command, tiling, GUI stalls, "
                                   "training speed). --quick takes about three minutes on a small CPU.")
    p.add_argument("what", nargs="?", choices=("startup", "engine", "tiling", "cancel"),
                   help="measure only this (default: everything)")
    p.add_argument("--quick", action="store_true", help="fewer sizes and runs (about three minutes)")
    p.add_argument("--only", action="append", default=[], metavar="SECTION",
                   help="whole-machine sections to run: startup, open, engines, restore, tiling, gui, training")
    p.add_argument("--preset", action="append", default=[], help="training presets to measure (default: all)")
    p.add_argument("--sizes", type=float, action="append", default=[], help=argparse.SUPPRESS)  # tests: tiny photos
    p.add_argument("--crop", type=int, help=argparse.SUPPRESS)  # tests: tiny training crops
    p.add_argument("--engine", action="append", default=[], help="engine id(s), for `bench engine`")
    p.add_argument("--megapixels", type=float, action="append", default=[], help="photo sizes (default 12)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--device", help="cpu, cuda, mps (default: auto)")
    p.add_argument("--runs", type=int, help="repetitions (default: 5 for `bench startup`; the plan's otherwise)")
    p.add_argument("--after", type=float, action="append", default=[],
                   help="seconds into the run to cancel, for `bench cancel` (default 1)")
    p.add_argument("--gaps", action="store_true", help="`bench cancel`: also time one full run's longest "
                   "stretch without a cancel check")
    p.add_argument("--json", dest="json_path", help="where to write the JSON (default: bench-results/WHAT.json, "
                   "or bench-results/bench-DATE.json for the whole machine)")
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


def run_machine(args: argparse.Namespace) -> int:
    """Every section of the quick or full plan: the table printed, the JSON written."""
    from datetime import datetime

    from core.benchmarks.report import format_results
    from core.benchmarks.suite import SECTIONS, Plan, run_suite

    sections = tuple(s.strip() for part in args.only for s in part.split(",") if s.strip())
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        print(f"restora: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
        return 2
    plan = Plan.make(args.quick, sizes=tuple(args.sizes), sections=sections, engines=tuple(args.engine),
                     presets=tuple(args.preset), devices=(args.device,) if args.device else (), crop=args.crop,
                     runs=args.runs)
    results = run_suite(plan, echo=lambda line: print(line, flush=True))
    print()
    print(format_results(results))
    target = Path(args.json_path or Path("bench-results") / f"bench-{datetime.now():%Y-%m-%d-%H%M}.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nwritten to {target}")
    return 1 if any(isinstance(v, dict) and set(v) == {"error"} for v in results["sections"].values()) else 0


def run(args: argparse.Namespace) -> int:
    from core.params import parse_params

    if args.what is None:
        return run_machine(args)
    sizes = args.megapixels or [12.0]
    rows: list[dict[str, Any]]
    if args.what == "startup":
        from core.benchmarks.startup import measure_startup

        rows = [measure_startup(args.runs or 5)]
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
