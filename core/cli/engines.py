"""`restora engines`: the registered engines with their parameters; each task's one-click default is marked
"(default)" on its line."""

from __future__ import annotations

import argparse
import sys

from core.kinds import TASKS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("engines", help="list engines and their parameters")
    p.add_argument("--task", choices=TASKS, help="only this task")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.engines.registry import default_registry

    registry = default_registry()
    engines = registry.list(args.task)
    for note in registry.notes:
        print(f"restora: {note}", file=sys.stderr)
    if not engines:
        print("No engines" + (f" for {args.task}." if args.task else "."))
        return 0
    unavailable = [e for e in engines if e.unavailable()]
    defaults = {id(d) for t in TASKS if (d := registry.default(t)) is not None}
    for engine in engines:
        if engine in unavailable:
            continue
        req = engine.requirements
        needs = ", needs a mask" if req.needs_mask else ""
        mark = "  (default)" if id(engine) in defaults else ""
        print(f"{engine.id}  [{engine.task}{needs}]  {engine.title}{mark}")
        if engine.description:
            print(f"    {engine.description}")
        for param in engine.params:
            print(f"    --param {param.describe()}")
    if unavailable:
        print("\nNot available yet:")
        for engine in unavailable:
            print(f"{engine.id}  [{engine.task}]  {engine.title}: {engine.unavailable()}")
    return 0
