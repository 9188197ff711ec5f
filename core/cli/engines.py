"""`restora engines`: the registered engines with their parameters."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("engines", help="list engines and their parameters")
    p.add_argument("--task", choices=("lowlight", "inpaint", "face", "general"), help="only this task")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.engines.registry import default_registry

    registry = default_registry()
    engines = registry.list(args.task)
    if not engines:
        print("No engines" + (f" for {args.task}." if args.task else "."))
        return 0
    for engine in engines:
        req = engine.requirements
        needs = ", needs a mask" if req.needs_mask else ""
        print(f"{engine.id}  [{engine.task}{needs}]  {engine.title}")
        if engine.description:
            print(f"    {engine.description}")
        for param in engine.params:
            print(f"    --param {param.describe()}")
    return 0
