"""core/ never imports Qt: statically (no import statement) and dynamically (every module imports with Qt blocked)."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import core

FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "qasync", "desktop")
CORE = Path(core.__file__).resolve().parent


def test_no_qt_import_statements_in_core():
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(CORE)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_every_core_module_imports_with_qt_blocked():
    modules = [m.name for m in pkgutil.walk_packages([str(CORE)], prefix="core.")]
    assert len(modules) > 5
    script = f"""
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {FORBIDDEN!r}:
            raise ImportError('core imported ' + name)
sys.meta_path.insert(0, Block())
for m in {modules!r}:
    importlib.import_module(m)
leaked = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]
assert not leaked, leaked
print('ok', len({modules!r}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=CORE.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ok")
