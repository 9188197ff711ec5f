"""`restora eval lowlight`: score low-light engines side by side on paired, unpaired or synthetic data."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.errors import RestoraError


class EvalArgumentError(RestoraError, ValueError):
    pass


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score engines on a folder of photos and print a table")
    tasks = p.add_subparsers(dest="eval_task", metavar="TASK", required=True)
    low = tasks.add_parser("lowlight", help="low-light engines: PSNR/SSIM on pairs, or no-reference figures")
    low.add_argument("--engine", action="append", required=True, metavar="ID", dest="engines",
                     help="engine id to evaluate (repeat for several), e.g. lowlight.clahe; ID@WEIGHTS runs a "
                          "learned engine with another weight file, e.g. lowlight.zero_dce_pp@run/checkpoints/"
                          "best.safetensors, so a training run can be compared with the defaults")
    source = low.add_mutually_exclusive_group(required=True)
    source.add_argument("--pairs", metavar="DIR", type=Path, help="folder with low/ and high/ (same file names)")
    source.add_argument("--unpaired", metavar="DIR", type=Path, help="folder of dark photos (no references)")
    source.add_argument("--synthetic", metavar="DIR", type=Path,
                        help="folder of well-exposed photos; dark versions are made on the fly")
    low.add_argument("--seed", type=int, default=0, help="seed of the synthetic darkening (default 0)")
    low.add_argument("--param", action="append", default=[], metavar="ID:NAME=VALUE",
                     help="an engine parameter, e.g. lowlight.clahe:clip_limit=3 (repeatable)")
    low.add_argument("--max-side", type=int, default=None, metavar="PX",
                     help="shrink photos so the long side is at most PX before evaluating")
    low.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: the saved setting)")
    low.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the full report as JSON")
    low.set_defaults(run=run)
    add_inpaint_parser(tasks)


def add_inpaint_parser(tasks: argparse._SubParsersAction) -> None:
    """`restora eval inpaint`: fill engines side by side on seeded holes of six sizes."""
    inp = tasks.add_parser("inpaint", help="inpainting engines: PSNR/SSIM/texture per hole size (0-10%% ... 50-60%%)")
    inp.add_argument("--engine", action="append", required=True, metavar="ID", dest="engines",
                     help="engine id to evaluate (repeat for several), e.g. inpaint.auto")
    inp.add_argument("--photos", metavar="DIR", type=Path, required=True,
                     help="folder of intact photos; the holes are made on the fly")
    inp.add_argument("--seed", type=int, default=0, help="seed of the holes (default 0)")
    inp.add_argument("--limit", type=int, default=None, metavar="N",
                     help="use N photos spread evenly over the folder (default: all)")
    inp.add_argument("--max-side", type=int, default=512, metavar="PX",
                     help="shrink photos so the long side is at most PX (default 512)")
    inp.add_argument("--param", action="append", default=[], metavar="ID:NAME=VALUE",
                     help="an engine parameter, e.g. inpaint.patchmatch:patch=5 (repeatable)")
    inp.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: the saved setting)")
    inp.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the full report as JSON")
    inp.set_defaults(run=run_inpaint)


def run_inpaint(args: argparse.Namespace, registry: Any = None) -> int:
    from core.evaluation import inpaint as ev

    report = ev.evaluate_inpaint(args.engines, args.photos, seed=args.seed, working_side=args.max_side,
                                 limit=args.limit, registry=registry, device=args.device,
                                 params=parse_params(args.param), progress=_progress)
    _print_report(ev.format_table(report), report.to_dict(), args.json)
    return 1 if any(row.error for row in report.rows) else 0


def _progress(done: int, total: int, message: str = "") -> None:
    """One updating line on stderr."""
    print(f"\r[{done}/{total}] {message[:60]:<60}", end="", file=sys.stderr, flush=True)


def _print_report(table: str, report: dict[str, Any], json_path: Path | None) -> None:
    """End the progress line, print the table, and write the full report as JSON when asked."""
    from core.imageio import write_atomic

    print(file=sys.stderr)
    print(table)
    if json_path is not None:
        write_atomic(json_path, (json.dumps(report, indent=2) + "\n").encode("utf-8"))
        print(f"Report written to {json_path}")


def parse_params(items: list[str]) -> dict[str, dict[str, Any]]:
    """['lowlight.clahe:clip_limit=3'] -> {'lowlight.clahe': {'clip_limit': '3'}} (engines coerce the text)."""
    params: dict[str, dict[str, Any]] = {}
    for item in items:
        engine, sep, assignment = item.partition(":")
        name, eq, value = assignment.partition("=")
        if not sep or not eq or not engine or not name:
            raise EvalArgumentError(f"--param {item!r}: write it as ENGINE_ID:NAME=VALUE")
        params.setdefault(engine, {})[name] = value
    return params


def engines_with_weights(specs: list[str], registry: Any, device: Any) -> dict[str, Any]:
    """Engines for the 'ID@WEIGHTS' specs, keyed by the spec: a learned engine reading another weight file."""
    from core.engines.lowlight.learned import LearnedLowLightEngine
    from core.engines.registry import UnknownEngineError

    built: dict[str, Any] = {}
    for spec in specs:
        engine_id, at, weights = spec.partition("@")
        if not at:
            continue
        if not engine_id or not weights:
            raise EvalArgumentError(f"--engine {spec!r}: write it as ENGINE_ID@WEIGHT_FILE")
        try:
            listed = registry.get(engine_id)
        except UnknownEngineError as e:
            raise EvalArgumentError(str(e)) from None
        if not isinstance(listed, LearnedLowLightEngine):
            raise EvalArgumentError(f"--engine {spec!r}: {engine_id} has no weight file to replace.")
        path = Path(weights).expanduser()
        if not path.is_file():
            raise EvalArgumentError(f"--engine {spec!r}: there is no weight file at {path}.")
        built[spec] = type(listed)(device=device, weights=path)
    return built


def run(args: argparse.Namespace, registry: Any = None) -> int:
    from core.evaluation import lowlight as ev

    if registry is None and any("@" in spec for spec in args.engines):
        from core.engines.registry import default_registry

        registry = default_registry()
    common: dict[str, Any] = dict(registry=registry, device=args.device, params=parse_params(args.param),
                                  max_side=args.max_side, progress=_progress,
                                  engines=engines_with_weights(args.engines, registry, args.device))
    if args.pairs is not None:
        report = ev.evaluate_pairs(args.engines, args.pairs, **common)
    elif args.unpaired is not None:
        report = ev.evaluate_unpaired(args.engines, args.unpaired, **common)
    else:
        report = ev.evaluate_synthetic(args.engines, args.synthetic, seed=args.seed, **common)
    _print_report(ev.format_table(report), report.to_dict(), args.json)
    return 1 if any(row.error for row in report.engines) else 0
