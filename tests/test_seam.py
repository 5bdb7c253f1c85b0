"""Import contracts: only the llama.cpp engine imports llama_cpp; the core never imports textual."""

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mixtral_tui"
ENGINE_MODULE = PACKAGE / "engine" / "llama.py"
CORE = ["config.py", "paths.py", "errors.py", "export.py", "context_window.py", "reply.py", "figures.py", "markdown_blocks.py",
        "logs.py", "text_safety.py", "commands.py", "cli.py", "store", "models", "engine"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def python_files(entry: str) -> list[Path]:
    path = PACKAGE / entry
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def test_only_the_engine_module_imports_llama_cpp():
    importers = {p for p in PACKAGE.rglob("*.py") if "llama_cpp" in imported_modules(p)}
    assert importers == {ENGINE_MODULE}


def test_core_never_imports_textual():
    offenders = [str(p) for entry in CORE for p in python_files(entry) if "textual" in imported_modules(p)]
    assert offenders == []


def test_ui_never_imports_llama_cpp():
    assert not [p for p in (PACKAGE / "ui").rglob("*.py") if "llama_cpp" in imported_modules(p)]


def test_startup_imports_neither_llama_cpp_nor_textual():
    code = "import sys, mixtral_tui.cli; print(sorted(m for m in ('llama_cpp', 'textual') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)})
    assert done.stdout.strip() == "[]", done.stderr


def test_the_test_itself_would_notice_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from llama_cpp import Llama\nimport textual.app\n")
    assert {"llama_cpp", "textual"} <= imported_modules(bad)
