"""The shortcuts table and its dialog: alternative keys (Ctrl+Y redo, Ctrl++ and Ctrl+= zoom in) reach the
actions, no key is bound twice, and the dialog wraps its text instead of cutting it off."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from core.photo import Photo
from desktop.dialogs.shortcuts_dialog import ShortcutsDialog
from desktop.shortcuts import SHORTCUTS, all_keys_for, keys_for
from desktop.window import MainWindow
from tests.conftest import gradient_image


def test_every_key_is_bound_once_and_mask_toggle_is_h():
    bound = [QKeySequence(k).toString() for s in SHORTCUTS if s.id for k in s.all_keys]
    assert len(bound) == len(set(bound)), sorted(k for k in bound if bound.count(k) > 1)
    assert keys_for("toggle_mask") == "H"
    assert all_keys_for("redo") == ("Ctrl+Shift+Z", "Ctrl+Y")
    assert set(all_keys_for("zoom_in")) == {"Ctrl++", "Ctrl+="}
    assert all_keys_for("no_such_action") == ()


def test_window_actions_get_every_key(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    for action_id, action in window.actions.items():
        want = [QKeySequence(k).toString() for k in all_keys_for(action_id)]
        assert [k.toString() for k in action.shortcuts()] == want
    assert window.actions["redo"].shortcut().toString() == "Ctrl+Shift+Z"  # menus show the main key


def test_ctrl_y_redoes_and_ctrl_plus_or_equals_zoom_in(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)  # shortcuts go to the active window
    window.set_photo(Photo.from_uint8(gradient_image(60, 80)))
    layer = window.canvas.mask_layer
    layer.fill_rect((5, 5, 10, 10))
    layer.undo()
    assert layer.mask.max() == 0 and layer.history.can_redo()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert layer.mask.max() == 255
    for key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
        zoom = window.canvas.zoom()
        QTest.keyClick(window.canvas, key, Qt.KeyboardModifier.ControlModifier)
        assert window.canvas.zoom() > zoom * 1.2


def _needed_height(table, row: int, col: int) -> int:
    item = table.item(row, col)
    width = table.columnWidth(col) - 8  # the cell's text margins
    fm = table.fontMetrics() if item.font() == table.font() else type(table.fontMetrics())(item.font())
    return fm.boundingRect(QRect(0, 0, width, 10_000), Qt.TextFlag.TextWordWrap, item.text()).height()


def test_shortcuts_dialog_wraps_instead_of_clipping(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1024, 700)
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    dialog.resize(420, 600)  # narrow on purpose: long titles must wrap onto more lines
    dialog.show()
    QApplication.processEvents()
    table = dialog.table
    assert table.textElideMode() == Qt.TextElideMode.ElideNone and table.wordWrap()
    assert table.columnWidth(0) + table.columnWidth(1) <= table.viewport().width()
    wrapped = 0
    for row in range(table.rowCount()):
        if table.columnSpan(row, 0) == 2:
            continue  # a group heading
        keys_fm = table.fontMetrics()
        assert keys_fm.horizontalAdvance(table.item(row, 0).text()) <= table.columnWidth(0)
        need = _needed_height(table, row, 1)
        assert need <= table.rowHeight(row), table.item(row, 1).text()
        wrapped += need > keys_fm.height() * 1.5
    assert wrapped >= 1  # the narrow dialog really did wrap something (and it all still shows)
    titles = {table.item(r, 1).text() for r in range(table.rowCount()) if table.item(r, 1)}
    assert {s.title for s in SHORTCUTS} <= titles
