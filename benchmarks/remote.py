"""Benchmark 8: a reply through the whole app on a server, against a bare client on the same stream.

Both sides ask llama-cpp-python's own server (`python -m llama_cpp.server`, started here) with the
tiny MoE model — the fastest stream, so the hardest case for the app — for the same prompt, greedy,
with the same token budget, interleaved A/B/A/B in one run. The bare client is httpx reading the
SSE lines and parsing each chunk's JSON, nothing else. Both measure decode speed from the first
text to the last, and time to first token from the request; the app's side from Enter.

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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROMPT = "Write a long story about a terminal that learned to chat."


def bare_client(url: str, model: str, max_tokens: int) -> tuple[float, float, int]:
    """(decode tok/s, time to first token in s, chunks with text)."""
    import httpx

    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "stream": True,
            "max_tokens": max_tokens, "temperature": 0.0, "seed": 1, "repeat_penalty": 1.0}
    times: list[float] = []
    started = time.perf_counter()
    with httpx.Client(timeout=120) as client, client.stream("POST", f"{url}/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            delta = json.loads(line[6:])["choices"][0]["delta"]
            if delta.get("content") is not None:  # a token, even one that decodes to nothing yet (as the app counts)
                times.append(time.perf_counter())
    tps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return tps, times[0] - started if times else 0.0, len(times)


async def through_the_app(url: str, max_tokens: int) -> tuple[float, float, int]:
    """(decode tok/s, time from Enter to the first text on screen in s, tokens)."""
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
        async with app.run_test(size=(120, 40)) as pilot:
            while app.model_info is None:
                await asyncio.sleep(0.02)
            composer = app.active_view().composer
            composer.text = PROMPT
            composer.focus()
            pressed = time.perf_counter()
            await pilot.press("enter")
            first = None
            deadline = pressed + 300
            while time.perf_counter() < deadline:
                view = app.active_view()
                if first is None and view.live is not None and app.generation is not None and app.generation.text:
                    first = time.perf_counter() - pressed
                if app.generation is None:
                    replies = [m for m in app.history.messages(1) if m.role == "assistant" and m.status != "streaming"]
                    if replies:
                        stats = replies[-1].stats
                        return stats["decode_tps"], first or stats["ttft_seconds"], stats["completion_tokens"]
                await asyncio.sleep(0.001)
            raise TimeoutError("the app did not finish the reply in 5 minutes")


def measure(url: str, model: str, rounds: int, tokens: int) -> dict:
    bare, app, bare_ttft, app_ttft = [], [], [], []
    bare_client(url, model, 8)  # warm the server up
    for _ in range(rounds):
        tps, ttft, _n = bare_client(url, model, tokens)
        bare.append(tps)
        bare_ttft.append(ttft)
        tps, ttft, _n = asyncio.run(through_the_app(url, tokens))
        app.append(tps)
        app_ttft.append(ttft)
    return {"bare_tps": statistics.median(bare), "app_tps": statistics.median(app),
            "ratio": statistics.median(app) / statistics.median(bare),
            "bare_ttft_ms": statistics.median(bare_ttft) * 1000, "app_ttft_ms": statistics.median(app_ttft) * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=256)
    args = parser.parse_args()
    from tests.fixtures.gguf_models import write_model
    from tests.fixtures.llama_server import llama_cpp_server

    with tempfile.TemporaryDirectory() as folder:
        model = write_model(Path(folder) / "tiny-mixtral.gguf")
        with llama_cpp_server(model, Path(folder) / "server.log", context=512) as url:
            result = measure(url, str(model), args.rounds, args.tokens)
    print(f"decode tok/s   app {result['app_tps']:8.1f}   bare client {result['bare_tps']:8.1f}   "
          f"ratio {result['ratio']:.3f}   (goal >= 0.99)")
    print(f"first token    app {result['app_ttft_ms']:8.1f} ms (from Enter to the screen)   bare client "
          f"{result['bare_ttft_ms']:8.1f} ms   added {result['app_ttft_ms'] - result['bare_ttft_ms']:+.1f} ms (goal <= 5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
