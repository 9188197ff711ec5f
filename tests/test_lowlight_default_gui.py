"""The restore panel and the batch dialog start from each task's one-click default (the registry's), not
from whichever engine happens to come first."""

from __future__ import annotations

from core.engines.base import Engine, EngineResult
from core.engines.registry import default_registry
from desktop.dialogs.batch_dialog import BatchDialog
from desktop.panels.restore_panel import RestorePanel
from desktop.workers import WorkerPool


class Unready(Engine):
    id = "test.unready"
    task = "lowlight"
    title = "Needs weights"

    def unavailable(self) -> str | None:
        return "needs weights"

    def process(self, request):
        return EngineResult(request.photo)


class Ready(Engine):
    id = "test.ready"
    task = "lowlight"
    title = "Ready"

    def process(self, request):
        return EngineResult(request.photo)


def test_panel_and_batch_dialog_start_from_the_default(qtbot):
    engines = [Unready(), Ready()]
    panel = RestorePanel()
    qtbot.addWidget(panel)
    panel.set_engines(engines)
    assert panel.current_engine() is engines[1]
    dialog = BatchDialog(WorkerPool(), engines)
    qtbot.addWidget(dialog)
    assert dialog.current_engine() is engines[1]


def test_with_the_real_engines_both_start_from_the_automatic_low_light_engine(qtbot):
    engines = default_registry(include_store=False).list()
    panel = RestorePanel()
    qtbot.addWidget(panel)
    panel.set_engines(engines, preferred_task="lowlight")
    assert panel.current_engine().id == "lowlight.auto"
    dialog = BatchDialog(WorkerPool(), engines)
    qtbot.addWidget(dialog)
    assert dialog.current_engine().id == "lowlight.auto"
