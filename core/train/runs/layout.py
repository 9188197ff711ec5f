"""The run-folder format: file names, states, preview and checkpoint naming, and the small files (status, STOP).

    run_dir/config.toml        the frozen, complete config
    run_dir/status.json        {"state", "phase", "message", "pid", "step", "total_steps", "updated"}
    run_dir/metrics.jsonl      one JSON object per line: {"kind": "train", ...} or {"kind": "val", ...}
    run_dir/previews/step_XXXXXXXX/{i:02d}_input.png, _output.png, _target.png (no target: zero-reference),
                               and _composite.png for inpainting (the output in the holes: what is measured)
    run_dir/checkpoints/latest.pt, best.pt (torch.save dicts; weights_only loadable), best.safetensors
    run_dir/STOP               created by anyone who wants the run to stop (it saves first)
    run_dir/tensorboard/       event files, only where tensorboardX is installed

States: running | finished | stopped | failed | early_stopped. While running, the phase says what the trainer
is doing (starting, loading data, training, validating) and `step` is rewritten every few seconds. A reader
calls a run whose status says running but whose process is gone INTERRUPTED (never written); the trainer that
resumes such a run keeps {"step", "updated"} of the interrupted chapter in the status's "interrupted" field.
Torch-free: the trainer (through core/train/runfolder.py), the reader and the panel all take the names here.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.errors import RestoraError
from core.fileio import OLD_CHECKPOINT_TEMP_SUFFIX, atomic_write, remove_leftovers
from core.kinds import CHECKPOINT_SUFFIXES

__all__ = ["CHECKPOINT_SUFFIXES"]  # re-exported: the reader lists checkpoints by these suffixes

CONFIG_FILE = "config.toml"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
STOP_FILE = "STOP"
PREVIEWS_DIR = "previews"
CHECKPOINTS_DIR = "checkpoints"
TENSORBOARD_DIR = "tensorboard"

STATES = ("running", "finished", "stopped", "failed", "early_stopped")
FINISHED_STATES = frozenset(STATES) - {"running"}
INTERRUPTED = "interrupted"  # what a reader calls "running" with its process gone (killed, crashed, reboot)

PHASE_STARTING = "starting"  # the process is up, building the model and the datasets
PHASE_LOADING = "loading data"  # waiting for the first batch
PHASE_TRAINING = "training"
PHASE_VALIDATING = "validating"
PHASES = (PHASE_STARTING, PHASE_LOADING, PHASE_TRAINING, PHASE_VALIDATING)
STATUS_EVERY_S = 2.0  # a running trainer rewrites its status (with the current step) at least this often

LATEST = "latest"
BEST = "best"
CHECKPOINT_SUFFIX = ".pt"  # resumable checkpoints (torch.save dicts)
EXPORT_SUFFIX = ".safetensors"  # the best weights, for the model store
LATEST_CHECKPOINT = LATEST + CHECKPOINT_SUFFIX
BEST_CHECKPOINT = BEST + CHECKPOINT_SUFFIX
BEST_EXPORT = BEST + EXPORT_SUFFIX
CHECKPOINT_ORDER = (BEST_EXPORT, BEST_CHECKPOINT, LATEST_CHECKPOINT)  # how a list of checkpoints is sorted

PREVIEW_ROLES = ("input", "output", "composite", "target")
_PREVIEW_STEP = re.compile(r"^step_(\d+)$")
_PREVIEW_FILE = re.compile(r"^(\d+)_(input|output|composite|target)\.png$", re.IGNORECASE)


class RunFolderError(RestoraError):
    """A folder is not a readable training run, or a run folder cannot be written."""


# -- names ----------------------------------------------------------------------------------------


def checkpoint_name(which: str) -> str:
    """'latest' -> 'latest.pt'."""
    return which + CHECKPOINT_SUFFIX


def preview_folder_name(step: int) -> str:
    return f"step_{int(step):08d}"


def preview_relpath(step: int) -> str:
    """The previews folder of a step relative to the run folder, as a val record of metrics.jsonl names it."""
    return f"{PREVIEWS_DIR}/{preview_folder_name(step)}"


def preview_file_name(index: int, role: str) -> str:
    if role not in PREVIEW_ROLES:
        raise ValueError(f"unknown preview role {role!r}")
    return f"{index:02d}_{role}.png"


def preview_step_of(folder_name: str) -> int | None:
    """'step_00000100' -> 100; None for anything else."""
    m = _PREVIEW_STEP.match(folder_name)
    return int(m.group(1)) if m else None


def parse_preview_file(name: str) -> tuple[int, str] | None:
    """'03_output.png' -> (3, 'output'); None for anything else."""
    m = _PREVIEW_FILE.match(name)
    return (int(m.group(1)), m.group(2).lower()) if m else None


def is_checkpoint_file(name: str) -> bool:
    return name.lower().endswith(CHECKPOINT_SUFFIXES) and not name.startswith(".")


def is_run_folder(path: str | Path) -> bool:
    p = Path(path)
    return (p / CONFIG_FILE).is_file() and (p / STATUS_FILE).is_file()


# -- status -----------------------------------------------------------------------------------------


def status_record(state: str, message: str, step: int, total_steps: int, phase: str = "",
                  pid: int | None = None, interrupted: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON object of status.json; raises ValueError for an unknown state or phase."""
    if state not in STATES:
        raise ValueError(f"unknown run state {state!r}")
    if phase and phase not in PHASES:
        raise ValueError(f"unknown run phase {phase!r}")
    record = {"state": state, "phase": phase if state == "running" else "", "message": message,
              "pid": os.getpid() if pid is None else int(pid), "step": int(step), "total_steps": int(total_steps),
              "updated": datetime.now(timezone.utc).isoformat()}
    if interrupted:
        record["interrupted"] = interrupted
    return record


def write_status(run_dir: str | Path, state: str, message: str, step: int, total_steps: int,
                 phase: str = "") -> Path:
    """Replace run_dir/status.json atomically (a reader never sees half of it). The first status of a process
    that finds the last one interrupted records that chapter, and its later statuses keep it; a trainer
    starting in the folder also clears what killed writers left in checkpoints/."""
    previous = read_status(run_dir)
    if phase == PHASE_STARTING:
        clean_leftovers(run_dir)
    record = status_record(state, message, step, total_steps, phase, interrupted=_interrupted_before(previous))
    return atomic_write(Path(run_dir) / STATUS_FILE, (json.dumps(record, indent=1) + "\n").encode("utf-8"))


def _interrupted_before(previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """{"step", "updated"} of an interrupted chapter: carried by this process, or found in the last status."""
    if previous is None:
        return None
    if previous.get("pid") == os.getpid():
        carried = previous.get("interrupted")
        return carried if isinstance(carried, dict) else None
    pid = previous.get("pid")
    if previous.get("state") == "running" and isinstance(pid, int) and pid_alive(pid) is False:
        step = previous.get("step")
        return {"step": step if isinstance(step, int) and not isinstance(step, bool) else 0,
                "updated": str(previous.get("updated") or "")}
    return None


def pid_alive(pid: int | None) -> bool | None:
    """Whether a process with this id exists on this machine; None when that cannot be told."""
    if not pid or pid <= 0 or sys.platform == "win32":  # os.kill(pid, 0) would terminate it on Windows
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return None
    return True


def clean_leftovers(run_dir: str | Path) -> list[Path]:
    """Remove the temporary checkpoint files killed writers left in run_dir/checkpoints (over an hour old)."""
    return remove_leftovers(Path(run_dir) / CHECKPOINTS_DIR, suffixes=(OLD_CHECKPOINT_TEMP_SUFFIX,))


def read_status(run_dir: str | Path) -> dict[str, Any] | None:
    """status.json as a dict; None when it is missing, unreadable or not an object."""
    try:
        data = json.loads((Path(run_dir) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def status_time(updated: str) -> float | None:
    """The 'updated' field of a status as a POSIX time; None when it is empty or not ISO 8601."""
    try:
        moment = datetime.fromisoformat(updated)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


# -- stop requests ----------------------------------------------------------------------------------


def request_stop(run_dir: str | Path) -> Path:
    """Ask the trainer of a run to stop gracefully: it checks for the STOP file between steps."""
    target = Path(run_dir) / STOP_FILE
    try:
        atomic_write(target, (time.strftime("%Y-%m-%dT%H:%M:%S") + " stop requested\n").encode("utf-8"))
    except OSError as e:
        raise RunFolderError(f"Cannot write {target}: {e}") from e
    return target


def stop_requested(run_dir: str | Path) -> bool:
    return (Path(run_dir) / STOP_FILE).exists()


def clear_stop(run_dir: str | Path) -> None:
    (Path(run_dir) / STOP_FILE).unlink(missing_ok=True)
