"""QApplication + qasync event loop, start-up and the window's first paint."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from desktop.startup import seconds_since_process_start

STYLE_SHEET = Path(__file__).resolve().parent.parent / "resources" / "dark.qss"


def create_app(argv: Sequence[str] = ()) -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(["restora", *argv])
    app.setApplicationName("Restora")
    app.setOrganizationName("Restora")
    app.setStyle("Fusion")
    if STYLE_SHEET.exists():
        app.setStyleSheet(STYLE_SHEET.read_text(encoding="utf-8"))
    return app


def run_app(paths: Sequence[str] = ()) -> int:
    """Open the main window (with any photos given) and run the event loop until it closes."""
    import qasync

    from desktop.window import MainWindow

    app = create_app()
    window = MainWindow()
    if os.environ.get("RESTORA_STARTUP_PROBE"):
        # Report when the first frame has been painted, then quit: used by `bench startup` and the README.
        def report() -> None:
            print(f"window visible after {seconds_since_process_start():.3f} s "
                  f"(torch imported: {'torch' in sys.modules})", flush=True)
            QTimer.singleShot(0, app.quit)
        window.first_paint.connect(report)
    window.show()
    for path in paths:
        QTimer.singleShot(0, lambda p=path: window.open_path(p))
    # After the first frame, never before; one turn of the event loop later, so a photo given on the command
    # line has started loading and the services can wait for it.
    window.first_paint.connect(lambda: QTimer.singleShot(0, window.start_background_services))

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    return 0
