"""Messages name keys only through the UI's key map (`ui.keys.key_for`), so that no note can point
at a key that does something else (a failed load said "F3 to pick another file"; F3 is Settings).

Below the UI nothing may name a key at all: the engine's, the store's and the models' messages
reach the command line too, where keys mean nothing; the app adds its keys to them.
"""

from __future__ import annotations

import ast
import re
from itertools import pairwise
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mixtral_tui"
KEY_NAME = re.compile(r"\b(F(?:1[0-2]|[1-9])|Ctrl\+\w+|Esc)\b")


def docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    # a constant's own docstring: a string right after an assignment at module or class level
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for before, after in pairwise(body):
                if isinstance(before, ast.Assign | ast.AnnAssign) and isinstance(after, ast.Expr) \
                        and isinstance(after.value, ast.Constant):
                    found.add(id(after.value))
    return found


def key_names_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    return [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        and KEY_NAME.search(node.value)
    ]


def test_nothing_below_the_ui_names_a_key():
    below = [p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in ("ui",)]
    assert [line for path in below for line in key_names_in(path)] == []


def test_the_app_names_its_own_keys_through_the_key_map():
    """The app's actions' keys (Ctrl+G, F3, ...) are never spelled out in a message of ui/; a
    screen's own keys (Esc closes it, Ctrl+S saves) are the screen's, and may be."""
    from mixtral_tui.ui.keys import APP_KEYS, pretty

    app_keys = {pretty(k.keys.split(",")[0]) for k in APP_KEYS if k.action not in ("stop", "help")}
    spelled = [line for path in (PACKAGE / "ui").rglob("*.py") for line in key_names_in(path)
               if any(re.search(rf"\b{re.escape(key)}\b", line) for key in app_keys)
               and path.name != "keys.py"]
    assert spelled == []


def test_the_check_finds_a_key_in_a_message(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('"""Docstrings may say F12."""\nX = 1\n"""and so may this F3."""\nmessage = f"press F3 to {1}"\n')
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path
    try:
        assert [line.split(": ", 1)[1] for line in key_names_in(bad)] == ["'press F3 to '"]
    finally:
        PACKAGE = saved
