"""Snapshots of the main screens (pytest-textual-snapshot), with a scripted engine for stable text.

Update them after an intended change with: pytest tests/test_snapshots.py --snapshot-update
"""

import pytest

from mixtral_tui.config import Sampling
from mixtral_tui.store.history import History
from tests.fixtures.fake_engine import ScriptedEngine
from tests.fixtures.pilot import make_app, send, steady, wait_for

REPLY = [
    "Here is a function that adds two numbers:\n\n",
    "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```\n\n",
    "- It takes **two** integers\n- It returns their sum\n\n",
    "Model text such as [bold]this[/bold] stays literal.",
]
SIZE = (110, 34)


@pytest.fixture(autouse=True)
def fixed_home(monkeypatch):
    """Paths show on screen (the settings title): keep them the same on every run."""
    monkeypatch.setenv("MIXTRAL_TUI_HOME", "/tmp/mixtral-tui-snapshots")


def scripted_app():
    history = History(":memory:")
    app = make_app(ScriptedEngine(REPLY, tps=42.0), history=history, sampling=Sampling(max_tokens=64))
    return app


async def _chat(pilot):
    app = pilot.app
    await wait_for(pilot, lambda: app.model_info is not None)
    await send(pilot, "Write add() in Python")
    await wait_for(pilot, lambda: app.generation is None and len(app.history.messages(1)) == 2)
    steady(app)
    await pilot.pause()


def test_chat_screen(snap_compare):
    assert snap_compare(scripted_app(), terminal_size=SIZE, run_before=_chat)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
def test_chat_screen_in_a_small_terminal(snap_compare, size):
    """The list narrows (80) or hides itself (60), the footer keeps the first keys, the status line
    its state; nothing runs off the right edge."""
    assert snap_compare(scripted_app(), terminal_size=size, run_before=_chat)


def test_picked_message(snap_compare):
    """Shift+Tab from the message box: the newest message picked (marked), its keys in the footer."""

    async def before(pilot):
        await _chat(pilot)
        await pilot.press("shift+tab", "up")  # the user's message: every key applies
        steady(pilot.app)
        await pilot.pause()

    assert snap_compare(scripted_app(), terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("size", [SIZE, (80, 24)], ids=["110x34", "80x24"])
def test_search_screen(snap_compare, monkeypatch, size):
    import time

    monkeypatch.setenv("TZ", "UTC")  # the hits show when each message was written
    time.tzset()

    async def before(pilot):
        await _chat(pilot)
        pilot.app.history._db.execute("UPDATE messages SET created_at = 1794000000 + id * 60")
        pilot.app.history._db.execute("UPDATE conversations SET updated_at = 1794000000 + 180")
        await pilot.press("ctrl+f", *"add")
        await wait_for(pilot, lambda: "found" in str(pilot.app.screen.query_one("#summary").render()))
        steady(pilot.app)
        await pilot.pause()

    try:
        assert snap_compare(scripted_app(), terminal_size=size, run_before=before)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("size", [SIZE, (80, 24)], ids=["110x34", "80x24"])
def test_help_screen(snap_compare, size):
    async def before(pilot):
        await pilot.press("f1")
        steady(pilot.app)

    assert snap_compare(scripted_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(110, 60), (80, 24)], ids=["110x60", "80x24"])
def test_settings_screen(snap_compare, size):
    async def before(pilot):
        await pilot.press("f3")
        steady(pilot.app)

    assert snap_compare(scripted_app(), terminal_size=size, run_before=before)


def test_load_error_screen(snap_compare, not_gguf_file):
    from mixtral_tui.engine.llama import LlamaEngine

    app = make_app(LlamaEngine(), not_gguf_file, history=History(":memory:"))

    async def before(pilot):
        await wait_for(pilot, lambda: not app.loading)
        steady(pilot.app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)
