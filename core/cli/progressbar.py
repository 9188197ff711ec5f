"""A small text progress bar for the command line (stderr; one line per update when not a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, label: str = "", width: int = 30, stream: TextIO | None = None,
                 min_interval: float = 0.1) -> None:
        self.label = label
        self.width = width
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.min_interval = min_interval
        self._last = 0.0
        self._last_text = ""

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        final = total > 0 and done >= total
        if not final and now - self._last < self.min_interval:
            return
        self._last = now
        frac = 0.0 if total <= 0 else min(1.0, done / total)
        filled = int(round(frac * self.width))
        text = f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {frac:4.0%} {message}".rstrip()
        if self.tty:
            self.stream.write("\r" + text.ljust(len(self._last_text)))
        elif text != self._last_text and (final or not self._last_text or frac == 0):
            self.stream.write(text + "\n")
        self._last_text = text
        self.stream.flush()

    def finish(self, message: str = "") -> None:
        if self.tty:
            self.stream.write("\r" + f"{self.label} {message}".ljust(len(self._last_text)) + "\n")
        elif message:
            self.stream.write(f"{self.label} {message}\n")
        self.stream.flush()
