"""Restora's entry point: `python main.py` opens the window; `python main.py <command>` is the CLI."""

from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from core.cli import command_names

    if args and (args[0] in command_names() or args[0] in ("-h", "--help")):
        from core.cli import main as cli_main

        return cli_main(args)
    # Anything else (nothing, or photo paths) opens the window; torch is imported only after it shows.
    from desktop.app import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
