"""`mixtral-tui tools` and the tools of `ask`, run as a user runs them: a real process, a real
mcp.json, the SDK-written MCP server over stdio, and the scripted OpenAI-compatible server
streaming its calls in fragments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mixtral_tui.store.history import History
from tests.fixtures.fake_openai import FakeOpenAI, Script

FIXTURE = str(Path(__file__).resolve().parents[1] / "fixtures" / "mcp_tools_server.py")


def run(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mixtral_tui", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": os.getcwd(), **(env or {})})


def write_mcp(home: Path, servers: dict) -> Path:
    path = home / "config" / "mcp.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


@pytest.fixture
def fake():
    server = FakeOpenAI().start()
    yield server
    server.stop()


def fx(**more) -> dict:
    return {"command": sys.executable, "args": [FIXTURE], **more}


def test_tools_lists_each_server_why_one_did_not_start_and_the_tools(home):
    write_mcp(home, {"fx": fx(), "gone": {"command": "no-such-mcp-server-here"}})
    done = run("tools")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"fx ({sys.executable} {FIXTURE}): started, 7 tools" in out
    assert "    fx_add                           Add two integers and return their sum." in out
    assert ("gone (no-such-mcp-server-here): did not start - command not found: 'no-such-mcp-server-here'; "
            "install it, or give its full path in mcp.json") in out


def test_tools_without_mcp_json_says_where_it_goes(home):
    done = run("tools")
    assert done.returncode == 0 and f"{home / 'config' / 'mcp.json'} is not there" in done.stdout


def test_a_broken_mcp_json_names_the_file_and_the_place(home):
    path = home / "config" / "mcp.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"mcpServers": {"x": {"command": "a",}}}')
    done = run("tools")
    assert done.returncode == 1 and f"{path}, line 1 column 38: not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr


def test_ask_with_a_broken_mcp_json_says_so_and_answers_without_tools(home, fake):
    path = home / "config" / "mcp.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"mcpServers": []}')
    done = run("ask", "--server", fake.url, "Hello")
    assert done.returncode == 0 and done.stdout == "Hello from the server.\n"
    assert f"{path}: expected" in done.stderr and "answered without tools" in done.stderr


ADD_CALL = [{"id": "call_1", "name": "fx_add", "arguments": '{"a": 2, "b": 40}'}]


def test_ask_runs_an_allowed_call_and_the_model_gets_its_result(home, fake):
    write_mcp(home, {"fx": fx()})
    fake.scripts = [Script(pieces=["Adding."], tool_calls=ADD_CALL), Script(pieces=["It", " is", " 42."])]
    done = run("ask", "--server", fake.url, "--allow-tool", "fx_*", "What is 2 + 40?")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Adding.\nIt is 42.\n"  # each round on its own line
    first, second = fake.chat_requests()
    assert {t["function"]["name"] for t in first.body["tools"]} >= {"fx_add", "fx_echo"}
    assert second.body["messages"][-2:] == [
        {"role": "assistant", "content": "Adding.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "fx_add", "arguments": '{"a": 2, "b": 40}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"}]
    [conversation] = History(home / "data" / "history.sqlite3").conversations()
    messages = History(home / "data" / "history.sqlite3").messages(conversation.id)
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[1].tool_calls == [{"id": "call_1", "name": "fx_add", "arguments": '{"a": 2, "b": 40}'}]
    assert messages[2].tool_call_id == "call_1" and messages[2].stats["outcome"] == "done"
    assert messages[2].stats["allowed_by"] == "rule fx_*"


def test_ask_refuses_a_call_no_rule_allows_and_says_what_would(home, fake):
    write_mcp(home, {"fx": fx()})
    fake.scripts = [Script(pieces=[], tool_calls=ADD_CALL), Script(pieces=["I may not add."])]
    done = run("ask", "--server", fake.url, "--allow-tool", "time_*", "What is 2 + 40?")
    assert done.returncode == 0, done.stderr
    assert ('refused the call fx_add({"a": 2, "b": 40}): no rule allows it, and there is no one to ask. '
            "--allow-tool fx_add allows it") in done.stderr
    result = fake.chat_requests()[1].body["messages"][-1]
    assert result == {"role": "tool", "tool_call_id": "call_1", "content": "not run: the user did not allow this call"}


def test_the_configs_allow_applies_to_ask_and_no_tools_offers_none(home, fake):
    write_mcp(home, {"fx": fx()})
    (home / "config" / "config.toml").write_text('[tools]\nallow = ["fx_add"]\n')
    fake.scripts = [Script(pieces=[], tool_calls=ADD_CALL), Script(pieces=["42."])]
    done = run("ask", "--server", fake.url, "What is 2 + 40?")
    assert done.returncode == 0 and "refused" not in done.stderr
    assert fake.chat_requests()[1].body["messages"][-1]["content"] == "42"
    done = run("ask", "--server", fake.url, "--no-tools", "Hello")
    assert done.returncode == 0 and "tools" not in fake.chat_requests()[-1].body


def test_a_call_that_is_not_what_the_tool_takes_is_answered_as_an_error_not_run(home, fake):
    write_mcp(home, {"fx": fx()})
    fake.scripts = [Script(pieces=[], tool_calls=[{"id": "c1", "name": "fx_add", "arguments": '{"a": "two"'},
                                                  {"id": "c2", "name": "fx_add", "arguments": '{"a": "two", "b": 1}'},
                                                  {"id": "c3", "name": "fx_nothing", "arguments": "{}"}]),
                    Script(pieces=["Sorry."])]
    done = run("ask", "--server", fake.url, "--allow-tool", "*", "Add")
    assert done.returncode == 0, done.stderr
    bad_json, bad_type, no_tool = fake.chat_requests()[1].body["messages"][-3:]
    assert bad_json["content"].startswith("error: not run: the arguments are not valid JSON")
    assert bad_type["content"] == ("error: not run: the arguments do not match the tool's schema: "
                                   "a: 'two' is not of type 'integer'")
    assert no_tool["content"].startswith("error: there is no tool 'fx_nothing'; the tools are: fx_add, ")


def test_the_rounds_stop_at_max_rounds_with_a_note_to_the_model(home, fake):
    write_mcp(home, {"fx": fx()})
    (home / "config" / "config.toml").write_text("[tools]\nmax_rounds = 2\n")
    again = {"name": "fx_add", "arguments": '{"a": 1, "b": 1}'}
    fake.scripts = [Script(pieces=[], tool_calls=[again], times=3), Script(pieces=["Done."])]
    done = run("ask", "--server", fake.url, "--allow-tool", "fx_add", "Loop")
    assert done.returncode == 0, done.stderr
    requests = fake.chat_requests()
    assert [("tools" in r.body) for r in requests] == [True, True, False, False]  # past the limit: none offered
    assert requests[2].body["messages"][-1]["content"] == "2"  # the second round's call ran
    assert requests[3].body["messages"][-1]["content"].startswith("not run: this reply has called tools in 2 rounds")
    assert "the model called tools in 2 rounds of this reply" in done.stderr
    assert done.stdout == "Done.\n"


def test_a_long_result_is_cut_and_the_model_told(home, fake):
    write_mcp(home, {"fx": fx()})
    (home / "config" / "config.toml").write_text("[tools]\nmax_result_chars = 100\n")
    fake.scripts = [Script(pieces=[], tool_calls=[{"name": "fx_big", "arguments": '{"n": 5000}'}]), Script()]
    done = run("ask", "--server", fake.url, "--allow-tool", "fx_big", "Big")
    assert done.returncode == 0, done.stderr
    content = fake.chat_requests()[1].body["messages"][-1]["content"]
    assert content.startswith("0123456789" * 10 + "\n[cut: the result has 5,000 characters; only the first 100")


def test_a_secret_of_a_servers_env_is_in_no_file_the_app_writes(home, fake):
    write_mcp(home, {"fx": fx(env={"FX_TOKEN": "${FX_SECRET}"})})
    fake.scripts = [Script(pieces=[], tool_calls=[{"name": "fx_env", "arguments": '{"name": "FX_TOKEN"}'}]), Script()]
    done = run("ask", "--server", fake.url, "--allow-tool", "fx_env", "Env?", env={"FX_SECRET": "tok-8d1f9a"})
    assert done.returncode == 0, done.stderr
    assert fake.chat_requests()[1].body["messages"][-1]["content"] == "set, 10 characters"
    for path in home.rglob("*"):
        if path.is_file():
            assert b"tok-8d1f9a" not in path.read_bytes(), path
    assert "tok-8d1f9a" not in done.stdout + done.stderr


def test_doctor_reports_mcp_json_as_it_reports_config_toml(home):
    assert "mcp.json (not there: no tools)" in run("doctor").stdout
    write_mcp(home, {"fx": fx(), "off": {"command": "x", "disabled": True}})
    assert "(2 servers: fx, off (disabled); `mixtral-tui tools` starts them)" in run("doctor").stdout
    (home / "config" / "mcp.json").write_text('{"mcpServers": {"x": {"comand": "a"}}}')
    done = run("doctor")
    assert done.returncode == 0 and "BROKEN: " in done.stdout and "Did you mean 'command'?" in done.stdout
