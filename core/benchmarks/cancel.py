"""How fast an engine stops when cancelled, on a generated photo of N megapixels, in a fresh process.

The engine runs in a thread; after `after` seconds the main thread calls `cancel()` and measures the
seconds until the run raises CancelledError (the latency a user waits after pressing Cancel). With
`gaps`, one full uncancelled run also records when the engine checked its token, and reports the longest
stretch without a check (the worst latency wherever a cancel lands) and the step it was in.

`python -m core.benchmarks.cancel --engine ID --megapixels 24 --after 1` prints one JSON object per line.
Learned engines without weights (lowlight.zero_dce ships none) get seeded random ones: timing does not
depend on what the weights are.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from core.benchmarks.engine import run_child, synthetic_photo_pixels
from core.benchmarks.subjects import make_engine
from core.jobs import CancelToken


class TimedToken(CancelToken):
    """A CancelToken that remembers when, and from which line, it was checked (from any thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.checks: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def raise_if_cancelled(self) -> None:
        caller = sys._getframe(1)
        where = f"{Path(caller.f_code.co_filename).stem}:{caller.f_lineno}"
        with self._lock:
            self.checks.append((time.perf_counter(), where))
        super().raise_if_cancelled()


def cancel_latency(engine: Any, photo: Any, params: dict[str, str], after: float,
                   mask: Any = None) -> dict[str, Any]:
    """Run `engine` on `photo` in a thread, cancel after `after` seconds, time the stop."""
    from core.engines.request import EngineRequest
    from core.errors import CancelledError

    token = CancelToken()
    stage = {"message": ""}
    outcome: dict[str, Any] = {}

    def progress(done: int, total: int, message: str = "") -> None:
        stage["message"] = message

    def work() -> None:
        try:
            outcome["result"] = engine.run(EngineRequest(photo, mask, params=params, progress=progress,
                                                         cancel=token))
        except CancelledError:
            outcome["cancelled_at"] = time.perf_counter()
        except Exception as e:  # noqa: BLE001 (reported, not hidden)
            outcome["error"] = f"{type(e).__name__}: {e}"
        outcome["ended_at"] = time.perf_counter()

    thread = threading.Thread(target=work, daemon=True)
    start = time.perf_counter()
    thread.start()
    thread.join(after)
    cancelled_at = time.perf_counter()
    token.cancel()
    step = stage["message"]
    thread.join()
    row: dict[str, Any] = {"after_s": after, "step_at_cancel": step}
    if "error" in outcome:
        row["error"] = outcome["error"]
    elif "cancelled_at" in outcome:
        row["latency_s"] = round(outcome["cancelled_at"] - cancelled_at, 3)
    else:
        row["latency_s"] = None
        row["finished_before_cancel_s"] = round(outcome["ended_at"] - start, 3)
    return row


def check_gaps(engine: Any, photo: Any, params: dict[str, str], mask: Any = None) -> dict[str, Any]:
    """One full run with a TimedToken: its length and the longest stretch without a cancel check."""
    from core.engines.request import EngineRequest

    token = TimedToken()
    marks: list[tuple[float, str]] = []

    def progress(done: int, total: int, message: str = "") -> None:
        marks.append((time.perf_counter(), message))

    start = time.perf_counter()
    engine.run(EngineRequest(photo, mask, params=params, progress=progress, cancel=token))
    end = time.perf_counter()
    checks = [(start, "start"), *sorted(token.checks), (end, "end")]
    gap, (at, since), (_, until) = max((b[0] - a[0], a, b) for a, b in zip(checks[:-1], checks[1:]))
    step = next((m for t, m in reversed(marks) if t <= at), "")
    return {"run_s": round(end - start, 3), "checks": len(token.checks), "max_check_gap_s": round(gap, 3),
            "gap_step": step, "gap_starts_at_s": round(at - start, 3), "gap_between": f"{since} > {until}"}


def measure_in_this_process(engine_id: str, megapixels: float, device: str | None, params: dict[str, str],
                            afters: list[float], gaps: bool) -> list[dict[str, Any]]:
    from core.photo import Photo

    with tempfile.TemporaryDirectory() as folder:
        engine, random_weights = make_engine(engine_id, device, Path(folder))
        from core.benchmarks.masks import object_masks
        from core.engines.request import EngineRequest

        def masked(mp: float) -> tuple[Photo, Any]:  # inpainting engines get three object-sized holes
            rgb = synthetic_photo_pixels(mp, dark=engine.task == "lowlight")
            return Photo(rgb=rgb), (object_masks(*rgb.shape[:2]) if engine.requirements.needs_mask else None)

        warm, warm_mask = masked(0.05)
        engine.run(EngineRequest(warm, warm_mask, params=params))  # loads weights, warms caches
        photo, mask = masked(megapixels)
        base = {"engine": engine_id, "megapixels": round(photo.width * photo.height / 1e6, 2),
                "device": str(device or "auto")}
        if random_weights:
            base["weights"] = "random"
        rows = [{**base, **cancel_latency(engine, photo, params, after, mask)} for after in afters]
        if gaps:
            profile = check_gaps(engine, photo, params, mask)
            for row in rows:
                row.update(profile)
    return rows


def measure(engine_id: str, megapixels: float, *, afters: list[float] | None = None, gaps: bool = False,
            device: str | None = None, params: dict[str, str] | None = None,
            timeout: float = 1800) -> list[dict[str, Any]]:
    """measure_in_this_process in a child process; one row per cancel delay."""
    extra: list[str] = []
    for after in afters or [1.0]:
        extra += ["--after", str(after)]
    if gaps:
        extra.append("--gaps")
    result = run_child("core.benchmarks.cancel", engine_id, megapixels, extra, device, params, timeout)
    return [result] if isinstance(result, dict) else list(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True)
    parser.add_argument("--megapixels", type=float, default=24)
    parser.add_argument("--after", type=float, action="append", default=[])
    parser.add_argument("--gaps", action="store_true")
    parser.add_argument("--device")
    parser.add_argument("--param", action="append", default=[])
    args = parser.parse_args(argv)
    from core.params import parse_params

    rows = measure_in_this_process(args.engine, args.megapixels, args.device, parse_params(args.param),
                                   args.after or [1.0], args.gaps)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
