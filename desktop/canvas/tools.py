"""The canvas tools and their names, keys and hints (the shortcuts dialog lists them too)."""

from __future__ import annotations

from enum import Enum


class Tool(str, Enum):
    NAVIGATE = "navigate"
    BRUSH = "brush"
    ERASER = "eraser"
    RECT = "rect"
    LASSO = "lasso"
    BOX = "box"

    @property
    def label(self) -> str:  # not `title`: that is str.title(), which a str Enum keeps
        return TOOL_INFO[self][0]

    @property
    def key(self) -> str:
        return TOOL_INFO[self][1]

    @property
    def hint(self) -> str:
        return TOOL_INFO[self][2]


TOOL_INFO: dict[Tool, tuple[str, str, str]] = {
    Tool.NAVIGATE: ("Navigate", "N", "Drag to pan; wheel zooms around the cursor."),
    Tool.BRUSH: ("Brush", "B", "Paint the area to fill. [ and ] change the size."),
    Tool.ERASER: ("Eraser", "E", "Erase from the mask. [ and ] change the size."),
    Tool.RECT: ("Rectangle", "R", "Drag a rectangle to fill; hold Alt to erase it."),
    Tool.LASSO: ("Lasso", "L", "Draw around an area to fill; hold Alt to erase it."),
    Tool.BOX: ("Face box", "F", "Drag a box around a face the detector missed (Restore faces → Find faces "
                                "shows what it found); drag a box to move it, its corner to resize; Delete "
                                "removes the selected box."),
}

PAINT_TOOLS = (Tool.BRUSH, Tool.ERASER, Tool.RECT, Tool.LASSO)
