"""Running engines from the main window (a mixin of MainWindow): one job at a time in the worker pool, on
the version the user chose (the shown one, or the original), with the document's mask and face regions;
the result becomes a new version made from that one."""

from __future__ import annotations

import time
from typing import Any

from desktop.canvas.tools import Tool
from desktop.window_base import WindowParts
from desktop.workers import JobHandle


def version_label(engine: Any, params: dict[str, Any]) -> str:
    """The engine's title and the settings that differ from its defaults, with titles a person reads."""
    defaults = engine.defaults()
    shown = []
    for name, value in params.items():
        if value == defaults.get(name):
            continue
        p = engine.param(name)
        title = p.title if p is not None else name
        if p is not None and p.type == "choice":
            value = p.choice_title(str(value))
        elif p is not None and p.type == "bool":
            value = "on" if value else "off"
        shown.append(f"{title.lower()}={value}")
    return engine.title + (f" ({', '.join(shown)})" if shown else "")


class RunMixin(WindowParts):
    def run_engine(self, engine, params: dict[str, Any]) -> JobHandle | None:
        from desktop.canvas.display import make_display

        if self.versions.current is None or self.document is None:
            self.restore_panel.show_error("Open a photo first.")
            return None
        if self.run_job is not None and not self.run_job.done:
            self.restore_panel.show_error("A job is already running: wait for it or cancel it.")
            return None
        source = self.versions.original() if self.restore_panel.applies_to_original() else self.versions.current
        mask = None
        if engine.requirements.needs_mask:
            mask_doc = self.document.mask_for(source.photo.height, source.photo.width)
            if mask_doc.is_empty():
                self.restore_panel.show_error(f"{engine.title} needs a mask: paint over the area to fill "
                                              "with the brush (B), rectangle (R) or lasso (L).")
                self.canvas.set_tool(Tool.BRUSH)
                return None
            mask = mask_doc.array.copy()  # a plain copy here; thresholding happens in the worker
        regions = tuple(self.document.faces.regions) or None
        if engine.requirements.needs_regions and regions is None:
            self.restore_panel.show_error(f"{engine.title} restores faces inside boxes: draw a box around each "
                                          "face with the Face box tool (F) first.")
            self.canvas.set_tool(Tool.BOX)
            return None
        photo, device = source.photo, self.device
        run_params = dict(params)

        def job(progress, cancel):
            from core.engines.request import EngineRequest
            from core.masks import check_mask

            started = time.perf_counter()
            engine_mask = None if mask is None else check_mask(mask, (photo.height, photo.width))
            runner = engine.on_device(device)
            result = runner.run(EngineRequest(photo, engine_mask, regions, run_params, progress, cancel))
            return result, make_display(result.photo), time.perf_counter() - started

        handle = self.pool.submit(job, name=engine.title, device=device)
        handle.on(progress=self.restore_panel.set_progress)
        handle.on(succeeded=lambda out: self._run_done(engine, run_params, source, *out))
        handle.on(failed=lambda message, _d: self.restore_panel.show_error(message))
        handle.on(cancelled=lambda message: self.restore_panel.show_note(message))
        handle.on(finished=lambda: self.restore_panel.set_busy(False))
        self.restore_panel.set_busy(True, f"Running {engine.title}…")
        self.run_job = handle
        return handle

    def _run_done(self, engine, params: dict[str, Any], source, result, display, seconds: float) -> None:
        if self.document is None or source not in self.document.versions.versions:
            return  # the photo was closed (or the version deleted) while the engine ran
        version = self.versions.add(result.photo, display, version_label(engine, params), parent=source,
                                    engine_id=engine.id, params=params, regions=list(result.regions),
                                    notes=list(result.notes), seconds=seconds)
        if result.regions:  # the regions the engine found or worked on, shown as boxes
            self.document.faces.set(list(result.regions))
        if engine.requirements.needs_mask:
            self.set_mask_visible(False)  # show the result, not the mask over it (H shows it again)
        if result.notes:
            self.restore_panel.show_note("\n".join(result.notes))
        self.statusBar().showMessage(f"{engine.title} finished in {seconds:.1f} s", 6000)
        self.version_added.emit(version)

    def cancel_run(self) -> None:
        if self.run_job is not None and not self.run_job.done:
            self.run_job.cancel()
            self.restore_panel.set_cancelling()

    def _job_status(self, _handle=None) -> None:
        running = self.pool.running_jobs()
        if running:
            h = running[0]
            done, total, _m = h.last_progress
            self.status.show_job(h.name + (f" (+{len(running) - 1})" if len(running) > 1 else ""), done, total)
            if not h.status_followed:
                h.status_followed = True
                h.on(progress=lambda d, t, _m: self.status.show_job(h.name, d, t))
        else:
            self.status.show_job("")

    def set_mask_visible(self, visible: bool) -> None:
        """Show or hide the mask overlay (H); painting shows it again."""
        self.canvas.mask_layer.set_visible(bool(visible))
        action = self.actions.get("toggle_mask")
        if action is not None and action.isChecked() != bool(visible):
            action.setChecked(bool(visible))
