"""Every keyboard shortcut in one table: the window builds its actions from it and the help dialog lists it.

`keys` is an action's main key (what menus and tooltips show); `also` holds further keys for the same
action (Ctrl+Y beside Ctrl+Shift+Z). Keys are written in QKeySequence's portable text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    id: str  # the action's name in the window ("" for gestures handled by the canvas)
    title: str
    keys: str  # the main key
    group: str
    also: tuple[str, ...] = ()  # more keys that do the same

    @property
    def all_keys(self) -> tuple[str, ...]:
        return (self.keys, *self.also)


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("open", "Open a photo", "Ctrl+O", "File"),
    Shortcut("save", "Save the shown version (asks before replacing the original)", "Ctrl+S", "File"),
    Shortcut("export", "Export as… (format, quality, metadata)", "Ctrl+Shift+S", "File"),
    Shortcut("batch", "Batch-process a folder", "Ctrl+B", "File"),
    Shortcut("models", "Model manager", "Ctrl+M", "File"),
    Shortcut("quit", "Quit", "Ctrl+Q", "File"),
    Shortcut("undo", "Undo the last mask edit", "Ctrl+Z", "Mask"),
    Shortcut("redo", "Redo", "Ctrl+Shift+Z", "Mask", also=("Ctrl+Y",)),
    Shortcut("invert_mask", "Invert the mask", "Ctrl+I", "Mask"),
    Shortcut("clear_mask", "Clear the mask", "Ctrl+Shift+X", "Mask"),
    Shortcut("brush_smaller", "Smaller brush", "[", "Mask"),
    Shortcut("brush_larger", "Larger brush", "]", "Mask"),
    Shortcut("toggle_mask", "Show or hide the mask overlay", "H", "Mask"),
    Shortcut("tool_navigate", "Navigate tool", "N", "Tools"),
    Shortcut("tool_brush", "Brush", "B", "Tools"),
    Shortcut("tool_eraser", "Eraser", "E", "Tools"),
    Shortcut("tool_rect", "Rectangle fill", "R", "Tools"),
    Shortcut("tool_lasso", "Lasso fill", "L", "Tools"),
    Shortcut("tool_box", "Draw a face box", "F", "Tools"),
    Shortcut("run", "Run the selected engine", "Ctrl+Return", "Restore"),
    Shortcut("cancel", "Cancel the running job", "Esc", "Restore"),
    Shortcut("fit", "Fit the photo in the window", "Ctrl+0", "View"),
    Shortcut("actual_size", "Actual pixels (100%)", "Ctrl+1", "View"),
    Shortcut("zoom_in", "Zoom in", "Ctrl++", "View", also=("Ctrl+=",)),
    Shortcut("zoom_out", "Zoom out", "Ctrl+-", "View"),
    Shortcut("view_single", "Single view", "Ctrl+Shift+1", "View"),
    Shortcut("view_split", "Split before/after with a divider", "Ctrl+Shift+2", "View"),
    Shortcut("view_side", "Side by side (zoom and pan stay in step)", "Ctrl+Shift+3", "View"),
    Shortcut("shortcuts", "This list of shortcuts", "F1", "Help"),
    Shortcut("", "Zoom around the cursor", "Wheel / Ctrl+Wheel", "Gestures"),
    Shortcut("", "Pan", "Space+Drag / Middle-drag", "Gestures"),
    Shortcut("", "Show the comparison version while held", "Hold \\", "Gestures"),
    Shortcut("", "Erase with the rectangle or lasso", "Alt+Drag", "Gestures"),
    Shortcut("", "Remove the selected face box", "Delete", "Gestures"),
)


def keys_for(action_id: str) -> str:
    """The main key of an action (StopIteration for an action without one)."""
    return next(s.keys for s in SHORTCUTS if s.id == action_id)


def all_keys_for(action_id: str) -> tuple[str, ...]:
    """Every key of an action, the main one first; () for an action without keys."""
    return next((s.all_keys for s in SHORTCUTS if s.id and s.id == action_id), ())
