"""The table `restora bench` prints for a whole-machine run (core.benchmarks.suite): one block per section,
each figure a median with its min-max range in brackets."""

from __future__ import annotations

from typing import Any, Callable

from core.benchmarks.stats import spread_text

Rows = list[list[str]]


def table(header: list[str], rows: Rows) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    fmt = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [fmt(header), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]


def _s(spread: Any, unit: str = " s") -> str:
    return spread_text(spread, unit) if isinstance(spread, dict) else "-"


def _note(row: dict[str, Any], *keys: str) -> str:
    """The last line of the first of `keys` the row has (an error's last line says what went wrong)."""
    text = next((str(row[k]).strip() for k in keys if row.get(k)), "")
    return text.splitlines()[-1][:70] if text else ""


def _mb(value: Any) -> str:
    return f"{value:.0f}" if isinstance(value, (int, float)) else "-"


def startup_lines(data: dict[str, Any]) -> list[str]:
    window, photo = data.get("window", {}), data.get("photo", {})
    rows = [["window visible", _plain(window.get("median_s"), window.get("min_s"), window.get("max_s"))]]
    if "error" in window:
        rows[0][1] = "error: " + str(window["error"])[:80]
    if "error" in photo:
        rows.append(["photo from start-up", "error: " + str(photo["error"])[:80]])
    else:
        name = photo.get("file", "photo")
        rows += [[f"{name}: window", _s(photo.get("window_s"))], [f"{name}: preview", _s(photo.get("preview_s"))],
                 [f"{name}: photo", _s(photo.get("photo_s"))]]
    return table(["start-up (fresh process)", "seconds"], rows)


def _plain(median: Any, low: Any, high: Any) -> str:
    if not isinstance(median, (int, float)):
        return "-"
    return f"{median:.3g} s ({low:.3g}-{high:.3g})"


def open_lines(data: list[dict[str, Any]]) -> list[str]:
    rows = [[r.get("file", "?"), str(r.get("megapixels", "-")), _s(r.get("preview_s")), _s(r.get("photo_s")),
             _note(r, "error")] for r in data]
    return table(["open in the window", "MP", "to preview", "to photo", "note"], rows)


def engine_lines(data: list[dict[str, Any]]) -> list[str]:
    rows = []
    for r in data:
        spread = {"median": r.get("seconds_per_megapixel"), "runs": r.get("runs", 0)}
        if r.get("runs", 0) and r.get("megapixels"):
            mp = float(r["megapixels"])
            spread.update(min=float(r["seconds_min"]) / mp, max=float(r["seconds_max"]) / mp)
        note = _note(r, "error", "skipped", "note") or ("random weights" if r.get("weights") == "random" else "")
        rows.append([str(r.get("engine") or f"({r.get('family')})"), str(r.get("device", "-")),
                     str(r.get("precision", "-")), str(r.get("megapixels", "-")),
                     _s(spread, "") if "seconds_per_megapixel" in r else "-", _mb(r.get("peak_rss_mb")),
                     _mb(r.get("gpu_peak_mb")), note])
    return table(["engine", "device", "precision", "MP", "s/MP", "peak RSS MiB", "GPU MiB", "note"], rows)


def restore_lines(data: dict[str, Any]) -> list[str]:
    if "error" in data:
        return [f"restore: error: {str(data['error'])[-200:]}"]
    mp = data.get("megapixels", "?")
    rows = [[p, _s(data.get(f"{p}_s"))] for p in ("decode", "engine", "encode", "write")]
    rows.append(["phases together", f"{data.get('phases_total_s', '-')} s"])
    rows.append(["whole command", _s(data.get("command_s"))])
    if "other_s" in data:
        rows.append(["other (start-up, imports, batch)", f"{data['other_s']} s"])
    lines = table([f"restore {mp} MP PNG -> PNG ({data.get('engine')}; in {data.get('input_mb')} MB, out "
                   f"{data.get('output_mb')} MB)", "seconds"], rows)
    if data.get("png_levels"):
        lines += [""] + table(["PNG zlib level", "encode s", "MB"],
                              [[str(r["level"]), str(r["seconds"]), str(r["mb"])] for r in data["png_levels"]])
    return lines


def tiling_lines(data: list[dict[str, Any]]) -> list[str]:
    rows = [[str(r.get("megapixels")), str(r.get("tile", "-")), f"{r.get('width')} x {r.get('height')}",
             str(r.get("seconds")), _per_mp(r), _mb(r.get("peak_rss_mb")), _mb(r.get("growth_mb")),
             _mb(r.get("input_output_mb"))] for r in data]
    return table(["tiling MP", "tile px", "size", "seconds", "s/MP", "peak RSS MiB", "growth MiB", "in+out MiB"],
                 rows)


def _per_mp(row: dict[str, Any]) -> str:
    seconds, mp = row.get("seconds"), row.get("megapixels")
    return f"{seconds / mp:.3g}" if isinstance(seconds, (int, float)) and isinstance(mp, (int, float)) and mp else "-"


def gui_lines(data: dict[str, Any]) -> list[str]:
    if "error" in data:
        return [f"gui: error: {str(data['error'])[-200:]}"]
    rows = []
    for key, title in (("stroke_fit", "brush stroke, photo fitted"), ("stroke_100", "brush stroke at 100 %")):
        r = data.get(key, {})
        rows.append([f"{title} ({r.get('megapixels')} MP)", f"{r.get('max_ms')} ms",
                     f"median {r.get('median_ms')} ms, p95 {r.get('p95_ms')} ms per segment"])
    e = data.get("engine_stalls", {})
    rows.append([f"{e.get('engine')} running ({e.get('megapixels')} MP)", f"{e.get('max_gap_ms')} ms",
                 f"{e.get('gaps_over_50ms')} gaps over 50 ms in {e.get('seconds')} s"])
    return table(["GUI thread", "longest stall", "detail"], rows)


def training_lines(data: list[dict[str, Any]]) -> list[str]:
    rows = [[str(r.get("preset")), str(r.get("device")), str(r.get("crop")), str(r.get("batch")),
             _s(r.get("steps_per_s"), ""), str(r.get("samples_per_s", "-")), _note(r, "error", "skipped", "note")]
            for r in data]
    return table(["training preset", "device", "crop", "batch", "steps/s", "samples/s", "note"], rows)


FORMATTERS: dict[str, Callable[[Any], list[str]]] = {
    "startup": startup_lines, "open": open_lines, "engines": engine_lines, "restore": restore_lines,
    "tiling": tiling_lines, "gui": gui_lines, "training": training_lines}


def format_results(results: dict[str, Any]) -> str:
    m = results.get("machine", {})
    devices = ", ".join(f"{d['device']} ({d['name']})" for d in m.get("devices", []))
    lines = [f"restora bench{' --quick' if results.get('quick') else ''} — {results.get('date')}",
             f"{m.get('cpu_count')} CPUs, torch {m.get('torch')} ({m.get('torch_threads')} threads); {devices}",
             f"load average {m.get('load_average_at_start')} at the start, {m.get('load_average_at_end')} at the "
             "end (near or over the CPU count: the machine was shared; figures are noisy)", ""]
    for name, data in results.get("sections", {}).items():
        if isinstance(data, dict) and set(data) == {"error"}:
            lines += [f"{name}: error: {data['error']}", ""]
            continue
        try:
            lines += FORMATTERS[name](data)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            lines.append(f"{name}: could not format ({type(e).__name__}: {e}); see the JSON")
        lines.append("")
    lines.append(f"{results.get('seconds')} s in all")
    return "\n".join(lines)
