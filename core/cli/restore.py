"""`restora restore`: batch restoration of files and folders, continuing past bad files.

Exit status: 0 every photo done; 1 some photos failed, or the batch was refused because results would
collide or replace an input (all listed at the end); 2 the command line is wrong (unknown engine, bad
parameter or option, unusable --out); 130 cancelled or interrupted (Ctrl-C, or SIGTERM from a job
scheduler) — whatever was written is complete, and a re-run with --skip-done does the rest.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from core.batch import BatchFailure, BatchItem, BatchListener, ItemOutcome
from core.cli.progressbar import ProgressBar
from core.errors import RestoraError
from core.params import parse_params


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("restore", help="run an engine on photos or folders of photos",
                       description="Run one engine on every input; bad files are listed at the end "
                                   "and make the exit status non-zero. Originals are never overwritten.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="photo files or folders")
    p.add_argument("--engine", required=True, help="engine id (see `restora engines`)")
    p.add_argument("--mask", help="mask file for every input, or a folder of masks named like the inputs "
                                  "(NAME.* or NAME_mask.*); without it, NAME_mask.* beside each photo is used")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="engine parameter")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--format", choices=("same", "png", "jpg", "tif", "webp"), default="same",
                   help="output format (default: same as the input)")
    p.add_argument("--suffix", default="", help="added to each output name, e.g. _restored")
    p.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality")
    p.add_argument("--overwrite", action="store_true",
                   help="replace results left in --out by an earlier run (never an input photo or mask)")
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: auto)")
    p.add_argument("--recursive", action="store_true",
                   help="look into subfolders of input folders; the results keep the subfolder structure")
    p.add_argument("--shard", metavar="I/N",
                   help="do only share I of N (0 <= I < N) of the photos, e.g. "
                        "--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT; every machine given the same "
                        "inputs takes a different share")
    p.add_argument("--skip-done", action=argparse.BooleanOptionalAction, default=None,
                   help="skip photos whose result already exists (results are written atomically, so an "
                        "existing one is complete); on by default with --shard, off otherwise")
    p.set_defaults(run=run)


def resolve_skip_done(skip_done: bool | None, sharded: bool, overwrite: bool) -> bool:
    """--skip-done as given, else on for a sharded run (a re-run after a lost node does only what is left)
    unless --overwrite asks to replace earlier results."""
    if skip_done and overwrite:
        raise RestoraError("--skip-done keeps earlier results and --overwrite replaces them: choose one.")
    if skip_done is None:
        return sharded and not overwrite
    return skip_done


@contextmanager
def _stop_on_signals(cancel: Any) -> Iterator[None]:
    """Ctrl-C or SIGTERM cancel the batch (it stops inside the current photo, writing nothing partial);
    a second Ctrl-C interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: Any) -> None:
        if cancel.cancelled and signum == signal.SIGINT:
            raise KeyboardInterrupt
        cancel.cancel("Stopped by a signal." if signum != signal.SIGINT else "Interrupted.")
        print("\nrestora: stopping after the current step (Ctrl-C again to stop at once)", file=sys.stderr)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class _Lines(BatchListener):
    """One progress line per photo: `[3/40] day1/IMG_0003.jpg [####....] 40%`, then what became of it."""

    def __init__(self) -> None:
        self._bars: dict[int, ProgressBar] = {}

    def item_started(self, item: BatchItem, position: int, count: int) -> ProgressBar:
        bar = ProgressBar(f"[{position + 1}/{count}] {item.name}")
        self._bars[item.index] = bar
        return bar

    def item_finished(self, item: BatchItem, outcome: ItemOutcome) -> None:
        bar = self._bars.pop(item.index, None)
        if bar is not None:
            bar.finish(outcome.detail if outcome.status in ("written", "skipped") else outcome.status)


def _print_failures(failures: list[BatchFailure]) -> None:
    print(f"{len(failures)} input(s) failed:", file=sys.stderr)
    for failure in failures:
        print(f"  {failure.path or failure.name}: {failure.reason}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from core.batch import Shard, parse_shard, plan_batch, run_batch
    from core.engines.registry import registry_for
    from core.jobs import CancelToken

    registry = registry_for(args.engine)
    params = registry.get(args.engine).resolve_params(parse_params(args.param))  # bad parameters fail before any work
    if not 1 <= args.quality <= 100:
        raise RestoraError(f"--quality must be between 1 and 100, not {args.quality}.")
    shard = parse_shard(args.shard) if args.shard else Shard()
    skip_done = resolve_skip_done(args.skip_done, args.shard is not None, args.overwrite)
    plan = plan_batch(args.inputs, args.out, fmt=args.format, suffix=args.suffix, recursive=args.recursive,
                      mask=args.mask)
    if not plan.items and not plan.problems:
        raise RestoraError("no photos found in the inputs")
    if plan.conflicts:
        print(f"restora: nothing was done: {len(plan.conflicts)} result(s) would replace an input or another "
              f"result:", file=sys.stderr)
        for message in plan.conflicts:
            print(f"  {message}", file=sys.stderr)
        return 1
    try:
        engine = registry.create(args.engine, device=args.device)
    except RestoraError:
        raise
    except Exception as e:  # a bad --device, say: one line, not a traceback
        raise RestoraError(f"{args.engine} could not be started on {args.device or 'the default device'}: "
                           f"{e}") from e
    cancel = CancelToken()
    listener = _Lines()
    with _stop_on_signals(cancel):
        try:
            report = run_batch(plan, engine, params, shard=shard, skip_done=skip_done, overwrite=args.overwrite,
                               quality=args.quality, cancel=cancel, listener=listener)
        except KeyboardInterrupt:
            print("restora: interrupted; every result written is complete (re-run with --skip-done to go on).",
                  file=sys.stderr)
            return 130
    print(f"{report.summary()}. Results are in {plan.out_dir}.")
    if report.failures:
        _print_failures(report.failures)
    if report.cancelled:
        print("restora: cancelled; every result written is complete (re-run with --skip-done to go on).",
              file=sys.stderr)
        return 130
    return 1 if report.failures else 0
