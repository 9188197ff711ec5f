"""Time from `python main.py` to a visible window (offscreen), over several fresh processes."""

from __future__ import annotations

import os
import re

from core.benchmarks import child
from core.benchmarks.child import ROOT


def measure_startup(runs: int = 5) -> dict[str, object]:
    env = dict(os.environ, RESTORA_STARTUP_PROBE="1")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    times: list[float] = []
    torch_early = False
    for _ in range(runs):
        done = child.run_python([str(ROOT / "main.py")], timeout=120, env=env)
        match = re.search(r"window visible after ([\d.]+) s \(torch imported: (\w+)\)", done.stdout)
        if not match:
            return {"error": (done.stdout + done.stderr)[-800:]}
        times.append(float(match.group(1)))
        torch_early |= match.group(2) == "True"
    times.sort()
    return {"runs": runs, "median_s": times[len(times) // 2], "min_s": times[0], "max_s": times[-1],
            "torch_imported_before_window": torch_early}
