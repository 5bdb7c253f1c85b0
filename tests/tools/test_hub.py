"""The MCP hub on real servers: the fixture server (the official SDK) over stdio and Streamable
HTTP, and the published `mcp-server-time` run as a user runs it; every way a server fails to
start, a call's faults, and a server that dies mid-session."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mixtral_tui.cancel import CancelToken
from mixtral_tui.tools.hub import ToolCallFailed, ToolHub
from mixtral_tui.tools.mcp_config import McpServer, parse_mcp_servers
from tests.fixtures.llama_server import free_port

FIXTURE = str(Path(__file__).resolve().parents[1] / "fixtures" / "mcp_tools_server.py")


def fixture_server(name: str = "fx", *extra: str, **fields) -> McpServer:
    return McpServer(name=name, command=sys.executable, args=(FIXTURE, *extra), **fields)


@contextmanager
def started(tmp_path: Path, *servers: McpServer, start_seconds: float = 30.0) -> Iterator[ToolHub]:
    lines: list[tuple[str, str]] = []
    hub = ToolHub(list(servers), tmp_path / "logs", log=lambda s, line: lines.append((s, line)),
                  start_seconds=start_seconds)
    hub.start()
    try:
        assert hub.wait_started(60), "the servers neither started nor failed in 60 s"
        hub.lines = lines  # type: ignore[attr-defined]
        yield hub
    finally:
        hub.close()


@contextmanager
def http_server(*extra: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, FIXTURE, "--http", str(port), *extra],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import socket

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


def test_a_stdio_server_starts_lists_its_tools_and_answers_a_call(tmp_path):
    with started(tmp_path, fixture_server()) as hub:
        [status] = hub.statuses()
        assert status.state == "ready", status.why
        names = {t.name for t in hub.tools()}
        assert {"fx_add", "fx_echo", "fx_slow"} <= names
        add = hub.tool("fx_add")
        assert add is not None and add.tool == "add" and add.summary == "Add two integers and return their sum."
        assert add.schema["properties"].keys() == {"a", "b"}
        assert hub.call("fx_add", {"a": 2, "b": 40}, timeout=10, cancel=CancelToken()) == ("42", False)
        text, is_error = hub.call("fx_fail", {}, timeout=10, cancel=CancelToken())
        assert is_error and "fail" in text


def test_a_published_server_runs_as_a_user_runs_it(tmp_path):
    command = shutil.which("mcp-server-time") or str(Path(sys.executable).parent / "mcp-server-time")
    server = McpServer(name="time", command=command, args=("--local-timezone", "UTC"))
    with started(tmp_path, server) as hub:
        assert {t.name for t in hub.tools()} >= {"time_get_current_time", "time_convert_time"}
        text, is_error = hub.call("time_get_current_time", {"timezone": "Asia/Tokyo"}, 10, CancelToken())
        assert not is_error and "Asia/Tokyo" in text


def test_a_streamable_http_server_with_its_key_in_a_header(tmp_path):
    data = {"mcpServers": {"web": {"url": "URL", "headers": {"Authorization": "Bearer ${FX_KEY}"}}}}
    with http_server("--key", "s3cret-key") as url:
        data["mcpServers"]["web"]["url"] = url
        [good] = parse_mcp_servers(data, "mcp.json", {"FX_KEY": "s3cret-key"})
        [bad] = parse_mcp_servers(data, "mcp.json", {"FX_KEY": "wrong"})
        with started(tmp_path, good) as hub:
            assert hub.call("web_echo", {"text": "over HTTP"}, 10, CancelToken()) == ("over HTTP", False)
        bad = McpServer(**{**bad.__dict__, "name": "bad"})
        with started(tmp_path, bad) as hub:
            [status] = hub.statuses()
            assert status.state == "failed"
            assert status.why == "HTTP 401 (unauthorized): check ${FX_KEY} in its headers"
            assert "wrong" not in status.why


@pytest.mark.parametrize(("server", "expected"), [
    (McpServer(name="gone", command="no-such-mcp-server-anywhere"),
     "command not found: 'no-such-mcp-server-anywhere'; install it, or give its full path in mcp.json"),
    (fixture_server("dies", "--fail-start", "cannot open the database /nowhere/db.sqlite"),
     "exited: cannot open the database /nowhere/db.sqlite"),
    (McpServer(name="mute", command=sys.executable, args=("-c", "import time; time.sleep(60)")),
     "timed out: did not start and list its tools within 2 s"),
    (McpServer(name="nobody", url="http://127.0.0.1:9/mcp"),
     "nothing answers at http://127.0.0.1:9/mcp (is the server running?)"),
], ids=["not found", "exits", "timeout", "nothing there"])
def test_a_server_that_does_not_start_says_why_in_one_line(tmp_path, server, expected):
    with started(tmp_path, server, fixture_server("ok"), start_seconds=2 if server.name == "mute" else 30) as hub:
        bad, good = hub.statuses()
        assert (bad.state, bad.why) == ("failed", expected)
        assert good.state == "ready" and all(t.server == "ok" for t in hub.tools())


def test_a_stdio_server_gets_its_own_env_and_not_the_users(tmp_path, monkeypatch):
    monkeypatch.setenv("USERS_OWN_SECRET", "do-not-pass")
    one = fixture_server("one", env={"ONE_TOKEN": "abc"})
    two = fixture_server("two")
    with started(tmp_path, one, two) as hub:
        ask = lambda tool, name: hub.call(tool, {"name": name}, 10, CancelToken())[0]  # noqa: E731
        assert ask("one_env", "ONE_TOKEN") == "set, 3 characters"
        assert ask("two_env", "ONE_TOKEN") == "not set"
        assert ask("one_env", "USERS_OWN_SECRET") == "not set"
        assert ask("one_env", "PATH").startswith("set")


def test_a_call_past_its_timeout_is_cancelled_and_the_server_goes_on(tmp_path):
    with started(tmp_path, fixture_server()) as hub:
        began = time.monotonic()
        with pytest.raises(ToolCallFailed, match=r"no answer within 0.5 s"):
            hub.call("fx_slow", {"seconds": 30}, timeout=0.5, cancel=CancelToken())
        assert time.monotonic() - began < 5
        assert hub.call("fx_add", {"a": 1, "b": 1}, 10, CancelToken()) == ("2", False)


def test_a_stop_request_ends_a_running_call(tmp_path):
    import threading

    with started(tmp_path, fixture_server()) as hub:
        cancel = CancelToken()
        threading.Timer(0.3, cancel.cancel).start()
        began = time.monotonic()
        with pytest.raises(InterruptedError):
            hub.call("fx_slow", {"seconds": 30}, timeout=60, cancel=cancel)
        assert time.monotonic() - began < 3
        assert hub.call("fx_add", {"a": 1, "b": 2}, 10, CancelToken()) == ("3", False)


def test_a_server_that_dies_mid_session_is_started_once_more_then_reported(tmp_path):
    with started(tmp_path, fixture_server()) as hub:
        with pytest.raises(ToolCallFailed, match="stopped during the call"):
            hub.call("fx_crash", {}, 10, CancelToken())
        deadline = time.monotonic() + 30
        while hub.statuses()[0].state != "ready" or hub.statuses()[0].restarts != 1:
            assert time.monotonic() < deadline, hub.statuses()
            time.sleep(0.05)
        assert "started again after it stopped" in hub.statuses()[0].why
        assert hub.call("fx_add", {"a": 5, "b": 5}, 10, CancelToken()) == ("10", False)
        with pytest.raises(ToolCallFailed):
            hub.call("fx_crash", {}, 10, CancelToken())
        while hub.statuses()[0].state != "failed":
            assert time.monotonic() < deadline, hub.statuses()
            time.sleep(0.05)
        assert hub.statuses()[0].why.startswith("stopped by itself")
        assert hub.tools() == []
        with pytest.raises(ToolCallFailed, match="there is no tool 'fx_add'"):
            hub.call("fx_add", {"a": 1, "b": 1}, 10, CancelToken())


def test_a_server_switched_off_for_the_session_offers_nothing_until_switched_on(tmp_path):
    with started(tmp_path, fixture_server("a"), fixture_server("b")) as hub:
        hub.switch("a", on=False)
        assert hub.statuses()[0].state == "off" and {t.server for t in hub.tools()} == {"b"}
        hub.switch("a", on=True)
        deadline = time.monotonic() + 30
        while hub.statuses()[0].state != "ready":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert {t.server for t in hub.tools()} == {"a", "b"}


def test_closing_the_hub_ends_its_servers(tmp_path):
    with started(tmp_path, fixture_server()):
        pids = [p for p in _children() if FIXTURE in _cmdline(p)]
        assert pids
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{p}").exists() and FIXTURE in _cmdline(p) for p in pids):
        assert time.monotonic() < deadline, "a server outlived the hub"
        time.sleep(0.05)


def _children() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_a_key_in_a_url_or_an_argument_is_never_shown(tmp_path):
    data = {"mcpServers": {
        "web": {"url": "http://127.0.0.1:9/mcp?key=${URL_KEY}"},
        "cmd": {"command": sys.executable, "args": [FIXTURE, "--fail-start", "bad key ${ARG_KEY}"]}}}
    servers = parse_mcp_servers(data, "mcp.json", {"URL_KEY": "u-51x7", "ARG_KEY": "a-93k2"})
    with started(tmp_path, *servers) as hub:
        said = " ".join(f"{s.shown} {s.why}" for s in hub.statuses())
        lines = " ".join(line for _, line in hub.lines)  # type: ignore[attr-defined]
    assert "u-51x7" not in said + lines and "a-93k2" not in said + lines
    assert "http://127.0.0.1:9/mcp?key=${…}" in said and "exited: bad key ${…}" in said
