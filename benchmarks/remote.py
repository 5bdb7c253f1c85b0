"""Benchmark 8: a reply through the whole app on a server, against a bare client on the same stream.

Both sides ask llama-cpp-python's own server (`python -m llama_cpp.server`, started here) with the
tiny MoE model — the fastest stream, so the hardest case for the app — for the same prompt, greedy,
with the same token budget, interleaved A/B/A/B in one run. The bare client is httpx reading the
SSE lines and parsing each chunk's JSON, nothing else. Both measure decode speed from the first
text to the last, and time to first token from the request; the app's side from Enter to the
first screen update that shows text. Both keep their connection alive between requests.

    python benchmarks/remote.py [--rounds N] [--tokens N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROMPT = "Write a long story about a terminal that learned to chat."


def bare_client(client, model: str, max_tokens: int) -> tuple[float, float, int]:
    """(decode tok/s, time to first token in s, chunks with text), on a kept-alive connection (as
    the app's: it connects when the model is picked)."""
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "stream": True,
            "max_tokens": max_tokens, "temperature": 0.0, "seed": 1, "repeat_penalty": 1.0}
    times: list[float] = []
    started = time.perf_counter()
    with client.stream("POST", "chat/completions", json=body) as response:
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            delta = json.loads(line[6:])["choices"][0]["delta"]
            if delta.get("content") is not None:  # a token, even one that decodes to nothing yet (as the app counts)
                times.append(time.perf_counter())
    tps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return tps, times[0] - started if times else 0.0, len(times)


@contextmanager
def first_paint() -> Iterator[dict[str, float]]:
    """When the reply's first text reached its widget, and when the screen next went out to the
    terminal after that (Textual's `_display`): the app's own moments, timed from outside it."""
    from textual.app import App

    from mixtral_tui.engine.remote.stream import Stream
    from mixtral_tui.ui.widgets.chat_view import ChatView

    seen: dict[str, float] = {}
    append, display, stream = ChatView.append, App._display, Stream.__init__

    def timed_stream(self, *args, **kwargs) -> None:
        seen.setdefault("request", time.perf_counter())
        stream(self, *args, **kwargs)

    def timed_append(self, text: str) -> None:
        if text:
            seen.setdefault("text", time.perf_counter())
        append(self, text)

    def timed_display(self, *args, **kwargs):
        result = display(self, *args, **kwargs)
        if "text" in seen:
            seen.setdefault("screen", time.perf_counter())
        return result

    ChatView.append, App._display, Stream.__init__ = timed_append, timed_display, timed_stream  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        ChatView.append, App._display, Stream.__init__ = append, display, stream  # type: ignore[method-assign]


async def through_the_app(url: str, max_tokens: int) -> tuple[float, dict[str, float], int]:
    """(decode tok/s, the moments from Enter in s — request sent, first text in its widget, that
    text on screen —, tokens)."""
    from mixtral_tui.config import ChatSettings, Config, Sampling
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.server_config import ServerSettings
    from mixtral_tui.store.history import History
    from mixtral_tui.ui.app import MixtralApp

    config = Config(chat=ChatSettings(system_prompt=""),  # the bare client sends none either
                    sampling=Sampling(temperature=0.0, max_tokens=max_tokens, repeat_penalty=1.0, seed=1))
    with tempfile.TemporaryDirectory() as home:
        os.environ["MIXTRAL_TUI_HOME"] = home
        app = MixtralApp(config, LoadSpec("", context_size=512, server=ServerSettings(url)),
                         history=History(Path(home) / "h.sqlite3"))
        app.notes = []  # type: ignore[attr-defined]  # what went wrong, if the reply fails
        notify = app.notify

        def kept(message: str, *args: object, **kwargs: object) -> None:
            app.notes.append(str(message))  # type: ignore[attr-defined]
            notify(message, *args, **kwargs)  # type: ignore[arg-type]

        app.notify = kept  # type: ignore[method-assign]
        async with app.run_test(size=(120, 40)) as pilot:
            while app.model_info is None:
                await asyncio.sleep(0.02)
            composer = app.active_view().composer
            composer.text = PROMPT
            composer.focus()
            with first_paint() as seen:
                pressed = time.perf_counter()
                await pilot.press("enter")
                deadline = pressed + 300
                while time.perf_counter() < deadline:
                    if app.generation is None:
                        replies = [m for m in app.history.messages(1) if m.role == "assistant" and m.status != "streaming"]
                        if replies and "screen" not in seen and (replies[-1].status != "done" or not replies[-1].content):
                            raise RuntimeError(f"the reply ended {replies[-1].status} with {len(replies[-1].content)} "
                                               f"characters: {app.notes[-1:] or replies[-1].stats}")
                        if replies and "screen" in seen:
                            stats = replies[-1].stats
                            moments = {name: at - pressed for name, at in seen.items()}
                            moments["server"] = stats["ttft_seconds"]  # request to first chunk, in the engine
                            return stats["decode_tps"], moments, stats["completion_tokens"]
                    await asyncio.sleep(0.01)
            raise TimeoutError("the app did not finish the reply in 5 minutes")


def measure(url: str, model: str, rounds: int, tokens: int) -> dict:
    import httpx

    bare, app, bare_ttft, app_ttft, parts = [], [], [], [], []
    client = httpx.Client(base_url=url + "/", timeout=120)
    bare_client(client, model, 8)  # warm the server and the connection up
    for _ in range(rounds):
        tps, ttft, _n = bare_client(client, model, tokens)
        bare.append(tps)
        bare_ttft.append(ttft)
        tps, moments, _n = asyncio.run(through_the_app(url, tokens))
        app.append(tps)
        app_ttft.append(moments["screen"])
        parts.append(moments)
    client.close()
    return {"bare_tps": statistics.median(bare), "app_tps": statistics.median(app),
            "ratio": statistics.median(app) / statistics.median(bare),
            "bare_ttft_ms": statistics.median(bare_ttft) * 1000, "app_ttft_ms": statistics.median(app_ttft) * 1000,
            "parts_ms": {name: statistics.median(p[name] for p in parts) * 1000 for name in parts[0]}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--gguf", type=Path, help="another model for the server (default: the tiny MoE, the fastest)")
    parser.add_argument("--chat-format", default="", help="the server's --chat_format for it (gemma for Gemma 3)")
    args = parser.parse_args()
    from tests.fixtures.gguf_models import write_model
    from tests.fixtures.llama_server import llama_cpp_server

    with tempfile.TemporaryDirectory() as folder:
        model = args.gguf or write_model(Path(folder) / "tiny-mixtral.gguf")
        extra = ("--chat_format", args.chat_format) if args.chat_format else ()
        with llama_cpp_server(model, Path(folder) / "server.log", *extra, context=512) as url:
            result = measure(url, str(model), args.rounds, args.tokens)
    print(f"decode tok/s   app {result['app_tps']:8.1f}   bare client {result['bare_tps']:8.1f}   "
          f"ratio {result['ratio']:.3f}   (goal >= 0.99)")
    print(f"first token    app {result['app_ttft_ms']:8.1f} ms (from Enter to the screen)   bare client "
          f"{result['bare_ttft_ms']:8.1f} ms   added {result['app_ttft_ms'] - result['bare_ttft_ms']:+.1f} ms (goal <= 5)")
    parts = result["parts_ms"]
    print(f"  of which      Enter to request {parts['request']:.1f} ms · request to first chunk {parts['server']:.1f} ms "
          f"(bare {result['bare_ttft_ms']:.1f}) · chunk in its widget at {parts['text']:.1f} ms · on screen at "
          f"{parts['screen']:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
