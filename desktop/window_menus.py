"""The main window's actions, menus and toolbar (a mixin of MainWindow: it builds, the window decides)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QToolBar, QToolButton, QWidget

from desktop.canvas.tools import Tool
from desktop.shortcuts import all_keys_for
from desktop.window_base import WindowParts

VIEW_SINGLE, VIEW_SPLIT, VIEW_SIDE = "single", "split", "side"


class MenusMixin(WindowParts):
    """Builds `self.actions` (id -> QAction, with the shortcuts of desktop.shortcuts), the menus and the toolbar."""

    def _action(self, action_id: str, text: str, slot, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in all_keys_for(action_id)])  # the main key first
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work whichever widget has focus
        self.actions[action_id] = action
        return action

    def _build_actions(self) -> None:
        c, layer = self.canvas, self.canvas.mask_layer
        a = self._action
        a("open", "&Open…", self.open_dialog)
        a("save", "&Save", self.save)
        a("export", "&Export as…", self.export_dialog)
        a("batch", "&Batch…", self.open_batch)
        a("models", "&Models…", self.open_model_manager)
        a("quit", "&Quit", self.close)
        a("undo", "&Undo", layer.undo)
        a("redo", "&Redo", layer.redo)
        a("invert_mask", "&Invert mask", layer.invert)
        a("clear_mask", "&Clear mask", layer.clear)
        a("toggle_mask", "Show &mask overlay", self.set_mask_visible, checkable=True)
        a("brush_smaller", "Smaller brush", c.shrink_brush)
        a("brush_larger", "Larger brush", c.grow_brush)
        for tool in Tool:
            a(f"tool_{tool.value}", tool.label, lambda _c=False, t=tool: c.set_tool(t), checkable=True)
        a("run", "&Run", self.restore_panel.run_button.click)
        a("cancel", "&Cancel job", self.cancel_run)
        a("fit", "&Fit", self._fit)
        a("actual_size", "&Actual pixels", self._actual)
        a("zoom_in", "Zoom &in", lambda: self._current_view().zoom_in())
        a("zoom_out", "Zoom &out", lambda: self._current_view().zoom_out())
        a("view_single", "&Single", lambda: self.set_view_mode(VIEW_SINGLE), checkable=True)
        a("view_split", "S&plit before/after", lambda: self.set_view_mode(VIEW_SPLIT), checkable=True)
        a("view_side", "Side &by side", lambda: self.set_view_mode(VIEW_SIDE), checkable=True)
        a("reset_layout", "&Reset layout", self.reset_layout)
        a("shortcuts", "&Keyboard shortcuts", self.show_shortcuts)
        self.actions["view_single"].setChecked(True)
        self.actions["toggle_mask"].setChecked(True)
        self._action_group_exclusive(["view_single", "view_split", "view_side"])
        self._action_group_exclusive([f"tool_{t.value}" for t in Tool])

    def _action_group_exclusive(self, ids: list[str]) -> None:
        group = QActionGroup(self)
        for i in ids:
            group.addAction(self.actions[i])

    def _build_menus(self) -> None:
        m = self.menuBar()
        acts = self.actions
        file_menu = m.addMenu("&File")
        file_menu.addAction(acts["open"])
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addAction(acts["save"])
        file_menu.addAction(acts["export"])
        file_menu.addAction("Recover unsaved work…", self.recover_dialog)
        file_menu.addSeparator()
        file_menu.addAction("Load mask…", self.load_mask_dialog)
        file_menu.addAction("Save mask…", self.save_mask_dialog)
        file_menu.addSeparator()
        file_menu.addAction(acts["batch"])
        file_menu.addAction(acts["models"])
        file_menu.addSeparator()
        file_menu.addAction(acts["quit"])
        edit = m.addMenu("&Edit")
        for i in ("undo", "redo"):
            edit.addAction(acts[i])
        edit.addSeparator()
        for i in ("invert_mask", "clear_mask"):
            edit.addAction(acts[i])
        edit.addAction("Grow mask", lambda: self.canvas.mask_layer.grow(self.mask_panel.grow_px.value()))
        edit.addAction("Shrink mask", lambda: self.canvas.mask_layer.shrink(self.mask_panel.grow_px.value()))
        view = m.addMenu("&View")
        for i in ("fit", "actual_size", "zoom_in", "zoom_out"):
            view.addAction(acts[i])
        view.addSeparator()
        for i in ("view_single", "view_split", "view_side"):
            view.addAction(acts[i])
        view.addSeparator()
        view.addAction(acts["toggle_mask"])
        panels = self.dock.toggleViewAction()
        panels.setText("&Tools panel")
        view.addAction(panels)
        view.addAction(acts["reset_layout"])
        tools = m.addMenu("&Tools")
        for tool in Tool:
            tools.addAction(acts[f"tool_{tool.value}"])
        tools.addSeparator()
        tools.addAction(acts["brush_smaller"])
        tools.addAction(acts["brush_larger"])
        restore = m.addMenu("&Restore")
        restore.addAction(acts["run"])
        restore.addAction(acts["cancel"])
        help_menu = m.addMenu("&Help")
        help_menu.addAction(acts["shortcuts"])
        help_menu.addAction("About Restora", self._about)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("main-toolbar")
        bar.setMovable(False)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        acts = self.actions
        for i, text in (("open", "Open"), ("save", "Save"), ("export", "Export")):
            self._tool_button(bar, acts[i], text)
        bar.addSeparator()
        for tool in Tool:
            b = self._tool_button(bar, acts[f"tool_{tool.value}"], tool.label)
            keys = all_keys_for(f"tool_{tool.value}")
            b.setToolTip(f"{tool.hint} ({keys[0]})" if keys else tool.hint)
        bar.addSeparator()
        for i, text in (("view_single", "Single"), ("view_split", "Split"), ("view_side", "Side by side")):
            self._tool_button(bar, acts[i], text)
        bar.addSeparator()
        for i, text in (("fit", "Fit"), ("actual_size", "100%")):
            self._tool_button(bar, acts[i], text)
        bar.addSeparator()
        for i, text in (("undo", "Undo"), ("redo", "Redo")):
            self._tool_button(bar, acts[i], text)
        spacer = QWidget()
        spacer.setStyleSheet("background: transparent;")
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy().Preferred)
        bar.addWidget(spacer)
        for i, text in (("batch", "Batch"), ("models", "Models")):
            self._tool_button(bar, acts[i], text)
        self._sync_tool_buttons(self.canvas.tool)

    def _tool_button(self, bar: QToolBar, action: QAction, text: str) -> QToolButton:
        action.setIconText(text)  # the short label the toolbar shows; menus keep the full text
        b = QToolButton()
        b.setDefaultAction(action)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        sc = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        b.setToolTip(f"{action.text().replace('&', '')} ({sc})" if sc else action.text().replace("&", ""))
        bar.addWidget(b)
        return b

    def _sync_tool_buttons(self, tool) -> None:
        self.actions[f"tool_{Tool(tool).value}"].setChecked(True)
