"""The server engine against a real OpenAI-compatible server: llama-cpp-python's own
(`python -m llama_cpp.server`), with the tiny MoE model and with Gemma 3 270M."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from mixtral_tui.cancel import CancelToken
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import LoadSpec, ReplyStats, Turn
from mixtral_tui.engine.remote import RemoteEngine
from mixtral_tui.server_config import ServerSettings


def connect(url: str) -> RemoteEngine:
    engine = RemoteEngine()
    engine.load(LoadSpec("", context_size=512, server=ServerSettings(url)))
    return engine


def test_the_tiny_model_streams_through_the_server(tiny_server, tiny_model):
    engine = connect(tiny_server)
    assert engine.info.path == str(tiny_model) and engine.info.name == tiny_model.name  # its only model, unasked
    assert "llama-cpp-python" in engine.info.template
    stats = ReplyStats()
    chunks = list(engine.stream_reply([Turn("user", "Hello")], Sampling(max_tokens=12, seed=3, temperature=0.0),
                                      CancelToken(), stats))
    assert chunks and stats.completion_tokens >= len(chunks) and stats.completion_tokens <= 12
    assert stats.ttft_seconds > 0
    assert engine.count_tokens([Turn("user", "hello world")]) > 2  # the server's tokenizer (/extras/tokenize)


def test_a_server_that_sends_no_counts_gets_figures_counted_and_marked_never_zeros(tiny_server):
    """llama-cpp-python's server sends no usage: "prompt 0 tok (0 new, 0 reused)", "ctx 0 / 0" were
    shown, stopped or not. Now its tokenizer counts the prompt, marked ≈ (the template's tokens
    around it are reckoned), and the context is the one in use."""
    from mixtral_tui.chat.figures import reply_figures

    engine = connect(tiny_server)
    for stop_at in (None, 2):
        cancel, stats = CancelToken(), ReplyStats()
        for n, _chunk in enumerate(engine.stream_reply([Turn("user", "Hello there")], Sampling(max_tokens=12, seed=3),
                                                       cancel, stats)):
            if n == stop_at:
                cancel.cancel()
        line = reply_figures(stats)
        assert stats.prompt_counted == "estimate" and stats.prompt_tokens > 2 and stats.context_size == 512
        assert f"prompt ≈{stats.prompt_tokens} tok" in line and "new," not in line and " 0 " not in line
        assert f"ctx ≈{stats.prompt_tokens + stats.completion_tokens} / 512" in line


def test_stop_really_stops_generation_on_the_server(gemma_server):
    """After Esc, the server takes the next request at once: had it gone on writing the 400
    tokens (about 10 s here), the next reply would wait for them."""
    engine = connect(gemma_server)
    cancel = CancelToken()
    long = Sampling(max_tokens=400, temperature=0.7, seed=1)
    turns = [Turn("user", "Write a long story about a lighthouse.")]
    for got, _chunk in enumerate(engine.stream_reply(turns, long, cancel, ReplyStats()), start=1):
        if got == 3:
            cancel.cancel()
    started = time.monotonic()
    stats = ReplyStats()
    list(engine.stream_reply([Turn("user", "Hi")], Sampling(max_tokens=3, seed=1), CancelToken(), stats))
    assert time.monotonic() - started < 4, "the server was still writing the stopped reply"


def test_models_and_ask_with_server_from_the_command_line(tiny_server, tiny_model, home):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    listed = subprocess.run([sys.executable, "-m", "mixtral_tui", "models", "--server", tiny_server],
                            capture_output=True, text=True, timeout=60, env=env)
    assert listed.returncode == 0, listed.stderr
    assert str(tiny_model) in listed.stdout
    asked = subprocess.run([sys.executable, "-m", "mixtral_tui", "ask", "--server", tiny_server, "--max-tokens", "6",
                            "Hello"], capture_output=True, text=True, timeout=60, env=env)
    assert asked.returncode == 0, asked.stderr
    assert "saved as conversation" in asked.stderr
    from mixtral_tui.store.history import History

    [reply] = [m for m in History(home / "data" / "history.sqlite3").messages(1) if m.role == "assistant"]
    assert reply.server.startswith("127.0.0.1:") and reply.model == tiny_model.name


def test_a_refused_connection_in_ask_is_one_line(home):
    from tests.fixtures.llama_server import free_port

    done = subprocess.run([sys.executable, "-m", "mixtral_tui", "ask", "--server", f"http://127.0.0.1:{free_port()}/v1",
                           "hi"], capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.returncode == 1 and "cannot connect" in done.stderr and done.stderr.count("\n") == 1
    from mixtral_tui.store.history import History

    assert History(home / "data" / "history.sqlite3").conversations() == []


def test_bench_on_a_server_without_counts_compares_with_bench_here(tiny_server, tiny_model):
    """`bench` on llama-cpp-python's server printed "prompt 0 tokens in 0.00 s = 0.0 tok/s", and its
    prompt was 295 tokens against 508 here (an upper bound counted it). Now both are the length
    asked for, and the server's line says how its prompt speed was reckoned."""
    from mixtral_tui.cli.bench import prompt_line, run_bench

    here = run_bench(LoadSpec(str(tiny_model), context_size=512, engine="in-process"), prompt_tokens=200, decode_tokens=4)
    there = run_bench(LoadSpec("", context_size=512, server=ServerSettings(tiny_server)), prompt_tokens=200, decode_tokens=4)
    local, remote = here["stats"], there["stats"]
    assert 180 <= local.prompt_tokens <= 200 and abs(remote.prompt_tokens - local.prompt_tokens) <= 20
    line = prompt_line(remote)
    assert line.startswith(f"≈{remote.prompt_tokens:,} tokens, first token after") and "does not time" in line
    assert " 0 tokens" not in line and "0.00 s" not in line
    assert prompt_line(local).startswith(f"{local.prompt_evaluated:,} tokens in ")
