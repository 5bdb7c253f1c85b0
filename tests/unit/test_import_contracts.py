"""Import contracts, read from every module's source (imports inside functions count too):

    cli                     the command line (it starts the TUI, so it may import ui)
    ui                      the Textual app
    web                     the app in a browser: the page server, the one engine every page uses
    chat                    one reply, the conversation's rules, export
    engine                  the seam to the model (the planner and hardware of models/ below it)
    tools                   the user's MCP servers (mcp.json), their tools' names, the allow rules
    models, store           the catalog, hub, downloads, planner; the history database
    infrastructure          config, paths, errors, vocabulary, text safety, cancel

Nothing imports upward; only the llama.cpp engine imports `llama_cpp`, only the server engine the
HTTP client (`httpx`, `httpx_sse`); only the UI imports
`textual` and `rich`; only web/ the web server's libraries (`aiohttp`; textual-serve in the page
server alone). No list of files to keep up to date: every module is in a layer by where it
lives, and a new top-level module must be named here as infrastructure or the test fails.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mixtral_tui"

INFRASTRUCTURE = {"config", "server_config", "paths", "errors", "vocabulary", "text_safety", "cancel", "__init__"}
RANK = {"infrastructure": 0, "store": 1, "models": 1, "engine": 2, "tools": 2, "chat": 3, "web": 3, "ui": 4, "cli": 5}
ENTRY_POINTS = {"__main__"}  # `python -m mixtral_tui`: it only calls the command line
LIBRARY_OWNERS = {
    "llama_cpp": {"engine.llama"},
    "httpx": {"engine.remote"},  # a package: engine.remote and its modules
    "httpx_sse": {"engine.remote"},
    "textual": {"ui"},
    "rich": {"ui"},
    "aiohttp": {"web.engine_host", "web.page_server"},
    "aiohttp_jinja2": {"web.page_server"},
    "textual_serve": {"web.page_server"},
    "mcp": {"tools.hub"},
    "jsonschema": {"tools.arguments"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def layer_of(module: str) -> str:
    top = module.split(".")[0]
    if top in RANK:
        return top
    if top in INFRASTRUCTURE:
        return "infrastructure"
    raise AssertionError(f"mixtral_tui.{module} is in no layer: put it in a package, or name it infrastructure here")


def imports_of(path: Path) -> set[str]:
    """Every absolute module name this file imports (relative imports resolved)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(["mixtral_tui", *base, *(node.module or "").split(".")]).rstrip(".")
            elif node.module:
                module = node.module
            else:
                continue
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def upward_imports(path: Path) -> list[str]:
    here = module_name(path)
    if here in ENTRY_POINTS:
        return []
    rank = RANK[layer_of(here)]
    wrong = []
    for name in imports_of(path):
        if not name.startswith("mixtral_tui.") or name == "mixtral_tui.__version__":
            continue
        target = name.removeprefix("mixtral_tui.")
        if (PACKAGE / target.replace(".", "/")).with_suffix(".py").exists() or (PACKAGE / target.replace(".", "/")).is_dir():
            there = layer_of(target)
            peers = rank == RANK[there] and there != layer_of(here)  # models and store know nothing of each other
            if RANK[there] > rank or peers:
                wrong.append(f"mixtral_tui.{here} ({layer_of(here)}) imports {name} ({there})")
    return wrong


def library_misuse(path: Path) -> list[str]:
    here = module_name(path)
    wrong = []
    for library in sorted({name.split(".")[0] for name in imports_of(path)}):
        owners = LIBRARY_OWNERS.get(library)
        if owners is not None and not any(here == owner or here.startswith(owner + ".") for owner in owners):
            wrong.append(f"mixtral_tui.{here} imports {library} (only {', '.join(sorted(owners))} may)")
    return wrong


def test_every_module_is_in_a_layer():
    for path in modules():
        if module_name(path) not in ENTRY_POINTS:
            layer_of(module_name(path))


def test_nothing_imports_upward():
    assert [line for path in modules() for line in upward_imports(path)] == []


def test_libraries_are_imported_only_by_their_owners():
    assert [line for path in modules() for line in library_misuse(path)] == []


def test_the_contracts_catch_a_violation(tmp_path, monkeypatch):
    """The checks above would fail on code that breaks them (a test that cannot fail is a defect)."""
    fake = tmp_path / "mixtral_tui"
    (fake / "store").mkdir(parents=True)
    (fake / "ui").mkdir()
    (fake / "store" / "history.py").write_text("from mixtral_tui.ui import app\nimport textual\n")
    (fake / "store" / "relative.py").write_text("from ..chat import reply\n")
    (fake / "ui" / "app.py").write_text("from llama_cpp import Llama\n")
    (fake / "loose.py").write_text("")
    (fake / "chat").mkdir()
    (fake / "chat" / "reply.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    history, relative = fake / "store" / "history.py", fake / "store" / "relative.py"
    assert "mixtral_tui.store.history (store) imports mixtral_tui.ui.app (ui)" in upward_imports(history)
    assert "mixtral_tui.store.relative (store) imports mixtral_tui.chat.reply (chat)" in upward_imports(relative)
    assert library_misuse(fake / "store" / "history.py") == ["mixtral_tui.store.history imports textual (only ui may)"]
    assert library_misuse(fake / "ui" / "app.py") == ["mixtral_tui.ui.app imports llama_cpp (only engine.llama may)"]
    with pytest.raises(AssertionError, match="in no layer"):
        layer_of("loose")


def test_startup_imports_neither_llama_cpp_nor_textual():
    """`mixtral-tui --help` and the script commands answer at once: the heavy libraries load only
    in the commands that need them."""
    code = "import sys, mixtral_tui.cli; print(sorted(m for m in ('llama_cpp', 'textual') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)})
    assert done.stdout.strip() == "[]", done.stderr
