"""`restora models`: list, import, remove and download checkpoints in the model store."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

ACTIONS = ("list", "import", "remove", "download", "catalog")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list, import, remove and download models in the model store",
                       description="Manage the model store: community checkpoints (.pth, .pt, .ckpt, .safetensors) "
                                   "imported or downloaded, identified by Restora's own architectures or spandrel.")
    actions = p.add_subparsers(dest="models_action", metavar="ACTION")
    actions.add_parser("list", help="the models in the store")
    imp = actions.add_parser("import", help="copy checkpoint files into the store")
    imp.add_argument("files", nargs="+", metavar="FILE", type=Path)
    imp.add_argument("--name", help="the model's name (with several files: a prefix, numbered)")
    imp.add_argument("--license", default="", metavar="TEXT", help="a licence note to keep with the model")
    rm = actions.add_parser("remove", help="delete a model from the store")
    rm.add_argument("name", metavar="NAME")
    dl = actions.add_parser("download", help="download a catalog model (resumable, checksum-verified)")
    dl.add_argument("catalog_id", metavar="CATALOG_ID")
    actions.add_parser("catalog", help="the models `download` knows")
    p.set_defaults(run=run, models_parser=p)


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "models_action", None)
    if action is None:
        args.models_parser.print_help()
        return 0
    from core.store import ModelStore

    store = ModelStore()
    for problem in store.problems:
        print(f"restora: model store: {problem}", file=sys.stderr)
    if action == "list":
        return _list(store)
    if action == "import":
        return _import(store, args.files, args.name, args.license)
    if action == "remove":
        store.remove(args.name)
        print(f"Removed {args.name}.")
        return 0
    if action == "download":
        return _download(store, args.catalog_id)
    return _catalog()


def _table(rows: list[list[str]], header: list[str], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip(), file=out)


def _list(store) -> int:
    entries = store.list()
    if not entries:
        print(f"The model store ({store.root}) is empty. Add models with `restora models import FILE` or "
              f"`restora models download ID` (see `restora models catalog`).")
        return 0
    rows = [[e.name, e.task, e.architecture, f"{e.scale}x", f"{e.size_mb:.1f}", e.license or "-"] for e in entries]
    _table(rows, ["NAME", "TASK", "ARCHITECTURE", "SCALE", "SIZE MB", "LICENSE"])
    return 0


def _import(store, files: list[Path], name: str | None, license_note: str) -> int:
    from core.errors import RestoraError

    failed = 0
    for i, file in enumerate(files):
        wanted = name if name is None or len(files) == 1 else f"{name}-{i + 1}"
        try:
            entry = store.import_file(file, wanted, license_note=license_note)
        except RestoraError as e:
            failed += 1
            print(f"restora: {file}: {e}", file=sys.stderr)
            continue
        except Exception as e:  # noqa: BLE001  (one bad file never stops the others)
            failed += 1
            print(f"restora: {file}: cannot be imported ({type(e).__name__}: {e}).", file=sys.stderr)
            continue
        scale = f", {entry.scale}x" if entry.scale != 1 else ""
        print(f"Imported {file.name} as {entry.name}: {entry.architecture}, {entry.task}{scale}, "
              f"{entry.parameters / 1e6:.2f} M parameters.")
        for note in entry.notes:
            print(f"  note: {note}")
    if failed:
        print(f"restora: {failed} of {len(files)} file(s) could not be imported.", file=sys.stderr)
    return 1 if failed else 0


def _catalog() -> int:
    from core.store.catalog import assets, catalog

    rows = [[c.id, c.task, c.architecture, f"{c.size / 1e6:.1f}" if c.size else "?",
             "yes" if c.sha256 else "no", c.license] for c in [*catalog(), *assets()]]
    _table(rows, ["ID", "TASK", "ARCHITECTURE", "SIZE MB", "SHA-256", "LICENSE"])
    return 0


class _Bar:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, label: str, out: TextIO | None = None) -> None:
        self.label, self.out, self._last = label, out or sys.stderr, 0.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and done != total:
            return
        self._last = now
        if total > 0:
            frac = min(1.0, done / total)
            bar = "#" * int(frac * 30)
            line = f"{self.label} [{bar:<30}] {frac:4.0%} {done / 1e6:.1f}/{total / 1e6:.1f} MB"
        else:
            line = f"{self.label} {done / 1e6:.1f} MB"
        self.out.write("\r" + line)
        self.out.flush()

    def end(self) -> None:
        self.out.write("\n")
        self.out.flush()


def _download(store, catalog_id: str) -> int:
    from core.errors import CancelledError
    from core.jobs import CancelToken
    from core.store.catalog import assets, catalog_entry, fetch_asset

    asset = next((a for a in assets() if a.id == catalog_id), None)
    item = asset or catalog_entry(catalog_id)
    bar = _Bar(item.filename)
    token = CancelToken()
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            if asset is not None:  # a detector file, not a network: it goes beside the store's models
                outcome["asset"] = fetch_asset(asset, store.root, progress=bar, cancel=token)
            else:
                outcome["entry"] = store.download(catalog_id, progress=bar, cancel=token)
        except BaseException as e:  # noqa: BLE001  (handed to the main thread)
            outcome["error"] = e

    # The download runs in a thread so that Ctrl+C reaches the main thread, which cancels it cleanly.
    worker = threading.Thread(target=work, name="restora-download", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        token.cancel("Download cancelled; run the same command again to resume it.")
        worker.join()
    bar.end()
    error = outcome.get("error")
    if isinstance(error, CancelledError):
        print(f"restora: {error}", file=sys.stderr)
        return 130
    if isinstance(error, BaseException):
        raise error  # RestoraErrors are printed by core.cli.main
    if "asset" in outcome:
        print(f"Downloaded {item.name} to {outcome['asset']}; the face engine uses it from now on.")
        return 0
    entry = outcome["entry"]
    print(f"Downloaded {item.name} as {entry.name} ({entry.architecture}, {entry.task}); "  # type: ignore[attr-defined]
          f"SHA-256 {entry.sha256}.")  # type: ignore[attr-defined]
    if not item.sha256:
        print("No published checksum exists for this file: only its size/completeness was checked. The SHA-256 "
              "above is recorded in the store.")
    return 0
