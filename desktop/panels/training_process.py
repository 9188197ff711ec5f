"""The training child process: start it, keep its last lines of output, stop it gently, then firmly."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Mapping, Sequence

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from core.errors import RestoraError
from core.train.runs.layout import request_stop

MAX_LOG_LINES = 500


def describe_exit(exit_code: int, crashed: bool) -> str:
    if crashed:
        return "The training process crashed (killed by a signal or an unhandled fault)."
    if exit_code == 0:
        return "The training process finished (exit code 0)."
    return f"The training process failed with exit code {exit_code}."


class TrainingProcess(QObject):
    """One QProcess at a time; its stdout and stderr merged into a bounded log of lines."""

    output = Signal(list)  # new complete lines
    started = Signal(int)  # pid
    finished = Signal(int, str)  # exit code (-1 for a crash or failure to start), description
    stopping = Signal(str)  # what the stop sequence is doing now

    def __init__(self, parent: QObject | None = None, max_lines: int = MAX_LOG_LINES) -> None:
        super().__init__(parent)
        self.lines: deque[str] = deque(maxlen=max_lines)
        self._process: QProcess | None = None
        self._partial = ""
        self.started_at = 0.0
        self.exit_code: int | None = None
        self.exit_description = ""
        self.stop_grace_ms = 60_000  # time the trainer gets to finish its step and save after STOP
        self.kill_grace_ms = 15_000  # time after SIGTERM before the process is killed
        self._stop_timer = QTimer(self)
        self._stop_timer.setSingleShot(True)
        self._stop_timer.timeout.connect(self._escalate)
        self._stop_stage = 0

    # -- state ----------------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning

    def pid(self) -> int | None:
        if self._process is None:
            return None
        pid = int(self._process.processId())
        return pid or None

    # -- start ----------------------------------------------------------------------------------

    def start(self, program: str, args: Sequence[str], cwd: str | Path | None = None,
              env: Mapping[str, str] | None = None) -> None:
        if self.is_running():
            raise RestoraError("A training process is already running; stop it first.")
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert("PYTHONUNBUFFERED", "1")  # lines arrive as they are printed, not at exit
        environment.insert("PYTHONIOENCODING", "utf-8")
        for key, value in (env or {}).items():
            environment.insert(key, value)
        process.setProcessEnvironment(environment)
        if cwd is not None:
            process.setWorkingDirectory(str(cwd))
        process.readyReadStandardOutput.connect(self._read_output)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        process.started.connect(lambda: self.started.emit(self.pid() or 0))
        self._process = process
        self._partial = ""
        self.exit_code = None
        self.exit_description = ""
        self._stop_stage = 0
        self.started_at = time.time()
        self._append([f"$ {program} {' '.join(args)}"])
        process.start(program, list(args))

    # -- output ---------------------------------------------------------------------------------

    def _read_output(self) -> None:
        sender = self.sender()
        process = sender if isinstance(sender, QProcess) else self._process
        if process is None:
            return
        text = bytes(process.readAllStandardOutput().data()).decode("utf-8", errors="replace")
        self._take_text(text)

    def _take_text(self, text: str, flush: bool = False) -> None:
        text = self._partial + text.replace("\r\n", "\n")
        parts = text.split("\n")
        self._partial = "" if flush else parts.pop()
        # A progress bar redraws one line with carriage returns: keep only its last state.
        lines = [part.rsplit("\r", 1)[-1] for part in parts if part or not flush]
        if lines:
            self._append(lines)

    def _append(self, lines: list[str]) -> None:
        self.lines.extend(lines)
        self.output.emit(lines)

    def log_text(self) -> str:
        return "\n".join(self.lines)

    # -- end ------------------------------------------------------------------------------------

    def _finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        process = self._process
        if process is not None:
            rest = bytes(process.readAllStandardOutput().data()).decode("utf-8", errors="replace")
            self._take_text(rest, flush=True)
        if self._partial:
            self._take_text("", flush=True)
        crashed = exit_status == QProcess.ExitStatus.CrashExit
        self._done(-1 if crashed else int(exit_code), describe_exit(exit_code, crashed))

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            reason = self._process.errorString() if self._process is not None else "unknown error"
            self._done(-1, f"The training process could not start: {reason}.")

    def _done(self, exit_code: int, description: str) -> None:
        if self.exit_code is not None and self._process is None:
            return
        self._stop_timer.stop()
        self.exit_code = exit_code
        self.exit_description = description
        self._append([f"[{description}]"])
        if self._process is not None:
            self._process.deleteLater()
        self._process = None
        self.finished.emit(exit_code, description)

    # -- stop -----------------------------------------------------------------------------------

    def stop(self, run_dir: str | Path | None = None) -> None:
        """Write STOP into the run folder, then terminate after stop_grace_ms, then kill after kill_grace_ms."""
        if not self.is_running():
            return
        if run_dir is not None:
            try:
                request_stop(run_dir)
                self._stop_stage = 1
                self.stopping.emit("Asked the trainer to stop (STOP file written); waiting for it to save…")
                self._stop_timer.start(self.stop_grace_ms)
                return
            except RestoraError as e:
                self.stopping.emit(f"{e} Terminating instead.")
        self._stop_stage = 1
        self._escalate()

    def _escalate(self) -> None:
        if not self.is_running() or self._process is None:
            return
        if self._stop_stage <= 1:
            self._stop_stage = 2
            self.stopping.emit("The trainer did not stop in time; sent it a terminate request.")
            self._process.terminate()
            self._stop_timer.start(self.kill_grace_ms)
        else:
            self.stopping.emit("The trainer ignored the terminate request; killed it.")
            self._process.kill()

    def kill(self) -> None:
        if self.is_running() and self._process is not None:
            self._process.kill()

    def shutdown(self, run_dir: str | Path | None = None, wait_ms: int = 3000) -> None:
        """On closing the app: ask to stop, give the trainer a moment, and never leave it orphaned and unkillable."""
        if not self.is_running() or self._process is None:
            return
        if run_dir is not None:
            try:
                request_stop(run_dir)
            except RestoraError:
                pass
        self._process.terminate()
        if not self._process.waitForFinished(wait_ms):
            self._process.kill()
            self._process.waitForFinished(1000)
