"""Restora's command line: `python main.py <command>` (or `restora <command>`)."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Callable, Sequence

from core.errors import RestoraError

# command name -> module under core.cli that defines add_parser(subparsers) and run(args) -> int
COMMANDS: dict[str, str] = {
    "info": "core.cli.info",
    "engines": "core.cli.engines",
    "restore": "core.cli.restore",
    "bench": "core.cli.bench",
    "models": "core.cli.models",
    "eval": "core.cli.eval",
    "train": "core.cli.train",
}


def command_names() -> list[str]:
    return list(COMMANDS)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="restora", description="Restora photo-restoration studio. "
                                     "Without a command, opens the window (optionally with photos).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # spandrel's architectures call torch.jit.script at import, which newer torch flags as deprecated; the
    # warning says nothing to a Restora user.
    warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not args.command:
        parser.print_help()
        return 0
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return int(run(args) or 0)
    except RestoraError as e:
        print(f"restora: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("restora: interrupted", file=sys.stderr)
        return 130
