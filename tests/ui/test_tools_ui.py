"""Tool calls in the app, through Pilot: the reply pauses, the call is shown, and nothing runs
without the user's key; allow once, always (kept in config.toml), refuse, stop. The calls go to
the real SDK-written MCP server over stdio; the model is the scripted engine (its calls are
deterministic), as the server engine's calls are tested against a scripted server elsewhere."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from mixtral_tui.config import load_config
from mixtral_tui.engine.base import ToolCall
from mixtral_tui.ui.widgets.message import MessageView
from mixtral_tui.ui.widgets.tool_request import READ_FIRST_SECONDS, ToolRequest
from tests.fixtures.fake_engine import ScriptedEngine
from tests.fixtures.pilot import make_app, wait_for

FIXTURE = str(Path(__file__).resolve().parents[1] / "fixtures" / "mcp_tools_server.py")
ADD = ToolCall("a1B2c3D4e", "fx_add", '{"a": 2, "b": 40}')


def with_mcp(home: Path) -> None:
    path = home / "config" / "mcp.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mcpServers": {"fx": {"command": sys.executable, "args": [FIXTURE]}}}))


async def send(pilot, app, text: str) -> None:
    await wait_for(pilot, lambda: app.model_info is not None and app.tools.hub is not None
                   and app.tools.hub.wait_started(0) and app.tools.hub.tools(), what="the model and the tools")
    view = app.active_view()
    view.composer.focus()
    view.composer.insert(text)
    await pilot.press("enter")


async def asked(pilot, app) -> ToolRequest:
    await wait_for(pilot, lambda: app.screen.query(ToolRequest) and app.screen.query_one(ToolRequest).has_focus,
                   what="the call asked for, and focused")
    request = app.screen.query_one(ToolRequest)
    time.sleep(READ_FIRST_SECONDS)  # keys in its first moment are not answers
    return request


def views(app) -> list[MessageView]:
    return list(app.active_view().transcript.messages())


async def test_a_call_waits_for_yes_then_runs_and_the_reply_goes_on(home):
    with_mcp(home)
    engine = ScriptedEngine(pieces=["Adding."], calls=[[ADD]])
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, app, "What is 2 + 40?")
        request = await asked(pilot, app)
        text = str(request.render())
        assert "fx_add" in text and '"a": 2' in text and "y or Enter: allow once" in text
        time.sleep(0.3)
        assert len(engine.prompts) == 1  # nothing ran meanwhile: the reply waits for the answer
        await pilot.press("y")
        await wait_for(pilot, lambda: app.generation is None and len(engine.prompts) == 2, what="the second round")
        roles = [v.message.role for v in views(app)]
        assert roles == ["user", "assistant", "tool", "assistant"]
        result = views(app)[2]
        assert result.folded and result.label.startswith("Tool · fx_add · ") and result.label.endswith(" · 2 chars")
        assert "calls fx_add" in views(app)[1].figures
        assert engine.prompts[1][-1].content == "42" and engine.prompts[1][-1].tool_call_id == ADD.id
        assert app.active_view().composer.has_focus  # the focus back where the user types


async def test_n_refuses_and_the_model_is_told(home):
    with_mcp(home)
    engine = ScriptedEngine(pieces=["Adding."], calls=[[ADD]])
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, app, "What is 2 + 40?")
        await asked(pilot, app)
        await pilot.press("n")
        await wait_for(pilot, lambda: app.generation is None and len(engine.prompts) == 2)
        assert engine.prompts[1][-1].content == "not run: the user did not allow this call"
        assert views(app)[2].label.endswith("refused")


async def test_always_keeps_the_tool_in_config_and_the_next_call_runs_without_asking(home):
    with_mcp(home)
    engine = ScriptedEngine(pieces=["Adding."], calls=[[ADD]])
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, app, "What is 2 + 40?")
        await asked(pilot, app)
        await pilot.press("a")
        await wait_for(pilot, lambda: app.generation is None and len(engine.prompts) == 2)
        assert load_config(home / "config" / "config.toml").tools.allow == ("fx_add",)
        engine.calls = [[ADD]]
        await send(pilot, app, "And again?")
        await wait_for(pilot, lambda: app.generation is None and len(engine.prompts) == 4, what="no question asked")
        assert not app.screen.query(ToolRequest)
        assert engine.prompts[3][-1].content == "42"


async def test_letters_typed_as_the_request_appears_go_to_the_message_box_not_to_the_call(home, monkeypatch):
    import mixtral_tui.ui.widgets.tool_request as tool_request

    monkeypatch.setattr(tool_request, "READ_FIRST_SECONDS", 30.0)  # "its first moment", however slow the machine
    with_mcp(home)
    engine = ScriptedEngine(pieces=["Adding."], calls=[[ADD]])
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, app, "What is 2 + 40?")
        await wait_for(pilot, lambda: app.screen.query(ToolRequest) and app.screen.query_one(ToolRequest).has_focus)
        await pilot.press("y", "a", "n")  # at once: typing, not answers
        assert app.screen.query(ToolRequest) and len(engine.prompts) == 1
        assert app.active_view().composer.text == "yan"
        app.action_stop()  # Esc in the message box: the reply stops, the call is refused, not run
        await wait_for(pilot, lambda: app.generation is None)
        assert not app.screen.query(ToolRequest) and len(engine.prompts) == 1


async def test_the_tools_screen_shows_the_servers_and_switches_one_off_for_the_session(home):
    from textual.widgets import OptionList

    from mixtral_tui.ui.screens.tools import ToolsScreen

    with_mcp(home)
    path = home / "config" / "mcp.json"
    servers = json.loads(path.read_text())
    servers["mcpServers"]["gone"] = {"command": "no-such-mcp-server-here"}
    path.write_text(json.dumps(servers))
    engine = ScriptedEngine(pieces=["Hi."])
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.tools.hub is not None and app.tools.hub.wait_started(0))
        await pilot.press("f10")
        await wait_for(pilot, lambda: isinstance(app.screen, ToolsScreen) and app.screen.query_one(OptionList).option_count)
        options = app.screen.query_one(OptionList)
        shown = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert shown[0].startswith("● fx  ready") and "fx_add  Add two integers and return their sum." in shown[0]
        assert shown[1].startswith("✖ gone  failed") and "command not found: 'no-such-mcp-server-here'" in shown[1]
        options.highlighted = 0
        await pilot.press("space")
        await wait_for(pilot, lambda: app.tools.hub.statuses()[0].state == "off", what="switched off")
        await pilot.press("escape")
        view = app.active_view()
        view.composer.insert("Hello")
        view.composer.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.generation is None and engine.offered)
        assert engine.offered[-1] == []  # its tools are no longer offered


async def test_two_calls_are_asked_one_after_the_other_or_all_at_once_with_shift_a(home):
    with_mcp(home)
    echo = ToolCall("Zx9Yw8Vu7", "fx_echo", '{"text": "second"}')
    engine = ScriptedEngine(pieces=["Two."], calls=[[ADD, echo]])
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, app, "Do both")
        request = await asked(pilot, app)
        assert "fx_add" in str(request.render())
        await pilot.press("A")  # this one and every other of the turn
        await wait_for(pilot, lambda: app.generation is None and len(engine.prompts) == 2)
        assert [t.content for t in engine.prompts[1][-2:]] == ["42", "second"]
        results = [v for v in views(app) if v.message.role == "tool"]
        assert [r.message.stats["allowed_by"] for r in results] == ["this turn", "this turn"]


async def test_writing_a_reply_again_asks_for_its_calls_again(home):
    with_mcp(home)
    engine = ScriptedEngine(pieces=["Adding."], calls=[[ADD]])
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, app, "What is 2 + 40?")
        await asked(pilot, app)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.generation is None and len(engine.prompts) == 2)
        engine.calls = [[ADD]]
        await app.action_regenerate()
        await asked(pilot, app)  # asked again: nothing runs on the first answer's say
        assert len(engine.prompts) == 3
        await pilot.press("n")
        await wait_for(pilot, lambda: app.generation is None and len(engine.prompts) == 4)
        assert engine.prompts[3][-1].content == "not run: the user did not allow this call"
        # what the model sees now: the new rounds only, the replaced ones out of sight
        assert [t.role for t in engine.prompts[3]][-3:] == ["user", "assistant", "tool"]
        assert sum(1 for t in engine.prompts[3] if t.role == "tool") == 1


async def test_esc_while_a_call_runs_cancels_it_and_the_reply_stops(home):
    with_mcp(home)
    slow = ToolCall("Sl0wCa11x", "fx_slow", '{"seconds": 30}')
    engine = ScriptedEngine(pieces=["Waiting."], calls=[[slow]])
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, app, "Wait")
        await asked(pilot, app)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.active_view().composer.has_focus and "Running fx_slow" in app.status.state_text)
        began = time.monotonic()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.generation is None, timeout=10, what="the stop")
        assert time.monotonic() - began < 5 and len(engine.prompts) == 1  # the model is not asked again
        [result] = [v.message for v in views(app) if v.message.role == "tool"]
        assert result.stats["outcome"] == "cancelled" and "stopped this call" in result.content


async def test_a_round_that_only_calls_is_not_an_empty_reply(home):
    with_mcp(home)
    engine = ScriptedEngine(pieces=[""], calls=[[ADD]])
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, app, "What is 2 + 40?")
        await asked(pilot, app)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.generation is None and len(engine.prompts) == 2, what="the second round")
        calling = views(app)[1]
        assert calling.message.content == "" and calling.message.tool_calls
        assert "calls fx_add" in calling.figures and "returned no text" not in calling.figures
